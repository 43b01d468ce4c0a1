package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// maxScopeDepth bounds the subflow nesting a run token's scope follows.
const maxScopeDepth = 32

// scope is the set of runs a run token may report on: its flow run, the
// subflow runs started under it, and their task runs. It is remembered
// per root run, and rebuilt from the store when forgotten.
type scope struct {
	mu    sync.Mutex
	root  string
	flows map[string]bool // flow runs: the root and its subflows
	runs  map[string]bool // every run, task runs included
	tasks map[string]bool // flow runs whose stored task and subflow runs were loaded
}

type scopes struct {
	mu  sync.Mutex
	max int
	m   map[string]*scope
}

func (ss *scopes) get(root string) *scope {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.m == nil || len(ss.m) >= ss.max {
		ss.m = map[string]*scope{} // forgetting only costs store reads
	}
	sc := ss.m[root]
	if sc == nil {
		sc = &scope{root: root, flows: map[string]bool{root: true}, runs: map[string]bool{root: true}, tasks: map[string]bool{}}
		ss.m[root] = sc
	}
	return sc
}

// flowRun reports whether flow run id is the root or a subflow under it,
// following parents in the store. Callers hold sc.mu.
func (sc *scope) flowRun(ctx context.Context, st store.Store, id string) (bool, error) {
	if sc.flows[id] {
		return true, nil
	}
	if checkParam("run_id", id) != nil {
		return false, nil // no run has such an ID; a store would fail the read
	}
	cur := id
	for range maxScopeDepth {
		run, err := st.GetRun(ctx, cur)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if run.ParentID == "" {
			return false, nil
		}
		if sc.flows[run.ParentID] {
			sc.flows[id], sc.runs[id] = true, true
			return true, nil
		}
		cur = run.ParentID
	}
	return false, nil
}

// run reports whether run id (a flow or task run) is in the scope. On a
// miss it loads the run tree from the store once: the subflow runs under
// every flow run of the scope and their task runs (a scope forgotten or
// built by another replica). Callers hold sc.mu.
func (sc *scope) run(ctx context.Context, st store.Store, id string) (bool, error) {
	if sc.runs[id] {
		return true, nil
	}
	if ok, err := sc.flowRun(ctx, st, id); ok || err != nil {
		return ok, err
	}
	for expanded := true; expanded; {
		expanded = false
		for f := range sc.flows {
			if sc.tasks[f] {
				continue
			}
			if err := sc.load(ctx, st, f); err != nil {
				return false, err
			}
			expanded = true
		}
	}
	return sc.runs[id], nil
}

