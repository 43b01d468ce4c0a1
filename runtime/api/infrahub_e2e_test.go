package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// flakyNetwork stands between the fake Infrahub and the real intake and
// misbehaves per event (chosen by the tag's name in the body) and attempt:
//
//	"ok"           every attempt reaches the intake
//	"slow"         attempt 1 reaches the intake, which stores the event,
//	               but the answer comes after Infrahub's timeout
//	"lost-answer"  attempt 1 is stored but the answer is replaced by 500
//	"refused"      attempts 1 and 2 get 502 without reaching the intake
//	"down"         every attempt gets 503
type flakyNetwork struct {
	intake http.Handler
	mu     sync.Mutex
	tries  map[string]int // tag name -> attempts seen
	status map[string][]int
}

func (n *flakyNetwork) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	name := "?"
	if ev, err := infrahub.DecodeEvent(body); err == nil {
		if d, ok := ev.Data.(*infrahub.NodeData); ok {
			_ = json.Unmarshal(d.Changelog.Attributes["name"].Value, &name)
		}
	}
	n.mu.Lock()
	n.tries[name]++
	try := n.tries[name]
	n.mu.Unlock()
	record := func(status int) {
		n.mu.Lock()
		n.status[name] = append(n.status[name], status)
		n.mu.Unlock()
	}
	switch {
	case name == "down":
		http.Error(w, "receiver down", http.StatusServiceUnavailable)
	case name == "refused" && try <= 2:
		http.Error(w, "bad gateway", http.StatusBadGateway)
	case name == "slow" && try == 1:
		rec := httptest.NewRecorder()
		n.intake.ServeHTTP(rec, r)
		record(rec.Code)
		<-r.Context().Done() // Infrahub gave up waiting and hung up
	case name == "lost-answer" && try == 1:
		rec := httptest.NewRecorder()
		n.intake.ServeHTTP(rec, r)
		record(rec.Code)
		http.Error(w, "proxy error", http.StatusInternalServerError)
	default:
		rec := httptest.NewRecorder()
		n.intake.ServeHTTP(rec, r)
		record(rec.Code)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}
}

// TestInfrahubDeliveryEndToEnd: the fake Infrahub delivers its events as
// Infrahub does (up to 3 retries on an error answer or a timeout, each
// with a new webhook-id, timestamp and signature, the body's id unchanged)
// through the real HTTP intake, behind a network that is slow or failing.
// Every event the intake stored has exactly one run: a retry of an event
// already stored is a duplicate, whatever happened to the first answer.
func TestInfrahubDeliveryEndToEnd(t *testing.T) {
	key := []byte("whsec-e2e")
	v, err := infrahub.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	table, err := trigger.New(trigger.Trigger{Event: infrahub.EventNodeCreated, Kind: "BuiltinTag", Deployment: "vlan-prod",
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
	network := &flakyNetwork{intake: e.api, tries: map[string]int{}, status: map[string][]int{}}
	front := httptest.NewServer(network)
	defer front.Close()

	const timeout = 300 * time.Millisecond // Infrahub's is 10 s
	fake, fakeSrv := infrahubtest.NewTestServer(t, infrahubtest.Options{
		WebhookTimeout: timeout,
		Webhooks: []infrahubtest.Webhook{{URL: front.URL + "/api/v1/events/infrahub", SharedKey: key,
			Events: []string{infrahub.EventNodeCreated}}},
	})
	client, err := infrahub.New(infrahub.Config{Address: fakeSrv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	names := []string{"ok", "slow", "lost-answer", "refused", "down"}
	nodeOf := map[string]string{}
	for _, name := range names {
		ref, err := client.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value(name)}, infrahub.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nodeOf[name] = ref.ID
	}
	fake.Wait() // every delivery, retries included, has ended

	// Infrahub's side: how many attempts, each with a new webhook-id, the
	// event id the same.
	attempts := map[string][]infrahubtest.Delivery{}
	for _, d := range fake.Deliveries() {
		attempts[d.EventID] = append(attempts[d.EventID], d)
	}
	wantAttempts := map[string]int{"ok": 1, "slow": 2, "lost-answer": 2, "refused": 3, "down": 4}
	network.mu.Lock()
	for name, want := range wantAttempts {
		if got := network.tries[name]; got != want {
			t.Errorf("%s: %d attempts reached the network, want %d", name, got, want)
		}
	}
	network.mu.Unlock()
	for id, ds := range attempts {
		seen := map[string]bool{}
		for i, d := range ds {
			if seen[d.WebhookID] || d.EventID != id {
				t.Errorf("event %s attempt %d reused webhook-id %s", id, i+1, d.WebhookID)
			}
			seen[d.WebhookID] = true
		}
		last := ds[len(ds)-1]
		if len(ds) == 4 && last.Err == nil || len(ds) < 4 && last.Err != nil {
			t.Errorf("event %s: last attempt %+v after %d attempts", id, last, len(ds))
		}
	}
	if len(attempts) != len(names) {
		t.Fatalf("%d events delivered, want %d", len(attempts), len(names))
	}
	if slow := findAttempts(attempts, 2, "timed out"); slow == nil {
		t.Error("no delivery timed out and was retried")
	}

	// The runtime's side: one run per stored event, none for the event
	// Infrahub gave up on.
	runs, _, err := e.st.ListRuns(context.Background(), store.RunFilter{Deployment: "vlan-prod"})
	if err != nil {
		t.Fatal(err)
	}
	perDevice := map[string]int{}
	for _, r := range runs {
		var p vlanParams
		if err := json.Unmarshal(r.Parameters, &p); err != nil {
			t.Fatal(err)
		}
		perDevice[p.Device]++
	}
	for _, name := range names {
		want := 1
		if name == "down" {
			want = 0
		}
		if got := perDevice[nodeOf[name]]; got != want {
			t.Errorf("%s: %d runs, want %d", name, got, want)
		}
	}
	if len(runs) != len(names)-1 {
		t.Errorf("%d runs in all, want %d", len(runs), len(names)-1)
	}
	evs, _, err := e.st.ListEvents(context.Background(), store.EventFilter{Source: "infrahub"})
	if err != nil || len(evs) != len(names)-1 {
		t.Fatalf("%d events stored (%v), want %d", len(evs), err, len(names)-1)
	}
	// What the intake answered: the retries of an event it had stored are
	// duplicates (200), never a second acceptance.
	network.mu.Lock()
	defer network.mu.Unlock()
	wantStatus := map[string][]int{"ok": {202}, "slow": {202, 200}, "lost-answer": {202, 200}, "refused": {202}}
	for name, want := range wantStatus {
		if got := network.status[name]; !slices.Equal(got, want) {
			t.Errorf("%s: intake answered %v, want %v", name, got, want)
		}
	}
}

// findAttempts returns the attempts of an event with n attempts whose
// first failed with an error containing substr.
func findAttempts(all map[string][]infrahubtest.Delivery, n int, substr string) []infrahubtest.Delivery {
	for _, ds := range all {
		if len(ds) == n && ds[0].Err != nil && strings.Contains(ds[0].Err.Error(), substr) {
			return ds
		}
	}
	return nil
}
