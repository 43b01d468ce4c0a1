// Package storetest is the conformance suite every [store.Store] driver
// must pass: the sqlite and postgres drivers run it, and so should any
// other. Call [Run] from a driver's test with an [Opener]:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t testing.TB) storetest.OpenFunc {
//			path := filepath.Join(t.TempDir(), "netauto.db")
//			return func(opts store.Options) (store.Store, error) {
//				return sqlite.Open(context.Background(), path, opts)
//			}
//		})
//	}
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// OpenFunc opens a store on one test's database. It may be called more
// than once, to reopen the same database with other options.
type OpenFunc func(opts store.Options) (store.Store, error)

// Opener prepares a fresh, empty database for one test and returns how to
// open it. Everything it creates is removed by t's cleanup.
type Opener func(t testing.TB) OpenFunc

// Key returns the fixed key the suite encrypts with.
func Key(t testing.TB) *store.Key {
	k, err := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Open opens a store with the test key on a fresh database of opener and
// closes it when t ends.
func Open(t testing.TB, opener Opener) store.Store {
	return openWith(t, opener(t), store.Options{Key: Key(t)})
}

func openWith(t testing.TB, open OpenFunc, opts store.Options) store.Store {
	t.Helper()
	s, err := open(opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Run runs the conformance suite, each test on a fresh database.
func Run(t *testing.T, opener Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Flows", testFlows},
		{"Deployments", testDeployments},
		{"DeploymentsInvalid", testDeploymentsInvalid},
		{"CreateRun", testCreateRun},
		{"IdempotencyKey", testIdempotencyKey},
		{"IllegalTransition", testIllegalTransition},
		{"ListRuns", testListRuns},
		{"ScheduledRunsIdempotent", testScheduledRuns},
		{"ClaimExclusive", testClaimExclusive},
		{"ClaimOrder", testClaimOrder},
		{"ClaimBatch", testClaimBatch},
		{"DeploymentConcurrency", testDeploymentConcurrency},
		{"PoolConcurrency", testPoolConcurrency},
		{"LeaseExpiry", testLeaseExpiry},
		{"Fencing", testFencing},
		{"CrashRun", testCrashRun},
		{"RenewLeaseFenced", testRenewLeaseFenced},
		{"ClaimHeldRetry", testClaimHeldRetry},
		{"CancelHeldRetry", testCancelHeldRetry},
		{"LimitHeldRetry", testLimitHeldRetry},
		{"PlanSchedules", testPlanSchedules},
		{"PlanSchedulesLateCreated", testPlanSchedulesLateCreated},
		{"PlanSchedulesReplace", testPlanSchedulesReplace},
		{"Cancel", testCancel},
		{"Record", testRecord},
		{"Logs", testLogs},
		{"Workers", testWorkers},
		{"Slots", testSlots},
		{"Secrets", testSecrets},
		{"KeyRequired", testKeyRequired},
		{"Blocks", testBlocks},
		{"Variables", testVariables},
		{"Events", testEvents},
		{"Migrations", testMigrations},
		{"Prune", testPrune},
		{"TaskRunOfAnotherFlowRun", testTaskRunOfAnotherFlowRun},
		{"PruneEvents", testPruneEvents},
		{"SensitiveResults", testSensitiveResults},
		{"RotateKey", testRotateKey},
		{"PoolTiming", testPoolTiming},
		{"OwedHooks", testOwedHooks},
		{"UnstorableInput", testUnstorableInput},
		{"RecordReplayed", testRecordReplayed},
		{"RecordTaskBatch", testRecordTaskBatch},
		{"RecordTwoWriters", testRecordTwoWriters},
		{"Inputs", testInputs},
		{"InputsDeadline", testInputsDeadline},
		{"Windows", testWindows},
		{"WindowsBlock", testWindowsBlock},
		{"WindowsPlanned", testWindowsPlanned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer catch(t)
			tc.fn(t, opener)
		})
	}
}

var t0 = time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)

func ctx(t *testing.T) context.Context { return t.Context() }

// failure is a must error, turned into t.Fatal by catch.
type failure struct {
	err   error
	where string
}

// must returns v, or ends the test (through catch) when err is not nil.
func must[T any](v T, err error) T {
	if err != nil {
		panic(newFailure(err))
	}
	return v
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(newFailure(err))
	}
	return a, b
}

func newFailure(err error) failure {
	_, file, line, _ := runtime.Caller(2)
	return failure{err: err, where: fmt.Sprintf("%s:%d", filepath.Base(file), line)}
}

// catch reports a must failure of the test goroutine; defer it first in
// every test function.
func catch(t testing.TB) {
	if r := recover(); r != nil {
		f, ok := r.(failure)
		if !ok {
			panic(r)
		}
		t.Fatalf("%s: %v", f.where, f.err)
	}
}

func check(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantInvalid(t testing.TB, err error, field string) {
	t.Helper()
	var ie *store.InvalidError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want *store.InvalidError for %s", err, field)
	}
	if ie.Field != field {
		t.Fatalf("invalid field = %q (%v), want %q", ie.Field, err, field)
	}
}

func wantNotFound(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func pool(t *testing.T, s store.Store, name string) {
	t.Helper()
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: name, Type: "process"}))
}

func deploy(t *testing.T, s store.Store, d store.Deployment) {
	t.Helper()
	if d.Flow == "" {
		d.Flow = "backup"
	}
	if d.Pool == "" {
		d.Pool = "default"
	}
	must(s.ApplyDeployment(ctx(t), d))
}

func names(h []flow.State) []string {
	out := make([]string, len(h))
	for i, s := range h {
		out[i] = s.Name
	}
	return out
}

func wantHistory(t testing.TB, s store.Store, id string, want ...string) {
	t.Helper()
	h, err := s.RunHistory(context.Background(), id)
	check(t, err)
	if got := names(h); !slices.Equal(got, want) {
		t.Fatalf("history of %s = %v, want %v", id, got, want)
	}
}

