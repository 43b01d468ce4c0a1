package scheduler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/schedule"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Options tune a [Scheduler]. Zero fields take the defaults.
type Options struct {
	// Window bounds how far ahead runs are created; default
	// [schedule.DefaultWindow] (an hour, at least the next run, at most
	// 100 runs per deployment and plan; a zero Max takes that default).
	Window schedule.Window
	// Interval is the time between passes in [Scheduler.Run]; default 10s.
	Interval time.Duration
	// ReapInterval is the time between lease reaps in [Scheduler.Run];
	// default 2s. A dead worker's runs are detected within their lease
	// plus this.
	ReapInterval time.Duration
	// LateGrace is how late a run may be and still run whatever the
	// deployment's late policy (the store has no per-deployment grace).
	// Default 0.
	LateGrace time.Duration
	// Now is the clock of [Scheduler.Run]; default time.Now.
	Now func() time.Time
	// Logger receives what the loop does and every error it survives;
	// default slog.Default().
	Logger *slog.Logger
}

// Scheduler creates the runs of deployments' schedules ahead of time and
// reaps the runs of workers that lost their lease. Several schedulers may
// share one store (server replicas): runs are unique per deployment and
// scheduled time in the store, so none is duplicated.
type Scheduler struct {
	st   store.Store
	opts Options
	log  *slog.Logger

	mu      sync.Mutex // serializes passes
	entries map[string]*entry
}

// entry is what the scheduler keeps per deployment between passes.
type entry struct {
	id, version string // the deployment version the timetable was compiled from
	tt          *schedule.Timetable
	keys        []string // schedule key per timetable index
	compileErr  error
	defaults    map[string]any
	late        schedule.LatePolicy
	through     map[string]time.Time // by schedule key, as stored
	storedGen   int64                // the deployment generation through was planned under (0: none stored)
	loaded      bool                 // through and storedGen were read from the store
}

// New returns a scheduler on st.
func New(st store.Store, opts Options) *Scheduler {
	if opts.Window == (schedule.Window{}) {
		opts.Window = schedule.DefaultWindow
	}
	if opts.Window.Max <= 0 {
		opts.Window.Max = schedule.DefaultWindow.Max
	}
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.ReapInterval <= 0 {
		opts.ReapInterval = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Scheduler{st: st, opts: opts, log: opts.Logger, entries: make(map[string]*entry)}
}

// PassResult reports what one [Scheduler.Pass] did.
type PassResult struct {
	// Deployments is how many scheduled, unpaused deployments were
	// planned.
	Deployments int
	// Created and Late count the runs created (Late ones included in
	// Created); Skipped counts late occurrences the late policy skipped,
	// each recorded as a Cancelled run.
	Created, Late, Skipped int
	// Replaced counts the planned runs deleted because their deployment
	// changed (they had not started; see store.SchedulePlan).
	Replaced int
	// Errors are the deployments that could not be planned (bad
	// schedules, store errors), each naming its deployment. The pass goes
	// on with the others.
	Errors []error
}

// Run makes a pass every Interval and reaps expired leases every
// ReapInterval until ctx is done, logging what it does; it returns
// ctx's cause. Errors of single passes are logged, not returned: a store
// that is down for a while delays runs but does not stop the scheduler.
func (s *Scheduler) Run(ctx context.Context) error {
	pass := time.NewTicker(s.opts.Interval)
	defer pass.Stop()
	reap := time.NewTicker(s.opts.ReapInterval)
	defer reap.Stop()
	s.logPass(s.Pass(ctx, s.opts.Now()))
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-pass.C:
			s.logPass(s.Pass(ctx, s.opts.Now()))
		case <-reap.C:
			reaped, err := s.Reap(ctx, s.opts.Now())
			if err != nil {
				s.log.Error("reap expired leases", slog.String("error", err.Error()))
			}
			for _, r := range reaped {
				s.log.Warn("run lost its worker", slog.String("run_id", r.RunID), slog.String("worker", r.Worker),
					slog.String("state", r.State.Name), slog.Int("attempt", r.Attempt))
			}
			s.resumeDueInputs(ctx, s.opts.Now()) // approvals.go
		}
	}
}

func (s *Scheduler) logPass(r PassResult, err error) {
	if err != nil {
		s.log.Error("scheduler pass", slog.String("error", err.Error()))
		return
	}
	for _, e := range r.Errors {
		s.log.Error("schedule deployment", slog.String("error", e.Error()))
	}
	if r.Created > 0 || r.Skipped > 0 || r.Replaced > 0 {
		s.log.Info("scheduled runs", slog.Int("created", r.Created), slog.Int("late", r.Late), slog.Int("skipped", r.Skipped),
			slog.Int("replaced", r.Replaced))
	}
}

