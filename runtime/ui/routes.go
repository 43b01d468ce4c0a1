package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

func (u *UI) routes() {
	p := u.prefix
	u.mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", staticFiles()))
	u.mux.HandleFunc("GET "+p+"/signin", u.signinPage)
	u.mux.HandleFunc("POST "+p+"/signin", u.signin)
	u.route("POST "+p+"/signout", u.signout)
	u.route("GET "+p+"/{$}", u.dashboard)
	u.route("GET "+p+"/runs", u.runsPage)
	u.route("POST "+p+"/runs/bulk", u.bulk)
	u.route("GET "+p+"/runs/{id}", u.runPage)
	u.route("GET "+p+"/runs/{id}/live", u.runLive)
	u.route("GET "+p+"/runs/{id}/logs", u.runLogs)
	u.route("POST "+p+"/runs/{id}/cancel", u.runAction("cancel"))
	u.route("POST "+p+"/runs/{id}/retry", u.runAction("retry"))
	u.route("POST "+p+"/runs/{id}/override-window", u.runAction("override-window"))
	u.route("GET "+p+"/approvals", u.approvalsPage)
	u.route("GET "+p+"/runs/{id}/approval", u.approvalPage)
	u.route("POST "+p+"/runs/{id}/approve", u.answer(true))
	u.route("POST "+p+"/runs/{id}/reject", u.answer(false))
	u.route("GET "+p+"/deployments", u.deploymentsPage)
	u.route("GET "+p+"/deployments/{name}", u.deploymentPage)
	u.route("POST "+p+"/deployments/{name}/run", u.runNow)
	u.route("POST "+p+"/deployments/{name}/pause", u.pause(true))
	u.route("POST "+p+"/deployments/{name}/resume", u.pause(false))
	u.route("GET "+p+"/pools", u.poolsPage)
	u.route("GET "+p+"/events", u.eventsPage)
	u.route("GET "+p+"/config", u.configPage)
	u.route("GET "+p+"/flows", u.flowsPage)
	u.mux.HandleFunc(p+"/", func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, u.session(r), http.StatusNotFound, "no such page: "+r.URL.Path)
	})
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"short": shortID,
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return humanDur(now.Sub(t))
	},
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"tsi": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
	"dur":   humanDur,
	"class": stateClass,
	"lower": func(t flow.StateType) string { return strings.ToLower(string(t)) },
	"join":  strings.Join,
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"eq2": func(a, b any) bool { return fmt.Sprint(a) == fmt.Sprint(b) },
	"add": func(a, b int) int { return a + b },
}

// shortID shows a UUIDv7 run ID by its random tail: the head is the
// creation time, the same for runs made together.
func shortID(id string) string {
	if len(id) > 12 {
		return id[len(id)-12:]
	}
	return id
}

func humanDur(d time.Duration) string {
	switch {
	case d < 0:
		return "in " + humanDur(-d)
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