func testFlows(t *testing.T, o Opener) {
	s := Open(t, o)
	schema := json.RawMessage(`{"type":"object"}`)
	check(t, s.RegisterFlow(ctx(t), store.Flow{Name: "backup", Version: "1", Parameters: schema, Registered: t0}))
	check(t, s.RegisterFlow(ctx(t), store.Flow{Name: "backup", Version: "2", Parameters: schema, Registered: t0.Add(time.Hour)}))
	check(t, s.RegisterFlow(ctx(t), store.Flow{Name: "inventory", Registered: t0}))
	f := must(s.GetFlow(ctx(t), "backup"))
	if f.Version != "2" || string(f.Parameters) != string(schema) {
		t.Fatalf("GetFlow = %+v, want version 2 with schema", f)
	}
	all := must(s.ListFlows(ctx(t)))
	if len(all) != 2 || all[0].Name != "backup" || all[0].Version != "2" || all[1].Name != "inventory" {
		t.Fatalf("ListFlows = %+v", all)
	}
	_, err := s.GetFlow(ctx(t), "nope")
	wantNotFound(t, err)
	wantInvalid(t, s.RegisterFlow(ctx(t), store.Flow{Name: " "}), "name")
	wantInvalid(t, s.RegisterFlow(ctx(t), store.Flow{Name: "x", Parameters: json.RawMessage(`{`)}), "parameters")
}

func testDeployments(t *testing.T, o Opener) {
	s := Open(t, o)
	d := store.Deployment{
		Name: "backup-daily", Flow: "backup", Pool: "docker", Queue: "default",
		Parameters:       json.RawMessage(`{"env": "prod"}`),
		Schedules:        []store.Schedule{{Cron: "0 2 * * *", Timezone: "Europe/Berlin"}},
		ConcurrencyLimit: 1, Collision: store.CollisionCancelNew,
		Source: &store.Source{Repository: "https://git.example/flows.git", Ref: "main"},
	}
	c := must(s.ApplyDeployment(ctx(t), d))
	if !c.Created {
		t.Fatalf("first apply: %+v, want Created", c)
	}
	got := must(s.GetDeployment(ctx(t), "backup-daily"))
	if got.ID == "" || got.Created.IsZero() || got.LatePolicy != store.LateRunAll || got.Source == nil || got.Source.Ref != "main" {
		t.Fatalf("stored deployment = %+v", got)
	}
	c = must(s.ApplyDeployment(ctx(t), d))
	if !c.Unchanged() {
		t.Fatalf("second apply of the same deployment: %+v, want unchanged", c)
	}
	d.Parameters = json.RawMessage(`{"env":"lab","api_token":"s3cr3t-new"}`)
	d.Schedules = append(d.Schedules, store.Schedule{Interval: 6 * time.Hour})
	c = must(s.ApplyDeployment(ctx(t), d))
	if c.Created || !slices.Equal(c.Changed, []string{"parameters", "schedules"}) {
		t.Fatalf("apply with changes: %+v, want parameters and schedules changed", c)
	}
	// The diff has the old and new values, credential-like members masked.
	if len(c.Fields) != 2 || c.Fields[0].Field != "parameters" || string(c.Fields[0].Old) != `{"env":"prod"}` ||
		string(c.Fields[0].New) != `{"api_token":"***","env":"lab"}` {
		t.Fatalf("parameters diff = %+v", c.Fields)
	}
	if f := c.Fields[1]; f.Field != "schedules" || !strings.Contains(string(f.Old), "0 2 * * *") || !strings.Contains(string(f.New), `"interval":21600000000000`) {
		t.Fatalf("schedules diff = %s → %s", f.Old, f.New)
	}
	again := must(s.GetDeployment(ctx(t), "backup-daily"))
	if again.ID != got.ID || len(again.Schedules) != 2 {
		t.Fatalf("updated deployment = %+v", again)
	}
	check(t, s.SetDeploymentPaused(ctx(t), "backup-daily", true))
	if !must(s.GetDeployment(ctx(t), "backup-daily")).Paused {
		t.Fatal("deployment not paused")
	}
	deploy(t, s, store.Deployment{Name: "alpha"})
	list := must(s.ListDeployments(ctx(t)))
	if len(list) != 2 || list[0].Name != "alpha" {
		t.Fatalf("ListDeployments = %+v", list)
	}
	check(t, s.DeleteDeployment(ctx(t), "alpha"))
	wantNotFound(t, s.DeleteDeployment(ctx(t), "alpha"))
	_, err := s.GetDeployment(ctx(t), "alpha")
	wantNotFound(t, err)
	wantNotFound(t, s.SetDeploymentPaused(ctx(t), "nope", true))
}

func testDeploymentsInvalid(t *testing.T, o Opener) {
	s := Open(t, o)
	base := store.Deployment{Name: "d", Flow: "f", Pool: "p"}
	tests := []struct {
		field string
		edit  func(*store.Deployment)
	}{
		{"name", func(d *store.Deployment) { d.Name = "" }},
		{"flow", func(d *store.Deployment) { d.Flow = "" }},
		{"collision", func(d *store.Deployment) { d.Collision = "drop-old" }},
		{"late_policy", func(d *store.Deployment) { d.LatePolicy = "sometimes" }},
		{"concurrency_limit", func(d *store.Deployment) { d.ConcurrencyLimit = -1 }},
		{"parameters", func(d *store.Deployment) { d.Parameters = json.RawMessage(`[1]`) }},
		{"schedules[0].cron", func(d *store.Deployment) { d.Schedules = []store.Schedule{{Cron: "61 * * * *"}} }},
		{"schedules[0].timezone", func(d *store.Deployment) { d.Schedules = []store.Schedule{{Cron: "@daily", Timezone: "Mars/Olympus"}} }},
		{"schedules[0]", func(d *store.Deployment) { d.Schedules = []store.Schedule{{}} }},
		{"source.repository", func(d *store.Deployment) { d.Source = &store.Source{} }},
		{"description", func(d *store.Deployment) { d.Description = "nul\x00" }},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			defer catch(t)
			d := base
			tc.edit(&d)
			_, err := s.ApplyDeployment(ctx(t), d)
			wantInvalid(t, err, tc.field)
		})
	}
	if list := must(s.ListDeployments(ctx(t))); len(list) != 0 {
		t.Fatalf("invalid deployments were stored: %+v", list)
	}
}

