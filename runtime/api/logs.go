package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// notifier wakes the followers of a flow run when this server wrote its
// logs or states. Followers also poll, for writes by other processes.
type notifier struct {
	mu     sync.Mutex
	subs   map[string]*sub   // flow run → its followers
	src    store.RunNotifier // the store's announcements, or nil
	cancel func()            // stops them; set while subs is not empty
}

type sub struct {
	ch chan struct{} // closed on the next write
	n  int           // followers holding the subscription
}

// newNotifier returns the notifier of a server on st. When st announces
// its committed changes (store.RunNotifier), followers wake on them:
// those of the worker in this process too, and with PostgreSQL those of
// other replicas. The store is listened to only while someone follows.
func newNotifier(st store.Store) *notifier {
	n := &notifier{subs: map[string]*sub{}}
	n.src, _ = store.As[store.RunNotifier](st)
	return n
}

// subscribe registers a follower of run; call the returned function when
// it stops following, so that runs nobody follows cost nothing.
func (n *notifier) subscribe(run string) (unsubscribe func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.subs[run] == nil {
		n.subs[run] = &sub{ch: make(chan struct{})}
	}
	n.subs[run].n++
	if n.src != nil && n.cancel == nil {
		n.cancel = n.src.NotifyRuns(n.wake)
	}
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if s := n.subs[run]; s != nil {
			if s.n--; s.n == 0 {
				delete(n.subs, run)
			}
		}
		if len(n.subs) == 0 && n.cancel != nil {
			n.cancel()
			n.cancel = nil
		}
	}
}

// wait returns a channel closed at the next wake of run, which the caller
// subscribed to.
func (n *notifier) wait(run string) <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.subs[run]; s != nil {
		return s.ch
	}
	return nil
}

// wake wakes every follower of run. A run nobody follows costs a map
// lookup.
func (n *notifier) wake(run string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if s := n.subs[run]; s != nil {
		close(s.ch)
		s.ch = make(chan struct{})
	}
}

func (s *Server) logQuery(r *http.Request) (store.LogQuery, error) {
	q := r.URL.Query()
	lq := store.LogQuery{FlowRunID: r.PathValue("id"), RunID: q.Get("run")}
	var err error
	if v := q.Get("after"); v != "" {
		if lq.After, err = strconv.ParseInt(v, 10, 64); err != nil || lq.After < 0 {
			return lq, badRequest("after", "want a log cursor (a non-negative integer), got %q", v)
		}
	}
	lq.Limit, err = intParam(q.Get("limit"), "limit", 10000)
	return lq, err
}

// listLogs answers one page of a flow run's logs after the cursor.
func (s *Server) listLogs(w http.ResponseWriter, r *http.Request) error {
	lq, err := s.logQuery(r)
	if err != nil {
		return err
	}
	if _, err := s.st.GetRun(r.Context(), lq.FlowRunID); err != nil {
		return err
	}
	recs, next, err := s.st.Logs(r.Context(), lq)
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []store.LogEntry{}
	}
	return writeJSON(w, http.StatusOK, wire.LogPage{Logs: recs, Next: next})
}

// sseKeepAlive is how often a quiet follow stream sends a comment, so
// that proxies do not close it.
const sseKeepAlive = 15 * time.Second

// followers counts the open log streams, in all and per caller, so that
// nobody can hold every connection and goroutine of the server.
type followers struct {
	mu    sync.Mutex
	total int
	by    map[string]int
}

// enter takes a place for a stream of who, within max in all and perWho
// per caller; the returned function gives it back.
func (f *followers) enter(who string, max, perWho int) (leave func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.total >= max || f.by[who] >= perWho {
		return nil, false
	}
	if f.by == nil {
		f.by = map[string]int{}
	}
	f.total++
	f.by[who]++
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.total--
		if f.by[who]--; f.by[who] <= 0 {
			delete(f.by, who)
		}
	}, true
}

// sseStream writes a log stream: each write has its own deadline
// (Options.StreamWriteTimeout), so that a client that stops reading ends
// its stream instead of holding a goroutine and a connection forever.
type sseStream struct {
	w       http.ResponseWriter
	fl      http.Flusher
	rc      *http.ResponseController
	timeout time.Duration
	buf     bytes.Buffer
}

