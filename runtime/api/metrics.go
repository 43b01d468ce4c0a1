package api

import (
	"bufio"
	"context"
	"fmt"
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

// metrics are the server's counters, written as Prometheus text.
type metrics struct {
	mu       sync.Mutex
	requests map[routeKey]uint64
	latency  map[string]*histogram // by route
	events   map[eventKey]uint64
}

func newMetrics() *metrics {
	return &metrics{requests: map[routeKey]uint64{}, latency: map[string]*histogram{}, events: map[eventKey]uint64{}}
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
	counts := make([]int, len(activeStates))
	for i, st := range activeStates {
		n, err := s.countRuns(ctx, st)
		if err != nil {
			return err
		}
		counts[i] = n
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := bufio.NewWriter(w)
	fmt.Fprintln(b, "# HELP netauto_runs Flow runs in each non-final state type (counted up to 100000).")
	fmt.Fprintln(b, "# TYPE netauto_runs gauge")
	for i, st := range activeStates {
		fmt.Fprintf(b, "netauto_runs{state=%q} %d\n", string(st), counts[i])
	}
	s.metrics.write(b)
	return b.Flush()
}

func (s *Server) countRuns(ctx context.Context, st flow.StateType) (int, error) {
	n, cursor := 0, ""
	for n < maxCounted {
		runs, next, err := s.st.ListRuns(ctx, store.RunFilter{States: []flow.StateType{st}, Limit: 1000, Cursor: cursor})
		if err != nil {
			return 0, fmt.Errorf("count %s runs: %w", st, err)
		}
		n += len(runs)
		if next == "" {
			break
		}
		cursor = next
	}
	return n, nil
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
}
