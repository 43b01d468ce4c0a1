package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// testTaskRunOfAnotherFlowRun: creating a task run under one flow run
// with the ID of another flow run's task run is refused, with the states
// of the batch that follow it; the other run's task is untouched.
func testTaskRunOfAnotherFlowRun(t *testing.T, o Opener) {
	s := Open(t, o)
	a, b := "0190a000-0000-7000-8000-00000000000a", "0190a000-0000-7000-8000-00000000000b"
	ts := func(st flow.State) flow.State { st.Timestamp = t0; return st }
	for _, fr := range []string{a, b} {
		_, err := s.Record(ctx(t), []store.Op{{Create: &flow.RunRecord{ID: fr, Kind: flow.KindFlow, Name: "f", FlowRunID: fr, Created: t0}}}, nil)
		check(t, err)
	}
	task := func(id, fr string) *flow.RunRecord {
		return &flow.RunRecord{ID: id, Kind: flow.KindTask, Name: "push", FlowRunID: fr, ParentID: fr, TaskKey: "push/1", Created: t0}
	}
	errs, err := s.Record(ctx(t), []store.Op{
		{Create: task("tb", b)},
		{RunID: "tb", State: ts(flow.Pending())},
		{RunID: "tb", State: ts(flow.Running())},
	}, nil)
	check(t, err)
	for _, e := range errs {
		check(t, e)
	}
	errs, err = s.Record(ctx(t), []store.Op{
		{Create: task("tb", a)},
		{RunID: "tb", State: ts(flow.Pending())},
		{RunID: "tb", State: ts(flow.Running())},
		{RunID: "tb", State: ts(flow.Completed()), Result: &flow.Result{FlowRunID: a, TaskKey: "push/1", Value: []byte(`"forged"`)}},
	}, nil)
	check(t, err)
	for i, e := range errs {
		var ie *store.InvalidError
		if !errors.As(e, &ie) || ie.Field != "id" {
			t.Fatalf("op %d: err = %v, want refused naming id", i, e)
		}
	}
	trs := must(s.TaskRuns(ctx(t), b))
	if len(trs) != 1 || trs[0].State.Name != flow.NameRunning || trs[0].FlowRunID != b {
		t.Fatalf("task run of b = %+v, want Running under b", trs)
	}
	if trs := must(s.TaskRuns(ctx(t), a)); len(trs) != 0 {
		t.Fatalf("a gained task runs %+v", trs)
	}
}

// testPruneEvents: events received before the cut are deleted (and
// their IDs accepted anew), later ones kept.
func testPruneEvents(t *testing.T, o Opener) {
	s := Open(t, o)
	none := func(store.Event) ([]store.RunSpec, error) { return nil, nil }
	for i, at := range []time.Time{t0, t0.Add(time.Hour), t0.Add(48 * time.Hour)} {
		must(s.AcceptEvent(ctx(t), store.Event{ID: fmt.Sprint("ev", i), Source: "infrahub", Type: "x", Payload: []byte(`{}`), Received: at}, none))
	}
	n := must(s.PruneEvents(ctx(t), t0.Add(24*time.Hour)))
	if n != 2 {
		t.Fatalf("pruned %d events, want 2", n)
	}
	evs, _ := must2(s.ListEvents(ctx(t), store.EventFilter{}))
	if len(evs) != 1 || evs[0].ID != "ev2" {
		t.Fatalf("events left %+v, want ev2", evs)
	}
	if acc := must(s.AcceptEvent(ctx(t), store.Event{ID: "ev0", Source: "infrahub", Payload: []byte(`{}`)}, none)); acc.Duplicate {
		t.Fatal("a pruned event's ID is still a duplicate")
	}
}

// sensitiveOps records a completed task run of flow run fr whose result
// is sensitive (and cached under cacheKey), then completes fr.
func sensitiveOps(fr, value, cacheKey string) []store.Op {
	ts := func(st flow.State) flow.State { st.Timestamp = t0; return st }
	return []store.Op{
		{Create: &flow.RunRecord{ID: fr, Kind: flow.KindFlow, Name: "as3", FlowRunID: fr, Created: t0}},
		{RunID: fr, State: ts(flow.Pending())},
		{RunID: fr, State: ts(flow.Running())},
		{Create: &flow.RunRecord{ID: fr + "-t", Kind: flow.KindTask, Name: "read-tenants", FlowRunID: fr, ParentID: fr, TaskKey: "read-tenants/1", Created: t0}},
		{RunID: fr + "-t", State: ts(flow.Pending())},
		{RunID: fr + "-t", State: ts(flow.Running())},
		{RunID: fr + "-t", State: ts(flow.Completed()), Result: &flow.Result{FlowRunID: fr, TaskKey: "read-tenants/1", CacheKey: cacheKey, Value: []byte(value), Sensitive: true}},
		// A result of another flow run, kept in the results table.
		{RunID: fr + "-t", State: ts(flow.Completed()), Result: &flow.Result{FlowRunID: fr, TaskKey: "other/1", Value: []byte(value), Sensitive: true}},
	}
}