func testCreateRun(t *testing.T, o Opener) {
	s := Open(t, o)
	deploy(t, s, store.Deployment{Name: "d", Queue: "q", Retries: 2, RetryDelay: time.Minute, Tags: []string{"backup", "site:ber"}})
	run, created := must2(s.CreateRun(ctx(t), store.RunSpec{
		Deployment: "d", Parameters: json.RawMessage(`{"a":1}`), Tags: []string{"site:ber"},
		State: flow.Scheduled(t0), ParentID: "p1",
	}))
	if !created || run.ID == "" || run.Flow != "backup" || run.Pool != "default" || run.Queue != "q" ||
		run.Retries != 2 || run.RetryDelay != time.Minute || run.Attempt != 1 || run.ParentID != "p1" ||
		!run.ScheduledAt.Equal(t0) || run.State.Name != flow.NameScheduled || !slices.Equal(run.Tags, []string{"backup", "site:ber"}) {
		t.Fatalf("created run = %+v", run)
	}
	got := must(s.GetRun(ctx(t), run.ID))
	if string(got.Parameters) != `{"a":1}` {
		t.Fatalf("parameters = %s", got.Parameters)
	}
	wantHistory(t, s, run.ID, "Scheduled")
	check(t, s.UpdateRunInfo(ctx(t), run.ID, store.RunInfo{InfrastructureID: "pid:42", SourceCommit: "abc123"}))
	got = must(s.GetRun(ctx(t), run.ID))
	if got.InfrastructureID != "pid:42" || got.SourceCommit != "abc123" {
		t.Fatalf("run info = %+v", got)
	}
	noRetry, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", Retries: -1}))
	if noRetry.Retries != 0 || noRetry.Queue != "q" || noRetry.Flow != "backup" {
		t.Fatalf("run with Retries -1 = %+v, want the deployment's defaults but no retries", noRetry)
	}
	_, _, err := s.CreateRun(ctx(t), store.RunSpec{Deployment: "nope"})
	wantNotFound(t, err)
	_, _, err = s.CreateRun(ctx(t), store.RunSpec{Deployment: "nope", Retries: -1})
	wantNotFound(t, err)
	_, _, err = s.CreateRun(ctx(t), store.RunSpec{Flow: "f", State: flow.Running()})
	wantInvalid(t, err, "state")
	_, _, err = s.CreateRun(ctx(t), store.RunSpec{})
	wantInvalid(t, err, "flow")
	_, _, err = s.CreateRun(ctx(t), store.RunSpec{Flow: "f", IdempotencyKey: "k\xff"})
	wantInvalid(t, err, "idempotency_key")
	_, err = s.GetRun(ctx(t), "nope")
	wantNotFound(t, err)
	_, err = s.RunHistory(ctx(t), "nope")
	wantNotFound(t, err)
	wantNotFound(t, s.UpdateRunInfo(ctx(t), "nope", store.RunInfo{}))
}

func testIdempotencyKey(t *testing.T, o Opener) {
	s := Open(t, o)
	deploy(t, s, store.Deployment{Name: "d1"})
	deploy(t, s, store.Deployment{Name: "d2"})
	first, created := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d1", IdempotencyKey: "req-7"}))
	if !created {
		t.Fatal("first run not created")
	}
	again, created := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d1", IdempotencyKey: "req-7", Parameters: json.RawMessage(`{"x":2}`)}))
	if created || again.ID != first.ID {
		t.Fatalf("same key: created=%v id=%s, want the existing run %s", created, again.ID, first.ID)
	}
	other, created := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d2", IdempotencyKey: "req-7"}))
	if !created || other.ID == first.ID {
		t.Fatal("the same key in another deployment must create a run")
	}
	// Concurrent requests with one key create one run.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			r, _, err := s.CreateRun(context.Background(), store.RunSpec{Deployment: "d1", IdempotencyKey: "burst"})
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = r.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent creations with one key gave runs %v", ids)
		}
	}
	runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "d1"}))
	if len(runs) != 2 {
		t.Fatalf("deployment d1 has %d runs, want 2", len(runs))
	}
}

func testIllegalTransition(t *testing.T, o Opener) {
	s := Open(t, o)
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", State: flow.Scheduled(t0)}))
	tests := []flow.State{
		flow.Running(),                          // a scheduled run is claimed (Pending) first
		flow.Completed(),                        // scheduled → completed
		{Type: flow.TypeRunning, Name: "Bogus"}, // not a state
	}
	for _, st := range tests {
		_, err := s.SetRunState(ctx(t), run.ID, st, &flow.Result{FlowRunID: run.ID, Value: json.RawMessage(`1`)})
		var te *flow.TransitionError
		if !errors.As(err, &te) {
			t.Fatalf("Scheduled → %s: err = %v, want *flow.TransitionError", st.Name, err)
		}
	}
	wantHistory(t, s, run.ID, "Scheduled")
	if _, ok := must2(s.RunResult(ctx(t), run.ID)); ok {
		t.Fatal("a rejected transition stored its result")
	}
	for _, st := range []flow.State{flow.Pending(), flow.Running(), flow.Completed()} {
		must(s.SetRunState(ctx(t), run.ID, st, &flow.Result{FlowRunID: run.ID, Value: json.RawMessage(`"done"`)}))
	}
	wantHistory(t, s, run.ID, "Scheduled", "Pending", "Running", "Completed")
	v, ok := must2(s.RunResult(ctx(t), run.ID))
	if !ok || string(v) != `"done"` {
		t.Fatalf("result = %s %v", v, ok)
	}
	_, err := s.SetRunState(ctx(t), run.ID, flow.Running(), nil)
	var te *flow.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("Completed → Running: %v, want *flow.TransitionError", err)
	}
	_, err = s.SetRunState(ctx(t), "nope", flow.Pending(), nil)
	wantNotFound(t, err)
}

