package api

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Run metrics are counted where state changes pass: a store wrapper
// ([InstrumentStore]) that sees every claim, engine batch, state set,
// cancel, crash and reap of the process, whether it comes through the
// API or from an embedded worker and the scheduler sharing the store.
// They are counters and histograms of this process (Prometheus sums
// them over replicas); nothing is scanned per scrape for them.

// durationBuckets are the upper bounds (seconds) of the run and task
// duration histograms: network changes take seconds to hours.
var durationBuckets = []float64{0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200}

// startBuckets are the upper bounds (seconds) of the Scheduled → Running
// latency histogram.
var startBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// maxTracked bounds the runs and task runs the metrics remember between
// their start and their end; beyond, new ones are not timed (a run
// that is not remembered is timed from its history when it ends).
const maxTracked = 100_000

// lookupTimeout bounds each read the metrics make of a run they do not
// remember.
const lookupTimeout = time.Second

type depFlow struct{ deployment, flow string }

type depState struct{ deployment, state string }

type runInfo struct {
	deployment, flow string
	scheduled        time.Time
	running          time.Time
}

type taskInfo struct {
	flowRun string
	created time.Time
	running time.Time
}

// runMetrics are the run and task counters of one process.
type runMetrics struct {
	mu       sync.Mutex
	runs     map[string]*runInfo
	tasks    map[string]*taskInfo
	runDur   map[depFlow]*histogram
	taskDur  map[depFlow]*histogram
	startLat map[string]*histogram // by deployment
	finals   map[depState]uint64
	now      func() time.Time
}

func newRunMetrics() *runMetrics {
	return &runMetrics{runs: map[string]*runInfo{}, tasks: map[string]*taskInfo{}, runDur: map[depFlow]*histogram{},
		taskDur: map[depFlow]*histogram{}, startLat: map[string]*histogram{}, finals: map[depState]uint64{}, now: time.Now}
}

func observeInto[K comparable](m map[K]*histogram, k K, buckets []float64, v float64) {
	h := m[k]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(buckets)+1)}
		m[k] = h
	}
	i, _ := slices.BinarySearch(buckets, v)
	h.counts[i]++
	h.sum += v
	h.n++
}

