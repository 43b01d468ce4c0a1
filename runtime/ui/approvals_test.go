package ui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

type ticketInput struct {
	Ticket string `json:"ticket"`
}

const hostileDiff = "--- a/sw1\n+++ b/sw1\n+ vlan 10 name <script>alert(1)</script>\n- vlan 9\n  interface x"

// gate puts a run at an approval gate as the engine and worker do (see
// runtime/api/approvals_test.go): claimed, Running, request recorded,
// Paused (AwaitingInput), suspended.
func (e *env) gate(t testing.TB, runID string, who flow.Answerers) {
	t.Helper()
	e.gateWith(t, runID, who, flow.SchemaFor[ticketInput]())
}

// gateWith is gate with the request's input schema.
func (e *env) gateWith(t testing.TB, runID string, who flow.Answerers, schema json.RawMessage) {
	t.Helper()
	ctx := context.Background()
	in, ok := store.As[store.Inputs](e.st)
	if !ok {
		t.Fatal("the store has no approval gates")
	}
	run, ok, err := e.st.ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || run.ID != runID {
		t.Fatalf("claim: %v %v %s, want %s", ok, err, run.ID, runID)
	}
	fctx := store.WithFence(ctx, store.FenceOf(run))
	if _, err := e.st.SetRunState(fctx, run.ID, flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := in.RequestInput(fctx, flow.InputRequest{RunID: run.ID, Key: "input/approval", OnTimeout: flow.TimeoutFail,
		Prompt: flow.Prompt{Text: "push vlan 10 to <b>sw1</b>", Diff: hostileDiff, Devices: []string{"sw1", "sw<2>"}},
		Schema: schema, Answerers: who}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.SetRunState(fctx, run.ID, flow.State{Type: flow.TypePaused, Name: flow.NameAwaitingInput}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := in.SuspendRun(ctx, store.FenceOf(run)); err != nil {
		t.Fatal(err)
	}
}

// TestApprovalsPage: the list, the dashboard card and the run page lead to
// the prompt, whose hostile text, diff and devices are escaped and the
// diff's lines coloured.
func TestApprovalsPage(t *testing.T) {
	e := newEnv(t)
	run := e.createRun(t)
	e.gate(t, run.ID, flow.Answerers{Keys: []string{"root"}})
	b := e.browser()
	b.signin(viewerKey)

	st, body := b.get("/ui/approvals")
	if st != http.StatusOK || !strings.Contains(body, "/ui/runs/"+run.ID+"/approval?key=input%2fapproval") || !strings.Contains(body, "vlan-prod") || !strings.Contains(body, "keys root") {
		t.Fatalf("approvals page %d: %s", st, body)
	}
	if _, body := b.get("/ui/"); !strings.Contains(body, `id="approvals-count"><a href="/ui/approvals">1 run waiting for input`) {
		t.Fatalf("dashboard card: %s", body)
	}
	if _, body := b.get("/ui/runs/" + run.ID); !strings.Contains(body, `href="/ui/runs/`+run.ID+`/approval" id="prompt-link"`) {
		t.Fatalf("run page has no prompt link: %s", body)
	}
	st, body = b.get("/ui/runs/" + run.ID + "/approval")
	if st != http.StatusOK {
		t.Fatalf("approval page %d: %s", st, body)
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>sw1") || strings.Contains(body, "sw<2>") {
		t.Fatalf("prompt not escaped: %s", body)
	}
	for _, want := range []string{
		`<span class="diff-add">&#43; vlan 10 name &lt;script&gt;alert(1)&lt;/script&gt;</span>`,
		`<span class="diff-del">- vlan 9</span>`,
		`<span class="diff-file">&#43;&#43;&#43; b/sw1</span>`,
		`<span>  interface x</span>`,
		`push vlan 10 to &lt;b&gt;sw1&lt;/b&gt;`,
		`<li>sw&lt;2&gt;</li>`,
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("approval page lacks %q: %s", want, body)
		}
	}
	// A viewer reads the prompt but gets no buttons.
	if strings.Contains(body, `id="approve"`) || strings.Contains(body, `id="reject"`) || !strings.Contains(body, `id="no-answer"`) {
		t.Fatalf("a viewer sees answer buttons: %s", body)
	}
	// And the API refuses a viewer's forged answer.
	if st, _, body := b.post("/ui/runs/"+run.ID+"/approve", url.Values{"p.ticket": {"CHG-1"}}); st != http.StatusForbidden || !strings.Contains(body, "approve refused") {
		t.Fatalf("viewer approves: %d %s", st, body)
	}
	if st, _ := b.get("/ui/runs/nope/approval"); st != http.StatusNotFound {
		t.Fatalf("approval of no run: %d", st)
	}
}

// TestApprovalAnswer: a schema error is shown beside its field, a rejection
// without a reason and an answer the gate's answerers forbid are refused in
// the API's words, and an approval resumes the run.
func TestApprovalAnswer(t *testing.T) {
	e := newEnv(t)
	run := e.createRun(t)
	e.gate(t, run.ID, flow.Answerers{Keys: []string{"root"}})
	path := "/ui/runs/" + run.ID

	ops := e.browser()
	ops.signin(operatorKey)
	if _, body := ops.get(path + "/approval"); strings.Contains(body, `id="approve"`) {
		t.Fatal("an operator sees answer buttons")
	}

	b := e.browser()
	b.signin(adminKey)
	st, body := b.get(path + "/approval")
	if st != http.StatusOK || !strings.Contains(body, `id="approve"`) || !strings.Contains(body, `id="reject"`) || !strings.Contains(body, `name="p.ticket"`) {
		t.Fatalf("admin's approval page %d: %s", st, body)
	}
	// The gate's schema requires a ticket: the API's 422 names
	// input.ticket, shown beside the field.
	st, _, body = b.post(path+"/approve", url.Values{"key": {"input/approval"}, "p.ticket": {""}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `<span class="field-error" id="err-ticket" role="alert">required field missing</span>`) || strings.Contains(body, `id="form-error"`) {
		t.Fatalf("422 beside the field: %d %s", st, body)
	}
	st, _, body = b.post(path+"/reject", url.Values{"key": {"input/approval"}, "reason": {"  "}})
	if st != http.StatusBadRequest || !strings.Contains(body, "reject refused: reason: a rejection needs a reason") {
		t.Fatalf("reject without a reason: %d %s", st, body)
	}
	if info, err := mustInputs(t, e).GetInput(context.Background(), run.ID, ""); err != nil || info.Answer != nil {
		t.Fatalf("refused answers recorded: %+v %v", info.Answer, err)
	}

	st, loc, body := b.post(path+"/approve", url.Values{"key": {"input/approval"}, "p.ticket": {"CHG-42"}})
	if st != http.StatusSeeOther || loc != path {
		t.Fatalf("approve: %d %s %s", st, loc, body)
	}
	info, err := mustInputs(t, e).GetInput(context.Background(), run.ID, "input/approval")
	if err != nil || info.Answer == nil || !info.Answer.Approved || info.Answer.By != "root" || string(info.Answer.Input) != `{"ticket":"CHG-42"}` {
		t.Fatalf("answer %+v %v", info.Answer, err)
	}
	if _, body := b.get(path); !strings.Contains(body, "Approved input/approval") {
		t.Fatalf("no flash after approving: %s", body)
	}
	if st, _ := b.get("/ui/approvals"); st != http.StatusOK {
		t.Fatal(st)
	}
	if _, body := b.get("/ui/approvals"); strings.Contains(body, run.ID) {
		t.Fatalf("an answered run still listed: %s", body)
	}
}

// TestApprovalAnswerers: a gate naming other keys refuses the admin, in
// the API's words, and a rejection with a reason is recorded.
func TestApprovalAnswerers(t *testing.T) {
	e := newEnv(t)
	run := e.createRun(t)
	e.gate(t, run.ID, flow.Answerers{Keys: []string{"alice"}})
	b := e.browser()
	b.signin(adminKey)
	b.get("/ui/runs/" + run.ID + "/approval")
	st, _, body := b.post("/ui/runs/"+run.ID+"/approve", url.Values{"p.ticket": {"CHG-1"}})
	if st != http.StatusForbidden || !strings.Contains(body, "approve refused: key: ") || !strings.Contains(body, "alice") {
		t.Fatalf("named answerers: %d %s", st, body)
	}

	// Four-eyes: root created the run, so root may not answer it.
	mine, _, err := e.st.CreateRun(context.Background(), store.RunSpec{Deployment: "vlan-prod", Parameters: json.RawMessage(`{"device":"sw1","vlan":10}`),
		Origin: store.Origin{Kind: store.OriginAPI, APIKey: "root"}})
	if err != nil {
		t.Fatal(err)
	}
	// The first run is claimed already; this one is next.
	e.gate(t, mine.ID, flow.Answerers{NotCreator: true})
	if _, body := b.get("/ui/runs/" + mine.ID + "/approval"); !strings.Contains(body, "not root (the run's creator)") {
		t.Fatalf("four-eyes not shown: %s", body)
	}
	st, _, body = b.post("/ui/runs/"+mine.ID+"/approve", url.Values{"p.ticket": {"CHG-1"}})
	if st != http.StatusForbidden || !strings.Contains(body, "approve refused: key: ") || !strings.Contains(body, "four-eyes") {
		t.Fatalf("four-eyes: %d %s", st, body)
	}

	run2 := e.createRun(t)
	e.gate(t, run2.ID, flow.Answerers{})
	b.get("/ui/runs/" + run2.ID + "/approval")
	st, loc, body := b.post("/ui/runs/"+run2.ID+"/reject", url.Values{"reason": {"freeze <week>"}})
	if st != http.StatusSeeOther || loc != "/ui/runs/"+run2.ID {
		t.Fatalf("reject: %d %s %s", st, loc, body)
	}
	info, err := mustInputs(t, e).GetInput(context.Background(), run2.ID, "")
	if err != nil || info.Answer == nil || info.Answer.Approved || info.Answer.Reason != "freeze <week>" {
		t.Fatalf("rejection %+v %v", info.Answer, err)
	}
}

func mustInputs(t testing.TB, e *env) store.Inputs {
	t.Helper()
	in, ok := store.As[store.Inputs](e.st)
	if !ok {
		t.Fatal("the store has no approval gates")
	}
	return in
}

// TestApprovalYesNo: a gate asking nothing (an empty object's schema)
// shows no input and is approved with {}.
func TestApprovalYesNo(t *testing.T) {
	e := newEnv(t)
	run := e.createRun(t)
	e.gateWith(t, run.ID, flow.Answerers{}, flow.SchemaFor[struct{}]())
	b := e.browser()
	b.signin(adminKey)
	_, body := b.get("/ui/runs/" + run.ID + "/approval")
	if !strings.Contains(body, `id="approve"`) || strings.Contains(body, `name="input"`) || strings.Contains(body, `name="p.`) {
		t.Fatalf("yes/no gate form: %s", body)
	}
	if st, loc, body := b.post("/ui/runs/"+run.ID+"/approve", nil); st != http.StatusSeeOther || loc != "/ui/runs/"+run.ID {
		t.Fatalf("approve: %d %s %s", st, loc, body)
	}
	info, err := mustInputs(t, e).GetInput(context.Background(), run.ID, "")
	if err != nil || info.Answer == nil || !info.Answer.Approved || string(info.Answer.Input) != "{}" {
		t.Fatalf("answer %+v %v", info.Answer, err)
	}
}
