package trigger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/schedule"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Wildcard matches every event type or every kind.
const Wildcard = "*"

// Trigger starts a deployment's run for events of a type and target kind.
// In JSON:
//
//	{"event": "infrahub.node.updated", "kind": "InfraDevice", "deployment": "sync-device",
//	 "conditions": [{"path": "data.action", "one_of": ["updated"]}],
//	 "parameters": {"device_id": "data.node_id"}, "event_parameter": "event",
//	 "throttle": {"key": "data.node_id", "within": 60000000000}}
type Trigger struct {
	// Name identifies the trigger in errors and logs; default
	// "EVENT/KIND->DEPLOYMENT".
	Name string `json:"name,omitempty"`
	// Event is the event type ("infrahub.artifact.updated"), a prefix
	// ending in ".*" ("infrahub.node.*"), or "*" for every type.
	Event string `json:"event"`
	// Kind is the exact target kind ("InfraDevice") or "*" (the default)
	// for any kind, including events that carry none. See [KindPath] for
	// where an event carries its kind.
	Kind string `json:"kind,omitempty"`
	// Deployment is the deployment whose run the trigger creates.
	Deployment string `json:"deployment"`
	// Conditions must all hold for the trigger to fire.
	Conditions []Condition `json:"conditions,omitempty"`
	// EventParameter, when set, passes the whole event as this flow
	// parameter, an [Event] object.
	EventParameter string `json:"event_parameter,omitempty"`
	// Parameters maps flow parameter names to paths in the event payload
	// ("data.node_id"; "data.fields.0" indexes an array). A path the
	// payload lacks (or holds null) leaves its parameter unset, so the
	// deployment's default applies; require it with a [Condition].
	Parameters map[string]string `json:"parameters,omitempty"`
	// Throttle, when set, creates at most one run of the deployment per
	// key within a time span; further matching events are accepted
	// without a run.
	Throttle *Throttle `json:"throttle,omitempty"`
}

// Condition tests one payload field.
type Condition struct {
	// Path is the field's path in the payload ("data.action").
	Path string `json:"path"`
	// OneOf lists accepted values, compared as JSON values (1 equals 1.0,
	// "1" does not). Empty means the field must be present and not null.
	OneOf []any `json:"one_of,omitempty"`
}

// Throttle limits a trigger's runs: at most one run of the deployment per
// value of Key within Within. The store keeps the throttle state, so it
// holds across restarts and server replicas.
type Throttle struct {
	// Key is the payload path of the throttle key ("data.node_id"). An
	// event without it is not throttled.
	Key string `json:"key"`
	// Within is the throttle window, positive.
	Within time.Duration `json:"within"`
}

// Event is the typed form of an event handed to a flow through
// [Trigger.EventParameter]. Declare a parameter field of this type (a
// pointer, for flows also started by schedules) to receive it; decode
// Payload into the source's own event type.
type Event struct {
	ID       string          `json:"id"`
	Source   string          `json:"source"`
	Type     string          `json:"type"`
	Received time.Time       `json:"received"`
	Payload  json.RawMessage `json:"payload"`
}

// KindPath returns where events of eventType carry their target kind in
// the layout of Infrahub, the default event source: artifact events in
// data.target_kind (the kind of the node the artifact was rendered for),
// every other event in data.kind (node and group events). The returned
// path uses the dots of [Trigger.Parameters]. Sources that put it
// elsewhere say so through [Table.WithKinds].
func KindPath(eventType string) string {
	if strings.HasPrefix(eventType, "infrahub.artifact.") {
		return "data.target_kind"
	}
	return "data.kind"
}

// KindFunc returns the kind of an event's target ("InfraDevice",
// "merge_request", "dcim.device"), "" when it carries none. Each event
// source knows where its payloads hold it.
type KindFunc func(ev store.Event) string

// DefaultKind reads an event's kind at [KindPath] of its type.
func DefaultKind(ev store.Event) string {
	doc, err := decode(ev.Payload)
	if err != nil {
		return ""
	}
	return path(strings.Split(KindPath(ev.Type), ".")).lookupString(doc)
}

// WithKinds returns a copy of the table that reads each event's kind
// with kind instead of [DefaultKind] (nil: DefaultKind): the runtime
// passes one that asks the event's source.
func (t *Table) WithKinds(kind KindFunc) *Table {
	c := *t
	c.kind = kind
	return &c
}

// UnknownDeploymentError is returned by a matcher when a firing trigger
// names a deployment that does not exist. The event is then not accepted
// (the sender retries), rather than accepted with a run silently missing.
type UnknownDeploymentError struct {
	Trigger    string
	Deployment string
}

func (e *UnknownDeploymentError) Error() string {
	return fmt.Sprintf("trigger %q: deployment %q does not exist", e.Trigger, e.Deployment)
}

// compiled is a validated trigger with its paths parsed.
type compiled struct {
	Trigger
	conds    []compiledCondition
	params   []mapping
	throttle path
}

type compiledCondition struct {
	path  path
	oneOf []any // normalized
}

