package source_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/source/sourcetest"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// buildEnv is what a test build needs (see sourcetest.BuildEnv).
var buildEnv = sourcetest.BuildEnv

// flowVersion is one commit's flow program.
type flowVersion struct {
	// Greeting is what the flow's result starts with.
	Greeting string
	// Extra is an extra parameter field, e.g. "Count int `json:\"count\"`".
	Extra string
	// Broken makes the program fail to compile.
	Broken bool
	// Raw replaces main.go entirely.
	Raw string
}

var mainTmpl = template.Must(template.New("main").Parse(`package main

import (
	"context"
	"fmt"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
)

// Params are the flow's parameters.
type Params struct {
	Name string ` + "`json:\"name\"`" + `
	{{.Extra}}
}

var greet = flow.New("greet", func(ctx context.Context, p Params) (string, error) {
	fmt.Println("greeting", p.Name)
	return "{{.Greeting}} " + p.Name, nil
}, flow.WithDescription("greets someone"))

func main() { agent.Main(greet){{if .Broken}}; undefinedThing(){{end}} }
`))

// testRepo is a generated Git repository holding a flow module.
type testRepo struct {
	*sourcetest.Repo
	t   testing.TB
	dir string
}

func newTestRepo(t testing.TB) *testRepo {
	t.Helper()
	r := sourcetest.NewRepo(t)
	return &testRepo{Repo: r, t: t, dir: r.Dir}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// commit commits v as cmd/flows/main.go on the current branch and
// returns the commit hash.
func (r *testRepo) commit(v flowVersion) string {
	r.t.Helper()
	var b bytes.Buffer
	if v.Raw != "" {
		b.WriteString(v.Raw)
	} else {
		must(r.t, mainTmpl.Execute(&b, v))
	}
	return r.Commit(b.String(), "flow "+v.Greeting)
}

// setBranch points a branch at a commit.
func (r *testRepo) setBranch(name, commit string) { r.SetBranch(name, commit) }

func (r *testRepo) url() string { return r.URL() }

// harness is a store, an API server and a worker whose process launcher
// runs Git-sourced builds.
type harness struct {
	t      testing.TB
	st     store.Store
	srv    *api.Server
	url    string
	cache  *source.Cache
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan error
	next   *countingLauncher
}

// countingLauncher counts launches and remembers their binaries.
type countingLauncher struct {
	worker.Launcher
	mu       sync.Mutex
	binaries []string
}

func (c *countingLauncher) Launch(ctx context.Context, job worker.Job) error {
	c.mu.Lock()
	c.binaries = append(c.binaries, job.Binary)
	c.mu.Unlock()
	return c.Launcher.Launch(ctx, job)
}

func newHarness(t testing.TB, cacheDir string) *harness {
	t.Helper()
	ctx := context.Background()
	key, err := store.NewKey(bytes.Repeat([]byte{7}, 32))
	must(t, err)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{Key: key})
	must(t, err)
	t.Cleanup(func() { st.Close() })
	srv, err := api.New(st, api.Options{})
	must(t, err)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	must(t, st.ApplyPool(ctx, store.Pool{Name: "git", Type: "process"}))
	if cacheDir == "" {
		cacheDir = t.TempDir()
	}
	h := &harness{t: t, st: st, srv: srv, url: hs.URL}
	h.cache = &source.Cache{Dir: cacheDir, AllowFile: true, Env: buildEnv}
	proc := &worker.Process{Logs: st, Grace: 5 * time.Second, Env: func(_ context.Context, run store.FlowRun) ([]string, error) {
		tok, _, err := srv.MintRunToken(context.Background(), store.FenceOf(run), time.Hour)
		if err != nil {
			return nil, err
		}
		doc, _ := json.Marshal(run)
		return []string{"NETAUTO_API_URL=" + hs.URL, "NETAUTO_RUN_TOKEN=" + tok, "NETAUTO_RUN=" + string(doc)}, nil
	}}
	h.next = &countingLauncher{Launcher: proc}
	l := &source.Launcher{Next: h.next, Cache: h.cache, Store: st}
	h.w, err = worker.New(st, worker.Options{Pool: "git", Launcher: l, LauncherType: "process", Concurrency: 4, Lease: 10 * time.Second, Poll: 20 * time.Millisecond})
	must(t, err)
	wctx, cancel := context.WithCancel(ctx)
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

// deploy applies a deployment of flow greet from src.
func (h *harness) deploy(name string, src store.Source, params string) {
	h.t.Helper()
	d := store.Deployment{Name: name, Flow: "greet", Pool: "git", Source: &src}
	if params != "" {
		d.Parameters = json.RawMessage(params)
	}
	_, err := h.st.ApplyDeployment(context.Background(), d)
	must(h.t, err)
}

// run creates a run of the deployment and waits for its final state.
func (h *harness) run(dep, params string) store.FlowRun {
	h.t.Helper()
	id := h.start(dep, params)
	return h.wait(id)
}

func (h *harness) start(dep, params string) string {
	h.t.Helper()
	run, _, err := h.st.CreateRun(context.Background(), store.RunSpec{Deployment: dep, Parameters: json.RawMessage(params)})
	must(h.t, err)
	h.w.Wake()
	return run.ID
}

func (h *harness) wait(id string) store.FlowRun {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for {
		run, err := h.st.GetRun(ctx, id)
		must(h.t, err)
		if run.State.Final() {
			return run
		}
		select {
		case <-ctx.Done():
			h.t.Fatalf("run %s still %s", id, run.State)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (h *harness) result(id string) string {
	h.t.Helper()
	raw, ok, err := h.st.RunResult(context.Background(), id)
	must(h.t, err)
	if !ok {
		h.t.Fatalf("run %s has no result", id)
	}
	var s string
	must(h.t, json.Unmarshal(raw, &s))
	return s
}

func (h *harness) logs(id string) string {
	h.t.Helper()
	recs, _, err := h.st.Logs(context.Background(), store.LogQuery{FlowRunID: id, Limit: 1000})
	must(h.t, err)
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.Message)
		b.WriteByte('\n')
	}
	return b.String()
}

// countBuilds counts the published builds in a cache directory.
func countBuilds(t testing.TB, cache string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(cache, "builds"))
	must(t, err)
	n := 0
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// waitLogs polls the run's logs until they contain want, for at most 10s,
// and returns them.
func (h *harness) waitLogs(id, want string) string {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		logs := h.logs(id)
		if strings.Contains(logs, want) || time.Now().After(deadline) {
			return logs
		}
		time.Sleep(20 * time.Millisecond)
	}
}
