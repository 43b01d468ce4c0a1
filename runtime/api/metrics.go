package api

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// latencyBuckets are the upper bounds (seconds) of the request latency
// histogram.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type routeKey struct {
	route, method string
	code          int
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; the last is +Inf
	sum    float64
	n      uint64
}

type eventKey struct{ source, outcome string }

// eventRuns counts what the accepted events of a source started.
type eventRuns struct{ matched, unmatched, runs uint64 }

// metrics are the server's counters, written as Prometheus text.
type metrics struct {
	mu       sync.Mutex
	requests map[routeKey]uint64
	latency  map[string]*histogram // by route
	events   map[eventKey]uint64
	started  map[string]*eventRuns // by source
}

func newMetrics() *metrics {
	return &metrics{requests: map[routeKey]uint64{}, latency: map[string]*histogram{}, events: map[eventKey]uint64{}, started: map[string]*eventRuns{}}
}

func (m *metrics) observe(route, method string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[routeKey{route, method, code}]++
	h := m.latency[route]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
		m.latency[route] = h
	}
	sec := d.Seconds()
	i, _ := slices.BinarySearch(latencyBuckets, sec)
	h.counts[i]++
	h.sum += sec
	h.n++
}

// accepted counts an accepted event of source and the runs it started.
func (m *metrics) accepted(source string, runs int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.started[source]
	if e == nil {
		e = &eventRuns{}
		m.started[source] = e
	}
	if runs > 0 {
		e.matched++
	} else {
		e.unmatched++
	}
	e.runs += uint64(runs)
}

func (m *metrics) event(source, outcome string) {
	m.mu.Lock()
	m.events[eventKey{source, outcome}]++
	m.mu.Unlock()
}

// statusWriter records the status a handler wrote. It passes Flush on,
// for Server-Sent Events.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument counts a route's requests by status and times them. The
// route label is the pattern, so that run IDs do not explode the series.
func (s *Server) instrument(pattern string, h http.HandlerFunc) http.Handler {
	route := pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		route = path
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.metrics.observe(route, methodLabel(r.Method), sw.code, time.Since(start))
	})
}

// methodLabel keeps the method label's values few: clients choose it.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// activeStates are the state types counted for netauto_runs: the final
// ones grow without bound and are better read from the store.
var activeStates = []flow.StateType{flow.TypeScheduled, flow.TypePending, flow.TypeRunning, flow.TypePaused, flow.TypeCancelling}

// maxCounted bounds the runs counted per state for one scrape.
const maxCounted = 100_000

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	now := s.opts.Now()
	counts := make([]int, len(activeStates))
	var late map[string]lateRuns
	for i, st := range activeStates {
		n, l, err := s.countRuns(ctx, st, now)
		if err != nil {
			return err
		}
		counts[i] = n
		if st == flow.TypeScheduled {
			late = l
		}
	}
	gauges, err := s.gauges(ctx, now)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	fmt.Fprintln(b, "# HELP netauto_runs Flow runs in each non-final state type (counted up to 100000).")
	fmt.Fprintln(b, "# TYPE netauto_runs gauge")
	for i, st := range activeStates {
		fmt.Fprintf(b, "netauto_runs{state=%q} %d\n", string(st), counts[i])
	}
	writeLate(b, late)
	gauges.write(b)
	s.metrics.write(b)
	s.runs.write(b)
	return b.Flush()
}

// lateAfter is how long past its scheduled time a Scheduled run counts
// as late in netauto_runs_late.
const lateAfter = 30 * time.Second

// lateRuns are the late runs of one deployment.
type lateRuns struct {
	n      int
	oldest time.Duration
}

