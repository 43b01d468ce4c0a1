package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// dashWindow is the dashboard's window: the runs created in the last
// dashHours hours, at most dashMax of them.
const (
	dashHours = 24
	dashMax   = 5000
)

type dashData struct {
	Now       time.Time
	Hours     []dashHour
	Max       int
	Total     int
	Capped    bool
	Failing   []failing
	Late      []store.FlowRun
	Workers   []workerHealth
	States    []flow.StateType
	ChartW    int
	ChartH    int
	BarW      int
	Legend    []legendItem
	ByState   map[flow.StateType]int
	Running   int
	Scheduled int
	// Approvals counts the runs waiting for input; ApprovalsError is the
	// API's answer when it cannot list them.
	Approvals      []store.InputInfo
	ApprovalsError string
}

type legendItem struct {
	Type  flow.StateType
	Count int
	X     int
}

type dashHour struct {
	Start  time.Time
	X      int
	Label  string
	Total  int
	Blocks []dashBlock
}

type dashBlock struct {
	Type    flow.StateType
	Y, H, N int
}

type failing struct {
	Deployment string
	Failed     int
	Total      int
	Last       store.FlowRun
}

type workerHealth struct {
	store.Worker
	Age    time.Duration
	Health string // ok, stale, dead
}

func (u *UI) dashboard(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	now := u.opts.Now()
	from := now.Add(-dashHours * time.Hour).Truncate(time.Hour).Add(time.Hour)
	var runs []store.FlowRun
	f := store.RunFilter{CreatedAfter: from, Limit: 1000}
	for {
		page, next, err := u.st.ListRuns(ctx, f)
		if err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
		runs = append(runs, page...)
		if next == "" || len(runs) >= dashMax {
			break
		}
		f.Cursor = next
	}
	d := dashData{Now: now, States: stateTypes, ChartW: 960, ChartH: 180, Capped: len(runs) >= dashMax, Total: len(runs), ByState: map[flow.StateType]int{}}
	d.BarW = d.ChartW/dashHours - 4
	counts := make([]map[flow.StateType]int, dashHours)
	fails := map[string]*failing{}
	for _, run := range runs {
		i := int(run.Created.Sub(from) / time.Hour)
		if i < 0 || i >= dashHours {
			continue
		}
		if counts[i] == nil {
			counts[i] = map[flow.StateType]int{}
		}
		counts[i][run.State.Type]++
		d.ByState[run.State.Type]++
		if run.Deployment != "" {
			fl := fails[run.Deployment]
			if fl == nil {
				fl = &failing{Deployment: run.Deployment}
				fails[run.Deployment] = fl
			}
			fl.Total++
			if run.State.Type == flow.TypeFailed || run.State.Type == flow.TypeCrashed {
				if fl.Failed == 0 {
					fl.Last = run // newest first
				}
				fl.Failed++
			}
		}
	}
	for i := range dashHours {
		t := 0
		for _, n := range counts[i] {
			t += n
		}
		d.Max = max(d.Max, t)
	}
	plot := d.ChartH - 20
	for i := range dashHours {
		h := dashHour{Start: from.Add(time.Duration(i) * time.Hour), X: i * (d.ChartW / dashHours)}
		h.Label = h.Start.UTC().Format("15h")
		y := plot
		for _, st := range stateTypes {
			n := counts[i][st]
			if n == 0 || d.Max == 0 {
				continue
			}
			bh := max(n*plot/d.Max, 1)
			y -= bh
			h.Blocks = append(h.Blocks, dashBlock{Type: st, Y: y, H: bh, N: n})
			h.Total += n
		}
		d.Hours = append(d.Hours, h)
	}
	for i, st := range stateTypes {
		d.Legend = append(d.Legend, legendItem{Type: st, Count: d.ByState[st], X: i * 105})
	}
	for _, fl := range fails {
		if fl.Failed > 0 {
			d.Failing = append(d.Failing, *fl)
		}
	}
	sort.Slice(d.Failing, func(i, j int) bool { return d.Failing[i].Failed > d.Failing[j].Failed })
	// Late: scheduled runs whose time passed (the scheduler marks them
	// Late after its grace; a run still Scheduled a minute past its time
	// is late too).
	sched, _, err := u.st.ListRuns(ctx, store.RunFilter{States: []flow.StateType{flow.TypeScheduled}, Limit: 1000})
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	for _, run := range sched {
		if run.State.Name == flow.NameLate || (!run.ScheduledAt.IsZero() && now.Sub(run.ScheduledAt) > time.Minute && run.LeaseExpires.IsZero()) {
			d.Late = append(d.Late, run)
		}
	}
	slices.SortFunc(d.Late, func(a, b store.FlowRun) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	d.Late = d.Late[:min(len(d.Late), 20)]
	if d.Workers, err = u.workers(r); err != nil {
		return err
	}
	if items, e := u.listApprovals(r, s); e != nil {
		d.ApprovalsError = errorText(e)
	} else {
		d.Approvals = items
	}
	return u.render(w, r, s, http.StatusOK, "dashboard", "Dashboard", d)
}

// workers lists the workers with their health: ok while their last
// heartbeat is within two heartbeats of their pool, stale until the
// pool's lease has passed (their runs are about to be reaped), dead after.
func (u *UI) workers(r *http.Request) ([]workerHealth, error) {
	pools, err := u.st.ListPools(r.Context())
	if err != nil {
		return nil, fmt.Errorf("list pools: %w", err)
	}
	timing := map[string]store.Pool{}
	for _, p := range pools {
		timing[p.Name] = p
	}
	ws, err := u.st.ListWorkers(r.Context(), "")
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	now := u.opts.Now()
	out := make([]workerHealth, len(ws))
	for i, w := range ws {
		lease, hb := timing[w.Pool].Timing()
		age := now.Sub(w.LastSeen)
		h := "dead"
		switch {
		case age <= 2*hb:
			h = "ok"
		case age <= lease:
			h = "stale"
		}
		out[i] = workerHealth{Worker: w, Age: age, Health: h}
	}
	return out, nil
}

type poolView struct {
	store.Pool
	Queues  []store.Queue
	Workers []workerHealth
}

type tagLimit struct {
	Tag          string
	Limit, InUse int
	Pattern      bool // a "prefix*" limit: each matching tag has its own
}

func (u *UI) poolsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	pools, err := u.st.ListPools(ctx)
	if err != nil {
		return fmt.Errorf("list pools: %w", err)
	}
	ws, err := u.workers(r)
	if err != nil {
		return err
	}
	var out []poolView
	for _, p := range pools {
		qs, err := u.st.ListQueues(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("list queues: %w", err)
		}
		pv := poolView{Pool: p, Queues: qs}
		for _, w := range ws {
			if w.Pool == p.Name {
				pv.Workers = append(pv.Workers, w)
			}
		}
		out = append(out, pv)
	}
	limits, err := u.st.TagLimits(ctx)
	if err != nil {
		return fmt.Errorf("tag limits: %w", err)
	}
	var tags []tagLimit
	for tag, n := range limits {
		tl := tagLimit{Tag: tag, Limit: n, Pattern: strings.HasSuffix(tag, "*")}
		if !strings.HasSuffix(tag, "*") {
			if tl.InUse, err = u.st.SlotsInUse(ctx, tag, u.opts.Now()); err != nil {
				return fmt.Errorf("slots in use: %w", err)
			}
		}
		tags = append(tags, tl)
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Tag < tags[j].Tag })
	return u.render(w, r, s, http.StatusOK, "pools", "Pools and workers", struct {
		Pools []poolView
		Tags  []tagLimit
	}{out, tags})
}