func testListRuns(t *testing.T, o Opener) {
	now := t0
	var mu sync.Mutex
	opener := func(tb testing.TB) OpenFunc {
		open := o(tb)
		return func(opts store.Options) (store.Store, error) {
			opts.Now = func() time.Time { // distinct creation times, then ties
				mu.Lock()
				defer mu.Unlock()
				now = now.Add(time.Millisecond)
				return now.Truncate(3 * time.Millisecond)
			}
			return open(opts)
		}
	}
	s := Open(t, opener)
	deploy(t, s, store.Deployment{Name: "d"})
	var created []store.FlowRun
	for i := range 25 {
		spec := store.RunSpec{Flow: "f", State: flow.Scheduled(t0)}
		if i%5 == 0 {
			spec.Deployment, spec.Tags = "d", []string{"100%_x"}
		}
		r, _ := must2(s.CreateRun(ctx(t), spec))
		created = append(created, r)
	}
	// Newest first; runs created in the same microsecond by ID, descending.
	slices.SortFunc(created, func(a, b store.FlowRun) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	var want []string
	for _, r := range created {
		want = append(want, r.ID)
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more than 3 pages of 10 for 25 runs")
		}
		runs, next := must2(s.ListRuns(ctx(t), store.RunFilter{Limit: 10, Cursor: cursor}))
		for _, r := range runs {
			got = append(got, r.ID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged runs (%d) differ from created runs newest first (%d)", len(got), len(want))
	}
	byTag, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Tag: "100%_x"}))
	byDep, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "d"}))
	if len(byTag) != 5 || len(byDep) != 5 {
		t.Fatalf("by tag %d, by deployment %d, want 5 each", len(byTag), len(byDep))
	}
	none, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Tag: "100%"}))
	if len(none) != 0 {
		t.Fatalf("tag filter matched a prefix: %d runs", len(none))
	}
	must(s.SetRunState(ctx(t), want[0], flow.Cancelled("x"), nil))
	cancelled, _ := must2(s.ListRuns(ctx(t), store.RunFilter{States: []flow.StateType{flow.TypeCancelled}}))
	if len(cancelled) != 1 || cancelled[0].ID != want[0] {
		t.Fatalf("state filter = %d runs", len(cancelled))
	}
	_, _, err := s.ListRuns(ctx(t), store.RunFilter{Cursor: "garbage!"})
	wantInvalid(t, err, "cursor")
}

func testScheduledRuns(t *testing.T, o Opener) {
	s := Open(t, o)
	deploy(t, s, store.Deployment{Name: "d"})
	specs := func() []store.RunSpec {
		var out []store.RunSpec
		for h := range 24 {
			out = append(out, store.RunSpec{Deployment: "d", State: flow.Scheduled(t0.Add(time.Duration(h) * time.Hour))})
		}
		return out
	}
	first := must(s.CreateScheduledRuns(ctx(t), specs()))
	if len(first) != 24 {
		t.Fatalf("first pass created %d runs, want 24", len(first))
	}
	if again := must(s.CreateScheduledRuns(ctx(t), specs())); len(again) != 0 {
		t.Fatalf("second pass created %d runs, want 0", len(again))
	}
	// Replicas scheduling the next day at once create each run once.
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Go(func() {
			var next []store.RunSpec
			for _, sp := range specs() {
				sp.State = flow.Scheduled(sp.State.ScheduledAt.Add(24 * time.Hour))
				next = append(next, sp)
			}
			ids, err := s.CreateScheduledRuns(context.Background(), next)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			total += len(ids)
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 24 {
		t.Fatalf("4 concurrent replicas created %d runs, want 24", total)
	}
	runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "d", Limit: 1000}))
	if len(runs) != 48 {
		t.Fatalf("deployment has %d runs, want 48", len(runs))
	}
	_, err := s.CreateScheduledRuns(ctx(t), []store.RunSpec{{Flow: "f", State: flow.Scheduled(t0)}})
	wantInvalid(t, err, "deployment")
}

func claim(t testing.TB, s store.Store, worker string, now time.Time, queues ...string) (store.FlowRun, bool) {
	t.Helper()
	r, ok, err := s.ClaimRun(context.Background(), store.Claim{Pool: "default", Queues: queues, Worker: worker, Lease: time.Minute, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r, ok
}

func testClaimExclusive(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	const n = 60
	for range n {
		must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", State: flow.Scheduled(t0)}))
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]string{}
	)
	for w := range 8 {
		wg.Go(func() {
			worker := fmt.Sprintf("w%d", w)
			for {
				r, ok, err := s.ClaimRun(context.Background(), store.Claim{Pool: "default", Worker: worker, Lease: time.Minute, Now: t0})
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					return
				}
				mu.Lock()
				if prev, dup := got[r.ID]; dup {
					t.Errorf("run %s claimed by %s and %s", r.ID, prev, worker)
				}
				got[r.ID] = worker
				mu.Unlock()
				if r.State.Name != flow.NamePending || r.Worker != worker || !r.LeaseExpires.Equal(t0.Add(time.Minute)) {
					t.Errorf("claimed run = %+v", r)
				}
			}
		})
	}
	wg.Wait()
	if len(got) != n {
		t.Fatalf("%d runs claimed, want %d", len(got), n)
	}
	pending, _ := must2(s.ListRuns(ctx(t), store.RunFilter{States: []flow.StateType{flow.TypePending}, Limit: 1000}))
	if len(pending) != n {
		t.Fatalf("%d runs Pending, want %d", len(pending), n)
	}
	_, _, err := s.ClaimRun(ctx(t), store.Claim{Pool: "nope", Worker: "w", Lease: time.Second})
	wantNotFound(t, err)
	_, _, err = s.ClaimRun(ctx(t), store.Claim{Pool: "default", Lease: time.Second})
	wantInvalid(t, err, "worker")
}

// ClaimRuns gives several runs in one call, in claim order, each once,
// and counts the runs of its own batch against the pool's and the
// deployments' limits.
func testClaimBatch(t *testing.T, o Opener) {
	s := Open(t, o)
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: "default", Type: "process", ConcurrencyLimit: 5}))
	deploy(t, s, store.Deployment{Name: "one", ConcurrencyLimit: 1})
	var want []string
	for i := range 4 {
		r, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", State: flow.Scheduled(t0.Add(time.Duration(i) * time.Second))}))
		want = append(want, r.ID)
	}
	limited := make([]string, 2)
	for i := range limited {
		r, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", Deployment: "one", State: flow.Scheduled(t0.Add(-time.Hour))}))
		limited[i] = r.ID
	}
	c := store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: t0.Add(time.Minute)}
	got := must(s.ClaimRuns(ctx(t), c, 10))
	// The pool allows 5: one of the deployment (its limit is 1, the
	// other waits), then the 4 others in due order.
	var ids []string
	for _, r := range got {
		if r.State.Name != flow.NamePending || r.Worker != "w" {
			t.Errorf("claimed run = %+v", r)
		}
		ids = append(ids, r.ID)
	}
	if wantIDs := append([]string{limited[0]}, want...); !slices.Equal(ids, wantIDs) {
		t.Fatalf("ClaimRuns gave %v, want %v", ids, wantIDs)
	}
	if more := must(s.ClaimRuns(ctx(t), c, 10)); len(more) != 0 {
		t.Fatalf("pool at its limit gave %d more runs", len(more))
	}
	_, err := s.ClaimRuns(ctx(t), c, 0)
	wantInvalid(t, err, "max")
}

