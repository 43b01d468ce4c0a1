package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// chromium returns the path of a Chromium (Debian's package `chromium`),
// skipping the test when there is none, or failing it under NETAUTO_CI=1
// (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("NETAUTO_CI") == "1" {
		t.Fatal("NETAUTO_CI=1 and no Chromium on PATH (apt-get install chromium)")
	}
	t.Skip("no Chromium on PATH: install Debian's chromium package to run the browser tests")
	return ""
}

// artifacts returns the directory the browser tests save screenshots in:
// $NETAUTO_ARTIFACTS/ui when set, else artifacts/ui at the module's root
// (ignored by Git).
func artifacts(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "artifacts", "ui")
	if a := os.Getenv("NETAUTO_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "ui")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBrowser drives the UI in headless Chromium: sign in, watch a run go
// from Scheduled to Completed live with its task runs and logs, cancel a
// run, and submit the run-now form with bad parameters to see the errors
// beside the fields. Screenshots go to artifacts/ui (see artifacts).
func TestBrowser(t *testing.T) {
	exe := chromium(t)
	shots := artifacts(t)
	e := newEnv(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.WindowSize(1366, 900),
		chromedp.Flag("headless", true), chromedp.DisableGPU)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses its sandbox as root
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelTimeout()

	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			_ = chromedp.Do(ctx, shot("failed-"+strings.ReplaceAll(step, " ", "-")))
			t.Fatalf("%s: %v", step, err)
		}
	}
	// until waits until the JavaScript expression is true.
	until := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for {
				_, err := chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))(ctx, tg)
				// A form post navigates: a poll started on the page
				// before loses its JavaScript context, and starts again
				// on the new page.
				if err == nil || !strings.Contains(err.Error(), "context with specified id") || ctx.Err() != nil {
					return err
				}
			}
		})
	}
	// waitText waits until the element sel's text contains want.
	waitText := func(sel, want string) chromedp.Action[chromedp.Void] {
		return until(fmt.Sprintf(`(document.querySelector(%q)||{}).textContent?.includes(%q) || false`, sel, want))
	}

	// Sign in.
	run("sign in",
		chromedp.Navigate(e.srv.URL+"/ui/runs"),
		chromedp.WaitVisible(chromedp.ID("key")),
		shot("01-signin"),
		chromedp.SendKeys(chromedp.ID("key"), operatorKey),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("signout")),
		waitText(".who", "ops"),
	)

	// Watch a run go from Scheduled to Completed, live.
	bg := context.Background()
	r := e.createRun(t)
	run("open the run",
		chromedp.Navigate(e.srv.URL+"/ui/runs/"+r.ID),
		waitText("#live .state-line", "Scheduled"),
		shot("02-run-scheduled"),
	)
	task := flow.RunRecord{ID: r.ID + "-t1", Kind: flow.KindTask, Name: "configure_vlan", RunName: "configure_vlan-1",
		FlowRunID: r.ID, ParentID: r.ID, TaskKey: "configure_vlan", Created: time.Now()}
	record := func(ops []store.Op, logs ...flow.LogRecord) {
		t.Helper()
		errs, err := e.st.Record(bg, ops, logs)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	logLine := func(msg string) flow.LogRecord {
		return flow.LogRecord{RunID: task.ID, FlowRunID: r.ID, Time: time.Now(), Message: msg}
	}
	record([]store.Op{{RunID: r.ID, State: flow.Pending()}, {RunID: r.ID, State: flow.Running()},
		{Create: &task}, {RunID: task.ID, State: flow.Pending()}, {RunID: task.ID, State: flow.Running()}},
		logLine("pushing vlan 10 to sw1"))
	run("see it running", waitText("#live .state-line", "Running"), waitText("#gantt", "configure_vlan"),
		waitText("#log-lines", "pushing vlan 10 to sw1"), shot("03-run-running"))
	res, _ := json.Marshal(map[string]any{"changed": true})
	record([]store.Op{{RunID: task.ID, State: flow.Completed()},
		{RunID: r.ID, State: flow.Completed(), Result: &flow.Result{FlowRunID: r.ID, Value: res}}},
		logLine("vlan 10 present on sw1"))
	run("see it completed",
		until(`document.getElementById("live").dataset.final === "Completed"`),
		waitText("#timeline", "Completed"),
		waitText("#result", "changed"),
		until(`document.getElementById("logs").dataset.done === "1"`),
		waitText("#log-lines", "vlan 10 present on sw1"),
		shot("04-run-completed-logs"),
	)
	history, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("timeline")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Scheduled", "Pending", "Running", "Completed"} {
		if !strings.Contains(history, want) {
			t.Fatalf("timeline %q lacks %s", history, want)
		}
	}

	// Cancel a run.
	c := e.createRun(t)
	run("cancel a run",
		chromedp.Navigate(e.srv.URL+"/ui/runs/"+c.ID),
		chromedp.WaitVisible(chromedp.ID("cancel")),
		chromedp.SendKeys(chromedp.CSS(`input[name="reason"]`), "change freeze"),
		chromedp.Click(chromedp.ID("cancel")),
		chromedp.WaitVisible(chromedp.ID("flash")),
		waitText("#flash", "cancel: run is now Cancelled"),
		waitText("#live .state-line", "Cancelled"),
		shot("05-run-cancelled"),
	)
	if got, _ := e.st.GetRun(bg, c.ID); got.State.Message != "change freeze (cancelled by ops)" {
		t.Fatalf("cancelled run: %+v", got.State)
	}

	// Run now with a bad parameter: the error is beside the field.
	run("run now with a bad vlan",
		chromedp.Navigate(e.srv.URL+"/ui/deployments/vlan-prod"),
		chromedp.WaitVisible(chromedp.ID("run-now")),
		chromedp.SendKeys(chromedp.ID("p-device"), "sw1"),
		chromedp.SendKeys(chromedp.ID("p-vlan"), "ten"),
		chromedp.Click(chromedp.ID("run-submit")),
		chromedp.WaitVisible(chromedp.ID("err-vlan")),
		waitText("#err-vlan", "want a whole number"),
		shot("06-run-now-field-error"),
	)
	run("run now without the required device",
		chromedp.Clear(chromedp.ID("p-device")),
		chromedp.Clear(chromedp.ID("p-vlan")),
		chromedp.SendKeys(chromedp.ID("p-vlan"), "10"),
		chromedp.Click(chromedp.ID("run-submit")),
		chromedp.WaitVisible(chromedp.ID("err-device")),
		waitText("#err-device", "required parameter missing"),
		shot("07-run-now-required"),
	)
	run("dashboard and runs", chromedp.Navigate(e.srv.URL+"/ui/"), chromedp.WaitVisible(chromedp.ID("runs-chart")), shot("08-dashboard"),
		chromedp.Navigate(e.srv.URL+"/ui/runs"), chromedp.WaitVisible(chromedp.ID("bulk")), shot("09-runs"))

	run("other pages",
		chromedp.Navigate(e.srv.URL+"/ui/deployments"), chromedp.WaitVisible(chromedp.CSS("main table")), shot("11-deployments"),
		chromedp.Navigate(e.srv.URL+"/ui/pools"), chromedp.WaitVisible(chromedp.CSS("main h1")), shot("12-pools"),
		chromedp.Navigate(e.srv.URL+"/ui/events"), chromedp.WaitVisible(chromedp.CSS("main table")), shot("13-events"),
		chromedp.Navigate(e.srv.URL+"/ui/config"), chromedp.WaitVisible(chromedp.CSS("main h1")), shot("14-config"),
		chromedp.Navigate(e.srv.URL+"/ui/flows"), chromedp.WaitVisible(chromedp.CSS("main h1")), shot("15-flows"))

	// Approve a run waiting at a gate (as an admin: an operator may not
	// answer) and see it go on to Completed. The test plays the worker:
	// the answer moves the suspended run to Scheduled (Resuming), a worker
	// claims it and finishes it.
	g := e.createRun(t)
	e.gate(t, g.ID, flow.Answerers{})
	run("sign in as an admin",
		chromedp.Click(chromedp.ID("signout")),
		chromedp.WaitVisible(chromedp.ID("key")),
		chromedp.SendKeys(chromedp.ID("key"), adminKey),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("signout")),
		waitText(".who", "root"),
		waitText("#approvals-count", "1 run waiting for input"),
	)
	run("open the approval",
		chromedp.Click(chromedp.CSS("#approvals-count a")),
		chromedp.WaitVisible(chromedp.CSS("a.approval-link")),
		shot("16-approvals"),
		chromedp.Click(chromedp.CSS("a.approval-link")),
		chromedp.WaitVisible(chromedp.ID("approve-form")),
		waitText("#prompt-diff", "vlan 10 name <script>"),
		until(`getComputedStyle(document.querySelector("#prompt-diff .diff-add")).color !== getComputedStyle(document.querySelector("#prompt-diff .diff-del")).color`),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("err-ticket")),
		waitText("#err-ticket", "required field missing"),
		shot("17-approval-field-error"),
		chromedp.SendKeys(chromedp.ID("p-ticket"), "CHG-42"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("flash")),
		waitText("#flash", "Approved input/approval"),
		waitText("#live .state-line", "Resuming"),
	)
	claimed, ok, err := e.st.ClaimRun(bg, store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || claimed.ID != g.ID {
		t.Fatalf("claim the approved run: %v %v %s, want %s", ok, err, claimed.ID, g.ID)
	}
	fctx := store.WithFence(bg, store.FenceOf(claimed))
	for _, st := range []flow.State{flow.Running(), flow.Completed()} {
		if _, err := e.st.SetRunState(fctx, g.ID, st, nil); err != nil {
			t.Fatal(err)
		}
	}
	run("see the approved run completed",
		until(`document.getElementById("live").dataset.final === "Completed"`),
		waitText("#timeline", "Completed"),
		shot("18-approved-run-completed"),
	)

	// Dark: the pages follow prefers-color-scheme.
	dark := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}})
		return err
	})
	run("dark run page", dark, chromedp.Navigate(e.srv.URL+"/ui/runs/"+r.ID), waitText("#log-lines", "vlan 10 present"),
		until(`getComputedStyle(document.body).backgroundColor !== "rgb(251, 251, 250)"`), shot("10-run-dark"))
	t.Logf("screenshots in %s", shots)
}