type eventsData struct {
	Events []store.Event
	// Deliveries are the API server's last refused and duplicate
	// deliveries (in its memory, never stored).
	Deliveries    []wire.EventDelivery
	DeliveryLimit int
	Next          string
	Unmatched     bool
	Source        string
	Now           time.Time
}

func (u *UI) eventsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	d := eventsData{Unmatched: q.Get("unmatched") == "1", Source: q.Get("source"), Now: u.opts.Now()}
	evs, next, err := u.st.ListEvents(r.Context(), store.EventFilter{Source: d.Source, Unmatched: d.Unmatched, Limit: 50, Cursor: q.Get("cursor")})
	if err != nil {
		return fmt.Errorf("list events: %w", err)
	}
	d.Events = evs
	if next != "" {
		v := r.URL.Query()
		v.Set("cursor", next)
		d.Next = u.prefix + "/events?" + v.Encode()
	}
	d.DeliveryLimit = 100
	for _, dl := range u.api.RecentDeliveries(d.DeliveryLimit) {
		if d.Source == "" || dl.Source == d.Source {
			d.Deliveries = append(d.Deliveries, dl)
		}
	}
	return u.render(w, r, s, http.StatusOK, "events", "Events", d)
}

type variable struct {
	Name, Value string
}

func (u *UI) configPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	blocks, err := u.st.ListBlocks(ctx) // secret fields are masked by the store
	if err != nil {
		return fmt.Errorf("list blocks: %w", err)
	}
	for i := range blocks {
		blocks[i].Secrets = nil // never rendered, whatever a store returns
	}
	vars, err := u.st.ListVariables(ctx)
	if err != nil {
		return fmt.Errorf("list variables: %w", err)
	}
	var vs []variable
	for n, v := range vars {
		vs = append(vs, variable{Name: n, Value: string(v)})
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Name < vs[j].Name })
	secrets, err := u.st.ListSecrets(ctx) // names only
	if err != nil {
		return fmt.Errorf("list secrets: %w", err)
	}
	type blockView struct {
		store.Block
		Data string
	}
	bv := make([]blockView, len(blocks))
	for i, b := range blocks {
		bv[i] = blockView{Block: b, Data: indentJSON(b.Data)}
	}
	return u.render(w, r, s, http.StatusOK, "config", "Blocks, variables and secrets", struct {
		Blocks    []blockView
		Variables []variable
		Secrets   []store.SecretInfo
	}{bv, vs, secrets})
}

func (u *UI) flowsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	flows, err := u.st.ListFlows(r.Context())
	if err != nil {
		return fmt.Errorf("list flows: %w", err)
	}
	type flowView struct {
		store.Flow
		Schema string
	}
	out := make([]flowView, len(flows))
	for i, f := range flows {
		out[i] = flowView{Flow: f, Schema: indentJSON(json.RawMessage(f.Parameters))}
	}
	return u.render(w, r, s, http.StatusOK, "flows", "Flows", out)
}
