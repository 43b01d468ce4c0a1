package docker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/source/sourcetest"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// The Git and registry tests have their own pool, base image and label,
// so that their clean-up never touches what other tests create.
const (
	gitPool      = "dockergit"
	gitBaseImage = "netauto-dockergit:base"
	gitLabel     = "netauto.test"
	gitLabelVal  = "dockergit"
)

// gitBuildBase builds the FROM scratch base image of the Git tests: the
// static test orchestrator alone (a derived image adds the flow binary).
func gitBuildBase(t testing.TB, cli *mclient.Client, tag string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", "timetzdata", "-o", filepath.Join(dir, "netauto"), "./internal/dockerapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY netauto /usr/local/bin/netauto\nENV PATH=/usr/local/bin\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := docker.BuildImage(context.Background(), cli, docker.BuildOptions{ContextDir: dir, Tags: []string{tag}, Labels: map[string]string{gitLabel: gitLabelVal}}); err != nil {
		t.Fatalf("build base image: %v", err)
	}
}

// gitCleanup removes the pool's containers, the derived images of the
// given commits and the images labelled for these tests.
func gitCleanup(cli *mclient.Client, commits ...string) {
	ctx := context.Background()
	cs, _ := cli.ContainerList(ctx, mclient.ContainerListOptions{All: true, Filters: mclient.Filters{}.Add("label", docker.LabelPool+"="+gitPool)})
	for _, c := range cs.Items {
		_, _ = cli.ContainerRemove(ctx, c.ID, mclient.ContainerRemoveOptions{Force: true})
	}
	for _, c := range commits {
		ims, _ := cli.ImageList(ctx, mclient.ImageListOptions{Filters: mclient.Filters{}.Add("label", docker.LabelDerived+"="+c)})
		for _, im := range ims.Items {
			_, _ = cli.ImageRemove(ctx, im.ID, mclient.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	}
	ims, _ := cli.ImageList(ctx, mclient.ImageListOptions{Filters: mclient.Filters{}.Add("label", gitLabel+"="+gitLabelVal)})
	for _, im := range ims.Items {
		_, _ = cli.ImageRemove(ctx, im.ID, mclient.ImageRemoveOptions{Force: true, PruneChildren: true})
	}
}

// derivedImages lists the derived images of a commit.
func derivedImages(t testing.TB, cli *mclient.Client, commit string) []string {
	t.Helper()
	ims, err := cli.ImageList(context.Background(), mclient.ImageListOptions{Filters: mclient.Filters{}.Add("label", docker.LabelDerived+"="+commit)})
	if err != nil {
		t.Fatalf("list derived images: %v", err)
	}
	var ids []string
	for _, im := range ims.Items {
		ids = append(ids, im.ID)
	}
	return ids
}

// flowRepo is a generated repository of a flow binary whose result and
// output carry a marker per commit.
type flowRepo struct{ *sourcetest.Repo }

func newFlowRepo(t testing.TB) *flowRepo { return &flowRepo{sourcetest.NewRepo(t)} }

const markerMain = `package main

import (
	"context"
	"fmt"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
)

// Params are the flow's parameters.
type Params struct {
	Name string ` + "`json:\"name\"`" + `
}

var marker = flow.New("marker", func(ctx context.Context, p Params) (string, error) {
	fmt.Println("marker MARKER for", p.Name)
	return "MARKER " + p.Name, nil
})

func main() { agent.Main(marker) }
`

// commit commits a flow binary whose marker is m and returns the hash.
func (r *flowRepo) commit(m string) string {
	return r.Commit(strings.ReplaceAll(markerMain, "MARKER", m), "flow "+m)
}

func (r *flowRepo) setBranch(name, commit string) { r.SetBranch(name, commit) }

func (r *flowRepo) url() string { return r.URL() }

// stamps records, per run, when a launcher wrapper was entered.
type stamps struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (s *stamps) get(id string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.at[id]
}

// stampLauncher stamps each run on entry, optionally rewrites its job,
// then calls Next.
type stampLauncher struct {
	worker.Launcher
	s       *stamps
	rewrite func(*worker.Job)
}

func (l *stampLauncher) Launch(ctx context.Context, job worker.Job) error {
	l.s.mu.Lock()
	if l.s.at == nil {
		l.s.at = map[string]time.Time{}
	}
	l.s.at[job.Run.ID] = time.Now()
	l.s.mu.Unlock()
	if l.rewrite != nil {
		l.rewrite(&job)
	}
	return l.Launcher.Launch(ctx, job)
}

// gitDocker is a store, an API server on 127.0.0.1 (httptest), and an
// in-process worker of the docker pool whose launcher is
// source.Launcher{Next: docker.Launcher}, both wrapped to time them.
type gitDocker struct {
	t      testing.TB
	cli    *mclient.Client
	st     store.Store
	url    string
	w      *worker.Worker
	outer  *stamps // entry of the source launcher
	inner  *stamps // entry of the docker launcher
	mu     sync.Mutex
	binary map[string]string // commit -> built flow binary, seen by the docker launcher
	// plain maps a source-less deployment to the commit whose build the
	// docker launcher gets directly (the plain launch of the benchmark).
	plain map[string]string
}

func newGitDocker(t testing.TB, cli *mclient.Client, template string) *gitDocker {
	t.Helper()
	ctx := context.Background()
	key, err := store.NewKey(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := api.New(st, api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv) // 127.0.0.1: the containers use host networking
	t.Cleanup(hs.Close)
	if err := st.ApplyPool(ctx, store.Pool{Name: gitPool, Type: "docker", JobTemplate: json.RawMessage(template)}); err != nil {
		t.Fatal(err)
	}
	g := &gitDocker{t: t, cli: cli, st: st, url: hs.URL, outer: &stamps{}, inner: &stamps{}, binary: map[string]string{}, plain: map[string]string{}}
	dl := &docker.Launcher{Client: cli, Store: st, Worker: "dockergit-worker", Grace: 5 * time.Second,
		Env: func(_ context.Context, run store.FlowRun) ([]string, error) {
			tok, _, err := srv.MintRunToken(context.Background(), store.FenceOf(run), time.Hour)
			if err != nil {
				return nil, err
			}
			doc, err := json.Marshal(run)
			if err != nil {
				return nil, err
			}
			return []string{"NETAUTO_API_URL=" + hs.URL, "NETAUTO_RUN_TOKEN=" + tok, "NETAUTO_RUN=" + string(doc)}, nil
		}}
	inner := &stampLauncher{Launcher: dl, s: g.inner, rewrite: func(job *worker.Job) {
		g.mu.Lock()
		defer g.mu.Unlock()
		if job.Commit != "" {
			g.binary[job.Commit] = job.Binary
		}
		if c, ok := g.plain[job.Run.Deployment]; ok {
			job.Binary, job.Commit = g.binary[c], c
		}
	}}
	cache := &source.Cache{Dir: t.TempDir(), AllowFile: true, Env: []string{"GOFLAGS=-mod=mod"}}
	outer := &stampLauncher{Launcher: &source.Launcher{Next: inner, Cache: cache, Store: st}, s: g.outer}
	g.w, err = worker.New(st, worker.Options{Name: "dockergit-worker", Pool: gitPool, Launcher: outer, LauncherType: "docker",
		Concurrency: 2, Lease: 10 * time.Second, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- g.w.Run(wctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return g
}

// deploy applies a deployment of flow marker on the pool.
func (g *gitDocker) deploy(name string, src *store.Source, vars string) {
	g.t.Helper()
	d := store.Deployment{Name: name, Flow: "marker", Pool: gitPool, Source: src}
	if vars != "" {
		d.JobVariables = json.RawMessage(vars)
	}
	if _, err := g.st.ApplyDeployment(context.Background(), d); err != nil {
		g.t.Fatalf("deploy %s: %v", name, err)
	}
}

// run creates a run and waits for its final state; it returns the run
// and how long create → final took.
func (g *gitDocker) run(dep, name string) (store.FlowRun, time.Duration) {
	g.t.Helper()
	return g.runParams(dep, `{"name":"`+name+`"}`)
}

// runParams is run with the parameters as JSON.
func (g *gitDocker) runParams(dep, params string) (store.FlowRun, time.Duration) {
	g.t.Helper()
	t0 := time.Now()
	run, _, err := g.st.CreateRun(context.Background(), store.RunSpec{Deployment: dep, Parameters: json.RawMessage(params)})
	if err != nil {
		g.t.Fatalf("create run of %s: %v", dep, err)
	}
	g.w.Wake()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for {
		r, err := g.st.GetRun(ctx, run.ID)
		if err != nil {
			g.t.Fatalf("get run %s: %v", run.ID, err)
		}
		if r.State.Final() {
			return r, time.Since(t0)
		}
		select {
		case <-ctx.Done():
			g.t.Fatalf("run %s of %s still %s", run.ID, dep, r.State)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (g *gitDocker) result(id string) string {
	g.t.Helper()
	raw, ok, err := g.st.RunResult(context.Background(), id)
	if err != nil || !ok {
		g.t.Fatalf("result of run %s: %v (present %v)", id, err, ok)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		g.t.Fatalf("result of run %s: %v", id, err)
	}
	return s
}

func (g *gitDocker) logs(id string) string {
	g.t.Helper()
	recs, _, err := g.st.Logs(context.Background(), store.LogQuery{FlowRunID: id, Limit: 1000})
	if err != nil {
		g.t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.Message)
		b.WriteByte('\n')
	}
	return b.String()
}

// overhead is how long the source launcher took before it handed the run
// to the docker launcher.
func (g *gitDocker) overhead(id string) time.Duration {
	return g.inner.get(id).Sub(g.outer.get(id))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
