package api_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
)

// promtool returns the path of Prometheus' promtool: the test skips
// without it, but fails under NETAUTO_CI=1.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("NETAUTO_CI") == "1" {
			t.Fatal("promtool not found (apt-get install prometheus); NETAUTO_CI=1 forbids skipping")
		}
		t.Skip("promtool not found: apt-get install prometheus")
	}
	return p
}

// TestRunMetrics drives a run through claim, Running, a task and
// Completed on an instrumented store and reads the durations, the final
// states, the start latency, late runs, workers and tag slots from
// /metrics, which promtool accepts.
func TestRunMetrics(t *testing.T) {
	ctx := context.Background()
	st := api.InstrumentStore(openStore(t))
	if api.InstrumentStore(st) != st {
		t.Fatal("InstrumentStore wrapped an instrumented store again")
	}
	e := newEnvOn(t, st, api.Options{})
	run := e.createRun(`{"device":"sw1","vlan":10}`)
	late := e.createRun(`{"device":"sw2","vlan":10}`)
	_ = late
	now := time.Now()
	claimed, ok, err := st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w1", Lease: time.Minute, Now: now})
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if claimed.ID != run.ID {
		// Either run may come first; the other stays Scheduled (late).
		late = run
	}
	id := claimed.ID
	started := claimed.ScheduledAt.Add(2 * time.Second)
	running := flow.Running()
	running.Timestamp = started
	taskRec := &flow.RunRecord{ID: "task-1", Kind: flow.KindTask, Name: "push", FlowRunID: id, TaskKey: "push-1", Created: started}
	taskRun := flow.Running()
	taskRun.Timestamp = started.Add(time.Second)
	taskDone := flow.Completed()
	taskDone.Timestamp = started.Add(4 * time.Second)
	done := flow.Completed()
	done.Timestamp = started.Add(10 * time.Second)
	errs, err := st.Record(ctx, []store.Op{
		{RunID: id, State: running},
		{Create: taskRec},
		{RunID: "task-1", State: flow.Pending()},
		{RunID: "task-1", State: taskRun},
		{RunID: "task-1", State: taskDone},
	}, nil)
	if err != nil || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
		t.Fatalf("record: %v %v", errs, err)
	}
	if _, err := st.SetRunState(ctx, id, done, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Heartbeat(ctx, store.Worker{Name: "w1", Pool: "default", LastSeen: now.Add(-10 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTagLimit(ctx, "device:sw1", 2); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.AcquireSlots(ctx, "h1", []string{"device:sw1"}, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	// The other run is due a minute ago: late.
	if _, err := st.SetRunState(ctx, late.ID, flow.Scheduled(now.Add(-time.Minute)), nil); err != nil {
		t.Fatal(err)
	}

	code, b := e.do("GET", "/metrics", nil)
	if code != 200 {
		t.Fatalf("metrics: %d %s", code, b)
	}
	for _, want := range []string{
		`netauto_run_duration_seconds_bucket{deployment="vlan-prod",flow="vlan",le="10"} 1`,
		`netauto_run_duration_seconds_bucket{deployment="vlan-prod",flow="vlan",le="5"} 0`,
		`netauto_run_duration_seconds_sum{deployment="vlan-prod",flow="vlan"} 10`,
		`netauto_task_run_duration_seconds_bucket{deployment="vlan-prod",flow="vlan",le="5"} 1`,
		`netauto_task_run_duration_seconds_sum{deployment="vlan-prod",flow="vlan"} 3`,
		`netauto_run_start_latency_seconds_bucket{deployment="vlan-prod",le="2.5"} 1`,
		`netauto_runs_finished_total{deployment="vlan-prod",state="COMPLETED"} 1`,
		`netauto_runs_late{deployment="vlan-prod"} 1`,
		`netauto_workers_live{pool="default"} 1`,
		`netauto_worker_heartbeat_age_seconds{pool="default",worker="w1"} 1`,
		`netauto_tag_slots_in_use{tag="device:sw1"} 1`,
		`netauto_tag_slots_saturation{tag="device:sw1"} 0.5`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", b)
	}
	cmd := exec.Command(promtool(t), "check", "metrics")
	cmd.Stdin = bytes.NewReader(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}
