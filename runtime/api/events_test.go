package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

func sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestEventIntake(t *testing.T) {
	secret := []byte("shared-secret-of-the-generic-source")
	bearerKeys, _ := api.KeySetFromKeys("na_source-key-0123456789abcdef")
	var matched []store.Event
	e := newEnv(t, api.Options{
		Sources: map[string]api.Verifier{
			"infrahub": &api.HMACVerifier{Secret: secret},
			"ci":       &api.BearerVerifier{Keys: bearerKeys},
		},
		Match: func(ev store.Event) ([]store.RunSpec, error) {
			matched = append(matched, ev)
			var env struct {
				Data struct{ Kind string } `json:"data"`
			}
			if err := json.Unmarshal(ev.Payload, &env); err != nil || env.Data.Kind == "" {
				return nil, &store.InvalidError{Field: "payload.data.kind", Reason: "missing"}
			}
			return []store.RunSpec{{Deployment: "vlan-prod", Parameters: json.RawMessage(`{"device":"sw1","vlan":1}`)}}, nil
		},
	})
	// A real Infrahub node event (fixtures/infrahub/webhooks).
	body, err := os.ReadFile("testdata/infrahub.node.updated.json")
	if err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/events/infrahub"
	src := e.as("")

	st, b := src.do("POST", path, body, "X-Netauto-Signature", sign([]byte("wrong"), body))
	wantError(t, st, b, 401, "")
	st, b = src.do("POST", path, body)
	wantError(t, st, b, 401, "")
	if evs, _, _ := e.st.ListEvents(context.Background(), store.EventFilter{}); len(evs) != 0 || len(matched) != 0 {
		t.Fatalf("a badly signed event was stored (%d) or matched (%d)", len(evs), len(matched))
	}

	st, b = src.do("POST", path, body, "X-Netauto-Signature", sign(secret, body))
	first := decodeAs[wire.EventAccepted](t, b)
	if st != 202 || len(first.RunIDs) != 1 || first.EventID != "67acc7ea-93b1-4175-a69b-801c869aea07" || first.Duplicate {
		t.Fatalf("first delivery: %d %s", st, b)
	}
	if matched[0].Type != "infrahub.node.updated" || matched[0].Source != "infrahub" {
		t.Fatalf("matcher saw %+v", matched[0])
	}
	if _, err := e.st.GetRun(context.Background(), first.RunIDs[0]); err != nil {
		t.Fatalf("run of a 202 event not stored: %v", err)
	}
	st, b = src.do("POST", path, body, "X-Netauto-Signature", sign(secret, body))
	dup := decodeAs[wire.EventAccepted](t, b)
	if st != 200 || !dup.Duplicate || len(dup.RunIDs) != 1 || dup.RunIDs[0] != first.RunIDs[0] || len(matched) != 1 {
		t.Fatalf("duplicate: %d %s (matched %d times), want 200 with the first run", st, b, len(matched))
	}

	bad := []byte(`{"id":"ev-2","event":"x","data":{}}`)
	st, b = src.do("POST", path, bad, "X-Netauto-Signature", sign(secret, bad))
	wantError(t, st, b, 400, "payload.data.kind")
	if evs, _, _ := e.st.ListEvents(context.Background(), store.EventFilter{}); len(evs) != 1 {
		t.Fatalf("%d events stored, want the failed match to store nothing", len(evs))
	}
	notJSON := []byte("not json")
	st, b = src.do("POST", path, notJSON, "X-Netauto-Signature", sign(secret, notJSON))
	wantError(t, st, b, 400, "body")

	st, b = e.as("na_source-key-0123456789abcdef").do("POST", "/api/v1/events/ci", `{"type":"build.done","data":{"kind":"x"}}`, "X-Event-Id", "build-7")
	if ans := decodeAs[wire.EventAccepted](t, b); st != 202 || ans.EventID != "build-7" {
		t.Fatalf("bearer source: %d %s", st, b)
	}
	st, b = e.as(adminKey).do("POST", "/api/v1/events/ci", `{}`)
	wantError(t, st, b, 401, "")
	st, b = src.do("POST", "/api/v1/events/nope", `{}`)
	wantError(t, st, b, 404, "source")

	// The inbox's refused and duplicate deliveries, newest first; a
	// refused body is not kept, its claimed event ID is.
	st, b = e.do("GET", "/api/v1/events/deliveries", nil)
	ds := decodeAs[wire.EventDeliveries](t, b).Deliveries
	var got []string
	for _, d := range ds {
		got = append(got, d.Source+":"+d.Outcome)
	}
	want := []string{"nope:unknown_source", "ci:unauthorized", "infrahub:invalid", "infrahub:invalid", "infrahub:duplicate", "infrahub:unauthorized", "infrahub:unauthorized"}
	if st != 200 || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("deliveries %d %v, want %v", st, got, want)
	}
	if d := ds[3]; d.EventID != "ev-2" || !strings.Contains(d.Reason, "payload.data.kind") {
		t.Errorf("delivery the matcher refused %+v, want its event and the field", d)
	}
	if d := ds[4]; d.EventID != first.EventID || len(d.RunIDs) != 1 || d.RunIDs[0] != first.RunIDs[0] {
		t.Errorf("duplicate delivery %+v, want the event and its first run", d)
	}
	if d := ds[6]; d.EventID != first.EventID || !strings.Contains(d.Reason, "signature") || d.Remote == "" {
		t.Errorf("badly signed delivery %+v, want the claimed event ID, why and who", d)
	}
	if strings.Contains(string(b), "node.updated") {
		t.Errorf("a refused delivery's body reached the inbox: %s", b)
	}
	if st, b = e.do("GET", "/api/v1/events/deliveries?limit=2", nil); len(decodeAs[wire.EventDeliveries](t, b).Deliveries) != 2 {
		t.Errorf("limit=2: %d %s", st, b)
	}

	st, b = e.do("GET", "/metrics", nil)
	for _, want := range []string{`netauto_events_total{source="infrahub",outcome="accepted"} 1`, `netauto_events_total{source="infrahub",outcome="duplicate"} 1`, `netauto_events_total{source="infrahub",outcome="unauthorized"} 2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
