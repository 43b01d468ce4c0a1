package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/schedule"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

type deploymentRow struct {
	store.Deployment
	Next time.Time
}

func (u *UI) deploymentsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	deps, err := u.st.ListDeployments(r.Context())
	if err != nil {
		return fmt.Errorf("list deployments: %w", err)
	}
	now := u.opts.Now()
	rows := make([]deploymentRow, len(deps))
	for i, d := range deps {
		rows[i] = deploymentRow{Deployment: d, Next: nextRun(d, now)}
	}
	return u.render(w, r, s, http.StatusOK, "deployments", "Deployments", struct {
		Deployments []deploymentRow
		Now         time.Time
	}{rows, now})
}

// nextRun is the next time a deployment's active schedules fire after
// now, zero when none does (or it is paused).
func nextRun(d store.Deployment, now time.Time) time.Time {
	if d.Paused {
		return time.Time{}
	}
	var next time.Time
	for _, sc := range d.Schedules {
		if sc.Inactive {
			continue
		}
		sp, err := schedule.Parse(schedule.Schedule{Cron: sc.Cron, Every: sc.Interval, Anchor: sc.Anchor, Timezone: sc.Timezone})
		if err != nil {
			continue
		}
		if t := sp.Next(now); !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next
}

type deploymentData struct {
	Dep       store.Deployment
	Flow      store.Flow
	HasFlow   bool
	Next      []time.Time
	Scheduled []store.FlowRun
	Recent    []store.FlowRun
	Fields    []field
	FormError string
	RawParams string // the JSON form, for a schema the form cannot show
	Defaults  string
	From      string // the run whose parameters the form starts from
	Now       time.Time
	// Window is the deployment's change calendar now (nil: none).
	Window *windowView
}

// windowView is a deployment's change calendar as the page shows it.
type windowView struct {
	Status  window.Status
	Next    []window.Opening
	Freezes []window.ActiveFreeze
	Error   string // the calendar cannot be used: its runs are held
}

// calendarView evaluates dep's change calendar at now, reading its block
// when it names one.
func (u *UI) calendarView(r *http.Request, dep store.Deployment, now time.Time) (*windowView, error) {
	if dep.Calendar == nil || dep.Calendar.IsZero() {
		return nil, nil
	}
	var data json.RawMessage
	if b := dep.Calendar.Block; b != "" {
		blocks, err := u.st.ListBlocks(r.Context())
		if err != nil {
			return nil, fmt.Errorf("list blocks: %w", err)
		}
		for _, bl := range blocks {
			if bl.Name == b {
				data = bl.Data
			}
		}
	}
	cal, err := store.EffectiveCalendar(dep, data)
	if err != nil {
		return &windowView{Error: err.Error()}, nil
	}
	return &windowView{Status: cal.Open(now), Next: cal.Openings(now, 3), Freezes: cal.Freezes(now)}, nil
}

func (u *UI) loadDeployment(r *http.Request, name string) (deploymentData, error) {
	ctx := r.Context()
	dep, err := u.st.GetDeployment(ctx, name)
	if err != nil {
		return deploymentData{}, err
	}
	now := u.opts.Now()
	d := deploymentData{Dep: dep, Now: now, Defaults: indentJSON(dep.Parameters)}
	defaults := dep.Parameters
	// "Rerun with edited parameters": the form starts from a run's.
	if from := r.URL.Query().Get("from"); from != "" {
		if run, err := u.st.GetRun(ctx, from); err == nil && run.Deployment == dep.Name {
			defaults, d.From = run.Parameters, run.ID
			d.RawParams = indentJSON(run.Parameters) // for a form without a schema
		}
	}
	f, err := u.st.GetFlow(ctx, dep.Flow)
	switch {
	case err == nil:
		d.Flow, d.HasFlow = f, true
		d.Fields = formFields(f.Parameters, defaults)
	case !errors.Is(err, store.ErrNotFound):
		return d, fmt.Errorf("get flow: %w", err)
	}
	if d.Window, err = u.calendarView(r, dep, now); err != nil {
		return d, err
	}
	d.Next = nextRuns(dep, now, 5)
	sched, _, err := u.st.ListRuns(ctx, store.RunFilter{Deployment: name, States: []flow.StateType{flow.TypeScheduled}, Limit: 50})
	if err != nil {
		return d, fmt.Errorf("list runs: %w", err)
	}
	slices.SortFunc(sched, func(a, b store.FlowRun) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	d.Scheduled = sched[:min(len(sched), 10)]
	d.Recent, _, err = u.st.ListRuns(ctx, store.RunFilter{Deployment: name, Limit: 10})
	if err != nil {
		return d, fmt.Errorf("list runs: %w", err)
	}
	return d, nil
}

// nextRuns lists the next n times the deployment's schedules fire.
func nextRuns(d store.Deployment, now time.Time, n int) []time.Time {
	var out []time.Time
	t := now
	for range n {
		next := nextRun(d, t)
		if next.IsZero() {
			break
		}
		out = append(out, next)
		t = next
	}
	return out
}

func (u *UI) deploymentPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := u.loadDeployment(r, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, s, http.StatusNotFound, "no deployment "+r.PathValue("name"))
		return nil
	}
	if err != nil {
		return err
	}
	return u.render(w, r, s, http.StatusOK, "deployment", "Deployment "+d.Dep.Name, d)
}

