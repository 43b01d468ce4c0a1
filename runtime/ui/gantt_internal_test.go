package ui

import (
	"fmt"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestGanttRetriesAndCache: a task retried once shows two running bars
// with the wait between them and counts the retry; a cached task is
// marked cached; a compensation is marked as one.
func TestGanttRetriesAndCache(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	st := func(s flow.State, sec int) flow.State { s.Timestamp = at(sec); return s }
	wait := flow.AwaitingRetry(at(14), "timeout")
	run := store.FlowRun{ID: "r", Created: t0, State: st(flow.Completed(), 30)}
	hist := []flow.State{st(flow.Scheduled(t0), 0), st(flow.Pending(), 1), st(flow.Running(), 2), st(flow.Completed(), 30)}
	tasks := []store.TaskRun{
		{RunRecord: flow.RunRecord{ID: "a", Name: "push"}, State: st(flow.Completed(), 20), History: []flow.State{
			st(flow.Pending(), 2), st(flow.Running(), 2), st(wait, 10), st(flow.Retrying("attempt 2"), 14), st(flow.Completed(), 20)}},
		{RunRecord: flow.RunRecord{ID: "b", Name: "facts"}, State: st(flow.Cached("cache hit"), 21), History: []flow.State{
			st(flow.Pending(), 21), st(flow.Cached("cache hit"), 21)}},
		{RunRecord: flow.RunRecord{ID: "c", Name: "undo", Tags: []string{"compensation"}}, State: st(flow.Completed(), 29), History: []flow.State{
			st(flow.Pending(), 25), st(flow.Running(), 25), st(flow.Completed(), 29)}},
	}
	g := layoutGantt(run, hist, tasks, at(40))
	if len(g.Rows) != 3 {
		t.Fatalf("rows %+v", g.Rows)
	}
	push := g.Rows[0]
	if push.Retries != 1 || len(push.Bars) != 3 || push.Bars[0].Class != "run" || push.Bars[1].Class != "wait" || push.Bars[2].Class != "run" {
		t.Fatalf("retried task: %+v", push)
	}
	if !(push.Bars[0].X < push.Bars[1].X && push.Bars[1].X < push.Bars[2].X) {
		t.Fatalf("retried task's bars out of order: %+v", push.Bars)
	}
	if push.Duration != 18*time.Second {
		t.Fatalf("retried task's duration %v", push.Duration)
	}
	if !g.Rows[1].Cached || g.Rows[1].Bars[0].Class != "cached" {
		t.Fatalf("cached task: %+v", g.Rows[1])
	}
	if !g.Rows[2].Compensation || g.Rows[0].Compensation {
		t.Fatalf("compensation: %+v", g.Rows[2])
	}
	if g.Span != 29*time.Second { // from the first Pending to the run's end
		t.Fatalf("span %v", g.Span)
	}
}

// TestGanttBounded: a run with thousands of task runs draws the first
// ganttMaxRows and counts the rest; the chart's key still changes when a
// task run left out does.
func TestGanttBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	tasks := make([]store.TaskRun, 5000)
	for i := range tasks {
		s := flow.Running()
		s.Timestamp = t0
		tasks[i] = store.TaskRun{RunRecord: flow.RunRecord{ID: fmt.Sprint(i), Name: "map"}, State: s, History: []flow.State{s}, Updated: t0}
	}
	run := store.FlowRun{ID: "r", Created: t0, State: flow.Running()}
	g := layoutGantt(run, nil, tasks, t0.Add(time.Minute))
	if len(g.Rows) != ganttMaxRows || g.More != 5000-ganttMaxRows {
		t.Fatalf("rows %d, more %d", len(g.Rows), g.More)
	}
	tasks[4999].State = flow.Completed()
	tasks[4999].Updated = t0.Add(time.Second)
	if g2 := layoutGantt(run, nil, tasks, t0.Add(time.Minute)); g2.key == g.key {
		t.Fatal("the key did not change with a task run left out of the chart")
	}
}