// emit sends what is buffered and flushes it, within the write timeout.
func (st *sseStream) emit() error {
	if st.buf.Len() == 0 {
		return nil
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	_, err := st.w.Write(st.buf.Bytes())
	st.buf.Reset()
	if err != nil {
		return err
	}
	return st.rc.Flush()
}

// followLogs streams a flow run's logs as Server-Sent Events: one "log"
// event per record, its id the record's cursor, so that a client
// reconnecting with Last-Event-ID resumes after the last record it got.
// When the run is final and every record is sent, an "end" event carries
// the final state and the stream closes. The store is read when this
// server appends to the run, else every PollInterval. At most
// Options.MaxFollowers streams are open at once (MaxFollowersPerCaller
// per key): beyond, 503 with Retry-After. A write that the client does
// not take within StreamWriteTimeout ends the stream.
func (s *Server) followLogs(w http.ResponseWriter, r *http.Request) error {
	lq, err := s.logQuery(r)
	if err != nil {
		return err
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if lq.After, err = strconv.ParseInt(v, 10, 64); err != nil || lq.After < 0 {
			return badRequest("Last-Event-ID", "want a log cursor, got %q", v)
		}
	}
	ctx := r.Context()
	if _, err := s.st.GetRun(ctx, lq.FlowRunID); err != nil {
		return err
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		return fmt.Errorf("follow logs: response writer cannot flush")
	}
	who, _ := Identity(ctx)
	leave, ok := s.follow.enter(who, s.opts.MaxFollowers, s.opts.MaxFollowersPerCaller)
	if !ok {
		w.Header().Set("Retry-After", "10")
		return &Error{Status: http.StatusServiceUnavailable, Field: "follow", Msg: "too many log streams open: retry later, or read pages with GET /logs"}
	}
	defer leave()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	defer s.notify.subscribe(lq.FlowRunID)()
	// A stream outlives the http.Server's read timeout; each write has
	// its own deadline instead of the server's.
	st := &sseStream{w: w, fl: fl, rc: http.NewResponseController(w), timeout: s.opts.StreamWriteTimeout}
	_ = st.rc.SetReadDeadline(time.Time{})
	_ = st.rc.SetWriteDeadline(time.Now().Add(st.timeout))
	w.WriteHeader(http.StatusOK)
	if err := st.rc.Flush(); err != nil {
		return nil
	}

	poll := time.NewTicker(s.opts.PollInterval)
	defer poll.Stop()
	keep := time.NewTicker(sseKeepAlive)
	defer keep.Stop()
	for {
		// Subscribe before reading, so that a write between the read and
		// the wait is not missed.
		woke := s.notify.wait(lq.FlowRunID)
		run, err := s.st.GetRun(ctx, lq.FlowRunID)
		if err != nil {
			return s.sseFail(ctx, st, err)
		}
		final := run.State.Final()
		for {
			recs, next, err := s.st.Logs(ctx, lq)
			if err != nil {
				return s.sseFail(ctx, st, err)
			}
			for _, rec := range recs {
				b, _ := json.Marshal(rec)
				fmt.Fprintf(&st.buf, "id: %d\nevent: log\ndata: %s\n\n", rec.ID, b)
			}
			lq.After = next
			if len(recs) == 0 {
				break
			}
			if err := st.emit(); err != nil {
				return nil // the client is gone or stuck
			}
		}
		if final {
			// Logs recorded with the final state were committed with it:
			// everything is sent.
			b, _ := json.Marshal(wire.StateAnswer{State: run.State})
			fmt.Fprintf(&st.buf, "event: end\ndata: %s\n\n", b)
			_ = st.emit()
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-woke:
		case <-poll.C:
		case <-keep.C:
			st.buf.WriteString(": keep-alive\n\n")
			if err := st.emit(); err != nil {
				return nil
			}
		}
	}
}

// sseFail ends a stream whose headers were sent: the error goes out as an
// "error" event (the status line is gone).
func (s *Server) sseFail(ctx context.Context, st *sseStream, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	s.log.Error("follow logs", "err", err)
	b, _ := json.Marshal(wire.Error{Error: "internal error"})
	fmt.Fprintf(&st.buf, "event: error\ndata: %s\n\n", b)
	_ = st.emit()
	return nil
}
