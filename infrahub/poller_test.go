package infrahub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

func TestPollerDeliversEventsInOrderOnce(t *testing.T) {
	_, c, _ := newFake(t, infrahubtest.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for i := range 5 {
		if _, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value(fmt.Sprint("t", i))}, infrahub.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan *infrahub.Event, 100)
	p := &infrahub.Poller{
		Client:   c,
		Query:    infrahub.EventQuery{EventTypes: []string{infrahub.EventNodeCreated}, Limit: 2},
		Interval: 5 * time.Millisecond,
		OnEvent: func(_ context.Context, ev *infrahub.Event) error {
			got <- ev
			return nil
		},
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var names []string
	for len(names) < 5 {
		ev := <-got
		d, ok := ev.Data.(*infrahub.NodeData)
		if !ok || ev.Type != infrahub.EventNodeCreated || ev.ID == "" {
			t.Fatalf("event: %+v", ev)
		}
		var name string
		if err := json.Unmarshal(d.Changelog.Attributes["name"].Value, &name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	// A later event arrives; earlier ones are not handed on again.
	if _, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("late")}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := <-got
	if d := ev.Data.(*infrahub.NodeData); string(d.Changelog.Attributes["name"].Value) != `"late"` {
		t.Fatalf("after the first five: %s", d.Changelog.Attributes["name"].Value)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(names) != "[t0 t1 t2 t3 t4]" || len(got) != 0 {
		t.Fatalf("events %v, %d extra", names, len(got))
	}

	stop := errors.New("store down")
	p2 := &infrahub.Poller{Client: c, OnEvent: func(context.Context, *infrahub.Event) error { return stop }}
	if err := p2.Run(t.Context()); !errors.Is(err, stop) {
		t.Fatalf("OnEvent error: %v", err)
	}
	if err := (&infrahub.Poller{}).Run(t.Context()); err == nil {
		t.Fatal("poller without client accepted")
	}
}
