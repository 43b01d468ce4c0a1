package source_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// TestGitCommitsRollbackAndBranch runs a deployment pinned to each of two
// commits (real child processes through the process launcher), rolls
// back by deploying the older ref, and follows a branch that moves.
func TestGitCommitsRollbackAndBranch(t *testing.T) {
	r := newTestRepo(t)
	c1 := r.commit(flowVersion{Greeting: "hello"})
	c2 := r.commit(flowVersion{Greeting: "bonjour"})
	r.setBranch("release", c1)
	h := newHarness(t, "")

	h.deploy("greet", store.Source{Repository: r.url(), Ref: c2, Entrypoint: "./cmd/flows"}, "")
	run := h.run("greet", `{"name":"ada"}`)
	if run.State.Type != flow.TypeCompleted {
		t.Fatalf("run at c2: %s; logs:\n%s", run.State, h.logs(run.ID))
	}
	if run.SourceCommit != c2 || h.result(run.ID) != "bonjour ada" {
		t.Fatalf("run at c2: commit %s result %q", run.SourceCommit, h.result(run.ID))
	}
	// The child reports Completed before its output is flushed: wait.
	if logs := h.waitLogs(run.ID, "greeting ada"); !strings.Contains(logs, "greeting ada") {
		t.Errorf("child output not in the run's logs:\n%s", logs)
	}
	f, err := h.st.GetFlow(context.Background(), "greet")
	if err != nil || f.Version != c2 || f.Description != "greets someone" {
		t.Errorf("registered flow: %+v, %v", f, err)
	}

	// Rollback: deploy the older commit.
	h.deploy("greet", store.Source{Repository: r.url(), Ref: c1, Entrypoint: "cmd/flows"}, "")
	run = h.run("greet", `{"name":"bob"}`)
	if run.State.Type != flow.TypeCompleted || run.SourceCommit != c1 || h.result(run.ID) != "hello bob" {
		t.Fatalf("rolled back run: %s commit %s; logs:\n%s", run.State, run.SourceCommit, h.logs(run.ID))
	}

	// A branch ref follows the branch.
	h.deploy("greet", store.Source{Repository: r.url(), Ref: "release", Entrypoint: "cmd/flows"}, "")
	run = h.run("greet", `{"name":"cy"}`)
	if run.SourceCommit != c1 || h.result(run.ID) != "hello cy" {
		t.Fatalf("branch at c1: commit %s", run.SourceCommit)
	}
	r.setBranch("release", c2)
	run = h.run("greet", `{"name":"di"}`)
	if run.SourceCommit != c2 || h.result(run.ID) != "bonjour di" {
		t.Fatalf("branch moved to c2: commit %s, state %s", run.SourceCommit, run.State)
	}
}

// TestGitConcurrentRunsBuildOnce starts runs of one new commit at once,
// from two workers sharing a cache directory: one build serves them all.
func TestGitConcurrentRunsBuildOnce(t *testing.T) {
	r := newTestRepo(t)
	c := r.commit(flowVersion{Greeting: "hi", Extra: "N int `json:\"n,omitempty\"`"})
	cache := t.TempDir()
	h1 := newHarness(t, cache)
	src := store.Source{Repository: r.url(), Ref: c, Entrypoint: "cmd/flows"}
	h1.deploy("greet", src, "")
	// The second worker has its own store: a separate orchestrator
	// sharing the cache directory (as two worker processes on one host).
	h2 := newHarness(t, cache)
	h2.deploy("greet", src, "")
	var ids1, ids2 []string
	for range 3 {
		ids1 = append(ids1, h1.start("greet", `{"name":"x"}`))
		ids2 = append(ids2, h2.start("greet", `{"name":"y"}`))
	}
	var wg sync.WaitGroup
	check := func(h *harness, ids []string, want string) {
		for _, id := range ids {
			run := h.wait(id)
			if run.State.Type != flow.TypeCompleted || run.SourceCommit != c {
				t.Errorf("run %s: %s commit %s\n%s", id, run.State, run.SourceCommit, h.logs(id))
			} else if got := h.result(id); got != want {
				t.Errorf("run %s: %q", id, got)
			}
		}
	}
	wg.Go(func() { check(h1, ids1, "hi x") })
	wg.Go(func() { check(h2, ids2, "hi y") })
	wg.Wait()
	bins := map[string]bool{}
	for _, h := range []*harness{h1, h2} {
		for _, b := range h.next.binaries {
			bins[b] = true
		}
	}
	if len(bins) != 1 {
		t.Errorf("runs used %d binaries, want 1 build: %v", len(bins), bins)
	}
	builds := countBuilds(t, cache)
	if builds != 1 {
		t.Errorf("%d builds in the cache, want 1", builds)
	}
}

// recordingLauncher remembers the jobs it was given.
type recordingLauncher struct{ jobs []worker.Job }

func (r *recordingLauncher) Launch(_ context.Context, job worker.Job) error {
	r.jobs = append(r.jobs, job)
	return nil
}

// TestGitRetryKeepsCommit: a retried run whose first attempt recorded a
// commit runs that commit again, though its branch moved.
func TestGitRetryKeepsCommit(t *testing.T) {
	r := newTestRepo(t)
	c1 := r.commit(flowVersion{Greeting: "one"})
	c2 := r.commit(flowVersion{Greeting: "two"})
	r.setBranch("main", c2)
	h := newHarness(t, "")
	h.cancel() // no worker: this test calls the launcher itself
	h.deploy("greet", store.Source{Repository: r.url(), Ref: "main", Entrypoint: "cmd/flows"}, "")
	next := &recordingLauncher{}
	l := &source.Launcher{Next: next, Cache: h.cache, Store: h.st}
	ctx := context.Background()
	run, _, err := h.st.CreateRun(ctx, store.RunSpec{Deployment: "greet", Parameters: []byte(`{"name":"x"}`)})
	must(t, err)
	job := worker.Job{Run: run, Started: func(string) {}, Fenced: func() bool { return false }}
	must(t, l.Launch(ctx, job))
	job.Run.SourceCommit, job.Run.Attempt = c1, 2
	must(t, l.Launch(ctx, job))
	if len(next.jobs) != 2 || next.jobs[0].Commit != c2 || next.jobs[1].Commit != c1 {
		t.Fatalf("commits launched: %+v", next.jobs)
	}
	got, err := h.st.GetRun(ctx, run.ID)
	if err != nil || got.SourceCommit != c1 {
		t.Errorf("recorded commit %s, want %s (%v)", got.SourceCommit, c1, err)
	}
}
