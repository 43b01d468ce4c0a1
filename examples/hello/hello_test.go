package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/proctest"
)

// TestHelloREADME drives the hello binary as the README does, as real
// processes: server on a temp SQLite file, deploy, run --watch, runs, logs.
func TestHelloREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := proctest.Build(t, ".")
	db := filepath.Join(t.TempDir(), "netauto.db")
	srv := proctest.StartServer(t, []string{"NETAUTO_DB=" + db}, bin, "--poll", "100ms")
	env := []string{"NETAUTO_API_URL=" + srv.URL}

	out, code := proctest.Run(t, env, bin, "deploy")
	if code != 0 || !strings.Contains(out, "deployment hello: created") {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	out, code = proctest.Run(t, env, bin, "deploy")
	if code != 0 || !strings.Contains(out, "deployment hello: unchanged") {
		t.Fatalf("second deploy is not idempotent: exit %d\n%s", code, out)
	}

	out, code = proctest.Run(t, env, bin, "run", "hello", "--param", "name=netauto", "--watch")
	if code != 0 {
		t.Fatalf("run --watch: exit %d\n%s", code, out)
	}
	for _, want := range []string{"state Running", "task greet Completed", "task shout Completed", "HELLO, NETAUTO!", "completed"} {
		if !strings.Contains(out, want) {
			t.Errorf("run --watch output lacks %q:\n%s", want, out)
		}
	}
	runID := strings.Fields(out)[1]

	out, code = proctest.Run(t, env, bin, "runs", "--deployment", "hello", "--json")
	if code != 0 {
		t.Fatalf("runs: exit %d\n%s", code, out)
	}
	var page wire.RunPage
	if err := json.Unmarshal([]byte(out), &page); err != nil {
		t.Fatalf("runs --json: %v\n%s", err, out)
	}
	var found bool
	for _, r := range page.Runs {
		if r.ID == runID {
			found = true
			if r.State.Name != "Completed" {
				t.Errorf("run %s is %s, want Completed", runID, r.State)
			}
		}
	}
	if !found {
		t.Errorf("runs does not list %s:\n%s", runID, out)
	}
	out, code = proctest.Run(t, env, bin, "runs")
	// The table shows the runs' unique tails (UUIDv7 share a time prefix).
	if code != 0 || !strings.Contains(out, runID[len(runID)-8:]) {
		t.Errorf("runs table: exit %d, lacks %s:\n%s", code, runID, out)
	}

	out, code = proctest.Run(t, env, bin, "logs", runID)
	if code != 0 || !strings.Contains(out, "composing a greeting") || !strings.Contains(out, "HELLO, NETAUTO!") {
		t.Errorf("logs: exit %d\n%s", code, out)
	}

	// A run that fails exits 1; bad parameters and bad usage exit 2 or 1
	// with the field named.
	out, code = proctest.Run(t, env, bin, "run", "hello", "--param", "name=", "--watch")
	if code != 1 || !strings.Contains(out, "Failed") {
		t.Errorf("failing run: exit %d, want 1\n%s", code, out)
	}
	out, code = proctest.Run(t, env, bin, "run", "hello", "--param", "nme=x")
	if code != 1 || !strings.Contains(out, "field parameters") {
		t.Errorf("bad parameter: exit %d, want 1 naming the field\n%s", code, out)
	}
	if out, code = proctest.Run(t, env, bin, "run"); code != 2 {
		t.Errorf("run without deployment: exit %d, want 2\n%s", code, out)
	}
	if out, code = proctest.Run(t, env, bin, "frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2\n%s", code, out)
	}

	// A run due in an hour is cancelled at once; following its logs ends.
	out, code = proctest.Run(t, env, bin, "run", "hello", "--in", "1h")
	if code != 0 {
		t.Fatalf("run --in 1h: exit %d\n%s", code, out)
	}
	later := strings.Fields(out)[1]
	if out, code = proctest.Run(t, env, bin, "cancel", later); code != 0 || !strings.Contains(out, "Cancelled") {
		t.Errorf("cancel: exit %d\n%s", code, out)
	}
	if out, code = proctest.Run(t, env, bin, "logs", "-f", later); code != 0 || !strings.Contains(out, "ended Cancelled") {
		t.Errorf("logs -f of a cancelled run: exit %d\n%s", code, out)
	}
	if out, code = proctest.Run(t, env, bin, "cancel", "no-such-run"); code != 1 || !strings.Contains(out, "404") {
		t.Errorf("cancel of an unknown run: exit %d, want 1 with 404\n%s", code, out)
	}

	srv.Signal(t, syscall.SIGTERM)
	if err := srv.Wait(t, 60*time.Second); err != nil {
		t.Errorf("server after SIGTERM: %v", err)
	}
}

// TestHelloProcessLauncher runs each run in a child `execute` process of
// the binary, on a server that requires an API key: the child reports
// with a token scoped to its run.
func TestHelloProcessLauncher(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := proctest.Build(t, ".")
	db := filepath.Join(t.TempDir(), "netauto.db")
	srv := proctest.StartServer(t, []string{"NETAUTO_DB=" + db, "NETAUTO_API_KEYS=test-admin-key-0123456789"}, bin, "--launcher", "process", "--poll", "100ms")
	if strings.Contains(srv.Output(), "no API key") {
		t.Errorf("server with a key says it has none:\n%s", srv.Output())
	}
	env := []string{"NETAUTO_API_URL=" + srv.URL}
	if out, code := proctest.Run(t, env, bin, "runs"); code != 1 || !strings.Contains(out, "401") {
		t.Errorf("runs without a key: exit %d, want 1 with 401\n%s", code, out)
	}
	env = append(env, "NETAUTO_API_KEY=test-admin-key-0123456789")
	if out, code := proctest.Run(t, env, bin, "deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	out, code := proctest.Run(t, env, bin, "run", "hello", "--param-json", `{"name":"child"}`, "--watch")
	if code != 0 || !strings.Contains(out, "HELLO, CHILD!") || !strings.Contains(out, "task shout Completed") {
		t.Fatalf("run --watch in a child process: exit %d\n%s", code, out)
	}
	if strings.Contains(srv.Output(), "test-admin-key-0123456789") {
		t.Errorf("the server logged its API key")
	}
	srv.Signal(t, syscall.SIGTERM)
	if err := srv.Wait(t, 60*time.Second); err != nil {
		t.Errorf("server after SIGTERM: %v", err)
	}
}
