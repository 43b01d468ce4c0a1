package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
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
	flow  string          // the root run's flow, whose cache namespace the token has
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
	if err := sc.loadAll(ctx, st); err != nil {
		return false, err
	}
	return sc.runs[id], nil
}

// loadAll loads the whole run tree of the scope from the store. Callers
// hold sc.mu.
func (sc *scope) loadAll(ctx context.Context, st store.Store) error {
	for expanded := true; expanded; {
		expanded = false
		for f := range sc.flows {
			if sc.tasks[f] {
				continue
			}
			if err := sc.load(ctx, st, f); err != nil {
				return err
			}
			expanded = true
		}
	}
	return nil
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

// pending holds the runs a batch creates: in its scope for the batch's
// later ops, and added to the scope only once the store created them (a
// create the store refuses must not widen what the token may touch).
type pending struct{ flows, runs map[string]bool }

func newPending() pending { return pending{flows: map[string]bool{}, runs: map[string]bool{}} }

// flowRun is scope.flowRun counting the batch's pending flow runs.
func (sc *scope) flowRunIn(ctx context.Context, st store.Store, p pending, id string) (bool, error) {
	if p.flows[id] {
		return true, nil
	}
	return sc.flowRun(ctx, st, id)
}

// admit checks one op of a run token's batch; the runs it creates go to
// p. A nil error admits the op.
func (sc *scope) admit(ctx context.Context, st store.Store, p pending, op *wire.Op) (*wire.OpError, error) {
	forbid := func(field, format string, args ...any) (*wire.OpError, error) {
		return &wire.OpError{Kind: wire.OpForbidden, Field: field, Error: fmt.Sprintf(format, args...) + ": outside the token's run " + sc.root}, nil
	}
	if c := op.Create; c != nil {
		switch {
		case c.ID == sc.root:
			// The run itself: it may not change the flow it runs (whose
			// cache namespace it is given) nor its parent.
			if c.Name != sc.flow {
				return &wire.OpError{Kind: wire.OpForbidden, Field: "create.name", Error: fmt.Sprintf("run %s is a run of flow %q, not %q", sc.root, sc.flow, c.Name)}, nil
			}
			if c.ParentID != "" {
				return forbid("create.parent_id", "run %s under %s", c.ID, c.ParentID)
			}
			return nil, nil
		case c.Kind == flow.KindTask:
			ok, err := sc.flowRunIn(ctx, st, p, c.FlowRunID)
			if err != nil || !ok {
				return nilOr(err, forbid)("create.flow_run_id", "task run %s of flow run %s", c.ID, c.FlowRunID)
			}
			p.runs[c.ID] = true
			return nil, nil
		default:
			if c.ParentID == "" {
				return forbid("create.parent_id", "top-level flow run %s", c.ID)
			}
			ok := p.runs[c.ParentID] || p.flows[c.ParentID]
			if !ok {
				var err error
				if ok, err = sc.run(ctx, st, c.ParentID); err != nil || !ok {
					return nilOr(err, forbid)("create.parent_id", "subflow run %s under %s", c.ID, c.ParentID)
				}
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
			p.flows[c.ID], p.runs[c.ID] = true, true
			return nil, nil
		}
	}
	if !p.runs[op.RunID] {
		if ok, err := sc.run(ctx, st, op.RunID); err != nil || !ok {
			return nilOr(err, forbid)("run_id", "run %s", op.RunID)
		}
	}
	if r := op.Result; r != nil {
		if r.FlowRunID != "" {
			if ok, err := sc.flowRunIn(ctx, st, p, r.FlowRunID); err != nil || !ok {
				return nilOr(err, forbid)("result.flow_run_id", "result for flow run %s", r.FlowRunID)
			}
		}
		if r.CacheKey != "" && !strings.HasPrefix(r.CacheKey, flowext.CacheNamespace(sc.flow)) {
			return &wire.OpError{Kind: wire.OpForbidden, Field: "result.cache_key",
				Error: fmt.Sprintf("cache key outside the namespace %q of flow %q", flowext.CacheNamespace(sc.flow), sc.flow)}, nil
		}
	}
	return nil, nil
}

// commit adds to the scope the runs of p whose creating op the store
// applied (errs[j] of store op j, created[j] its run).
func (sc *scope) commit(p pending, created []string, errs []error) {
	for j, id := range created {
		if id == "" || (j < len(errs) && errs[j] != nil) {
			continue
		}
		if p.flows[id] {
			sc.flows[id] = true
		}
		sc.runs[id] = true
	}
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
	ans, err = s.applyBatch(ctx, root, PrincipalFrom(ctx).Run != "", req)
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
	var (
		sc    *scope
		p     = newPending()
		final *ended // once the root is final
	)
	if scoped {
		sc = s.scopes.get(root)
		sc.mu.Lock()
		defer sc.mu.Unlock()
		run, err := s.st.GetRun(ctx, root)
		if err != nil {
			return nil, err
		}
		sc.flow = run.Flow
		if run.State.Final() {
			// The run ended: its token may record its compensations and
			// add log lines (hooks run after the final state) but change
			// no other state and no result.
			if final, err = s.ended(ctx, sc); err != nil {
				return nil, err
			}
		}
	}
	ops := make([]store.Op, 0, len(req.Ops))
	index := make([]int, 0, len(req.Ops)) // store op → request op
	created := make([]string, 0, len(req.Ops))
	for i := range req.Ops {
		op := &req.Ops[i]
		if (op.Create == nil) == (op.State == nil) {
			ans.Errors = append(ans.Errors, wire.OpError{Index: i, Kind: wire.OpInvalid, Field: fmt.Sprintf("ops[%d]", i), Error: "an op has either create or state"})
			continue
		}
		if final != nil {
			if final.replay(op) {
				continue
			}
			if !final.allows(op) {
				ans.Errors = append(ans.Errors, wire.OpError{Index: i, Kind: wire.OpForbidden, Field: "run_id",
					Error: "run " + root + " is final: its token may report nothing more but its compensations and log lines"})
				continue
			}
		}
		if sc != nil {
			oe, err := sc.admit(ctx, s.st, p, op)
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
		id := ""
		if op.Create != nil {
			id = op.Create.ID
		}
		created = append(created, id)
	}
	if sc != nil {
		for i, l := range req.Logs {
			in := p.runs[l.RunID]
			if !in {
				var err error
				if in, err = sc.run(ctx, s.st, l.RunID); err != nil {
					return nil, err
				}
			}
			if in && !sc.flows[l.FlowRunID] && l.FlowRunID != "" {
				var err error
				if in, err = sc.flowRunIn(ctx, s.st, p, l.FlowRunID); err != nil {
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
	if sc != nil {
		sc.commit(p, created, errs)
	}
	for j, e := range errs {
		if e == nil || replayed(e, ops[j]) {
			continue
		}
		ans.Errors = append(ans.Errors, opError(index[j], e))
	}
	return ans, nil
}

// ended is what a run token may still write once its run is final: the
// flow's compensations, which run after its final state (new task runs
// tagged "compensation", without task key or result, and their states),
// and replays of what is stored.
type ended struct {
	hist map[string][]flow.State // state history of every run of the scope
	comp map[string]bool         // its compensation task runs
}

// compensationTag tags the task runs of a flow's compensations (see
// flowext.Compensation).
const compensationTag = "compensation"

func isCompensation(r *flow.RunRecord) bool {
	return r.Kind == flow.KindTask && r.TaskKey == "" && slices.Contains(r.Tags, compensationTag)
}

// ended loads the histories and compensations of the scope's runs.
// Callers hold sc.mu.
func (s *Server) ended(ctx context.Context, sc *scope) (*ended, error) {
	if err := sc.loadAll(ctx, s.st); err != nil {
		return nil, err
	}
	e := &ended{hist: map[string][]flow.State{}, comp: map[string]bool{}}
	for f := range sc.flows {
		h, err := s.st.RunHistory(ctx, f)
		if err != nil {
			return nil, err
		}
		e.hist[f] = h
		trs, err := s.st.TaskRuns(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, tr := range trs {
			e.hist[tr.ID] = tr.History
			if isCompensation(&tr.RunRecord) {
				e.comp[tr.ID] = true
			}
		}
	}
	return e, nil
}

// allows reports whether op may be written after the run's end: a new
// compensation task run, or a state (without result) of one.
func (e *ended) allows(op *wire.Op) bool {
	if c := op.Create; c != nil {
		if _, exists := e.hist[c.ID]; exists || !isCompensation(c) {
			return false
		}
		e.comp[c.ID] = true
		return true
	}
	return op.Result == nil && e.comp[op.RunID]
}

// replay reports whether op repeats what is already stored: a run
// created again, or a state a run went through (to the microsecond).
func (e *ended) replay(op *wire.Op) bool {
	if c := op.Create; c != nil {
		_, ok := e.hist[c.ID]
		return ok
	}
	for _, s := range e.hist[op.RunID] {
		if s.Name == op.State.Name && s.Type == op.State.Type &&
			s.Timestamp.Truncate(time.Microsecond).Equal(op.State.Timestamp.Truncate(time.Microsecond)) {
			return true
		}
	}
	return false
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
	if root := PrincipalFrom(r.Context()).Run; root != "" && root != id {
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
// path at the time in now= (default, and at the earliest, the server's
// clock: an expired entry is never read); 404 when none. A run token
// reads the keys of its run's flow only (flowext.CacheNamespace).
func (s *Server) cachedResult(w http.ResponseWriter, r *http.Request) error {
	now, err := timeParam(r.URL.Query().Get("now"), "now")
	if err != nil {
		return err
	}
	if sn := s.opts.Now(); now.Before(sn) {
		now = sn
	}
	key := r.PathValue("key")
	if root := PrincipalFrom(r.Context()).Run; root != "" {
		run, err := s.st.GetRun(r.Context(), root)
		if err != nil {
			return err
		}
		if ns := flowext.CacheNamespace(run.Flow); !strings.HasPrefix(key, ns) {
			return &Error{Status: http.StatusForbidden, Field: "key", Msg: fmt.Sprintf("a run token of flow %q reads cache keys under %q only", run.Flow, ns)}
		}
	}
	v, ok, err := s.st.CachedResult(r.Context(), key, now)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Status: http.StatusNotFound, Field: "key", Msg: "no cached result under the key"}
	}
	return writeJSON(w, http.StatusOK, wire.Value{Value: v})
}