// countRuns counts the runs in state type st (up to maxCounted), and for
// Scheduled those late beyond lateAfter by deployment, in the same pass.
func (s *Server) countRuns(ctx context.Context, st flow.StateType, now time.Time) (int, map[string]lateRuns, error) {
	n, cursor := 0, ""
	late := map[string]lateRuns{}
	for n < maxCounted {
		runs, next, err := s.st.ListRuns(ctx, store.RunFilter{States: []flow.StateType{st}, Limit: 1000, Cursor: cursor})
		if err != nil {
			return 0, nil, fmt.Errorf("count %s runs: %w", st, err)
		}
		n += len(runs)
		if st == flow.TypeScheduled {
			for _, r := range runs {
				due := r.ScheduledAt
				if r.State.ScheduledAt.After(due) {
					due = r.State.ScheduledAt
				}
				if by := now.Sub(due); !due.IsZero() && by > lateAfter {
					l := late[r.Deployment]
					l.n++
					l.oldest = max(l.oldest, by)
					late[r.Deployment] = l
				}
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return n, late, nil
}

func writeLate(b *bufio.Writer, late map[string]lateRuns) {
	fmt.Fprintf(b, "# HELP netauto_runs_late Scheduled runs more than %gs past their scheduled time, by deployment.\n", lateAfter.Seconds())
	fmt.Fprintln(b, "# TYPE netauto_runs_late gauge")
	deps := slices.Sorted(maps.Keys(late))
	for _, d := range deps {
		fmt.Fprintf(b, "netauto_runs_late{deployment=%q} %d\n", label(d), late[d].n)
	}
	fmt.Fprintln(b, "# HELP netauto_run_lateness_max_seconds How far past its scheduled time the latest late Scheduled run of each deployment is.")
	fmt.Fprintln(b, "# TYPE netauto_run_lateness_max_seconds gauge")
	for _, d := range deps {
		fmt.Fprintf(b, "netauto_run_lateness_max_seconds{deployment=%q} %g\n", label(d), late[d].oldest.Seconds())
	}
}

// liveAfter is how recent a worker's heartbeat must be for the worker to
// count as live; workers silent for longer than workerForget are left
// out of the per-worker gauge.
const (
	liveAfter    = 90 * time.Second
	workerForget = 24 * time.Hour
)

// gaugeSet is what a scrape reads from the store besides the run counts:
// workers and tag slots, each a small bounded read.
type gaugeSet struct {
	pools   []string
	live    map[string]int
	workers []store.Worker
	now     time.Time
	limits  map[string]int
	inUse   map[string]int
}

func (s *Server) gauges(ctx context.Context, now time.Time) (*gaugeSet, error) {
	g := &gaugeSet{live: map[string]int{}, now: now, inUse: map[string]int{}}
	pools, err := s.st.ListPools(ctx)
	if err != nil {
		return nil, fmt.Errorf("metrics: pools: %w", err)
	}
	for _, p := range pools {
		g.pools = append(g.pools, p.Name)
	}
	ws, err := s.st.ListWorkers(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("metrics: workers: %w", err)
	}
	for _, w := range ws {
		age := now.Sub(w.LastSeen)
		if age <= liveAfter {
			g.live[w.Pool]++
		}
		if age <= workerForget {
			g.workers = append(g.workers, w)
		}
	}
	slices.SortFunc(g.workers, func(a, b store.Worker) int { return strings.Compare(a.Pool+"\x00"+a.Name, b.Pool+"\x00"+b.Name) })
	if g.limits, err = s.st.TagLimits(ctx); err != nil {
		return nil, fmt.Errorf("metrics: tag limits: %w", err)
	}
	for tag := range g.limits {
		if strings.HasSuffix(tag, "*") {
			continue // a pattern: each tag it matches has its own slots
		}
		n, err := s.st.SlotsInUse(ctx, tag, now)
		if err != nil {
			return nil, fmt.Errorf("metrics: slots of %q: %w", tag, err)
		}
		g.inUse[tag] = n
	}
	return g, nil
}

func (g *gaugeSet) write(b *bufio.Writer) {
	fmt.Fprintf(b, "# HELP netauto_workers_live Workers whose last heartbeat is at most %gs old, by pool.\n", liveAfter.Seconds())
	fmt.Fprintln(b, "# TYPE netauto_workers_live gauge")
	for _, p := range g.pools {
		fmt.Fprintf(b, "netauto_workers_live{pool=%q} %d\n", p, g.live[p])
	}
	fmt.Fprintln(b, "# HELP netauto_worker_heartbeat_age_seconds Time since each worker's last heartbeat (workers heard from in the last 24h).")
	fmt.Fprintln(b, "# TYPE netauto_worker_heartbeat_age_seconds gauge")
	for _, w := range g.workers {
		fmt.Fprintf(b, "netauto_worker_heartbeat_age_seconds{pool=%q,worker=%q} %g\n", w.Pool, w.Name, max(0, g.now.Sub(w.LastSeen).Seconds()))
	}
	tags := slices.Sorted(maps.Keys(g.limits))
	fmt.Fprintln(b, "# HELP netauto_tag_slots_limit Tag concurrency limits, by tag or pattern.")
	fmt.Fprintln(b, "# TYPE netauto_tag_slots_limit gauge")
	for _, t := range tags {
		fmt.Fprintf(b, "netauto_tag_slots_limit{tag=%q} %d\n", t, g.limits[t])
	}
	fmt.Fprintln(b, "# HELP netauto_tag_slots_in_use Slots held of each limited tag (not of patterns).")
	fmt.Fprintln(b, "# TYPE netauto_tag_slots_in_use gauge")
	for _, t := range tags {
		if n, ok := g.inUse[t]; ok {
			fmt.Fprintf(b, "netauto_tag_slots_in_use{tag=%q} %d\n", t, n)
		}
	}
	fmt.Fprintln(b, "# HELP netauto_tag_slots_saturation Slots in use over the limit of each limited tag (1: tasks wait for slots).")
	fmt.Fprintln(b, "# TYPE netauto_tag_slots_saturation gauge")
	for _, t := range tags {
		if n, ok := g.inUse[t]; ok && g.limits[t] > 0 {
			fmt.Fprintf(b, "netauto_tag_slots_saturation{tag=%q} %g\n", t, float64(n)/float64(g.limits[t]))
		}
	}
}

func (m *metrics) write(b *bufio.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(b, "# HELP netauto_http_requests_total HTTP requests by route, method and status code.")
	fmt.Fprintln(b, "# TYPE netauto_http_requests_total counter")
	keys := make([]routeKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b routeKey) int {
		return strings.Compare(fmt.Sprint(a.route, a.method, a.code), fmt.Sprint(b.route, b.method, b.code))
	})
	for _, k := range keys {
		fmt.Fprintf(b, "netauto_http_requests_total{route=%q,method=%q,code=\"%d\"} %d\n", k.route, k.method, k.code, m.requests[k])
	}
	fmt.Fprintln(b, "# HELP netauto_http_request_duration_seconds HTTP request latency by route.")
	fmt.Fprintln(b, "# TYPE netauto_http_request_duration_seconds histogram")
	routes := make([]string, 0, len(m.latency))
	for r := range m.latency {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, route := range routes {
		h := m.latency[route]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(b, "netauto_http_request_duration_seconds_bucket{route=%q,le=%q} %d\n", route, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		fmt.Fprintf(b, "netauto_http_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", route, h.n)
		fmt.Fprintf(b, "netauto_http_request_duration_seconds_sum{route=%q} %g\n", route, h.sum)
		fmt.Fprintf(b, "netauto_http_request_duration_seconds_count{route=%q} %d\n", route, h.n)
	}
	fmt.Fprintln(b, "# HELP netauto_events_total Events received by source and outcome (accepted, duplicate, unauthorized, invalid, error).")
	fmt.Fprintln(b, "# TYPE netauto_events_total counter")
	evs := make([]eventKey, 0, len(m.events))
	for k := range m.events {
		evs = append(evs, k)
	}
	slices.SortFunc(evs, func(a, b eventKey) int { return strings.Compare(a.source+"\x00"+a.outcome, b.source+"\x00"+b.outcome) })
	for _, k := range evs {
		fmt.Fprintf(b, "netauto_events_total{source=%q,outcome=%q} %d\n", k.source, k.outcome, m.events[k])
	}
	srcs := slices.Sorted(maps.Keys(m.started))
	fmt.Fprintln(b, "# HELP netauto_events_matched_total Accepted events by source and whether a trigger matched (matched: it started runs).")
	fmt.Fprintln(b, "# TYPE netauto_events_matched_total counter")
	for _, src := range srcs {
		fmt.Fprintf(b, "netauto_events_matched_total{source=%q,matched=\"true\"} %d\n", src, m.started[src].matched)
		fmt.Fprintf(b, "netauto_events_matched_total{source=%q,matched=\"false\"} %d\n", src, m.started[src].unmatched)
	}
	fmt.Fprintln(b, "# HELP netauto_event_runs_total Runs started by accepted events, by source.")
	fmt.Fprintln(b, "# TYPE netauto_event_runs_total counter")
	for _, src := range srcs {
		fmt.Fprintf(b, "netauto_event_runs_total{source=%q} %d\n", src, m.started[src].runs)
	}
}