func testClaimOrder(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	check(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "default", Name: "urgent", Priority: 1}))
	check(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "default", Name: "bulk", Priority: 5}))
	check(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "default", Name: "frozen", Paused: true}))
	deploy(t, s, store.Deployment{Name: "paused", Paused: true})
	mk := func(queue string, at time.Time, dep string) string {
		r, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", Queue: queue, Deployment: dep, State: flow.Scheduled(at)}))
		return r.ID
	}
	bulkEarly := mk("bulk", t0.Add(-time.Hour), "")
	urgent := mk("urgent", t0, "")
	mk("frozen", t0.Add(-2*time.Hour), "")
	mk("urgent", t0.Add(time.Hour), "") // not due
	mk("", t0, "paused")
	if _, ok := claim(t, s, "w", t0, "nope"); ok {
		t.Fatal("claimed from a queue with no runs")
	}
	for _, want := range []string{urgent, bulkEarly} {
		r, ok := claim(t, s, "w", t0)
		if !ok || r.ID != want {
			t.Fatalf("claimed %s (%v), want %s", r.ID, ok, want)
		}
	}
	if r, ok := claim(t, s, "w", t0); ok {
		t.Fatalf("claimed %s from a paused queue, a paused deployment or the future", r.Queue)
	}
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: "default", Type: "process", Paused: true}))
	if _, ok := claim(t, s, "w", t0.Add(2*time.Hour)); ok {
		t.Fatal("claimed from a paused pool")
	}
}

func testDeploymentConcurrency(t *testing.T, o Opener) {
	for _, strategy := range []store.Collision{store.CollisionEnqueue, store.CollisionCancelNew} {
		t.Run(string(strategy), func(t *testing.T) {
			defer catch(t)
			s := Open(t, o)
			pool(t, s, "default")
			deploy(t, s, store.Deployment{Name: "d", ConcurrencyLimit: 1, Collision: strategy})
			a, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
			b, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0.Add(time.Second))}))
			if r, ok := claim(t, s, "w1", t0.Add(time.Minute)); !ok || r.ID != a.ID {
				t.Fatalf("first claim: %s %v, want %s", r.ID, ok, a.ID)
			}
			if r, ok := claim(t, s, "w2", t0.Add(time.Minute)); ok {
				t.Fatalf("claimed %s beyond the deployment's limit", r.ID)
			}
			got := must(s.GetRun(ctx(t), b.ID))
			switch strategy {
			case store.CollisionEnqueue:
				if got.State.Name != flow.NameScheduled {
					t.Fatalf("enqueued run is %s, want Scheduled", got.State.Name)
				}
				must(s.SetRunState(ctx(t), a.ID, flow.Running(), nil))
				must(s.SetRunState(ctx(t), a.ID, flow.Completed(), nil))
				if r, ok := claim(t, s, "w2", t0.Add(time.Minute)); !ok || r.ID != b.ID {
					t.Fatalf("after the first run finished: claimed %s %v, want %s", r.ID, ok, b.ID)
				}
			case store.CollisionCancelNew:
				if got.State.Name != flow.NameCancelled {
					t.Fatalf("run over the limit is %s, want Cancelled", got.State.Name)
				}
			}
		})
	}
}

func testPoolConcurrency(t *testing.T, o Opener) {
	s := Open(t, o)
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: "default", Type: "process", ConcurrencyLimit: 2}))
	if p := must(s.GetPool(ctx(t), "default")); p.ConcurrencyLimit != 2 {
		t.Fatalf("pool = %+v", p)
	}
	for range 3 {
		must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", State: flow.Scheduled(t0)}))
	}
	first, _ := claim(t, s, "w1", t0)
	claim(t, s, "w2", t0)
	if r, ok := claim(t, s, "w3", t0); ok {
		t.Fatalf("claimed %s from a full pool", r.ID)
	}
	must(s.SetRunState(ctx(t), first.ID, flow.Cancelled("done"), nil))
	if _, ok := claim(t, s, "w3", t0); !ok {
		t.Fatal("no claim after a slot of the pool freed")
	}
	wantInvalid(t, s.ApplyPool(ctx(t), store.Pool{Name: "x", Type: "t", ConcurrencyLimit: -1}), "concurrency_limit")
}

func testLeaseExpiry(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d", Retries: 1, RetryDelay: 10 * time.Second})
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(t0)}))
	if _, ok := claim(t, s, "w1", t0); !ok {
		t.Fatal("nothing claimed")
	}
	must(s.SetRunState(ctx(t), run.ID, flow.Running(), nil))
	st := must(s.RenewLease(ctx(t), run.ID, "w1", t0.Add(2*time.Minute)))
	if st.Name != flow.NameRunning {
		t.Fatalf("RenewLease state = %s", st.Name)
	}
	_, err := s.RenewLease(ctx(t), run.ID, "w2", t0.Add(2*time.Minute))
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("renewal by another worker: %v, want ErrLeaseLost", err)
	}
	if r := must(s.ReapExpiredLeases(ctx(t), t0.Add(time.Minute))); len(r) != 0 {
		t.Fatalf("reaped %+v before the renewed lease expired", r)
	}
	reaped := must(s.ReapExpiredLeases(ctx(t), t0.Add(3*time.Minute)))
	if len(reaped) != 1 || reaped[0].RunID != run.ID || reaped[0].State.Name != flow.NameAwaitingRetry || reaped[0].Attempt != 2 || reaped[0].Worker != "w1" {
		t.Fatalf("reaped = %+v, want the run AwaitingRetry at attempt 2", reaped)
	}
	wantHistory(t, s, run.ID, "Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry")
	got := must(s.GetRun(ctx(t), run.ID))
	if got.Attempt != 2 || got.Worker != "" || !got.LeaseExpires.IsZero() || !got.ScheduledAt.Equal(t0.Add(3*time.Minute+10*time.Second)) {
		t.Fatalf("rescheduled run = %+v", got)
	}
	_, err = s.RenewLease(ctx(t), run.ID, "w1", t0.Add(4*time.Minute))
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("renewal after reaping: %v, want ErrLeaseLost", err)
	}
	// The lost worker's late Completed is refused: the run was reaped.
	_, err = s.SetRunState(ctx(t), run.ID, flow.Completed(), nil)
	var te *flow.TransitionError
	if !errors.As(err, &te) {
		t.Fatalf("Completed after reaping: %v, want *flow.TransitionError", err)
	}
	if _, ok := claim(t, s, "w2", t0.Add(3*time.Minute)); ok {
		t.Fatal("claimed the retry before its delay")
	}
	r2, ok := claim(t, s, "w2", t0.Add(4*time.Minute))
	if !ok || r2.ID != run.ID || r2.Attempt != 2 {
		t.Fatalf("retry claim = %+v %v", r2, ok)
	}
	reaped = must(s.ReapExpiredLeases(ctx(t), t0.Add(10*time.Minute)))
	if len(reaped) != 1 || reaped[0].State.Name != flow.NameCrashed || reaped[0].Attempt != 2 {
		t.Fatalf("second reap = %+v, want Crashed with no retries left", reaped)
	}
	wantHistory(t, s, run.ID, "Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry", "Pending", "Crashed")
	if again := must(s.ReapExpiredLeases(ctx(t), t0.Add(time.Hour))); len(again) != 0 {
		t.Fatalf("reaped a crashed run again: %+v", again)
	}
}

