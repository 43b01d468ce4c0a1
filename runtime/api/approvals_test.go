package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

type changeInput struct {
	Ticket string `json:"ticket"`
}

// gate puts a run at an approval gate as the engine and worker do: claimed,
// Running, request recorded, Paused (AwaitingInput), suspended.
func gate(t *testing.T, e *env, runID string, who flow.Answerers) {
	t.Helper()
	ctx := context.Background()
	in := e.st.(store.Inputs)
	run, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || run.ID != runID {
		t.Fatalf("claim: %v %v %s, want %s", ok, err, run.ID, runID)
	}
	fctx := store.WithFence(ctx, store.FenceOf(run))
	if _, err := e.st.SetRunState(fctx, run.ID, flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.RequestInput(fctx, flow.InputRequest{RunID: run.ID, Key: "input/approval", OnTimeout: flow.TimeoutFail,
		Prompt: flow.Prompt{Text: "push vlan", Diff: "+ vlan 10"}, Schema: flow.SchemaFor[changeInput](), Answerers: who}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetRunState(fctx, run.ID, flow.State{Type: flow.TypePaused, Name: flow.NameAwaitingInput}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := in.SuspendRun(ctx, store.FenceOf(run)); err != nil {
		t.Fatal(err)
	}
}

func TestApprovals(t *testing.T) {
	e := rolesEnv(t)
	run := e.createRun(`{"device":"a","vlan":1}`) // created by "root"
	gate(t, e, run.ID, flow.Answerers{NotCreator: true})
	path := "/api/v1/runs/" + run.ID

	st, b := e.as(viewerKey).do("GET", "/api/v1/approvals", nil)
	list := decodeAs[wire.Approvals](t, b)
	if st != http.StatusOK || len(list.Items) != 1 || list.Items[0].RunID != run.ID || list.Items[0].Prompt.Diff != "+ vlan 10" || list.Items[0].Creator != "root" {
		t.Fatalf("approvals %d %s", st, b)
	}
	if st, b := e.as(viewerKey).do("GET", path+"/input", nil); st != http.StatusOK || !strings.Contains(string(b), `"ticket"`) {
		t.Fatalf("read prompt %d %s", st, b)
	}
	ok := wire.AnswerInput{Input: json.RawMessage(`{"ticket":"CHG-9"}`)}
	// Roles: viewers and operators may not answer.
	for _, k := range []string{viewerKey, operatorKey} {
		st, b := e.as(k).do("POST", path+"/approve", ok)
		if st != http.StatusForbidden {
			t.Fatalf("approve as %s: %d %s", k, st, b)
		}
	}
	// Four-eyes: the admin key created the run.
	st, b = e.do("POST", path+"/approve", ok)
	wantError(t, st, b, http.StatusForbidden, "key")
	if !strings.Contains(string(b), "four-eyes") {
		t.Fatalf("four-eyes refusal %s", b)
	}
	// The answer is checked against the request's schema, naming the field.
	st, b = e.as(approverKey).do("POST", path+"/approve", wire.AnswerInput{Input: json.RawMessage(`{"ticket":7}`)})
	wantError(t, st, b, http.StatusUnprocessableEntity, "input.ticket")
	st, b = e.as(approverKey).do("POST", path+"/approve", wire.AnswerInput{Input: json.RawMessage(`{"ticket":"x","extra":1}`)})
	wantError(t, st, b, http.StatusUnprocessableEntity, "input")
	// A rejection needs a reason.
	st, b = e.as(approverKey).do("POST", path+"/reject", wire.AnswerInput{})
	wantError(t, st, b, http.StatusBadRequest, "reason")

	st, b = e.as(approverKey).do("POST", path+"/approve", ok)
	info := decodeAs[store.InputInfo](t, b)
	if st != http.StatusOK || info.Answer == nil || info.Answer.By != "cab" || info.State.Name != flow.NameResuming {
		t.Fatalf("approve: %d %s", st, b)
	}
	st, b = e.as(approverKey).do("POST", path+"/reject", wire.AnswerInput{Reason: "too late"})
	wantError(t, st, b, http.StatusConflict, "input")
	if st, b := e.as(viewerKey).do("GET", "/api/v1/approvals", nil); !strings.Contains(string(b), `"items":[]`) {
		t.Fatalf("approvals after the answer %d %s", st, b)
	}
	st, b = e.do("GET", "/api/v1/runs/nope/input", nil)
	wantError(t, st, b, http.StatusNotFound, "input request")
}