type mapping struct {
	name string
	path path
}

// Table is a validated set of triggers. It is immutable and safe for
// concurrent use.
type Table struct {
	triggers []compiled
	kind     KindFunc
}

// New validates triggers and returns their table. Errors are *fielderr.Error
// values naming the field, e.g. "triggers[1].deployment: empty".
func New(triggers ...Trigger) (*Table, error) {
	t := &Table{triggers: make([]compiled, len(triggers))}
	names := make(map[string]int, len(triggers))
	for i, tr := range triggers {
		c, err := compile(tr)
		if err != nil {
			err.Field = fmt.Sprintf("triggers[%d].%s", i, err.Field)
			return nil, err
		}
		if j, dup := names[c.Name]; dup {
			return nil, &fielderr.Error{Field: fmt.Sprintf("triggers[%d].name", i), Reason: fmt.Sprintf("%q is also the name of triggers[%d]", c.Name, j)}
		}
		names[c.Name] = i
		t.triggers[i] = c
	}
	return t, nil
}

// Validate reports the first problem of tr as a *fielderr.Error.
func (tr Trigger) Validate() error {
	if _, err := compile(tr); err != nil {
		return err
	}
	return nil
}

func compile(tr Trigger) (compiled, *fielderr.Error) {
	c := compiled{Trigger: tr}
	if c.Kind == "" {
		c.Kind = Wildcard
	}
	switch {
	case strings.TrimSpace(tr.Deployment) == "":
		return c, &fielderr.Error{Field: "deployment", Reason: "empty"}
	case strings.TrimSpace(tr.Event) == "":
		return c, &fielderr.Error{Field: "event", Reason: "empty (use \"*\" for every event type)"}
	case strings.Contains(strings.TrimSuffix(tr.Event, ".*"), "*") && tr.Event != Wildcard:
		return c, &fielderr.Error{Field: "event", Reason: fmt.Sprintf("%q: a wildcard is \"*\" alone or a final \".*\"", tr.Event)}
	case c.Kind != Wildcard && strings.Contains(c.Kind, "*"):
		return c, &fielderr.Error{Field: "kind", Reason: fmt.Sprintf("%q: a kind is an exact name or \"*\"", tr.Kind)}
	}
	if c.Name == "" {
		c.Name = c.Event + "/" + c.Kind + "->" + c.Deployment
	}
	for i, cond := range tr.Conditions {
		p, err := parsePath(cond.Path)
		if err != nil {
			return c, &fielderr.Error{Field: fmt.Sprintf("conditions[%d].path", i), Reason: err.Error()}
		}
		cc := compiledCondition{path: p}
		for j, v := range cond.OneOf {
			n, err := normalize(v)
			if err != nil {
				return c, &fielderr.Error{Field: fmt.Sprintf("conditions[%d].one_of[%d]", i, j), Reason: "not a JSON value: " + err.Error()}
			}
			cc.oneOf = append(cc.oneOf, n)
		}
		c.conds = append(c.conds, cc)
	}
	if tr.EventParameter != "" {
		if _, clash := tr.Parameters[tr.EventParameter]; clash {
			return c, &fielderr.Error{Field: "event_parameter", Reason: fmt.Sprintf("%q is also mapped in parameters", tr.EventParameter)}
		}
	}
	for name, ps := range tr.Parameters {
		if strings.TrimSpace(name) == "" {
			return c, &fielderr.Error{Field: "parameters", Reason: "empty parameter name"}
		}
		p, err := parsePath(ps)
		if err != nil {
			return c, &fielderr.Error{Field: "parameters." + name, Reason: err.Error()}
		}
		c.params = append(c.params, mapping{name: name, path: p})
	}
	if th := tr.Throttle; th != nil {
		p, err := parsePath(th.Key)
		if err != nil {
			return c, &fielderr.Error{Field: "throttle.key", Reason: err.Error()}
		}
		if th.Within <= 0 {
			return c, &fielderr.Error{Field: "throttle.within", Reason: fmt.Sprintf("must be positive, got %v", th.Within)}
		}
		c.throttle = p
	}
	return c, nil
}

// Triggers returns the table's triggers, defaults filled in, in order.
func (t *Table) Triggers() []Trigger {
	out := make([]Trigger, len(t.triggers))
	for i, c := range t.triggers {
		out[i] = c.Trigger
	}
	return out
}

// Fired is a trigger that fires for an event.
type Fired struct {
	Trigger Trigger
	// Parameters are the parameters mapped from the event (the event
	// parameter included), before merging with the deployment's defaults.
	Parameters map[string]any
	// ThrottleKey is the store's throttle key, empty without throttling.
	ThrottleKey string
}