func label(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func (m *runMetrics) stamp(s flow.State) time.Time {
	if s.Timestamp.IsZero() {
		return m.now()
	}
	return s.Timestamp
}

// claimed remembers a run a worker claimed: its deployment, flow and the
// time it was due.
func (m *runMetrics) claimed(r store.FlowRun) {
	due := r.ScheduledAt
	if due.IsZero() || r.State.ScheduledAt.After(due) {
		due = r.State.ScheduledAt
	}
	if due.IsZero() {
		due = r.Created
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if info, ok := m.runs[r.ID]; ok {
		info.scheduled, info.running = due, time.Time{}
		return
	}
	if len(m.runs) < maxTracked {
		m.runs[r.ID] = &runInfo{deployment: r.Deployment, flow: r.Flow, scheduled: due}
	}
}

// runState counts a flow run's state change; load fetches what the
// metrics do not remember of the run (nil: the change is not counted
// when the run is unknown).
func (m *runMetrics) runState(ctx context.Context, st store.Store, id string, s flow.State, run *store.FlowRun) {
	if s.Type != flow.TypeRunning && !s.Final() {
		return
	}
	ts := m.stamp(s)
	m.mu.Lock()
	info, ok := m.runs[id]
	m.mu.Unlock()
	if !ok {
		// Lookups for the metrics only: plain reads (no fence or lease of
		// the request), bounded, so that they never hold up the write
		// that was counted.
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		if run == nil {
			r, err := st.GetRun(ctx, id)
			if err != nil {
				return // a task run's ID, or gone
			}
			run = &r
		}
		info = &runInfo{deployment: run.Deployment, flow: run.Flow, scheduled: run.ScheduledAt}
		if s.Final() {
			// Not seen starting here: its history says when it ran.
			if hist, err := st.RunHistory(ctx, id); err == nil {
				for _, h := range hist {
					if h.Type == flow.TypeRunning {
						info.running = h.Timestamp
						break
					}
				}
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	df := depFlow{info.deployment, info.flow}
	switch {
	case s.Type == flow.TypeRunning:
		if info.running.IsZero() {
			info.running = ts
			if !info.scheduled.IsZero() {
				observeInto(m.startLat, info.deployment, startBuckets, max(0, ts.Sub(info.scheduled).Seconds()))
			}
		}
		if _, tracked := m.runs[id]; !tracked && len(m.runs) < maxTracked {
			m.runs[id] = info
		}
	case s.Final():
		if !info.running.IsZero() {
			observeInto(m.runDur, df, durationBuckets, max(0, ts.Sub(info.running).Seconds()))
		}
		m.finals[depState{info.deployment, string(s.Type)}]++
		delete(m.runs, id)
	}
}

// recorded counts an engine batch the store committed: task runs created,
// started and ended, flow runs started and ended.
func (m *runMetrics) recorded(ctx context.Context, st store.Store, ops []store.Op, errs []error) {
	for i, op := range ops {
		if i < len(errs) && errs[i] != nil {
			continue
		}
		if c := op.Create; c != nil {
			if c.Kind == flow.KindTask {
				m.mu.Lock()
				if len(m.tasks) < maxTracked {
					m.tasks[c.ID] = &taskInfo{flowRun: c.FlowRunID, created: c.Created}
				}
				m.mu.Unlock()
			}
			continue
		}
		if op.RunID == "" {
			continue
		}
		m.mu.Lock()
		t, isTask := m.tasks[op.RunID]
		m.mu.Unlock()
		if !isTask {
			m.runState(ctx, st, op.RunID, op.State, nil)
			continue
		}
		m.taskState(ctx, st, op.RunID, t, op.State)
	}
}

func (m *runMetrics) taskState(ctx context.Context, st store.Store, id string, t *taskInfo, s flow.State) {
	ts := m.stamp(s)
	if s.Type == flow.TypeRunning {
		m.mu.Lock()
		if t.running.IsZero() {
			t.running = ts
		}
		m.mu.Unlock()
		return
	}
	if !s.Final() {
		return
	}
	m.mu.Lock()
	info, ok := m.runs[t.flowRun]
	m.mu.Unlock()
	df := depFlow{}
	if ok {
		df = depFlow{info.deployment, info.flow}
	} else {
		lctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		if r, err := st.GetRun(lctx, t.flowRun); err == nil {
			df = depFlow{r.Deployment, r.Flow}
		}
		cancel()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	start := t.running
	if start.IsZero() {
		start = t.created
	}
	if !start.IsZero() {
		observeInto(m.taskDur, df, durationBuckets, max(0, ts.Sub(start).Seconds()))
	}
	delete(m.tasks, id)
}

// write writes the run metrics in the Prometheus text format.
func (m *runMetrics) write(b *bufio.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	writeHistograms(b, "netauto_run_duration_seconds", "Flow run durations from Running to a final state, by deployment and flow.", durationBuckets, m.runDur,
		func(k depFlow) string {
			return fmt.Sprintf("deployment=%q,flow=%q", label(k.deployment), label(k.flow))
		})
	writeHistograms(b, "netauto_task_run_duration_seconds", "Task run durations from Running (or creation) to a final state, by the deployment and flow of their flow run.", durationBuckets, m.taskDur,
		func(k depFlow) string {
			return fmt.Sprintf("deployment=%q,flow=%q", label(k.deployment), label(k.flow))
		})
	writeHistograms(b, "netauto_run_start_latency_seconds", "Time from a run's scheduled time to Running, by deployment.", startBuckets, m.startLat,
		func(k string) string { return fmt.Sprintf("deployment=%q", label(k)) })
	fmt.Fprintln(b, "# HELP netauto_runs_finished_total Flow runs that reached a final state, by deployment and state type.")
	fmt.Fprintln(b, "# TYPE netauto_runs_finished_total counter")
	keys := make([]depState, 0, len(m.finals))
	for k := range m.finals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b depState) int {
		return strings.Compare(a.deployment+"\x00"+a.state, b.deployment+"\x00"+b.state)
	})
	for _, k := range keys {
		fmt.Fprintf(b, "netauto_runs_finished_total{deployment=%q,state=%q} %d\n", label(k.deployment), k.state, m.finals[k])
	}
}

func writeHistograms[K comparable](b *bufio.Writer, name, help string, buckets []float64, hs map[K]*histogram, labels func(K) string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name)
	type row struct {
		l string
		h *histogram
	}
	rows := make([]row, 0, len(hs))
	for k, h := range hs {
		rows = append(rows, row{labels(k), h})
	}
	slices.SortFunc(rows, func(a, b row) int { return strings.Compare(a.l, b.l) })
	for _, r := range rows {
		var cum uint64
		for i, le := range buckets {
			cum += r.h.counts[i]
			fmt.Fprintf(b, "%s_bucket{%s,le=%q} %d\n", name, r.l, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		fmt.Fprintf(b, "%s_bucket{%s,le=\"+Inf\"} %d\n", name, r.l, r.h.n)
		fmt.Fprintf(b, "%s_sum{%s} %g\n", name, r.l, r.h.sum)
		fmt.Fprintf(b, "%s_count{%s} %d\n", name, r.l, r.h.n)
	}
}

// InstrumentStore returns st counting the run metrics that /metrics
// serves: give the result to the API server ([New]) and to whatever else
// in the process changes run states through the store (an embedded
// worker, the scheduler's reaper), so that their changes are counted
// too. [New] instruments a store that is not instrumented yet itself.
func InstrumentStore(st store.Store) store.Store {
	if o, ok := st.(*observedStore); ok {
		return o
	}
	return &observedStore{Store: st, m: newRunMetrics()}
}

// observedStore is a store.Store counting state changes into m. It
// also tells the workers of the process of cancel requests
// (worker.CancelNotifier), so that an in-process run stops within
// moments of its cancel, not at its next lease renewal.
type observedStore struct {
	store.Store
	m *runMetrics

	mu      sync.Mutex
	cancels map[int]func(string)
	nextSub int
}

// Unwrap returns the store o counts for, so that store.As finds the
// optional interfaces it implements (approval inputs, run notification).
func (o *observedStore) Unwrap() store.Store { return o.Store }

// NotifyCancel calls fn with the ID of every run asked to cancel through
// this store until stop is called.
func (o *observedStore) NotifyCancel(fn func(runID string)) (stop func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cancels == nil {
		o.cancels = map[int]func(string){}
	}
	id := o.nextSub
	o.nextSub++
	o.cancels[id] = fn
	return func() {
		o.mu.Lock()
		delete(o.cancels, id)
		o.mu.Unlock()
	}
}

func (o *observedStore) cancelling(id string) {
	o.mu.Lock()
	fns := make([]func(string), 0, len(o.cancels))
	for _, fn := range o.cancels {
		fns = append(fns, fn)
	}
	o.mu.Unlock()
	for _, fn := range fns {
		fn(id)
	}
}

func (o *observedStore) ClaimRun(ctx context.Context, c store.Claim) (store.FlowRun, bool, error) {
	run, ok, err := o.Store.ClaimRun(ctx, c)
	if err == nil && ok {
		o.m.claimed(run)
	}
	return run, ok, err
}

func (o *observedStore) ClaimRuns(ctx context.Context, c store.Claim, max int) ([]store.FlowRun, error) {
	runs, err := o.Store.ClaimRuns(ctx, c, max)
	for _, run := range runs {
		o.m.claimed(run)
	}
	return runs, err
}

func (o *observedStore) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	errs, err := o.Store.Record(ctx, ops, logs)
	if err == nil {
		o.m.recorded(context.WithoutCancel(ctx), o.Store, ops, errs)
	}
	return errs, err
}

func (o *observedStore) SetRunState(ctx context.Context, id string, s flow.State, res *flow.Result) (store.FlowRun, error) {
	run, err := o.Store.SetRunState(ctx, id, s, res)
	if err == nil && run.State.Type == flow.TypeCancelling {
		o.cancelling(id)
	}
	if err == nil {
		o.m.runState(ctx, o.Store, id, run.State, &run)
	}
	return run, err
}

func (o *observedStore) CancelRun(ctx context.Context, id, reason string) (flow.State, error) {
	st, err := o.Store.CancelRun(ctx, id, reason)
	if err == nil && st.Type == flow.TypeCancelling {
		o.cancelling(id)
	}
	if err == nil && st.Final() {
		o.m.runState(context.WithoutCancel(ctx), o.Store, id, st, nil)
	}
	return st, err
}

func (o *observedStore) CrashRun(ctx context.Context, f store.Fence, message string) (store.FlowRun, error) {
	run, err := o.Store.CrashRun(ctx, f, message)
	if err == nil && run.State.Final() {
		o.m.runState(ctx, o.Store, run.ID, run.State, &run)
	}
	return run, err
}

func (o *observedStore) ReapExpiredLeases(ctx context.Context, now time.Time) ([]store.Reaped, error) {
	reaped, err := o.Store.ReapExpiredLeases(ctx, now)
	if err == nil {
		for _, r := range reaped {
			if r.State.Final() {
				o.m.runState(context.WithoutCancel(ctx), o.Store, r.RunID, r.State, nil)
			}
		}
	}
	return reaped, err
}