func testCancel(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	waiting, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", State: flow.Scheduled(t0.Add(time.Hour))}))
	if st := must(s.CancelRun(ctx(t), waiting.ID, "by alice")); st.Name != flow.NameCancelled || st.Message != "by alice" {
		t.Fatalf("cancel of a scheduled run: %+v, want Cancelled", st)
	}
	running, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", State: flow.Scheduled(t0)}))
	claim(t, s, "w1", t0)
	must(s.SetRunState(ctx(t), running.ID, flow.Running(), nil))
	if st := must(s.CancelRun(ctx(t), running.ID, "by bob")); st.Name != flow.NameCancelling {
		t.Fatalf("cancel of a running run: %s, want Cancelling", st.Name)
	}
	if st := must(s.RenewLease(ctx(t), running.ID, "w1", t0.Add(time.Minute))); st.Name != flow.NameCancelling {
		t.Fatalf("the worker sees %s, want Cancelling", st.Name)
	}
	must(s.SetRunState(ctx(t), running.ID, flow.Cancelled("stopped"), nil))
	if _, err := s.CancelRun(ctx(t), running.ID, "again"); err == nil {
		t.Fatal("cancelling a cancelled run succeeded")
	}
	// A Cancelling run whose worker died ends Cancelled, not retried.
	lost, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", Pool: "default", Retries: 3, State: flow.Scheduled(t0)}))
	claim(t, s, "w2", t0)
	must(s.CancelRun(ctx(t), lost.ID, "x"))
	reaped := must(s.ReapExpiredLeases(ctx(t), t0.Add(time.Hour)))
	if len(reaped) != 1 || reaped[0].State.Name != flow.NameCancelled {
		t.Fatalf("reaped = %+v, want Cancelled", reaped)
	}
	_, err := s.CancelRun(ctx(t), "nope", "")
	wantNotFound(t, err)
}

func testRecord(t *testing.T, o Opener) {
	s := Open(t, o)
	fr := "0190a000-0000-7000-8000-000000000001"
	ts := func(st flow.State) flow.State { st.Timestamp = t0; return st }
	task := func(id, key string) *flow.RunRecord {
		return &flow.RunRecord{ID: id, Kind: flow.KindTask, Name: "render", FlowRunID: fr, ParentID: fr, TaskKey: key, Created: t0}
	}
	ops := []store.Op{
		{Create: &flow.RunRecord{ID: fr, Kind: flow.KindFlow, Name: "backup", RunName: "nightly", FlowRunID: fr, Tags: []string{"a"}, Parameters: json.RawMessage(`{}`), Created: t0}},
		{RunID: fr, State: ts(flow.Pending())},
		{RunID: fr, State: ts(flow.Running())},
		{Create: task("t1", "render/1")},
		{RunID: "t1", State: ts(flow.Pending())},
		{RunID: "t1", State: ts(flow.Running())},
		{RunID: "t1", State: ts(flow.Completed()), Result: &flow.Result{FlowRunID: fr, TaskKey: "render/1", CacheKey: "c1", Value: json.RawMessage(`"r1"`)}},
		{Create: task("t2", "render/2")},
		{RunID: "t2", State: ts(flow.Pending())},
		{RunID: "t2", State: ts(flow.Completed()), Result: &flow.Result{FlowRunID: fr, TaskKey: "render/2", Value: json.RawMessage(`"bad"`)}}, // illegal: Pending → Completed
		{RunID: "t2", State: ts(flow.Running())},
		{RunID: "ghost", State: ts(flow.Running())},
		{Create: &flow.RunRecord{ID: "bad", Kind: flow.KindTask, Name: "x\x00y", FlowRunID: fr}},
		{Create: &flow.RunRecord{ID: "sub", Kind: flow.KindFlow, Name: "child", FlowRunID: "sub", ParentID: fr, Created: t0}},
	}
	errs, err := s.Record(ctx(t), ops, nil)
	check(t, err)
	for i, e := range errs {
		wantErr := i == 9 || i == 11 || i == 12
		if (e != nil) != wantErr {
			t.Fatalf("op %d: err = %v, want error: %v", i, e, wantErr)
		}
	}
	var te *flow.TransitionError
	if !errors.As(errs[9], &te) {
		t.Fatalf("op 9: %v, want *flow.TransitionError", errs[9])
	}
	wantNotFound(t, errs[11])
	wantInvalid(t, errs[12], "name")
	run := must(s.GetRun(ctx(t), fr))
	if run.Flow != "backup" || run.Name != "nightly" || run.State.Name != flow.NameRunning {
		t.Fatalf("flow run = %+v", run)
	}
	// What the engine records first was started by a program (flow) or
	// by another flow run (subflow).
	if sub := must(s.GetRun(ctx(t), "sub")); run.Origin.Kind != store.OriginFlow || sub.Origin.Kind != store.OriginSubflow || sub.ParentID != fr {
		t.Fatalf("origins: run %+v, subflow %+v (parent %s)", run.Origin, sub.Origin, sub.ParentID)
	}
	if subs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Origin: store.OriginSubflow})); len(subs) != 1 || subs[0].ID != "sub" {
		t.Fatalf("runs of origin subflow = %+v", subs)
	}
	wantHistory(t, s, fr, "Pending", "Running")
	tasks := must(s.TaskRuns(ctx(t), fr))
	if len(tasks) != 2 || tasks[0].ID != "t1" || !slices.Equal(names(tasks[0].History), []string{"Pending", "Running", "Completed"}) ||
		tasks[1].State.Name != flow.NameRunning || !slices.Equal(names(tasks[1].History), []string{"Pending", "Running"}) {
		t.Fatalf("task runs = %+v", tasks)
	}
	// A second batch continues stored task runs and re-creates one (the
	// Recorder contract: CreateRun of an existing ID updates it).
	errs, err = s.Record(ctx(t), []store.Op{
		{RunID: "t2", State: ts(flow.Failed("boom"))},
		{Create: task("t1", "render/1")},
		{RunID: "t1", State: ts(flow.Running())}, // illegal: t1 is Completed
		{RunID: fr, State: ts(flow.Completed()), Result: &flow.Result{FlowRunID: fr, Value: json.RawMessage(`42`)}},
	}, nil)
	check(t, err)
	if errs[0] != nil || errs[1] != nil || !errors.As(errs[2], &te) || errs[3] != nil {
		t.Fatalf("second batch errors = %v", errs)
	}
	tasks = must(s.TaskRuns(ctx(t), fr))
	if tasks[0].State.Name != flow.NameCompleted || tasks[1].State.Name != flow.NameFailed {
		t.Fatalf("task states = %s, %s", tasks[0].State.Name, tasks[1].State.Name)
	}
	results := must(s.RunResults(ctx(t), fr))
	if len(results) != 1 || string(results["render/1"]) != `"r1"` {
		t.Fatalf("RunResults = %v, want only render/1", results)
	}
	if v, ok := must2(s.RunResult(ctx(t), fr)); !ok || string(v) != "42" {
		t.Fatalf("flow result = %s %v", v, ok)
	}
	if v, ok := must2(s.CachedResult(ctx(t), "c1", t0)); !ok || string(v) != `"r1"` {
		t.Fatalf("cached = %s %v", v, ok)
	}
	// Cache expiry.
	_, err = s.Record(ctx(t), []store.Op{
		{Create: task("t3", "render/3")},
		{RunID: "t3", State: ts(flow.Pending())},
		{RunID: "t3", State: ts(flow.Running())},
		{RunID: "t3", State: ts(flow.Completed()), Result: &flow.Result{CacheKey: "c3", CacheExpires: t0.Add(time.Hour), Value: json.RawMessage(`3`)}},
	}, nil)
	check(t, err)
	if _, ok := must2(s.CachedResult(ctx(t), "c3", t0.Add(59*time.Minute))); !ok {
		t.Fatal("cached result missing before expiry")
	}
	if _, ok := must2(s.CachedResult(ctx(t), "c3", t0.Add(time.Hour))); ok {
		t.Fatal("cached result returned after expiry")
	}
}

