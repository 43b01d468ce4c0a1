package trigger

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// fixture loads a webhook payload from testdata as an event, its type and
// ID read from the Infrahub envelope as the intake does.
func fixture(t testing.TB, name string) store.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		ID    string `json:"id"`
		Event string `json:"event"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	return store.Event{ID: env.ID, Source: "infrahub", Type: env.Event, Payload: b}
}

const (
	artifactUpdated = "community-infrahub.artifact.updated.json"
	nodeCreated     = "docs-infrahub.node.created.json"
	nodeUpdated     = "docs-infrahub.node.updated.json"
	branchCreated   = "docs-infrahub.branch.created.json"
)

func names(fs []Fired) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Trigger.Name
	}
	return out
}

func TestMatchRules(t *testing.T) {
	tests := []struct {
		name     string
		triggers []Trigger
		event    string
		want     []string
	}{
		{
			name: "artifact kind is read from data.target_kind",
			triggers: []Trigger{
				{Name: "flex", Event: "infrahub.artifact.updated", Kind: "NetautoFlexApplication", Deployment: "deploy-as3"},
				{Name: "other-kind", Event: "infrahub.artifact.updated", Kind: "InfraDevice", Deployment: "push-config"},
			},
			event: artifactUpdated,
			want:  []string{"flex"},
		},
		{
			name: "node kind is read from data.kind",
			triggers: []Trigger{
				{Name: "iface", Event: "infrahub.node.updated", Kind: "InfraInterfaceL3", Deployment: "sync"},
				{Name: "provider", Event: "infrahub.node.updated", Kind: "OrganizationProvider", Deployment: "sync"},
			},
			event: nodeUpdated,
			want:  []string{"iface"},
		},
		{
			name: "exact kind takes precedence over the wildcard",
			triggers: []Trigger{
				{Name: "any", Event: "infrahub.node.updated", Kind: "*", Deployment: "audit"},
				{Name: "iface", Event: "infrahub.node.updated", Kind: "InfraInterfaceL3", Deployment: "sync"},
			},
			event: nodeUpdated,
			want:  []string{"iface"},
		},
		{
			name: "the wildcard fires when no exact kind applies",
			triggers: []Trigger{
				{Name: "any", Event: "infrahub.node.updated", Deployment: "audit"},
				{Name: "device", Event: "infrahub.node.updated", Kind: "InfraDevice", Deployment: "sync"},
			},
			event: nodeUpdated,
			want:  []string{"any"},
		},
		{
			name: "several exact triggers all fire, in table order",
			triggers: []Trigger{
				{Name: "sync", Event: "infrahub.node.updated", Kind: "InfraInterfaceL3", Deployment: "sync"},
				{Name: "any", Event: "*", Deployment: "audit"},
				{Name: "validate", Event: "infrahub.node.*", Kind: "InfraInterfaceL3", Deployment: "validate"},
			},
			event: nodeUpdated,
			want:  []string{"sync", "validate"},
		},
		{
			name: "a failed condition on the exact trigger leaves the event to the wildcard",
			triggers: []Trigger{
				{Name: "any", Event: "infrahub.node.updated", Deployment: "audit"},
				{Name: "role", Event: "infrahub.node.updated", Kind: "InfraInterfaceL3", Deployment: "sync",
					Conditions: []Condition{{Path: "data.fields", OneOf: []any{"name"}}}},
			},
			event: nodeUpdated,
			want:  []string{"any"},
		},
		{
			name: "conditions on values and presence",
			triggers: []Trigger{
				{Name: "created", Event: "infrahub.node.*", Deployment: "a", Conditions: []Condition{{Path: "data.action", OneOf: []any{"created"}}}},
				{Name: "updated", Event: "infrahub.node.*", Deployment: "b", Conditions: []Condition{{Path: "data.action", OneOf: []any{"deleted", "updated"}}}},
				{Name: "has-role", Event: "infrahub.node.*", Deployment: "c", Conditions: []Condition{{Path: "data.changelog.attributes.role"}}},
				{Name: "main-only", Event: "infrahub.node.*", Deployment: "d", Conditions: []Condition{{Path: "branch", OneOf: []any{"main"}}}},
				{Name: "second-field", Event: "infrahub.node.*", Deployment: "e", Conditions: []Condition{{Path: "data.fields.1", OneOf: []any{"role"}}}},
			},
			event: nodeUpdated,
			want:  []string{"updated", "has-role", "second-field"},
		},
		{
			name: "a null field fails a presence condition",
			triggers: []Trigger{
				{Name: "branch", Event: "*", Deployment: "a", Conditions: []Condition{{Path: "branch"}}},
			},
			event: branchCreated,
		},
		{
			name: "booleans compare as JSON values",
			triggers: []Trigger{
				{Name: "no-git", Event: "infrahub.branch.created", Deployment: "a", Conditions: []Condition{{Path: "data.sync_with_git", OneOf: []any{false}}}},
				{Name: "string-false", Event: "infrahub.branch.created", Deployment: "b", Conditions: []Condition{{Path: "data.sync_with_git", OneOf: []any{"false"}}}},
			},
			event: branchCreated,
			want:  []string{"no-git"},
		},
		{
			name: "an event without a kind matches only wildcard kinds",
			triggers: []Trigger{
				{Name: "branches", Event: "infrahub.branch.*", Deployment: "a"},
				{Name: "kinded", Event: "infrahub.branch.created", Kind: "CoreBranch", Deployment: "b"},
			},
			event: branchCreated,
			want:  []string{"branches"},
		},
		{
			name: "unmatched",
			triggers: []Trigger{
				{Name: "artifact", Event: "infrahub.artifact.updated", Deployment: "a"},
				{Name: "other-family", Event: "infrahub.branch.*", Deployment: "b"},
			},
			event: nodeCreated,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := New(tt.triggers...)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tab.Match(fixture(t, tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if g := names(got); !slices.Equal(g, tt.want) {
				t.Errorf("fired %q, want %q", g, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := Trigger{Event: "infrahub.node.updated", Deployment: "d"}
	tests := []struct {
		name  string
		edit  func(*Trigger)
		field string
	}{
		{"no deployment", func(tr *Trigger) { tr.Deployment = " " }, "deployment"},
		{"no event", func(tr *Trigger) { tr.Event = "" }, "event"},
		{"inner wildcard", func(tr *Trigger) { tr.Event = "infrahub.*.updated" }, "event"},
		{"partial segment wildcard", func(tr *Trigger) { tr.Event = "infrahub.node.up*" }, "event"},
		{"kind pattern", func(tr *Trigger) { tr.Kind = "Infra*" }, "kind"},
		{"condition path", func(tr *Trigger) { tr.Conditions = []Condition{{Path: "data..kind"}} }, "conditions[0].path"},
		{"condition value", func(tr *Trigger) {
			tr.Conditions = []Condition{{Path: "data.kind", OneOf: []any{"x", func() {}}}}
		}, "conditions[0].one_of[1]"},
		{"parameter path", func(tr *Trigger) { tr.Parameters = map[string]string{"device": ""} }, "parameters.device"},
		{"parameter name", func(tr *Trigger) { tr.Parameters = map[string]string{"": "data.kind"} }, "parameters"},
		{"event parameter clash", func(tr *Trigger) {
			tr.EventParameter = "event"
			tr.Parameters = map[string]string{"event": "data"}
		}, "event_parameter"},
		{"throttle key", func(tr *Trigger) { tr.Throttle = &Throttle{Within: time.Second} }, "throttle.key"},
		{"throttle window", func(tr *Trigger) { tr.Throttle = &Throttle{Key: "data.node_id"} }, "throttle.within"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := ok
			tt.edit(&tr)
			_, err := New(ok, tr)
			var fe *fielderr.Error
			if !errors.As(err, &fe) || fe.Field != "triggers[1]."+tt.field {
				t.Fatalf("New = %v, want a *fielderr.Error for triggers[1].%s", err, tt.field)
			}
			if err := tr.Validate(); !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate = %v, want a *fielderr.Error for %s", err, tt.field)
			}
		})
	}
	if _, err := New(ok, ok); err == nil {
		t.Fatal("two triggers with the same default name accepted")
	}
}

func TestMatcherParameters(t *testing.T) {
	tab, err := New(Trigger{
		Event: "infrahub.node.updated", Kind: "InfraInterfaceL3", Deployment: "sync",
		EventParameter: "event",
		Parameters:     map[string]string{"node": "data.node_id", "role": "data.changelog.attributes.role.value", "missing": "data.nope"},
		Throttle:       &Throttle{Key: "data.node_id", Within: time.Minute},
	})
	if err != nil {
		t.Fatal(err)
	}
	deps := []store.Deployment{{Name: "sync", Parameters: json.RawMessage(`{"node": "default", "missing": 7, "big": 9007199254740993, "dry_run": true}`)}}
	ev := fixture(t, nodeUpdated)
	ev.Received = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	specs, err := tab.Matcher(deps)(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 1 {
		t.Fatalf("got %d specs, want 1", len(specs))
	}
	s := specs[0]
	if s.Deployment != "sync" || s.ThrottleKey != "data.node_id=182c697c-9915-aa00-39b7-c5181aeb3367" || s.Throttle != time.Minute {
		t.Errorf("spec = %+v", s)
	}
	var got struct {
		Node    string          `json:"node"`
		Role    string          `json:"role"`
		Missing int             `json:"missing"`
		Big     json.Number     `json:"big"`
		DryRun  bool            `json:"dry_run"`
		Event   json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(s.Parameters, &got); err != nil {
		t.Fatal(err)
	}
	if got.Node != "182c697c-9915-aa00-39b7-c5181aeb3367" || got.Role != "peering" || got.Missing != 7 || got.Big != "9007199254740993" || !got.DryRun {
		t.Errorf("parameters = %s", s.Parameters)
	}
	var typed Event
	if err := json.Unmarshal(got.Event, &typed); err != nil {
		t.Fatal(err)
	}
	want := Event{ID: ev.ID, Source: "infrahub", Type: "infrahub.node.updated", Received: ev.Received, Payload: ev.Payload}
	if typed.ID != want.ID || typed.Source != want.Source || typed.Type != want.Type || !typed.Received.Equal(want.Received) {
		t.Errorf("event parameter = %+v", typed)
	}
	var a, b any
	_ = json.Unmarshal(typed.Payload, &a)
	_ = json.Unmarshal(ev.Payload, &b)
	if !reflect.DeepEqual(a, b) {
		t.Error("event parameter's payload differs from the event's")
	}

	if _, err := tab.Matcher(nil)(ev); !errors.As(err, new(*UnknownDeploymentError)) {
		t.Errorf("matcher without the deployment: %v, want *UnknownDeploymentError", err)
	}
	if _, err := tab.Match(store.Event{ID: "x", Payload: json.RawMessage(`{"a":`)}); err == nil {
		t.Error("a malformed payload matched without error")
	}
}

// TestAcceptEventThrottle runs the matcher inside the store's transaction:
// throttling holds per node, across events, in the store; an unmatched
// event is kept and listed as unmatched.
func TestAcceptEventThrottle(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyDeployment(ctx, store.Deployment{Name: "sync", Flow: "sync-interface", Pool: "default"}); err != nil {
		t.Fatal(err)
	}
	tab, err := New(Trigger{Event: "infrahub.node.*", Kind: "InfraInterfaceL3", Deployment: "sync",
		Parameters: map[string]string{"node": "data.node_id"},
		Throttle:   &Throttle{Key: "data.node_id", Within: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	deps, err := s.ListDeployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	match := tab.Matcher(deps)
	base := fixture(t, nodeUpdated)
	accept := func(id string, payload json.RawMessage) store.Accepted {
		t.Helper()
		ev := base
		ev.ID = id
		if payload != nil {
			ev.Payload = payload
		}
		acc, err := s.AcceptEvent(ctx, ev, match)
		if err != nil {
			t.Fatal(err)
		}
		return acc
	}
	otherNode := json.RawMessage(`{"event": "infrahub.node.updated", "data": {"kind": "InfraInterfaceL3", "node_id": "other"}}`)
	steps := []struct {
		id      string
		payload json.RawMessage
		advance time.Duration
		runs    int
	}{
		{"e1", nil, 0, 1},
		{"e2", nil, 30 * time.Second, 0},              // same node within a minute: throttled
		{"e3", otherNode, 0, 1},                       // another node has its own key
		{"e4", nil, 31 * time.Second, 1},              // the window has passed
		{"e1", nil, 0, 1},                             // a retried delivery: deduplicated, same run
		{"e5", fixture(t, nodeCreated).Payload, 0, 0}, // another kind: unmatched
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		if acc := accept(st.id, st.payload); len(acc.RunIDs) != st.runs {
			t.Fatalf("event %s: %d runs, want %d", st.id, len(acc.RunIDs), st.runs)
		}
	}
	unmatched, _, err := s.ListEvents(ctx, store.EventFilter{Unmatched: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range unmatched {
		ids = append(ids, e.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"e2", "e5"}) {
		t.Errorf("unmatched events %q, want e2 (throttled) and e5", ids)
	}
}
