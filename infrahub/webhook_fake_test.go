package infrahub_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// The fake signs webhooks as Infrahub does (ASCII-escaped JSON signed, raw
// UTF-8 sent); the handler verifies them through the escaped fallback.
func TestFakeWebhooksVerify(t *testing.T) {
	key := []byte("supersecretkey")
	v, err := infrahub.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu     sync.Mutex
		events []*infrahub.Event
	)
	recv := httptest.NewServer(&infrahub.WebhookHandler{Verifier: v, OnEvent: func(_ context.Context, ev *infrahub.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
		return nil
	}})
	defer recv.Close()
	wrongKey := httptest.NewServer(&infrahub.WebhookHandler{Verifier: mustVerifier(t, []byte("other")), OnEvent: func(context.Context, *infrahub.Event) error {
		t.Error("event accepted with the wrong key")
		return nil
	}})
	defer wrongKey.Close()

	s, ts := infrahubtest.NewTestServer(t, infrahubtest.Options{Webhooks: []infrahubtest.Webhook{
		{URL: recv.URL, SharedKey: key, Events: []string{infrahub.EventNodeCreated, infrahub.EventNodeUpdated, infrahub.EventBranchCreated}},
	}})
	c, err := infrahub.New(infrahub.Config{Address: ts.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	ref, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("zrh"), "description": infrahub.Value("Zürich – core 😀")}, infrahub.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Update(ctx, "BuiltinTag", ref.ID, infrahub.Data{"description": infrahub.Value("Genève")}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateBranch(ctx, infrahub.BranchInput{Name: "br1"}); err != nil {
		t.Fatal(err)
	}
	s.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 3 {
		t.Fatalf("%d events received, want 3", len(events))
	}
	// Each event is its own delivery, as in Infrahub: they may arrive in
	// any order.
	order := map[string]int{infrahub.EventNodeCreated: 0, infrahub.EventNodeUpdated: 1, infrahub.EventBranchCreated: 2}
	slices.SortFunc(events, func(a, b *infrahub.Event) int { return order[a.Type] - order[b.Type] })
	created := events[0].Data.(*infrahub.NodeData)
	if events[0].Type != infrahub.EventNodeCreated || created.NodeID != ref.ID || string(created.Changelog.Attributes["description"].Value) != `"Zürich – core 😀"` {
		t.Errorf("created: %+v %+v", events[0], created)
	}
	updated := events[1].Data.(*infrahub.NodeData)
	d := updated.Changelog.Attributes["description"]
	if events[1].Branch != "main" || len(updated.Fields) != 1 || string(d.ValuePrevious) != `"Zürich – core 😀"` || d.ValueUpdateStatus != "updated" {
		t.Errorf("updated: %+v", updated)
	}
	if br := events[2].Data.(*infrahub.BranchData); br.BranchName != "br1" || events[2].Branch != "" {
		t.Errorf("branch: %+v", events[2])
	}
	if events[0].DedupKey() == events[1].DedupKey() || time.Since(events[0].OccurredAt) > time.Minute {
		t.Errorf("envelope: %+v", events[0])
	}

	err = s.SendEvent(ctx, infrahubtest.Webhook{URL: wrongKey.URL, SharedKey: key}, infrahub.EventNodeCreated, "main", map[string]any{"kind": "X"})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("delivery to a receiver with another key: %v", err)
	}
}

func mustVerifier(t *testing.T, key []byte) *infrahub.Verifier {
	v, err := infrahub.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
