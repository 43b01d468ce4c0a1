package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// stateTypes are the state types a filter offers.
var stateTypes = []flow.StateType{flow.TypeScheduled, flow.TypePending, flow.TypeRunning, flow.TypePaused,
	flow.TypeCancelling, flow.TypeCompleted, flow.TypeFailed, flow.TypeCancelled, flow.TypeCrashed}

// settableStates are the states a bulk set-state offers.
var settableStates = []string{flow.NameCompleted, flow.NameFailed, flow.NameCancelled, flow.NameCrashed}

// runQuery is the runs list's filter, as its form and links carry it.
type runQuery struct {
	State, Deployment, Flow, Tag string
	After, Before                string // datetime-local, UTC
	Cursor                       string
}

// timeLayout is the layout of datetime-local inputs.
const timeLayout = "2006-01-02T15:04"

func parseRunQuery(r *http.Request) (runQuery, store.RunFilter, map[string]string) {
	q := r.URL.Query()
	rq := runQuery{State: q.Get("state"), Deployment: q.Get("deployment"), Flow: q.Get("flow"), Tag: q.Get("tag"),
		After: q.Get("after"), Before: q.Get("before"), Cursor: q.Get("cursor")}
	errs := map[string]string{}
	f, fe := rq.filter()
	for k, v := range fe {
		errs[k] = v
	}
	return rq, f, errs
}

// filter converts the query to a store filter; bad fields are reported by
// name and left out of the filter.
func (rq runQuery) filter() (store.RunFilter, map[string]string) {
	errs := map[string]string{}
	f := store.RunFilter{Deployment: rq.Deployment, Flow: rq.Flow, Tag: rq.Tag, Cursor: rq.Cursor}
	if rq.State != "" {
		t := flow.StateType(strings.ToUpper(rq.State))
		if slices.Contains(stateTypes, t) {
			f.States = []flow.StateType{t}
		} else {
			errs["state"] = "not a state type"
		}
	}
	for _, p := range []struct {
		v   string
		dst *time.Time
		n   string
	}{{rq.After, &f.CreatedAfter, "after"}, {rq.Before, &f.CreatedBefore, "before"}} {
		if p.v == "" {
			continue
		}
		t, err := time.ParseInLocation(timeLayout, p.v, time.UTC)
		if err != nil {
			errs[p.n] = "want a date and time (YYYY-MM-DDTHH:MM, UTC)"
			continue
		}
		*p.dst = t
	}
	return f, errs
}

// values returns the query as URL values (without the cursor).
func (rq runQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"state": rq.State, "deployment": rq.Deployment, "flow": rq.Flow, "tag": rq.Tag, "after": rq.After, "before": rq.Before} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

type runsData struct {
	Query       runQuery
	Errors      map[string]string
	Runs        []store.FlowRun
	Next        string // URL of the next page
	First       string // URL of the first page, when not on it
	Deployments []string
	Flows       []string
	States      []flow.StateType
	SetStates   []string
	Filtered    bool
	Now         time.Time
}

func (u *UI) runsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := u.runsData(r)
	if err != nil {
		return err
	}
	return u.render(w, r, s, http.StatusOK, "runs", "Runs", d)
}

// runsData reads a page of runs: one indexed query of PageSize+1 rows,
// whatever the number of runs stored, plus the deployment and flow names
// for the filter.
func (u *UI) runsData(r *http.Request) (runsData, error) {
	ctx := r.Context()
	rq, f, errs := parseRunQuery(r)
	f.Limit = u.opts.PageSize
	d := runsData{Query: rq, Errors: errs, States: stateTypes, SetStates: settableStates, Now: u.opts.Now()}
	runs, next, err := u.st.ListRuns(ctx, f)
	var inv *store.InvalidError
	if errors.As(err, &inv) {
		d.Errors[inv.Field] = inv.Reason
		f.Cursor, rq.Cursor = "", ""
		runs, next, err = u.st.ListRuns(ctx, f)
	}
	if err != nil {
		return d, fmt.Errorf("list runs: %w", err)
	}
	d.Runs = runs
	v := rq.values()
	d.Filtered = len(v) > 0
	if next != "" {
		v.Set("cursor", next)
		d.Next = u.prefix + "/runs?" + v.Encode()
		v.Del("cursor")
	}
	if rq.Cursor != "" {
		d.First = u.prefix + "/runs?" + v.Encode()
	}
	deps, err := u.st.ListDeployments(ctx)
	if err != nil {
		return d, fmt.Errorf("list deployments: %w", err)
	}
	for _, dep := range deps {
		d.Deployments = append(d.Deployments, dep.Name)
	}
	flows, err := u.st.ListFlows(ctx)
	if err != nil {
		return d, fmt.Errorf("list flows: %w", err)
	}
	for _, fl := range flows {
		d.Flows = append(d.Flows, fl.Name)
	}
	return d, nil
}

