package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

const opsKey = "na_ops-test-admin-key-0123456789abcdef"

// opsEnv is an API server with one admin key over a fresh SQLite store,
// and an app whose commands talk to it.
func opsEnv(t *testing.T) (store.Store, func(stdinText string, args ...string) (int, string)) {
	t.Helper()
	ctx := context.Background()
	k, err := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ks, err := api.KeySetFromKeys(opsKey)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(st, api.Options{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	echo := flow.New("echo", func(_ context.Context, p struct {
		Msg string `json:"msg"`
	}) (string, error) {
		return p.Msg, nil
	})
	app := &App{Name: "t", Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "echo", Flow: "echo",
		Schedules: []store.Schedule{{Cron: "0 * * * *", Timezone: "Europe/Berlin"}}}}}
	t.Setenv(EnvAPIKey, opsKey)
	t.Setenv(EnvAPIURL, hs.URL)
	run := func(in string, args ...string) (int, string) {
		t.Helper()
		stdin = strings.NewReader(in)
		t.Cleanup(func() { stdin = nil })
		var out, errOut bytes.Buffer
		code := app.Run(ctx, args, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := run("", "deploy"); code != ExitOK {
		t.Fatalf("deploy: %d %s", code, out)
	}
	return st, run
}

// TestOperatorCommands drives the read and bulk commands against a
// server: short run IDs that differ and resolve, bulk cancel over a
// filter, deployments, variables, blocks and secrets set from stdin.
func TestOperatorCommands(t *testing.T) {
	st, run := opsEnv(t)
	ctx := context.Background()
	var ids []string
	for range 3 {
		r, _, err := st.CreateRun(ctx, store.RunSpec{Deployment: "echo", Parameters: json.RawMessage(`{"msg":"hi"}`)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	code, out := run("", "runs")
	if code != ExitOK {
		t.Fatalf("runs: %d %s", code, out)
	}
	short := shortIDs(ids)
	seen := map[string]bool{}
	for _, id := range ids {
		s := short[id]
		if !strings.Contains(out, s) || seen[s] || !strings.HasSuffix(id, s) {
			t.Fatalf("runs shows %q for %s (seen %v):\n%s", s, id, seen, out)
		}
		seen[s] = true
	}
	// A suffix and a prefix both name the run.
	if code, out := run("", "run", "show", short[ids[0]]); code != ExitOK || !strings.Contains(out, ids[0]) {
		t.Fatalf("run show by suffix: %d %s", code, out)
	}
	if code, out := run("", "show", ids[1][:30], "--json"); code != ExitOK || !strings.Contains(out, `"id": "`+ids[1]) {
		t.Fatalf("show by prefix: %d %s", code, out)
	}
	// All three share the time prefix: a short prefix is ambiguous.
	if code, out := run("", "show", ids[0][:4]); code != ExitFailed || !strings.Contains(out, "ambiguous") {
		t.Fatalf("ambiguous prefix: %d %s", code, out)
	}

	if code, out := run("", "runs", "cancel", "--deployment", "echo", "--state", "Scheduled", "--dry-run"); code != ExitOK || !strings.Contains(out, "3 matched, 3 would be cancelled") {
		t.Fatalf("dry run: %d %s", code, out)
	}
	if code, out := run("", "runs", "cancel", "--deployment", "echo", "--reason", "freeze"); code != ExitOK || !strings.Contains(out, "3 matched, 3 cancelled, 0 skipped") {
		t.Fatalf("bulk cancel: %d %s", code, out)
	}
	hist, err := st.RunHistory(ctx, ids[2])
	if err != nil || len(hist) != 2 || !strings.Contains(hist[1].Message, "freeze") {
		t.Fatalf("history after bulk cancel: %v %v", hist, err)
	}
	if code, out := run("", "runs", "retry", short[ids[0]]); code != ExitOK || !strings.Contains(out, "only Failed and Crashed") {
		t.Fatalf("retry of a cancelled run: %d %s", code, out)
	}

	if code, out := run("", "deployments"); code != ExitOK || !strings.Contains(out, "0 * * * * Europe/Berlin") {
		t.Fatalf("deployments: %d %s", code, out)
	}
	if code, out := run("", "deployments", "pause", "echo"); code != ExitOK || !strings.Contains(out, "paused=true") {
		t.Fatalf("pause: %d %s", code, out)
	}
	if d, _ := st.GetDeployment(ctx, "echo"); !d.Paused {
		t.Fatal("deployment not paused")
	}
	if code, out := run("", "deployments", "resume", "echo", "--json"); code != ExitOK || !strings.Contains(out, `"paused": false`) {
		t.Fatalf("resume: %d %s", code, out)
	}
	if code, out := run("", "run", "nope"); code != ExitFailed || !strings.Contains(out, "did you run `t deploy`?") {
		t.Fatalf("unknown deployment: %d %s", code, out)
	}

	if code, out := run("{\"vlan\": 10}\n", "variables", "set", "site"); code != ExitOK {
		t.Fatalf("variables set: %d %s", code, out)
	}
	if code, out := run("", "variables", "get", "site"); code != ExitOK || strings.TrimSpace(out) != `{"vlan":10}` {
		t.Fatalf("variables get: %d %q", code, out)
	}
	if code, out := run("", "variables", "--json"); code != ExitOK || !strings.Contains(out, `"site"`) {
		t.Fatalf("variables list: %d %s", code, out)
	}
	if code, out := run("", "variables", "delete", "site"); code != ExitOK {
		t.Fatalf("variables delete: %d %s", code, out)
	}

	if code, out := run("s3cr3t-value\n", "secrets", "set", "f5"); code != ExitOK {
		t.Fatalf("secrets set: %d %s", code, out)
	}
	if s, err := st.GetSecret(ctx, "f5"); err != nil || s.Reveal() != "s3cr3t-value" {
		t.Fatalf("secret stored: %v", err)
	}
	code, out = run("", "secrets", "--json")
	if code != ExitOK || !strings.Contains(out, `"f5"`) || strings.Contains(out, "s3cr3t") {
		t.Fatalf("secrets list: %d %s", code, out)
	}
	if code, out := run("", "secrets", "delete", "f5"); code != ExitOK {
		t.Fatalf("secrets delete: %d %s", code, out)
	}

	if code, out := run(`{"type":"f5","data":{"host":"lb1"},"secrets":{"password":"pw-123"}}`, "blocks", "set", "lb"); code != ExitOK {
		t.Fatalf("blocks set: %d %s", code, out)
	}
	code, out = run("", "blocks")
	if code != ExitOK || !strings.Contains(out, "password") {
		t.Fatalf("blocks list: %d %s", code, out)
	}
	code, out = run("", "blocks", "show", "lb")
	if code != ExitOK || strings.Contains(out, "pw-123") || !strings.Contains(out, "lb1") {
		t.Fatalf("blocks show: %d %s", code, out)
	}
	if code, out := run("", "flows", "--json"); code != ExitOK || !strings.Contains(out, `"name": "echo"`) {
		t.Fatalf("flows --json: %d %s", code, out)
	}
	if err := st.AppendLogs(ctx, []flow.LogRecord{{RunID: ids[0], FlowRunID: ids[0], Time: time.Now(), Message: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if code, out := run("", "logs", short[ids[0]], "--json"); code != ExitOK || !strings.Contains(out, `"message":"hello"`) {
		t.Fatalf("logs --json: %d %q", code, out)
	}
	if code, out := run("", "version", "--json"); code != ExitOK || !strings.Contains(out, `"server"`) {
		t.Fatalf("version: %d %s", code, out)
	}
}

// TestErrorHints: the common mistakes say what to do.
func TestErrorHints(t *testing.T) {
	_, run := opsEnv(t)
	t.Setenv(EnvAPIKey, "na_wrong-key-0123456789abcdef")
	if code, out := run("", "runs"); code != ExitFailed || !strings.Contains(out, "set "+EnvAPIKey) {
		t.Fatalf("401: %d %s", code, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	t.Setenv(EnvAPIURL, "http://"+addr)
	if code, out := run("", "runs"); code != ExitFailed || !strings.Contains(out, "server not reachable at http://"+addr+": is `t server` running?") {
		t.Fatalf("unreachable: %d %s", code, out)
	}
}

// The program's own commands are listed by help and dispatched.
func TestAppCommands(t *testing.T) {
	ran := ""
	app := &App{Name: "t", Commands: []Command{{Name: "demo", Args: "[--once]", Help: "the whole system on fakes",
		Run: func(_ context.Context, args []string, _, _ io.Writer) int { ran = strings.Join(args, " "); return 3 }}}}
	var out, errOut bytes.Buffer
	if code := app.Run(context.Background(), []string{"--help"}, &out, &errOut); code != ExitOK || !strings.Contains(errOut.String(), "demo") || !strings.Contains(errOut.String(), "deployments") {
		t.Fatalf("help: %d %s", code, errOut.String())
	}
	if code := app.Run(context.Background(), []string{"demo", "--once"}, &out, &errOut); code != 3 || ran != "--once" {
		t.Fatalf("demo: %d %q", code, ran)
	}
	bad := &App{Commands: []Command{{Name: "deploy", Run: app.Commands[0].Run}}}
	if code := bad.Run(context.Background(), []string{"flows"}, &out, &errOut); code != ExitFailed || !strings.Contains(errOut.String(), "already a command") {
		t.Fatalf("clash: %d %s", code, errOut.String())
	}
}