// testSensitiveResults: a sensitive result reads back as it was given
// (for reuse and from the cache); a store without a key refuses it, and
// one opened without the key cannot read it.
func testSensitiveResults(t *testing.T, o Opener) {
	open := o(t)
	s := openWith(t, open, store.Options{Key: Key(t)})
	fr := "0190a000-0000-7000-8000-0000000000s1"
	value := `{"tenants":{"t1":{"privateKey":"-----BEGIN PRIVATE KEY-----"}}}`
	errs, err := s.Record(ctx(t), sensitiveOps(fr, value, "flow/as3/task:read-tenants/x"), nil)
	check(t, err)
	for i, e := range errs {
		if i == 7 {
			continue // a second Completed: refused as a transition
		}
		check(t, e)
	}
	res := must(s.RunResults(ctx(t), fr))
	if string(res["read-tenants/1"]) != value {
		t.Fatalf("RunResults = %s, want the value back", res["read-tenants/1"])
	}
	if v, ok := must2(s.CachedResult(ctx(t), "flow/as3/task:read-tenants/x", t0)); !ok || string(v) != value {
		t.Fatalf("CachedResult = %s %v", v, ok)
	}
	_, err = s.SetRunState(ctx(t), fr, flow.Completed(), &flow.Result{FlowRunID: fr, TaskKey: "snap/2", Value: []byte(value), Sensitive: true})
	check(t, err)
	if res := must(s.RunResults(ctx(t), fr)); string(res["snap/2"]) != value {
		t.Fatalf("results-table value = %s", res["snap/2"])
	}
	check(t, s.Close())

	// Without the key: the values cannot be read, and a new sensitive
	// value is refused rather than kept in plaintext.
	nokey := openWith(t, open, store.Options{})
	if _, err := nokey.RunResults(ctx(t), fr); !errors.Is(err, store.ErrKeyRequired) {
		t.Fatalf("RunResults without the key: %v, want ErrKeyRequired", err)
	}
	errs, err = nokey.Record(ctx(t), sensitiveOps("0190a000-0000-7000-8000-0000000000s2", value, ""), nil)
	check(t, err)
	var ie *store.InvalidError
	if !errors.As(errs[6], &ie) || ie.Field != "result" {
		t.Fatalf("sensitive result without a key: %v, want refused naming result", errs[6])
	}
}

// testRotateKey: every encrypted value is sealed again under the new key,
// which alone then opens them; the old key is refused naming the key the
// values need.
func testRotateKey(t *testing.T, o Opener) {
	open := o(t)
	oldKey, newKey := Key(t), must(store.NewKey([]byte("fedcba9876543210fedcba9876543210")))
	s := openWith(t, open, store.Options{Key: oldKey})
	check(t, s.PutSecret(ctx(t), "f5-admin", store.NewSecret("pw1")))
	check(t, s.SaveBlock(ctx(t), store.Block{Name: "cfg", Type: "t", Data: []byte(`{}`), Secrets: map[string]store.Secret{"token": store.NewSecret("tok")}}))
	fr := "0190a000-0000-7000-8000-0000000000r1"
	value := `"snapshot"`
	_, err := s.Record(ctx(t), sensitiveOps(fr, value, "flow/as3/task:x"), nil)
	check(t, err)
	rot, ok := s.(store.KeyRotator)
	if !ok {
		t.Fatal("the store does not rotate keys")
	}
	rep := must(rot.RotateKey(ctx(t), newKey))
	if rep.Secrets != 1 || rep.Blocks != 1 || rep.Results != 2 || rep.Key != newKey.ID() || len(rep.From) != 1 || rep.From[0] != oldKey.ID() {
		t.Fatalf("report %+v", rep)
	}
	// The rotating store reads on; a second rotation has nothing to do.
	if sec := must(s.GetSecret(ctx(t), "f5-admin")); sec.Reveal() != "pw1" {
		t.Fatal("secret lost in the rotation")
	}
	if rep := must(rot.RotateKey(ctx(t), newKey)); rep.Secrets+rep.Blocks+rep.Results != 0 {
		t.Fatalf("second rotation did %+v", rep)
	}
	check(t, s.Close())

	s = openWith(t, open, store.Options{Key: newKey})
	if sec := must(s.GetSecret(ctx(t), "f5-admin")); sec.Reveal() != "pw1" {
		t.Fatal("secret under the new key")
	}
	if b := must(s.GetBlock(ctx(t), "cfg")); b.Secrets["token"].Reveal() != "tok" {
		t.Fatal("block under the new key")
	}
	if res := must(s.RunResults(ctx(t), fr)); string(res["read-tenants/1"]) != value {
		t.Fatal("result under the new key")
	}
	if v, ok := must2(s.CachedResult(ctx(t), "flow/as3/task:x", t0)); !ok || string(v) != value {
		t.Fatal("cached result under the new key")
	}
	check(t, s.Close())

	s = openWith(t, open, store.Options{Key: oldKey})
	_, err = s.GetSecret(ctx(t), "f5-admin")
	var de *store.DecryptError
	if !errors.As(err, &de) || !de.Unknown || de.KeyID != newKey.ID() {
		t.Fatalf("old key after the rotation: %v, want a DecryptError naming key %s", err, newKey.ID())
	}
	// With the new key current and the old one previous, both open.
	s = openWith(t, open, store.Options{Key: newKey, PreviousKeys: []*store.Key{oldKey}})
	if sec := must(s.GetSecret(ctx(t), "f5-admin")); sec.Reveal() != "pw1" {
		t.Fatal("secret with a keyring")
	}
}