// runData is a run page: the run, its history, task runs laid out as a
// Gantt chart, and its result.
type runData struct {
	Run     store.FlowRun
	History []flow.State
	Gantt   gantt
	Result  string
	HasRes  bool
	Params  string
	Live    bool
	Retry   bool
	Cancel  bool
	Now     time.Time
}

func (u *UI) loadRun(r *http.Request, id string) (runData, error) {
	ctx := r.Context()
	run, err := u.st.GetRun(ctx, id)
	if err != nil {
		return runData{}, err
	}
	hist, err := u.st.RunHistory(ctx, id)
	if err != nil {
		return runData{}, fmt.Errorf("run history: %w", err)
	}
	tasks, err := u.st.TaskRuns(ctx, id)
	if err != nil {
		return runData{}, fmt.Errorf("task runs: %w", err)
	}
	now := u.opts.Now()
	d := runData{Run: run, History: hist, Gantt: layoutGantt(run, hist, tasks, now), Now: now,
		Live: !run.State.Final(), Params: indentJSON(run.Parameters)}
	d.Cancel = !run.State.Final() && run.State.Type != flow.TypeCancelling
	d.Retry = run.State.Type == flow.TypeFailed || run.State.Type == flow.TypeCrashed
	if run.State.Type == flow.TypeCompleted {
		res, ok, err := u.st.RunResult(ctx, id)
		if err != nil {
			return d, fmt.Errorf("run result: %w", err)
		}
		d.Result, d.HasRes = indentJSON(res), ok
	}
	return d, nil
}

func (u *UI) runPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := u.loadRun(r, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, s, http.StatusNotFound, "no run "+r.PathValue("id"))
		return nil
	}
	if err != nil {
		return err
	}
	return u.render(w, r, s, http.StatusOK, "run", "Run "+d.Run.Name, d)
}

// runLive streams a run's state as Server-Sent Events: a "state" event
// carrying the re-rendered state, timeline and Gantt chart whenever they
// change, and "end" when the run is final. The store is read every
// PollInterval.
func (u *UI) runLive(w http.ResponseWriter, r *http.Request, s *session) error {
	select {
	case u.streams <- struct{}{}:
		defer func() { <-u.streams }()
	default:
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many live streams", http.StatusServiceUnavailable)
		return nil
	}
	id := r.PathValue("id")
	if _, err := u.st.GetRun(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			http.Error(w, "no such run", http.StatusNotFound)
			return nil
		}
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	send := func(event string, data []byte) error {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "event: %s\n", event)
		for _, line := range bytes.Split(data, []byte("\n")) {
			buf.WriteString("data: ")
			buf.Write(line)
			buf.WriteByte('\n')
		}
		buf.WriteByte('\n')
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(buf.Bytes()); err != nil {
			return err
		}
		return rc.Flush()
	}
	tick := time.NewTicker(u.opts.PollInterval)
	defer tick.Stop()
	keep := time.NewTicker(15 * time.Second)
	defer keep.Stop()
	var last string
	for {
		d, err := u.loadRun(r, id)
		if err != nil {
			if r.Context().Err() != nil {
				return nil
			}
			u.log.Error("ui live run", "run_id", id, "err", err)
			_ = send("error", []byte("internal error"))
			return nil
		}
		var buf bytes.Buffer
		if err := u.pages["run"].ExecuteTemplate(&buf, "runlive", view{Prefix: u.prefix, Data: d}); err != nil {
			return err
		}
		// The fragment without the running clock decides whether to send.
		key := fmt.Sprintf("%s|%d|%s", d.Run.State.Name, len(d.History), d.Gantt.key)
		if key != last {
			last = key
			if err := send("state", buf.Bytes()); err != nil {
				return nil
			}
		}
		if d.Run.State.Final() {
			_ = send("end", []byte(d.Run.State.Name))
			return nil
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-tick.C:
		case <-keep.C:
			// A comment keeps proxies from closing a quiet stream.
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return nil
			}
		}
	}
}

