package infrahub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// TestPollerCatchesEventsStoredLate: Infrahub's event store (Prefect's)
// writes events in batches and an event's time is set where it was
// emitted, so an event can appear after later ones were read
// (infrahubtest.Server.LogEvent reproduces it). The poller reads Overlap
// behind its cursor again and hands each event on once.
func TestPollerCatchesEventsStoredLate(t *testing.T) {
	ctx := t.Context()
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	s, c, _ := newFake(t, infrahubtest.Options{Clock: func() time.Time { return base.Add(time.Hour) }})
	handed := map[string]int{}
	var order []string
	p := &infrahub.Poller{Client: c, Query: infrahub.EventQuery{Since: base, EventTypes: []string{infrahub.EventNodeUpdated}},
		OnEvent: func(_ context.Context, ev *infrahub.Event) error {
			handed[ev.ID]++
			order = append(order, ev.ID)
			return nil
		}}
	log := func(id string, at time.Duration) {
		s.LogEvent(infrahubtest.LoggedEvent{ID: id, Type: infrahub.EventNodeUpdated, Branch: "main", OccurredAt: base.Add(at),
			Data: map[string]any{"kind": "InfraDevice", "node_id": id, "action": "updated", "fields": []any{}, "changelog": map[string]any{}}})
	}
	poll := func() []string {
		t.Helper()
		order = nil
		if err := p.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		return order
	}

	log("e1", 0)
	log("e3", 20*time.Second)
	if got := poll(); fmt.Sprint(got) != "[e1 e3]" {
		t.Fatalf("first poll: %v", got)
	}
	if !p.Query.Since.Equal(base.Add(20 * time.Second)) {
		t.Fatalf("cursor %v, want the latest event's time", p.Query.Since)
	}
	// Stored now, occurred between e1 and e3: behind the cursor.
	log("e2", 5*time.Second)
	if got := poll(); fmt.Sprint(got) != "[e2]" {
		t.Fatalf("second poll: %v, want the late event only", got)
	}
	// More than a page of new events, then a late one among them: each is
	// handed on once, across pages of the re-read window.
	for i := range 2*infrahub.MaxEventPageSize + 7 {
		log(fmt.Sprintf("n%03d", i), 30*time.Second+time.Duration(i)*time.Millisecond)
	}
	if got := poll(); len(got) != 2*infrahub.MaxEventPageSize+7 {
		t.Fatalf("third poll handed %d events", len(got))
	}
	log("late-2", 30*time.Second+50*time.Millisecond)
	if got := poll(); fmt.Sprint(got) != "[late-2]" {
		t.Fatalf("fourth poll: %v", got)
	}
	if got := poll(); len(got) != 0 {
		t.Fatalf("a poll with nothing new handed %v", got)
	}
	// Stored later than the overlap covers: missed by this poller...
	log("too-late", 30*time.Second-2*infrahub.DefaultPollOverlap)
	if got := poll(); len(got) != 0 {
		t.Fatalf("an event older than the overlap was handed: %v", got)
	}
	// ...and caught with a wider one.
	p.Overlap = 5 * time.Minute
	if got := poll(); fmt.Sprint(got) != "[too-late]" {
		t.Fatalf("wider overlap: %v", got)
	}
	for id, n := range handed {
		if n != 1 {
			t.Errorf("event %s handed on %d times", id, n)
		}
	}
	if len(handed) != 2*infrahub.MaxEventPageSize+7+5 {
		t.Errorf("%d events handed on", len(handed))
	}
}

func TestEventsPageLimits(t *testing.T) {
	_, c, _ := newFake(t, infrahubtest.Options{})
	if _, err := c.Events(t.Context(), infrahub.EventQuery{Limit: infrahub.MaxEventPageSize + 1}); err == nil || !strings.Contains(err.Error(), "Limit") {
		t.Errorf("limit above Infrahub's maximum: %v", err)
	}
	if _, err := c.Events(t.Context(), infrahub.EventQuery{Offset: -1}); err == nil || !strings.Contains(err.Error(), "Offset") {
		t.Errorf("negative offset: %v", err)
	}
}
