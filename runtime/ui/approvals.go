package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Approvals: the runs waiting at an approval gate (flow.WaitForInput), read
// and answered through the API in-process, so the API's own checks (role,
// named answerers, four-eyes, the gate's schema) apply and are reported in
// its words.

type approvalsData struct {
	Items []store.InputInfo
	Error string
	Now   time.Time
}

// listApprovals reads the waiting gates through the API.
func (u *UI) listApprovals(r *http.Request, s *session) ([]store.InputInfo, *wire.Error) {
	ans := u.call(r.Context(), s, "GET", "/api/v1/approvals", nil)
	if e := ans.Err(); e != nil {
		return nil, e
	}
	var list wire.Approvals
	if err := json.Unmarshal(ans.Body, &list); err != nil {
		return nil, &wire.Error{Error: "decode approvals: " + err.Error()}
	}
	return list.Items, nil
}

func (u *UI) approvalsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d := approvalsData{Now: u.opts.Now()}
	items, e := u.listApprovals(r, s)
	if e != nil {
		d.Error = errorText(e)
	}
	d.Items = items
	return u.render(w, r, s, http.StatusOK, "approvals", "Approvals", d)
}

// diffLine is a line of a prompt's diff and its colour class.
type diffLine struct {
	Class, Text string
}

func diffLines(diff string) []diffLine {
	if diff == "" {
		return nil
	}
	lines := strings.Split(strings.TrimRight(diff, "\n"), "\n")
	out := make([]diffLine, len(lines))
	for i, l := range lines {
		c := ""
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			c = "diff-file"
		case strings.HasPrefix(l, "+"):
			c = "diff-add"
		case strings.HasPrefix(l, "-"):
			c = "diff-del"
		case strings.HasPrefix(l, "@@"):
			c = "diff-hunk"
		}
		out[i] = diffLine{Class: c, Text: l}
	}
	return out
}

type approvalData struct {
	Info        store.InputInfo
	Diff        []diffLine
	Declaration string
	Fields      []field
	RawInput    string // the JSON form, for a schema the form cannot show
	HasSchema   bool
	// Object: the schema's input is an object, sent as {} when the form
	// leaves it empty; Empty: one without properties, asking nothing.
	Object, Empty bool
	FormError     string
	Reason        string
	Now           time.Time
}

// loadApproval reads a run's gate (the one named by key, else its oldest
// waiting one) through the API.
func (u *UI) loadApproval(r *http.Request, s *session, id, key string) (approvalData, *wire.Error, int) {
	path := "/api/v1/runs/" + url.PathEscape(id) + "/input"
	if key != "" {
		path += "?key=" + url.QueryEscape(key)
	}
	ans := u.call(r.Context(), s, "GET", path, nil)
	if e := ans.Err(); e != nil {
		return approvalData{}, e, ans.Status
	}
	var info store.InputInfo
	if err := json.Unmarshal(ans.Body, &info); err != nil {
		return approvalData{}, &wire.Error{Error: "decode input request: " + err.Error()}, http.StatusInternalServerError
	}
	d := approvalData{Info: info, Diff: diffLines(info.Prompt.Diff), Now: u.opts.Now()}
	if len(info.Prompt.Declaration) > 0 {
		d.Declaration = indentJSON(info.Prompt.Declaration)
	}
	sch := strings.TrimSpace(string(info.Schema))
	d.HasSchema = sch != "" && sch != "null"
	if d.HasSchema {
		d.Fields = formFields(info.Schema, nil)
		var top struct {
			Type       any                        `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		_ = json.Unmarshal(info.Schema, &top)
		d.Object = typeOf(top.Type) == "object"
		// A plain yes/no gate (an empty object's schema): nothing to fill.
		d.Empty = d.Object && top.Properties != nil && len(top.Properties) == 0
	}
	return d, nil, http.StatusOK
}

func (u *UI) approvalPage(w http.ResponseWriter, r *http.Request, s *session) error {
	d, e, status := u.loadApproval(r, s, r.PathValue("id"), r.URL.Query().Get("key"))
	if e != nil {
		u.fail(w, r, s, status, errorText(e))
		return nil
	}
	return u.render(w, r, s, http.StatusOK, "approval", "Approval "+cmpOr(d.Info.RunName, shortID(d.Info.RunID)), d)
}

// answer approves (with the form's input, typed by the gate's schema) or
// rejects (with a reason) through the API. Its refusals are shown on the
// page: a schema error beside its field, anything else above the form.
func (u *UI) answer(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id := r.PathValue("id")
		d, e, status := u.loadApproval(r, s, id, r.PostFormValue("key"))
		if e != nil {
			u.fail(w, r, s, status, errorText(e))
			return nil
		}
		req := wire.AnswerInput{Key: d.Info.Key}
		ok := true
		if approve {
			var input any
			switch {
			case d.Fields != nil:
				input, ok = readForm(d.Fields, func(k string) string { return r.PostFormValue(k) }, func(k string) bool { _, has := r.PostForm[k]; return has })
			case d.HasSchema:
				d.RawInput = strings.TrimSpace(r.PostFormValue("input"))
				if d.RawInput != "" {
					if err := json.Unmarshal([]byte(d.RawInput), &input); err != nil {
						d.FormError, ok = "Input: want JSON: "+err.Error(), false
					}
				}
			}
			if input == nil && d.Object {
				input = map[string]any{}
			}
			req.Input = mustJSON(input)
		} else {
			d.Reason = strings.TrimSpace(r.PostFormValue("reason"))
			req.Reason = d.Reason
		}
		if ok {
			verb := "reject"
			if approve {
				verb = "approve"
			}
			ans := u.call(r.Context(), s, "POST", "/api/v1/runs/"+url.PathEscape(id)+"/"+verb, req)
			e := ans.Err()
			if e == nil {
				if approve {
					u.sessions.setFlash(s, fmt.Sprintf("Approved %s of run %s: it goes on.", d.Info.Key, cmpOr(d.Info.RunName, shortID(id))))
				} else {
					u.sessions.setFlash(s, fmt.Sprintf("Rejected %s of run %s.", d.Info.Key, cmpOr(d.Info.RunName, shortID(id))))
				}
				u.opts.Wake()
				http.Redirect(w, r, u.prefix+"/runs/"+url.PathEscape(id), http.StatusSeeOther)
				return nil
			}
			if !approve || !placeFieldError(d.Fields, e, "input.") {
				d.FormError = verb + " refused: " + errorText(e)
			}
			status = ans.Status
		} else {
			status = http.StatusUnprocessableEntity
		}
		return u.render(w, r, s, status, "approval", "Approval "+cmpOr(d.Info.RunName, shortID(id)), d)
	}
}