// runLogs follows a run's logs through the API's own stream (GET
// /api/v1/runs/{id}/logs/follow), as the signed-in key.
func (u *UI) runLogs(w http.ResponseWriter, r *http.Request, s *session) error {
	req := r.Clone(r.Context())
	req.URL = &url.URL{Path: "/api/v1/runs/" + url.PathEscape(r.PathValue("id")) + "/logs/follow"}
	req.RequestURI = ""
	req.Header.Del("Cookie")
	u.api.ServeAs(w, req, s.who)
	return nil
}

// runAction posts a run action (cancel or retry) to the API and returns to
// the run's page with what happened.
func (u *UI) runAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id := r.PathValue("id")
		body := map[string]string{}
		if reason := strings.TrimSpace(r.PostFormValue("reason")); reason != "" {
			body["reason"] = reason
		}
		ans := u.call(r.Context(), s, "POST", "/api/v1/runs/"+url.PathEscape(id)+"/"+action, body)
		if e := ans.Err(); e != nil {
			u.sessions.setFlash(s, action+" refused: "+e.Error)
		} else {
			var st wire.StateAnswer
			_ = json.Unmarshal(ans.Body, &st)
			u.sessions.setFlash(s, fmt.Sprintf("%s: run is now %s", action, st.State.Name))
			if action == "retry" || action == "override-window" {
				u.opts.Wake()
			}
		}
		http.Redirect(w, r, u.prefix+"/runs/"+url.PathEscape(id), http.StatusSeeOther)
		return nil
	}
}

// bulk applies an action to the selected runs, or to every run the
// filter selects, through POST /api/v1/runs/bulk.
func (u *UI) bulk(w http.ResponseWriter, r *http.Request, s *session) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	rq := runQuery{State: r.PostFormValue("state"), Deployment: r.PostFormValue("deployment"), Flow: r.PostFormValue("flow"),
		Tag: r.PostFormValue("tag"), After: r.PostFormValue("after"), Before: r.PostFormValue("before")}
	back := u.prefix + "/runs"
	if v := rq.values(); len(v) > 0 {
		back += "?" + v.Encode()
	}
	req := wire.BulkRuns{Action: wire.BulkAction(r.PostFormValue("action")), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	if to := r.PostFormValue("to"); req.Action == wire.BulkSetState {
		t, ok := flow.NameType(to)
		if !ok {
			u.sessions.setFlash(s, fmt.Sprintf("bulk set-state refused: %q is not a state name", to))
			http.Redirect(w, r, back, http.StatusSeeOther)
			return nil
		}
		st := flow.State{Type: t, Name: to, Message: req.Reason}
		if t == flow.TypeScheduled {
			st.ScheduledAt = time.Now()
		}
		req.State = &st
	}
	if r.PostFormValue("scope") == "filter" {
		f, errs := rq.filter()
		if len(errs) > 0 {
			u.sessions.setFlash(s, "bulk action refused: the filter has errors")
			http.Redirect(w, r, back, http.StatusSeeOther)
			return nil
		}
		req.Filter = wire.BulkFilter{States: f.States, Deployment: f.Deployment, Flow: f.Flow, Tag: f.Tag, CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore}
	} else {
		req.IDs = r.PostForm["id"]
		if len(req.IDs) == 0 {
			u.sessions.setFlash(s, "bulk action: no run selected")
			http.Redirect(w, r, back, http.StatusSeeOther)
			return nil
		}
	}
	ans := u.call(r.Context(), s, "POST", "/api/v1/runs/bulk", req)
	if e := ans.Err(); e != nil {
		u.sessions.setFlash(s, "bulk "+string(req.Action)+" refused: "+e.Error)
	} else {
		var res wire.BulkResult
		_ = json.Unmarshal(ans.Body, &res)
		msg := fmt.Sprintf("bulk %s: %d runs moved, %d not", req.Action, len(res.Changed), len(res.Skipped))
		if len(res.Skipped) > 0 {
			msg += " (first: " + shortID(res.Skipped[0].ID) + ": " + res.Skipped[0].Error + ")"
		}
		u.sessions.setFlash(s, msg)
		if req.Action == wire.BulkRetry && len(res.Changed) > 0 {
			u.opts.Wake()
		}
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

func indentJSON(raw json.RawMessage) string {
	if len(bytes.TrimSpace(raw)) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}
