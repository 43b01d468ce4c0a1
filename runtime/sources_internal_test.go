package runtime

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// gitlabSource is what a GitLab webhook source package holds: GitLab
// sends the hook's secret token in X-Gitlab-Token, the event name in
// X-Gitlab-Event ("Merge Request Hook"), a key kept across retries in
// Idempotency-Key (X-Gitlab-Event-UUID on older releases) and the
// object's kind in the body's "object_kind" (GitLab webhook docs).
type gitlabSource struct{ token string }

func (g gitlabSource) Verify(r *http.Request, _ []byte) (string, error) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Gitlab-Token")), []byte(g.token)) != 1 {
		return "", errors.New("bad token")
	}
	if id := r.Header.Get("Idempotency-Key"); id != "" {
		return id, nil
	}
	return r.Header.Get("X-Gitlab-Event-UUID"), nil
}

func (gitlabSource) EventType(r *http.Request, _ []byte) string {
	return r.Header.Get("X-Gitlab-Event")
}

func (gitlabSource) EventKind(_ string, payload []byte) string {
	var doc struct {
		Kind string `json:"object_kind"`
	}
	_ = json.Unmarshal(payload, &doc)
	return doc.Kind
}

var (
	_ api.EventTyper  = gitlabSource{}
	_ api.EventKinder = gitlabSource{}
)

// A source that says where its events carry their kind is one value in
// App.Sources: its triggers match that kind, while Infrahub's events are
// still read where Infrahub puts it.
func TestSourceKinds(t *testing.T) {
	app := &App{
		Sources: map[string]api.Verifier{"gitlab": gitlabSource{token: "t"}, "infrahub": api.InfrahubVerifier{}},
		Triggers: []trigger.Trigger{
			{Event: "Merge Request Hook", Kind: "merge_request", Deployment: "review", Parameters: map[string]string{"iid": "object_attributes.iid"}},
			{Event: "infrahub.artifact.*", Kind: "InfraDevice", Deployment: "push-config"},
			{Event: "*", Kind: "*", Deployment: "audit"},
		},
	}
	c, err := app.compile()
	if err != nil {
		t.Fatal(err)
	}
	fired := func(ev store.Event) []string {
		t.Helper()
		fs, err := c.triggers.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.Trigger.Deployment)
		}
		return out
	}
	mr := store.Event{ID: "1", Source: "gitlab", Type: "Merge Request Hook", Payload: json.RawMessage(`{"object_kind":"merge_request","object_attributes":{"iid":7}}`)}
	if got := fired(mr); len(got) != 1 || got[0] != "review" {
		t.Errorf("gitlab merge request fired %v, want review", got)
	}
	// The same payload from a source that does not say: read as Infrahub
	// lays it out (data.kind), no kind, so only the "*" trigger fires.
	mr.Source = "other"
	if got := fired(mr); len(got) != 1 || got[0] != "audit" {
		t.Errorf("kindless event fired %v, want audit", got)
	}
	art := store.Event{ID: "2", Source: "infrahub", Type: "infrahub.artifact.updated", Payload: json.RawMessage(`{"data":{"target_kind":"InfraDevice"}}`)}
	if got := fired(art); len(got) != 1 || got[0] != "push-config" {
		t.Errorf("infrahub artifact fired %v, want push-config", got)
	}
}