func testLogs(t *testing.T, o Opener) {
	s := Open(t, o)
	rec := func(run string, i int) flow.LogRecord {
		return flow.LogRecord{RunID: run, FlowRunID: "fr", Time: t0.Add(time.Duration(i) * time.Second), Level: 4, Message: fmt.Sprintf("line %d", i), Attrs: json.RawMessage(`{"i":1}`)}
	}
	var batch []flow.LogRecord
	for i := range 25 {
		run := "fr"
		if i%2 == 1 {
			run = "task"
		}
		batch = append(batch, rec(run, i))
	}
	check(t, s.AppendLogs(ctx(t), batch))
	check(t, s.AppendLogs(ctx(t), []flow.LogRecord{{RunID: "other", FlowRunID: "other", Message: "x"}}))
	var got []string
	var cursor int64
	for {
		page, next := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: "fr", After: cursor, Limit: 10}))
		if len(page) == 0 {
			if next != cursor {
				t.Fatalf("empty page moved the cursor from %d to %d", cursor, next)
			}
			break
		}
		for _, e := range page {
			got = append(got, e.Message)
		}
		cursor = next
	}
	if len(got) != 25 || got[0] != "line 0" || got[24] != "line 24" {
		t.Fatalf("paged logs = %d lines: %v", len(got), got)
	}
	// Following: records appended later come after the cursor.
	check(t, s.AppendLogs(ctx(t), []flow.LogRecord{rec("fr", 25), rec("task", 26)}))
	more, _ := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: "fr", After: cursor}))
	if len(more) != 2 || more[0].Message != "line 25" || more[1].RunID != "task" || more[0].Level != 4 || !more[0].Time.Equal(t0.Add(25*time.Second)) || string(more[0].Attrs) != `{"i":1}` {
		t.Fatalf("followed logs = %+v", more)
	}
	onlyTask, _ := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: "fr", RunID: "task", Limit: 1000}))
	if len(onlyTask) != 13 {
		t.Fatalf("task logs = %d, want 13", len(onlyTask))
	}
	_, _, err := s.Logs(ctx(t), store.LogQuery{})
	wantInvalid(t, err, "flow_run_id")
	// Bytes a text column refuses are replaced, not a failed batch.
	check(t, s.AppendLogs(ctx(t), []flow.LogRecord{{RunID: "bin", FlowRunID: "bin", Message: "a\x00b\xff"}}))
	bin, _ := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: "bin"}))
	if len(bin) != 1 || bin[0].Message != "a\uFFFDb\uFFFD" {
		t.Fatalf("binary log message stored as %+v", bin)
	}
}