// runNow creates a run from the form, through the API: it validates the
// parameters against the flow's schema, and its error names the field,
// which the form shows beside it.
func (u *UI) runNow(w http.ResponseWriter, r *http.Request, s *session) error {
	name := r.PathValue("name")
	d, err := u.loadDeployment(r, name)
	if errors.Is(err, store.ErrNotFound) {
		u.fail(w, r, s, http.StatusNotFound, "no deployment "+name)
		return nil
	}
	if err != nil {
		return err
	}
	var params map[string]any
	ok := true
	if d.Fields != nil {
		params, ok = readForm(d.Fields, r.PostFormValue, func(k string) bool { _, has := r.PostForm[k]; return has })
	} else if raw := strings.TrimSpace(r.PostFormValue("parameters")); raw != "" {
		d.RawParams = raw
		if err := json.Unmarshal([]byte(raw), &params); err != nil {
			d.FormError, ok = "Parameters: want a JSON object: "+err.Error(), false
		}
	}
	if ok {
		ans := u.call(r.Context(), s, "POST", "/api/v1/deployments/"+url.PathEscape(name)+"/runs", wire.CreateRun{Parameters: mustJSON(params), Name: strings.TrimSpace(r.PostFormValue("name"))})
		if e := ans.Err(); e == nil {
			var created wire.RunCreated
			if err := json.Unmarshal(ans.Body, &created); err != nil {
				return fmt.Errorf("decode created run: %w", err)
			}
			u.sessions.setFlash(s, "Run "+created.Run.Name+" created.")
			u.opts.Wake()
			http.Redirect(w, r, u.prefix+"/runs/"+url.PathEscape(created.Run.ID), http.StatusSeeOther)
			return nil
		} else if !placeError(d.Fields, e) {
			d.FormError = errorText(e)
		}
	}
	return u.render(w, r, s, http.StatusUnprocessableEntity, "deployment", "Deployment "+d.Dep.Name, d)
}

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, _ := json.Marshal(v)
	return b
}

// placeError puts an API error naming a parameter ("parameters.vlan")
// beside its field; false when it names none of the form's.
func placeError(fields []field, e *wire.Error) bool {
	return placeFieldError(fields, e, "parameters.")
}

// placeFieldError puts an API error naming prefix+field beside that
// field; false when it names none of the form's.
func placeFieldError(fields []field, e *wire.Error, prefix string) bool {
	name, ok := strings.CutPrefix(e.Field, prefix)
	if !ok {
		return false
	}
	name, _, _ = strings.Cut(name, ".")
	for i := range fields {
		if fields[i].Name == name {
			fields[i].Error = e.Error
			return true
		}
	}
	return false
}

func errorText(e *wire.Error) string {
	if e.Field != "" {
		return e.Field + ": " + e.Error
	}
	return e.Error
}

// pause pauses or resumes a deployment through the API.
func (u *UI) pause(paused bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		name := r.PathValue("name")
		verb := "unpause"
		if paused {
			verb = "pause"
		}
		ans := u.call(r.Context(), s, "POST", "/api/v1/deployments/"+url.PathEscape(name)+"/"+verb, nil)
		if e := ans.Err(); e != nil {
			u.sessions.setFlash(s, verb+" refused: "+e.Error)
		} else if paused {
			u.sessions.setFlash(s, "Deployment paused: its schedules make no runs and its runs are not claimed.")
		} else {
			u.sessions.setFlash(s, "Deployment resumed.")
		}
		http.Redirect(w, r, u.prefix+"/deployments/"+url.PathEscape(name), http.StatusSeeOther)
		return nil
	}
}
