package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// gantt is the task runs of a flow run laid out on its time axis, for an
// SVG chart: each row a task run, each bar a stretch it spent running (a
// retried task has several, the waits between them shown apart).
type gantt struct {
	Rows   []ganttRow
	Width  int // the chart's width in SVG units
	Height int
	Span   time.Duration
	// More counts the task runs left out of the chart (beyond
	// ganttMaxRows), which the page lists as a number only.
	More int
	key  string // what changes when the chart does
}

type ganttRow struct {
	Name, State, Class string
	Retries            int
	Cached             bool
	// Compensation marks the undo of a step, run after the flow failed.
	Compensation bool
	Y, TextY     int
	Bars         []ganttBar
	Duration     time.Duration
}

type ganttBar struct {
	X, W  int
	Class string
	Title string
}

const (
	ganttWidth = 1000
	ganttRowH  = 22
	ganttLabel = 260 // the label column, left of the bars
	// ganttMaxRows bounds the chart: a flow mapping a task over
	// thousands of inputs shows its first task runs and a count.
	ganttMaxRows = 300
)

// layoutGantt lays out tasks on the span from the run's start to its end
// (or now, while it runs).
func layoutGantt(run store.FlowRun, hist []flow.State, tasks []store.TaskRun, now time.Time) gantt {
	start, end := run.Created, now
	for _, s := range hist {
		if s.Type == flow.TypeRunning || s.Type == flow.TypePending {
			start = s.Timestamp
			break
		}
	}
	if run.State.Final() && !run.State.Timestamp.IsZero() {
		end = run.State.Timestamp
	}
	for _, t := range tasks {
		if len(t.History) > 0 && t.History[0].Timestamp.Before(start) {
			start = t.History[0].Timestamp
		}
		if !t.State.Final() {
			continue
		}
		if t.State.Timestamp.After(end) {
			end = t.State.Timestamp
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Millisecond
	}
	g := gantt{Width: ganttWidth, Span: span}
	scale := float64(ganttWidth-ganttLabel) / float64(span)
	x := func(t time.Time) int {
		v := ganttLabel + int(float64(t.Sub(start))*scale)
		return min(max(v, ganttLabel), ganttWidth)
	}
	var key strings.Builder
	var latest time.Time
	final := 0
	for _, t := range tasks {
		if t.Updated.After(latest) {
			latest = t.Updated
		}
		if t.State.Final() {
			final++
		}
	}
	fmt.Fprintf(&key, "%d/%d/%d", len(tasks), final, latest.UnixNano())
	if len(tasks) > ganttMaxRows {
		g.More = len(tasks) - ganttMaxRows
		tasks = tasks[:ganttMaxRows]
	}
	for i, t := range tasks {
		row := ganttRow{Name: t.Name, State: t.State.Name, Class: stateClass(t.State), Y: i * ganttRowH, TextY: i*ganttRowH + 15,
			Compensation: slices.Contains(t.Tags, "compensation")}
		var runFrom time.Time
		var first, last time.Time
		for _, s := range t.History {
			if first.IsZero() {
				first = s.Timestamp
			}
			last = s.Timestamp
			switch {
			case s.Name == flow.NameRetrying || (s.Name == flow.NameAwaitingRetry):
				row.Retries += boolInt(s.Name == flow.NameAwaitingRetry)
			case s.Name == flow.NameCached:
				row.Cached = true
			}
			if s.Type == flow.TypeRunning {
				if runFrom.IsZero() {
					runFrom = s.Timestamp
				}
				continue
			}
			if !runFrom.IsZero() {
				row.Bars = append(row.Bars, bar(x, runFrom, s.Timestamp, "run", "ran until "+s.Name))
				runFrom = time.Time{}
			}
			if s.Name == flow.NameAwaitingRetry && !s.ScheduledAt.IsZero() {
				row.Bars = append(row.Bars, bar(x, s.Timestamp, s.ScheduledAt, "wait", "waiting to retry"))
			}
			if s.Name == flow.NameCached {
				row.Bars = append(row.Bars, bar(x, s.Timestamp, s.Timestamp, "cached", "result reused from the cache"))
			}
		}
		if !runFrom.IsZero() {
			row.Bars = append(row.Bars, bar(x, runFrom, now, "run live", "running"))
		}
		if t.State.Final() {
			row.Duration = last.Sub(first)
		} else if !first.IsZero() {
			row.Duration = now.Sub(first)
		}
		g.Rows = append(g.Rows, row)
	}
	g.Height = max(len(tasks)*ganttRowH, ganttRowH)
	g.key = key.String()
	return g
}

func bar(x func(time.Time) int, from, to time.Time, class, title string) ganttBar {
	x0, x1 := x(from), x(to)
	return ganttBar{X: x0, W: max(x1-x0, 3), Class: class, Title: title}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// stateClass is the CSS class of a state's badge.
func stateClass(s flow.State) string {
	if s.Name == flow.NameLate || s.Name == flow.NameCached || s.Name == flow.NameAwaitingRetry {
		return "st-" + strings.ToLower(s.Name)
	}
	return "st-" + strings.ToLower(string(s.Type))
}