func testWorkers(t *testing.T, o Opener) {
	s := Open(t, o)
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: "docker", Type: "docker", JobTemplate: json.RawMessage(`{"image":"netauto"}`)}))
	check(t, s.ApplyPool(ctx(t), store.Pool{Name: "docker", Type: "docker", JobTemplate: json.RawMessage(`{"image":"netauto:2"}`)}))
	p := must(s.GetPool(ctx(t), "docker"))
	if string(p.JobTemplate) != `{"image":"netauto:2"}` || p.Type != "docker" {
		t.Fatalf("pool = %+v", p)
	}
	wantInvalid(t, s.ApplyPool(ctx(t), store.Pool{Name: "x"}), "type")
	wantNotFound(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "nope", Name: "q"}))
	check(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "docker", Name: "b", Priority: 2}))
	check(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "docker", Name: "a", Priority: 2}))
	check(t, s.ApplyQueue(ctx(t), store.Queue{Pool: "docker", Name: "z", Priority: 1}))
	qs := must(s.ListQueues(ctx(t), "docker"))
	if len(qs) != 3 || qs[0].Name != "z" || qs[1].Name != "a" {
		t.Fatalf("queues = %+v", qs)
	}
	check(t, s.Heartbeat(ctx(t), store.Worker{Name: "w1", Pool: "docker", LastSeen: t0}))
	check(t, s.Heartbeat(ctx(t), store.Worker{Name: "w1", Pool: "docker", LastSeen: t0.Add(time.Minute), Info: json.RawMessage(`{"host":"h"}`)}))
	check(t, s.Heartbeat(ctx(t), store.Worker{Name: "w2", Pool: "other", LastSeen: t0}))
	ws := must(s.ListWorkers(ctx(t), "docker"))
	if len(ws) != 1 || !ws[0].LastSeen.Equal(t0.Add(time.Minute)) || string(ws[0].Info) != `{"host":"h"}` {
		t.Fatalf("workers = %+v", ws)
	}
	if all := must(s.ListWorkers(ctx(t), "")); len(all) != 2 {
		t.Fatalf("all workers = %d", len(all))
	}
	if pools := must(s.ListPools(ctx(t))); len(pools) != 1 {
		t.Fatalf("pools = %+v", pools)
	}
}

func testSlots(t *testing.T, o Opener) {
	s := Open(t, o)
	now := time.Now()
	check(t, s.SetTagLimit(ctx(t), "ssh", 2))
	check(t, s.SetTagLimit(ctx(t), "device:*", 1))
	acquire := func(holder string, until time.Time, tags ...string) bool {
		t.Helper()
		return must(s.AcquireSlots(ctx(t), holder, tags, until))
	}
	later := now.Add(time.Hour)
	if !acquire("h1", later, "ssh", "unlimited") || !acquire("h2", later, "ssh") {
		t.Fatal("two slots of ssh refused")
	}
	if acquire("h3", later, "ssh") {
		t.Fatal("third slot of ssh granted")
	}
	if n := must(s.SlotsInUse(ctx(t), "ssh", now)); n != 2 {
		t.Fatalf("ssh in use = %d", n)
	}
	check(t, s.ReleaseSlots(ctx(t), "h1"))
	if !acquire("h3", later, "ssh") {
		t.Fatal("freed slot refused")
	}
	// Patterns: each device its own limit; all or nothing.
	if !acquire("d1", later, "device:r1") || !acquire("d2", later, "device:r2") {
		t.Fatal("pattern slots refused")
	}
	if acquire("d3", later, "device:r3", "ssh") {
		t.Fatal("granted device:r3 with ssh full")
	}
	if n := must(s.SlotsInUse(ctx(t), "device:r3", now)); n != 0 {
		t.Fatalf("a refused acquisition holds %d slots", n)
	}
	// Leases: an expired holder's slot is free.
	check(t, s.SetTagLimit(ctx(t), "api", 1))
	if !acquire("dead", now.Add(-time.Second), "api") {
		t.Fatal("api slot refused")
	}
	if !acquire("alive", later, "api") {
		t.Fatal("a slot whose lease expired was not freed")
	}
	check(t, s.RenewSlots(ctx(t), "alive", later))
	if acquire("third", later, "api") {
		t.Fatal("renewed slot lost")
	}
	// Concurrent acquisitions never exceed the limit.
	check(t, s.SetTagLimit(ctx(t), "burst", 3))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted int
	)
	for i := range 12 {
		wg.Go(func() {
			ok, err := s.AcquireSlots(context.Background(), fmt.Sprintf("b%d", i), []string{"burst"}, later)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 3 {
		t.Fatalf("12 concurrent acquisitions of a tag limited to 3: %d granted", granted)
	}
	limits := must(s.TagLimits(ctx(t)))
	if limits["ssh"] != 2 || limits["device:*"] != 1 || limits["burst"] != 3 {
		t.Fatalf("limits = %v", limits)
	}
	check(t, s.SetTagLimit(ctx(t), "ssh", 0))
	if _, ok := must(s.TagLimits(ctx(t)))["ssh"]; ok {
		t.Fatal("limit 0 did not remove the limit")
	}
	wantInvalid(t, s.SetTagLimit(ctx(t), "x", -1), "limit")
}

func testPrune(t *testing.T, o Opener) {
	now := t0
	opener := func(tb testing.TB) OpenFunc {
		open := o(tb)
		return func(opts store.Options) (store.Store, error) {
			opts.Now = func() time.Time { return now }
			return open(opts)
		}
	}
	s := Open(t, opener)
	check(t, s.Ping(ctx(t)))
	mk := func(final bool) string {
		r, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Flow: "f", State: flow.Pending()}))
		errs, err := s.Record(ctx(t), []store.Op{
			{RunID: r.ID, State: flow.Running()},
			{Create: &flow.RunRecord{ID: r.ID + "-t", Kind: flow.KindTask, Name: "t", FlowRunID: r.ID, TaskKey: "t/1"}},
			{RunID: r.ID + "-t", State: flow.Pending()},
		}, []flow.LogRecord{{RunID: r.ID, FlowRunID: r.ID, Message: "m"}})
		check(t, errors.Join(append(errs, err)...))
		if final {
			must(s.SetRunState(ctx(t), r.ID, flow.Completed(), &flow.Result{FlowRunID: r.ID, Value: json.RawMessage(`1`)}))
		}
		return r.ID
	}
	old := mk(true)
	running := mk(false)
	now = t0.Add(48 * time.Hour)
	recent := mk(true)
	n := must(s.PruneRuns(ctx(t), t0.Add(24*time.Hour)))
	if n != 1 {
		t.Fatalf("pruned %d runs, want 1", n)
	}
	_, err := s.GetRun(ctx(t), old)
	wantNotFound(t, err)
	if trs := must(s.TaskRuns(ctx(t), old)); len(trs) != 0 {
		t.Fatalf("task runs of a pruned run remain: %d", len(trs))
	}
	if logs, _ := must2(s.Logs(ctx(t), store.LogQuery{FlowRunID: old})); len(logs) != 0 {
		t.Fatalf("logs of a pruned run remain: %d", len(logs))
	}
	for _, id := range []string{running, recent} {
		must(s.GetRun(ctx(t), id))
		if trs := must(s.TaskRuns(ctx(t), id)); len(trs) != 1 {
			t.Fatalf("run %s lost its task runs", id)
		}
	}
}
