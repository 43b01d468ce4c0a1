package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestIntakeSecretRotation: a source accepts deliveries signed with any
// of its secrets while a rotation is under way, and no other.
func TestIntakeSecretRotation(t *testing.T) {
	oldS, newS := []byte("old-secret-of-the-source-0123"), []byte("new-secret-of-the-source-4567")
	e := newEnv(t, api.Options{Sources: map[string]api.Verifier{"ci": &api.HMACVerifier{Secrets: [][]byte{newS, oldS}}}})
	src := e.as("")
	for i, sec := range [][]byte{newS, oldS, []byte("someone-else")} {
		body := []byte(fmt.Sprintf(`{"id":"ev-%d","type":"x"}`, i))
		st, b := src.do("POST", "/api/v1/events/ci", body, "X-Netauto-Signature", sign(sec, body))
		if want := []int{202, 202, 401}[i]; st != want {
			t.Fatalf("delivery %d: %d %s, want %d", i, st, b, want)
		}
	}
}

// TestInfrahubKeyRotation: the Infrahub source accepts the new key and
// the key being rotated out.
func TestInfrahubKeyRotation(t *testing.T) {
	mk := func(k string) *infrahub.Verifier {
		v, err := infrahub.NewVerifier([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v := api.InfrahubVerifier{Verifier: mk("new-infrahub-key"), Previous: []*infrahub.Verifier{mk("old-infrahub-key")}}
	body := []byte(`{"id":"67acc7ea-93b1-4175-a69b-801c869aea07","event":"infrahub.node.updated","data":{},"context":{}}`)
	for key, ok := range map[string]bool{"new-infrahub-key": true, "old-infrahub-key": true, "other-key": false} {
		r, _ := http.NewRequest("POST", "/", nil)
		infrahubSign(r, []byte(key), body)
		if _, err := v.Verify(r, body); (err == nil) != ok {
			t.Errorf("key %s: %v, want accepted %v", key, err, ok)
		}
	}
	// Events are kept longer than twice the tolerance, or New refuses.
	st := openStore(t)
	if _, err := api.New(st, api.Options{Sources: map[string]api.Verifier{"infrahub": v}, EventRetention: 9 * time.Minute}); err == nil || !strings.Contains(err.Error(), "tolerance") {
		t.Fatalf("a retention shorter than the replay window: %v", err)
	}
}

// TestIntakeRateLimit: a source sending more than its rate is answered
// 429 with Retry-After and stores nothing; another source is not held up.
func TestIntakeRateLimit(t *testing.T) {
	now := time.Now()
	secret := []byte("shared-secret-of-the-generic-source")
	e := newEnv(t, api.Options{Now: func() time.Time { return now }, EventRate: 1, EventBurst: 2,
		Sources: map[string]api.Verifier{"a": &api.HMACVerifier{Secret: secret}, "b": &api.HMACVerifier{Secret: secret}}})
	deliver := func(src string, i int) (int, http.Header) {
		body := []byte(fmt.Sprintf(`{"id":"%s-%d","type":"x"}`, src, i))
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/events/"+src, strings.NewReader(string(body)))
		req.Header.Set("X-Netauto-Signature", sign(secret, body))
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	for i := range 2 {
		if st, _ := deliver("a", i); st != 202 {
			t.Fatalf("delivery %d within the burst: %d", i, st)
		}
	}
	st, h := deliver("a", 2)
	if st != 429 || h.Get("Retry-After") != "1" {
		t.Fatalf("delivery over the rate: %d, Retry-After %q", st, h.Get("Retry-After"))
	}
	if evs, _, _ := e.st.ListEvents(context.Background(), store.EventFilter{Source: "a"}); len(evs) != 2 {
		t.Fatalf("%d events stored, want 2", len(evs))
	}
	if st, _ := deliver("b", 0); st != 202 {
		t.Fatalf("another source held up: %d", st)
	}
	now = now.Add(time.Second)
	if st, _ := deliver("a", 3); st != 202 {
		t.Fatalf("after a second: %d", st)
	}
}

// TestPruneEvents keeps events for the retention, then prunes them.
func TestPruneEventsAfterRetention(t *testing.T) {
	now := time.Now()
	e := newEnv(t, api.Options{Now: func() time.Time { return now }, EventRetention: time.Hour})
	none := func(store.Event) ([]store.RunSpec, error) { return nil, nil }
	if _, err := e.st.AcceptEvent(context.Background(), store.Event{ID: "old", Source: "s", Payload: []byte(`{}`), Received: now.Add(-2 * time.Hour)}, none); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.AcceptEvent(context.Background(), store.Event{ID: "new", Source: "s", Payload: []byte(`{}`), Received: now}, none); err != nil {
		t.Fatal(err)
	}
	if n, err := e.api.PruneEvents(context.Background()); err != nil || n != 1 {
		t.Fatalf("PruneEvents = %d, %v; want 1", n, err)
	}
}

// infrahubSign signs body as Infrahub does, now, on r's headers.
func infrahubSign(r *http.Request, key, body []byte) {
	ts := time.Now().Unix()
	r.Header.Set("webhook-id", "msg_1")
	r.Header.Set("webhook-timestamp", fmt.Sprint(ts))
	r.Header.Set("webhook-signature", infrahub.Sign(key, "msg_1", ts, body))
}