// Reap marks the runs whose lease expired before now Crashed (retried if
// they have retries left), as [store.Runs.ReapExpiredLeases] does.
func (s *Scheduler) Reap(ctx context.Context, now time.Time) ([]store.Reaped, error) {
	return s.st.ReapExpiredLeases(ctx, now)
}

// Pass plans every scheduled, unpaused deployment at now and creates its
// due and upcoming runs. It is idempotent: a second pass at the same now
// creates nothing. err is a failure to list deployments; failures of
// single deployments are in the result.
func (s *Scheduler) Pass(ctx context.Context, now time.Time) (PassResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res PassResult
	deps, err := s.st.ListDeployments(ctx)
	if err != nil {
		return res, fmt.Errorf("scheduler pass: %w", err)
	}
	seen := make(map[string]bool, len(deps))
	var work []*entry
	var todo []store.Deployment
	for _, d := range deps {
		seen[d.Name] = true
		e := s.entry(d)
		if e.compileErr != nil {
			res.Errors = append(res.Errors, e.compileErr)
			continue
		}
		// A deployment with nothing to plan (paused, no active schedule)
		// is planned only to replace what an older generation of it
		// planned; its state is read once, then kept.
		if idle(d, e) && e.loaded && !e.stale(d) {
			continue
		}
		work = append(work, e)
		todo = append(todo, d)
	}
	for name := range s.entries {
		if !seen[name] {
			delete(s.entries, name) // deleted: a deployment created again under its name plans afresh
		}
	}
	if err := s.loadThrough(ctx, todo, work); err != nil {
		return res, err
	}
	n := 0
	for i, e := range work {
		if !idle(todo[i], e) || e.stale(todo[i]) {
			work[n], todo[n] = e, todo[i]
			n++
		}
	}
	work, todo = work[:n], todo[:n]
	// Plan and apply; a deployment another replica planned meanwhile
	// (a lost compare-and-set) is re-read and planned once more.
	for round := 0; len(work) > 0 && round < 2; round++ {
		var ps []*planned
		for i, e := range work {
			if round == 0 && !idle(todo[i], e) {
				res.Deployments++
			}
			p, err := s.plan(todo[i], e, now)
			if err != nil {
				res.Errors = append(res.Errors, fmt.Errorf("deployment %q: %w", todo[i].Name, err))
				continue
			}
			if p.changed {
				ps = append(ps, p)
			}
		}
		lost := s.applyAll(ctx, ps, &res)
		work, todo = work[:0], todo[:0]
		for _, p := range lost {
			p.e.loaded = false
			work, todo = append(work, p.e), append(todo, p.d)
		}
		if len(work) > 0 && round == 0 {
			if err := s.loadThrough(ctx, todo, work); err != nil {
				return res, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return res, context.Cause(ctx)
	}
	return res, nil
}

// idle reports whether d has nothing to plan: it is paused, or none of
// its schedules is active.
func idle(d store.Deployment, e *entry) bool {
	if d.Paused || e.tt == nil {
		return true
	}
	for i := range e.tt.Len() {
		if !e.tt.Spec(i).Schedule().Inactive {
			return false
		}
	}
	return true
}

// stale reports whether what is stored was planned under an older
// generation of d than its current one: the next plan replaces it.
func (e *entry) stale(d store.Deployment) bool {
	return e.storedGen > 0 && e.storedGen < d.Generation
}

// entry returns the cached entry of d, recompiling when d changed.
func (s *Scheduler) entry(d store.Deployment) *entry {
	version := d.Updated.UTC().Format(time.RFC3339Nano)
	e := s.entries[d.Name]
	if e != nil && e.id == d.ID && e.version == version {
		return e
	}
	through := map[string]time.Time{}
	loaded := false
	var gen int64
	if e != nil && e.id == d.ID {
		through, loaded, gen = e.through, e.loaded, e.storedGen
	}
	e = &entry{id: d.ID, version: version, through: through, loaded: loaded, storedGen: gen}
	s.entries[d.Name] = e
	e.compileErr = compileDeployment(d, e)
	if e.compileErr != nil {
		e.compileErr = fmt.Errorf("deployment %q: %w", d.Name, e.compileErr)
	}
	return e
}

// compileDeployment fills e's timetable, defaults and late policy from d.
func compileDeployment(d store.Deployment, e *entry) error {
	scheds := make([]schedule.Schedule, 0, len(d.Schedules))
	for i, sc := range d.Schedules {
		if sc.Inactive {
			continue
		}
		params, err := decodeObject(sc.Parameters)
		if err != nil {
			return fmt.Errorf("schedules[%d].parameters: %w", i, err)
		}
		scheds = append(scheds, schedule.Schedule{Cron: sc.Cron, Every: sc.Interval, Anchor: sc.Anchor, Timezone: sc.Timezone, Parameters: params})
	}
	tt, err := schedule.Compile(scheds)
	if err != nil {
		return err
	}
	defaults, err := decodeObject(d.Parameters)
	if err != nil {
		return fmt.Errorf("parameters: %w", err)
	}
	e.tt, e.defaults = tt, defaults
	e.keys = make([]string, tt.Len())
	for i := range e.keys {
		e.keys[i] = tt.Spec(i).Key()
	}
	switch d.LatePolicy {
	case store.LateRunLatest:
		e.late.Mode = schedule.LateRunLatest
	case store.LateSkip:
		e.late.Mode = schedule.LateSkip
	default:
		e.late.Mode = schedule.LateRunAll
	}
	return nil
}

// loadThrough reads the stored planning state of the entries that have not
// read it yet, with one query.
func (s *Scheduler) loadThrough(ctx context.Context, deps []store.Deployment, entries []*entry) error {
	need := false
	for _, e := range entries {
		need = need || !e.loaded
	}
	if !need {
		return nil
	}
	states, err := s.st.ScheduleStates(ctx)
	if err != nil {
		return fmt.Errorf("scheduler pass: read planning state: %w", err)
	}
	for i, e := range entries {
		if e.loaded {
			continue
		}
		st := states[deps[i].Name]
		e.through, e.storedGen = st.Through, st.Generation
		if e.through == nil {
			e.through = map[string]time.Time{}
		}
		e.loaded = true
	}
	return nil
}

// planned is one deployment's part of a pass.
type planned struct {
	d       store.Deployment
	e       *entry
	run     []schedule.Occurrence // runs to create
	skipped []schedule.Occurrence
	through []time.Time // the new planning state, index-aligned with e.keys
	plan    store.SchedulePlan
	changed bool // the plan writes something
}

// plan computes d's runs due up to the window's end, without writing.
//
// When what is stored was planned under an older generation of d, the
// plan replaces it (see store.SchedulePlan): the schedules that remain
// are planned again from now, since the store deletes the runs due from
// now on, and those of removed schedules are dropped from the state.
func (s *Scheduler) plan(d store.Deployment, e *entry, now time.Time) (*planned, error) {
	replan := e.storedGen < d.Generation
	p := &planned{d: d, e: e, through: make([]time.Time, len(e.keys))}
	for i, k := range e.keys {
		p.through[i] = e.through[k]
		if replan && !p.through[i].IsZero() && !p.through[i].Before(now) {
			p.through[i] = now.Add(-time.Nanosecond)
		}
	}
	if idle(d, e) {
		// Only the replacement: nothing new is planned, the schedules
		// stay planned where they were (up to now) for when they resume.
		next := map[string]time.Time{}
		if !d.Paused {
			p.through = nil
		}
		for i, k := range e.keys {
			if p.through != nil && !p.through[i].IsZero() && !e.tt.Spec(i).Schedule().Inactive {
				next[k] = p.through[i]
			}
		}
		p.plan = store.SchedulePlan{Deployment: d.Name, Expect: e.through, ExpectGeneration: e.storedGen,
			Generation: d.Generation, ReplanFrom: now, Through: next}
		p.changed = replan
		return p, nil
	}
	late := e.late
	late.Grace = s.opts.LateGrace
	for {
		plan, err := e.tt.Plan(schedule.PlanInput{Now: now, Through: p.through, Defaults: e.defaults, Window: s.opts.Window})
		if err != nil {
			return nil, err
		}
		run, skipped := late.Apply(plan.Occurrences, now)
		p.run = append(p.run, run...)
		p.skipped = append(p.skipped, skipped...)
		for i := range p.through {
			if !plan.Through[i].Equal(p.through[i]) {
				p.changed = true
			}
		}
		p.through = plan.Through
		if !plan.More {
			break
		}
	}
	next := make(map[string]time.Time, len(e.keys))
	for i, k := range e.keys {
		if !p.through[i].IsZero() {
			next[k] = p.through[i]
		}
	}
	p.plan = store.SchedulePlan{Deployment: d.Name, Expect: e.through, ExpectGeneration: e.storedGen,
		Generation: d.Generation, ReplanFrom: now, Through: next}
	if d.LatePolicy == store.LateSkip || d.LatePolicy == store.LateRunLatest {
		// Runs created ahead and not started in time meet the policy too.
		p.plan.LateBefore = now.Add(-s.opts.LateGrace)
	}
	for _, o := range p.run {
		params, err := json.Marshal(o.Parameters)
		if err != nil {
			return nil, fmt.Errorf("encode parameters of the run at %s: %w", o.Time.Format(time.RFC3339), err)
		}
		st := flow.Scheduled(o.Time)
		if o.Late {
			st = flow.Late(o.Time)
			st.Message = fmt.Sprintf("due %s, planned %s late", o.Time.Format(time.RFC3339), now.Sub(o.Time).Round(time.Second))
		}
		p.plan.Runs = append(p.plan.Runs, store.RunSpec{ID: flow.NewID(), Deployment: d.Name, Parameters: params, Tags: d.Tags, State: st,
			Origin: e.origin(o)})
	}
	for _, o := range p.skipped {
		params, err := json.Marshal(o.Parameters)
		if err != nil {
			return nil, fmt.Errorf("encode parameters of the run at %s: %w", o.Time.Format(time.RFC3339), err)
		}
		p.plan.Skipped = append(p.plan.Skipped, store.SkippedRun{
			Spec: store.RunSpec{ID: flow.NewID(), Deployment: d.Name, Parameters: params, Tags: d.Tags, State: flow.Scheduled(o.Time),
				Origin: e.origin(o)},
			Reason: fmt.Sprintf("skipped by late policy %q: due %s, %s late", d.LatePolicy, o.Time.Format(time.RFC3339), now.Sub(o.Time).Round(time.Second)),
		})
	}
	p.changed = replan || len(p.plan.Runs) > 0 || len(p.plan.Skipped) > 0 || !sameThrough(e.through, next)
	return p, nil
}

// origin is the origin of occurrence o's run: its schedule, and those
// that fire at the same time.
func (e *entry) origin(o schedule.Occurrence) store.Origin {
	keys := []string{e.keys[o.Schedule]}
	for _, c := range o.Coincident {
		keys = append(keys, e.keys[c])
	}
	return store.Origin{Kind: store.OriginSchedule, Schedules: keys}
}

// sameThrough compares planning states by instant.
func sameThrough(a, b map[string]time.Time) bool {
	if len(a) != len(b) {
		return false
	}
	for k, t := range a {
		if u, ok := b[k]; !ok || !u.Equal(t) {
			return false
		}
	}
	return true
}

// createBatch is about how many runs one transaction creates.
const createBatch = 500

// applyAll applies the plans of ps with [store.Runs.PlanSchedules], in
// batches of whole deployments, counting what they did into res. It
// returns the plans that lost their compare-and-set to another replica.
func (s *Scheduler) applyAll(ctx context.Context, ps []*planned, res *PassResult) (lost []*planned) {
	for len(ps) > 0 {
		n, size := 0, 0
		for n < len(ps) && (n == 0 || size+len(ps[n].plan.Runs)+len(ps[n].plan.Skipped) <= createBatch) {
			size += len(ps[n].plan.Runs) + len(ps[n].plan.Skipped)
			n++
		}
		plans := make([]store.SchedulePlan, n)
		for i, p := range ps[:n] {
			plans[i] = p.plan
		}
		results, err := s.st.PlanSchedules(ctx, plans)
		for i, p := range ps[:n] {
			switch {
			case err != nil:
				res.Errors = append(res.Errors, fmt.Errorf("deployment %q: %w", p.d.Name, err))
			case errors.Is(results[i].Err, store.ErrConflict):
				lost = append(lost, p)
			case results[i].Err != nil:
				res.Errors = append(res.Errors, fmt.Errorf("deployment %q: %w", p.d.Name, results[i].Err))
			default:
				p.e.through, p.e.storedGen = p.plan.Through, p.plan.Generation
				count(p, results[i].Created, res)
				res.Replaced += len(results[i].Deleted)
			}
		}
		ps = ps[n:]
	}
	return lost
}

// count adds the runs a plan created to res.
func count(p *planned, created []string, res *PassResult) {
	made := make(map[string]bool, len(created))
	for _, id := range created {
		made[id] = true
	}
	for _, spec := range p.plan.Runs {
		if made[spec.ID] {
			res.Created++
			if spec.State.Name == flow.NameLate {
				res.Late++
			}
		}
	}
	for _, sk := range p.plan.Skipped {
		if made[sk.Spec.ID] {
			res.Skipped++
		}
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("scheduler: encode %T: %v", v, err)) // decoded JSON and times always encode
	}
	return b
}

// decodeObject decodes a JSON object of parameters, keeping numbers exact.
func decodeObject(raw json.RawMessage) (map[string]any, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	return m, nil
}