// load adds flow run f's task runs and subflow runs to the scope.
func (sc *scope) load(ctx context.Context, st store.Store, f string) error {
	trs, err := st.TaskRuns(ctx, f)
	if err != nil {
		return err
	}
	for _, tr := range trs {
		sc.runs[tr.ID] = true
	}
	for cursor := ""; ; {
		subs, next, err := st.ListRuns(ctx, store.RunFilter{ParentID: f, Limit: 1000, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, r := range subs {
			sc.flows[r.ID], sc.runs[r.ID] = true, true
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	sc.tasks[f] = true
	return nil
}

// admit checks one op of a run token's batch, adding the runs it creates
// to the scope. A nil error admits the op.
func (sc *scope) admit(ctx context.Context, st store.Store, op *wire.Op) (*wire.OpError, error) {
	forbid := func(field, format string, args ...any) (*wire.OpError, error) {
		return &wire.OpError{Kind: wire.OpForbidden, Field: field, Error: fmt.Sprintf(format, args...) + ": outside the token's run " + sc.root}, nil
	}
	if c := op.Create; c != nil {
		switch {
		case c.ID == sc.root:
			return nil, nil
		case c.Kind == flow.KindTask:
			ok, err := sc.flowRun(ctx, st, c.FlowRunID)
			if err != nil || !ok {
				return nilOr(err, forbid)("create.flow_run_id", "task run %s of flow run %s", c.ID, c.FlowRunID)
			}
			sc.runs[c.ID] = true
			return nil, nil
		default:
			if c.ParentID == "" {
				return forbid("create.parent_id", "top-level flow run %s", c.ID)
			}
			if ok, err := sc.run(ctx, st, c.ParentID); err != nil || !ok {
				return nilOr(err, forbid)("create.parent_id", "subflow run %s under %s", c.ID, c.ParentID)
			}
			// An existing flow run is admitted only when it already is a
			// subflow in the scope: a token must not rewrite another run.
			if _, err := st.GetRun(ctx, c.ID); err == nil {
				if ok, err := sc.flowRun(ctx, st, c.ID); err != nil || !ok {
					return nilOr(err, forbid)("create.id", "existing flow run %s", c.ID)
				}
			} else if !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			sc.flows[c.ID], sc.runs[c.ID] = true, true
			return nil, nil
		}
	}
	if ok, err := sc.run(ctx, st, op.RunID); err != nil || !ok {
		return nilOr(err, forbid)("run_id", "run %s", op.RunID)
	}
	if op.Result != nil {
		if ok, err := sc.flowRun(ctx, st, op.Result.FlowRunID); err != nil || !ok {
			return nilOr(err, forbid)("result.flow_run_id", "result for flow run %s", op.Result.FlowRunID)
		}
	}
	return nil, nil
}

// nilOr returns a function answering err when it is set, else the
// forbidden op error.
func nilOr(err error, forbid func(string, string, ...any) (*wire.OpError, error)) func(string, string, ...any) (*wire.OpError, error) {
	if err != nil {
		return func(string, string, ...any) (*wire.OpError, error) { return nil, err }
	}
	return forbid
}

// batchMemo remembers the answers of recent record batches by ID, so that
// a client retrying a batch whose answer it lost gets the first answer and
// nothing is applied twice. A batch in progress makes its retries wait.
type batchMemo struct {
	mu  sync.Mutex
	max int
	ttl time.Duration
	m   map[string]*memoEntry
}

type memoEntry struct {
	done chan struct{}
	ans  *wire.Recorded // nil while running, and after a failure
	at   time.Time
}

func newBatchMemo(max int, ttl time.Duration) *batchMemo {
	return &batchMemo{max: max, ttl: ttl, m: map[string]*memoEntry{}}
}

// begin returns the remembered answer of key, or leader true when the
// caller is to apply the batch and then call finish.
func (b *batchMemo) begin(ctx context.Context, key string, now time.Time) (ans *wire.Recorded, leader bool, err error) {
	for {
		b.mu.Lock()
		e := b.m[key]
		switch {
		case e == nil || (e.ans != nil && now.Sub(e.at) > b.ttl):
			if len(b.m) >= b.max {
				b.evict(now)
			}
			b.m[key] = &memoEntry{done: make(chan struct{}), at: now}
			b.mu.Unlock()
			return nil, true, nil
		case e.ans != nil:
			b.mu.Unlock()
			return e.ans, false, nil
		}
		b.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, false, context.Cause(ctx)
		}
	}
}

// evict drops expired answers, or the oldest half when none expired.
// Callers hold b.mu.
func (b *batchMemo) evict(now time.Time) {
	for k, e := range b.m {
		if e.ans != nil && now.Sub(e.at) > b.ttl {
			delete(b.m, k)
		}
	}
	if len(b.m) < b.max {
		return
	}
	n := 0
	for k, e := range b.m {
		if e.ans != nil && n < b.max/2 {
			delete(b.m, k)
			n++
		}
	}
}

// finish records the answer of the batch key (nil when it failed as a
// whole, so that a retry applies it) and wakes waiting retries.
func (b *batchMemo) finish(key string, ans *wire.Recorded) {
	b.mu.Lock()
	e := b.m[key]
	if ans == nil {
		delete(b.m, key)
	} else {
		e.ans = ans
	}
	b.mu.Unlock()
	close(e.done)
}

// record applies a batch of engine events through the store's Record in
// one transaction and answers the errors of the ops that failed alone.
// A run token's batch may only touch the runs of its scope. A batch ID
// seen recently is answered from memory, applying nothing.
func (s *Server) record(w http.ResponseWriter, r *http.Request) error {
	var req wire.Record
	body, err := readBody(w, r, s.opts.MaxRecordBytes)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, &req); err != nil {
		return err
	}
	if req.BatchID == "" {
		return badRequest("batch_id", "empty")
	}
	root := r.PathValue("id")
	ctx := r.Context()
	key := root + "\x00" + req.BatchID
	ans, leader, err := s.batches.begin(ctx, key, s.opts.Now())
	if err != nil {
		return err
	}
	if !leader {
		return writeJSON(w, http.StatusOK, ans)
	}
	ans, err = s.applyBatch(ctx, root, principalFrom(ctx).run != "", req)
	s.batches.finish(key, ans)
	if err != nil {
		return err
	}
	s.notify.wake(root)
	for _, l := range req.Logs {
		if l.FlowRunID != root {
			s.notify.wake(l.FlowRunID)
		}
	}
	return writeJSON(w, http.StatusOK, ans)
}

func (s *Server) applyBatch(ctx context.Context, root string, scoped bool, req wire.Record) (*wire.Recorded, error) {
	ans := &wire.Recorded{}
	var sc *scope
	if scoped {
		sc = s.scopes.get(root)
		sc.mu.Lock()
		defer sc.mu.Unlock()
	}
	ops := make([]store.Op, 0, len(req.Ops))
	index := make([]int, 0, len(req.Ops)) // store op → request op
	for i := range req.Ops {
		op := &req.Ops[i]
		if (op.Create == nil) == (op.State == nil) {
			ans.Errors = append(ans.Errors, wire.OpError{Index: i, Kind: wire.OpInvalid, Field: fmt.Sprintf("ops[%d]", i), Error: "an op has either create or state"})
			continue
		}
		if sc != nil {
			oe, err := sc.admit(ctx, s.st, op)
			if err != nil {
				return nil, err
			}
			if oe != nil {
				oe.Index = i
				ans.Errors = append(ans.Errors, *oe)
				continue
			}
		}
		ops = append(ops, op.StoreOp())
		index = append(index, i)
	}
	if sc != nil {
		for i, l := range req.Logs {
			in, err := sc.run(ctx, s.st, l.RunID)
			if err != nil {
				return nil, err
			}
			if in && !sc.flows[l.FlowRunID] {
				in, err = sc.flowRun(ctx, s.st, l.FlowRunID)
				if err != nil {
					return nil, err
				}
			}
			if !in {
				return nil, &Error{Status: http.StatusForbidden, Field: fmt.Sprintf("logs[%d].run_id", i), Msg: "log record of run " + l.RunID + " outside the token's run " + root}
			}
		}
	}
	errs, err := s.st.Record(ctx, ops, req.Logs)
	if err != nil {
		return nil, err
	}
	for j, e := range errs {
		if e == nil || replayed(e, ops[j]) {
			continue
		}
		ans.Errors = append(ans.Errors, opError(index[j], e))
	}
	return ans, nil
}

// replayed reports whether an op failed only because it had been applied
// before: its state is the run's current one, to the microsecond the
// store keeps. A retried batch the server no longer remembers then
// succeeds for the runs' last states.
func replayed(err error, op store.Op) bool {
	var te *flow.TransitionError
	if !errors.As(err, &te) || op.Create != nil || op.State.Timestamp.IsZero() {
		return false
	}
	return te.From.Name == op.State.Name && te.From.Type == op.State.Type &&
		te.From.Timestamp.Truncate(time.Microsecond).Equal(op.State.Timestamp.Truncate(time.Microsecond))
}

func opError(i int, err error) wire.OpError {
	var te *flow.TransitionError
	var inv *store.InvalidError
	switch {
	case errors.As(err, &te):
		return wire.OpError{Index: i, Kind: wire.OpTransition, Field: "state", Error: err.Error()}
	case errors.As(err, &inv):
		return wire.OpError{Index: i, Kind: wire.OpInvalid, Field: inv.Field, Error: err.Error()}
	case errors.Is(err, store.ErrNotFound):
		return wire.OpError{Index: i, Kind: wire.OpNotFound, Field: "run_id", Error: err.Error()}
	}
	return wire.OpError{Index: i, Kind: wire.OpInvalid, Error: err.Error()}
}

// runResults answers the results of a flow run's completed task runs and
// subflow runs, by task key. A run token reads those of its run and of
// the subflow runs under it.
func (s *Server) runResults(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if root := principalFrom(r.Context()).run; root != "" && root != id {
		sc := s.scopes.get(root)
		sc.mu.Lock()
		ok, err := sc.flowRun(r.Context(), s.st, id)
		sc.mu.Unlock()
		if err != nil {
			return err
		}
		if !ok {
			return &Error{Status: http.StatusForbidden, Field: "Authorization", Msg: "a run token may report on its own run only"}
		}
	}
	res, err := s.st.RunResults(r.Context(), id)
	if err != nil {
		return err
	}
	if res == nil {
		res = map[string]json.RawMessage{}
	}
	return writeJSON(w, http.StatusOK, wire.Results{Results: res})
}

// cachedResult answers the unexpired cached result under the key in the
// path at the time in now= (default: the server's clock); 404 when none.
func (s *Server) cachedResult(w http.ResponseWriter, r *http.Request) error {
	now, err := timeParam(r.URL.Query().Get("now"), "now")
	if err != nil {
		return err
	}
	if now.IsZero() {
		now = s.opts.Now()
	}
	key := r.PathValue("key")
	v, ok, err := s.st.CachedResult(r.Context(), key, now)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Field: "key", Msg: "no cached result under the key"}
	}
	return writeJSON(w, http.StatusOK, wire.Value{Value: v})
}
