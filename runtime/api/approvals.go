package api

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Approval gates (flow.WaitForInput): list the runs waiting for input,
// read a request, approve with input or reject with a reason. Answering
// needs runs.resume (roles approver and admin); the request's own
// Answerers (roles, keys, four-eyes) are checked on top.

func (s *Server) approvalRoutes() {
	s.handle("GET /api/v1/approvals", need(PermRead), s.listApprovals)
	// A run's own flow binary (its run token) reads its answers, records
	// its requests and their timeouts; it can never answer.
	s.handle("GET /api/v1/runs/{id}/input", needOrRun(PermRead), s.getInput)
	s.handle("POST /api/v1/runs/{id}/inputs", needOrRun(PermAdmin), s.requestInput)
	s.handle("POST /api/v1/runs/{id}/inputs/expire", needOrRun(PermAdmin), s.expireInput)
	s.handle("POST /api/v1/runs/{id}/approve", need(PermRunsResume), s.answerInput(true))
	s.handle("POST /api/v1/runs/{id}/reject", need(PermRunsResume), s.answerInput(false))
}

// inputs returns the store's approval gates, or a 501.
func (s *Server) inputs() (store.Inputs, error) {
	in, ok := store.As[store.Inputs](s.st)
	if !ok {
		return nil, &Error{Status: http.StatusNotImplemented, Msg: "this store has no approval gates"}
	}
	return in, nil
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request) error {
	in, err := s.inputs()
	if err != nil {
		return err
	}
	items, err := in.ListInputs(r.Context(), store.InputFilter{Deployment: r.URL.Query().Get("deployment")})
	if err != nil {
		return err
	}
	if items == nil {
		items = []store.InputInfo{}
	}
	return writeJSON(w, http.StatusOK, wire.Approvals{Items: items})
}

func (s *Server) getInput(w http.ResponseWriter, r *http.Request) error {
	in, err := s.inputs()
	if err != nil {
		return err
	}
	info, err := in.GetInput(r.Context(), r.PathValue("id"), r.URL.Query().Get("key"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, info)
}

func (s *Server) answerInput(approve bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		in, err := s.inputs()
		if err != nil {
			return err
		}
		var req wire.AnswerInput
		if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
			return err
		}
		id := r.PathValue("id")
		info, err := in.GetInput(r.Context(), id, req.Key)
		if err != nil {
			return err
		}
		name, role := Identity(r.Context())
		who := flow.Responder{Key: name, Roles: []string{string(role)}}
		a := flow.Answer{Approved: approve, Reason: req.Reason}
		if approve {
			if err := validateInput(info.Schema, req.Input); err != nil {
				return err
			}
			a.Input = req.Input
		}
		if err := store.CheckAnswer(info, who, a); err != nil {
			var ae *flow.AnswererError
			switch {
			case errors.As(err, &ae):
				return &Error{Status: http.StatusForbidden, Field: "key", Msg: ae.Error()}
			case store.IsAnswered(err):
				return &Error{Status: http.StatusConflict, Field: "input", Msg: "run " + id + " input " + info.Key + " was answered already"}
			}
			return err
		}
		a.By, a.At = name, s.opts.Now()
		out, err := in.AnswerInput(r.Context(), id, info.Key, a)
		if store.IsAnswered(err) {
			return &Error{Status: http.StatusConflict, Field: "input", Msg: "run " + id + " input " + info.Key + " was answered already"}
		}
		if err != nil {
			return err
		}
		verb := "approved"
		if !approve {
			verb = "rejected"
		}
		s.log.Info("run input "+verb, "run_id", id, "key", info.Key, "by", name)
		s.notify.wake(id)
		return writeJSON(w, http.StatusOK, out)
	}
}

// validateInput checks an answer's input against the request's schema and
// returns a 422 naming the first bad field ("input.ticket").
func validateInput(schema, input []byte) error {
	if len(bytes.TrimSpace(input)) == 0 {
		input = []byte("null")
	}
	if len(bytes.TrimSpace(schema)) == 0 || bytes.Equal(bytes.TrimSpace(schema), []byte("null")) {
		return nil
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return err
	}
	comp := jsonschema.NewCompiler()
	const url = "netauto:///inputs/request.json"
	if err := comp.AddResource(url, doc); err != nil {
		return err
	}
	sch, err := comp.Compile(url)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(input))
	if err != nil {
		return badRequest("input", "malformed JSON: %v", err)
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); !errors.As(err, &ve) {
		return err
	}
	leaf := firstLeaf(ve, false)
	path := append([]string{"input"}, leaf.InstanceLocation...)
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		path = append(path, req.Missing[0])
		return &Error{Status: http.StatusUnprocessableEntity, Field: strings.Join(path, "."), Msg: "required field missing"}
	}
	return &Error{Status: http.StatusUnprocessableEntity, Field: strings.Join(path, "."), Msg: leaf.ErrorKind.LocalizedString(printer)}
}

func (s *Server) requestInput(w http.ResponseWriter, r *http.Request) error {
	in, err := s.inputs()
	if err != nil {
		return err
	}
	var req flow.InputRequest
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.RunID != "" && req.RunID != r.PathValue("id") {
		return badRequest("run_id", "%q is not the run in the path", req.RunID)
	}
	req.RunID = r.PathValue("id")
	stored, ans, err := in.RequestInput(r.Context(), req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.InputRequested{Request: stored, Answer: ans})
}

func (s *Server) expireInput(w http.ResponseWriter, r *http.Request) error {
	in, err := s.inputs()
	if err != nil {
		return err
	}
	var req wire.ExpireInput
	if err := decode(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Key == "" {
		return badRequest("key", "empty")
	}
	if req.Now.IsZero() {
		req.Now = s.opts.Now()
	}
	a, err := in.ExpireInput(r.Context(), r.PathValue("id"), req.Key, req.Now)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}
