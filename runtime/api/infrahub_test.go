package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// TestInfrahubWebhookIntake drives the intake with webhooks signed as
// Infrahub signs them, matched by a real trigger table: the wiring of
// package infrahub's verifier into the runtime.
func TestInfrahubWebhookIntake(t *testing.T) {
	key := []byte("whsec-infrahub-shared-key")
	now := time.Date(2025, 6, 16, 12, 40, 0, 0, time.UTC)
	v, err := infrahub.NewVerifier(key, infrahub.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	table, err := trigger.New(trigger.Trigger{
		Event:      "infrahub.artifact.updated",
		Kind:       "NetautoFlexApplication",
		Deployment: "vlan-prod",
		Parameters: map[string]string{"device": "data.target_id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var e *env
	e = newEnv(t, api.Options{
		Sources: map[string]api.Verifier{"infrahub": api.InfrahubVerifier{Verifier: v}},
		Match: func(ev store.Event) ([]store.RunSpec, error) {
			deps, err := e.st.ListDeployments(context.Background())
			if err != nil {
				return nil, err
			}
			return table.Matcher(deps)(ev)
		},
	})
	body, err := os.ReadFile("testdata/infrahub.artifact.updated.json")
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(webhookID string, ts time.Time, signed, sent []byte) (int, []byte) {
		t.Helper()
		tsText := strconv.FormatInt(ts.Unix(), 10)
		return e.as("").do("POST", "/api/v1/events/infrahub", sent,
			"webhook-id", webhookID,
			"webhook-timestamp", tsText,
			"webhook-signature", infrahub.Sign(key, webhookID, ts.Unix(), signed))
	}

	st, b := deliver("msg_1", now, body, body)
	first := decodeAs[wire.EventAccepted](t, b)
	if st != 202 || len(first.RunIDs) != 1 || first.EventID != "0b550602-4a3c-446b-ad11-9c3d7575c497" {
		t.Fatalf("first delivery: %d %s", st, b)
	}
	run, err := e.st.GetRun(context.Background(), first.RunIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	var params map[string]any
	if err := json.Unmarshal(run.Parameters, &params); err != nil || params["device"] != "1849e6ed-5dfa-4dc6-ef50-c512c7386160" || params["name"] != "prod" {
		t.Fatalf("run parameters %s: want the target id mapped over the deployment defaults", run.Parameters)
	}

	// Infrahub retries with a new webhook-id and signature: same event.
	st, b = deliver("msg_2", now.Add(30*time.Second), body, body)
	if dup := decodeAs[wire.EventAccepted](t, b); st != 200 || !dup.Duplicate || dup.RunIDs[0] != first.RunIDs[0] {
		t.Fatalf("redelivery: %d %s, want the first delivery's run", st, b)
	}

	tampered := append([]byte(nil), body...)
	tampered[len(tampered)/2] ^= 1
	for name, tc := range map[string]struct {
		ts           time.Time
		signed, sent []byte
	}{
		"tampered body":    {now, body, tampered},
		"stale timestamp":  {now.Add(-time.Hour), body, body},
		"future timestamp": {now.Add(time.Hour), body, body},
	} {
		st, b := deliver("msg_x", tc.ts, tc.signed, tc.sent)
		if st != 401 {
			t.Errorf("%s: %d %s, want 401", name, st, b)
		}
	}
	st, b = e.as("").do("POST", "/api/v1/events/infrahub", body)
	wantError(t, st, b, 401, "")

	// A signed event no trigger matches is kept, with no run.
	other := []byte(`{"data":{"kind":"InfraInterface","node_id":"n1","action":"created","fields":[],"changelog":{}},"id":"ev-other","branch":"main","account_id":"a","occured_at":"2025-06-16T12:39:00Z","event":"infrahub.node.created"}`)
	st, b = deliver("msg_3", now, other, other)
	if ans := decodeAs[wire.EventAccepted](t, b); st != 202 || len(ans.RunIDs) != 0 {
		t.Fatalf("unmatched event: %d %s", st, b)
	}
	evs, _, err := e.st.ListEvents(context.Background(), store.EventFilter{})
	if err != nil || len(evs) != 2 {
		t.Fatalf("%d events stored (%v), want 2: the matched one once and the unmatched one", len(evs), err)
	}
	// A signed body that is not an Infrahub event is a client error.
	junk := []byte(`{"hello":"world"}`)
	st, b = deliver("msg_4", now, junk, junk)
	wantError(t, st, b, 400, "body")
}

// TestInfrahubLegacyReplayInOtherEscapingIsDuplicate (issue #19): the
// 1.0/1.1 envelope carries no event id, so its dedup key is a hash of the
// body. Infrahub signs the payload with non-ASCII escaped and sends it
// with raw UTF-8; a replay of the same delivery with the escaped body (or
// other JSON spacing) verifies too, and must be the same event, not a
// second run. (Package infrahub's tests cover the other equivalent forms:
// JSON spacing, and the repr form 1.0/1.1 really signed.)
func TestInfrahubLegacyReplayInOtherEscapingIsDuplicate(t *testing.T) {
	key := []byte("whsec-infrahub-shared-key")
	now := time.Date(2025, 6, 16, 12, 40, 0, 0, time.UTC)
	v, err := infrahub.NewVerifier(key, infrahub.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	table, err := trigger.New(trigger.Trigger{Event: "infrahub.node.updated", Deployment: "vlan-prod",
		Parameters: map[string]string{"device": "data.node_id"}})
	if err != nil {
		t.Fatal(err)
	}
	var e *env
	e = newEnv(t, api.Options{
		Sources: map[string]api.Verifier{"infrahub": api.InfrahubVerifier{Verifier: v}},
		Match: func(ev store.Event) ([]store.RunSpec, error) {
			deps, err := e.st.ListDeployments(context.Background())
			if err != nil {
				return nil, err
			}
			return table.Matcher(deps)(ev)
		},
	})
	raw := []byte(`{"event_type":"infrahub.node.updated","data":{"kind":"InfraDevice","node_id":"dev-1","description":"Zürich – core"}}`)
	escaped := infrahub.EscapeNonASCII(raw) // what Infrahub signs
	deliver := func(webhookID string, body []byte) (int, []byte) {
		t.Helper()
		return e.as("").do("POST", "/api/v1/events/infrahub", body,
			"webhook-id", webhookID,
			"webhook-timestamp", strconv.FormatInt(now.Unix(), 10),
			"webhook-signature", infrahub.Sign(key, webhookID, now.Unix(), escaped))
	}
	st, b := deliver("msg_1", raw)
	first := decodeAs[wire.EventAccepted](t, b)
	if st != 202 || len(first.RunIDs) != 1 || !strings.HasPrefix(first.EventID, "sha256:") {
		t.Fatalf("first delivery: %d %s", st, b)
	}
	for i, replay := range [][]byte{escaped, raw} {
		st, b = deliver(fmt.Sprintf("msg_replay_%d", i), replay)
		dup := decodeAs[wire.EventAccepted](t, b)
		if st != 200 || !dup.Duplicate || dup.EventID != first.EventID || len(dup.RunIDs) != 1 || dup.RunIDs[0] != first.RunIDs[0] {
			t.Fatalf("replay %d (%s): %d %s, want a duplicate of the first delivery", i, replay, st, b)
		}
	}
	runs, _, err := e.st.ListRuns(context.Background(), store.RunFilter{Deployment: "vlan-prod"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("%d runs (%v), want 1", len(runs), err)
	}
}