// Match returns the triggers that fire for ev, in table order. The rules:
//
//   - A trigger applies when its event pattern matches ev.Type, its kind
//     is "*" or equals the event's kind (read at [KindPath], or by the
//     table's [KindFunc]), and all its
//     conditions hold.
//   - When an applying trigger names the event's exact kind, only the
//     triggers naming that kind fire; otherwise the "*" ones do. A
//     conditioned exact-kind trigger whose conditions do not hold thus
//     leaves the event to the "*" triggers.
//   - Every trigger that fires creates one run, so one event may start
//     several deployments (or one deployment with several parameter sets).
//
// An empty result means the event is unmatched. An error means the payload
// is not JSON.
func (t *Table) Match(ev store.Event) ([]Fired, error) {
	doc, err := decode(ev.Payload)
	if err != nil {
		return nil, fmt.Errorf("event %s: payload: %w", ev.ID, err)
	}
	var kind string
	if t.kind != nil {
		kind = t.kind(ev)
	} else {
		kind = path(strings.Split(KindPath(ev.Type), ".")).lookupString(doc)
	}
	var (
		fired []Fired
		exact bool
	)
	for i := range t.triggers {
		c := &t.triggers[i]
		if !eventMatches(c.Event, ev.Type) || (c.Kind != Wildcard && c.Kind != kind) || !c.holds(doc) {
			continue
		}
		if c.Kind != Wildcard && !exact {
			exact, fired = true, fired[:0] // exact kinds take precedence: drop the "*" ones
		}
		if exact && c.Kind == Wildcard {
			continue
		}
		fired = append(fired, c.fire(ev, doc))
	}
	return fired, nil
}

func decode(payload json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return doc, nil
}

func eventMatches(pattern, typ string) bool {
	if pattern == Wildcard {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(typ, prefix)
	}
	return pattern == typ
}

func (c *compiled) holds(doc any) bool {
	for _, cond := range c.conds {
		v, ok := cond.path.lookup(doc)
		if !ok {
			return false
		}
		if len(cond.oneOf) == 0 {
			continue
		}
		n, err := normalize(v)
		if err != nil {
			return false
		}
		found := false
		for _, want := range cond.oneOf {
			if reflect.DeepEqual(n, want) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (c *compiled) fire(ev store.Event, doc any) Fired {
	f := Fired{Trigger: c.Trigger, Parameters: make(map[string]any, len(c.params)+1)}
	for _, m := range c.params {
		if v, ok := m.path.lookup(doc); ok {
			f.Parameters[m.name] = v
		}
	}
	if c.EventParameter != "" {
		f.Parameters[c.EventParameter] = Event{ID: ev.ID, Source: ev.Source, Type: ev.Type, Received: ev.Received, Payload: ev.Payload}
	}
	if c.throttle != nil {
		if k := c.throttle.lookupString(doc); k != "" {
			f.ThrottleKey = c.Throttle.Key + "=" + k
		}
	}
	return f
}

// Matcher returns the match function of [store.Events.AcceptEvent] for the
// table and the given deployments: one RunSpec per fired trigger, its
// parameters the deployment's defaults overridden by those mapped from the
// event (see [schedule.MergeParameters]), the deployment's tags, Scheduled
// now, throttled as the trigger says, its origin the trigger. It calls no store; pass the
// deployments as currently stored (the API server reloads them when one
// is applied). A fired trigger naming a deployment not among them is an
// *[UnknownDeploymentError].
func (t *Table) Matcher(deployments []store.Deployment) func(store.Event) ([]store.RunSpec, error) {
	defaults := make(map[string]map[string]any, len(deployments))
	tags := make(map[string][]string, len(deployments))
	bad := make(map[string]error)
	for _, d := range deployments {
		tags[d.Name] = d.Tags
		m, err := decodeObject(d.Parameters)
		if err != nil {
			bad[d.Name] = fmt.Errorf("deployment %q: default parameters: %w", d.Name, err)
		}
		defaults[d.Name] = m
	}
	return func(ev store.Event) ([]store.RunSpec, error) {
		fired, err := t.Match(ev)
		if err != nil {
			return nil, err
		}
		specs := make([]store.RunSpec, 0, len(fired))
		for _, f := range fired {
			def, ok := defaults[f.Trigger.Deployment]
			if !ok {
				return nil, &UnknownDeploymentError{Trigger: f.Trigger.Name, Deployment: f.Trigger.Deployment}
			}
			if err := bad[f.Trigger.Deployment]; err != nil {
				return nil, err
			}
			params, err := json.Marshal(schedule.MergeParameters(def, f.Parameters))
			if err != nil {
				return nil, fmt.Errorf("trigger %q: encode parameters: %w", f.Trigger.Name, err)
			}
			spec := store.RunSpec{Deployment: f.Trigger.Deployment, Parameters: params, Tags: tags[f.Trigger.Deployment],
				Origin: store.Origin{Kind: store.OriginTrigger, Trigger: f.Trigger.Name}}
			if f.ThrottleKey != "" {
				spec.ThrottleKey, spec.Throttle = f.ThrottleKey, f.Trigger.Throttle.Within
			}
			specs = append(specs, spec)
		}
		return specs, nil
	}
}

// decodeObject decodes a JSON object of parameters, keeping numbers exact.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	v, err := decode(raw)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}
