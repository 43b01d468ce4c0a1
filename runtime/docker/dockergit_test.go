package docker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	mclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestDockerGitCommits runs, on the real engine, a flow binary pulled
// from a generated Git repository in containers of a docker pool whose
// image is a FROM scratch base: the worker's launcher is
// source.Launcher{Next: docker.Launcher}, so each commit runs in an image
// derived from the base plus that commit's build. Runs pinned to each of
// two commits report their commit and behave like it; a branch ref
// follows the branch; deploying the older ref again rolls back; the
// derived image of a commit is built once and reused. It logs the
// figures of the benchmark: the first build, the source
// launcher's overhead for a pinned commit whose image is built and for a
// branch ref, and the median create → final of a pinned run against the
// plain docker launch of the same image.
func TestDockerGitCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Go code and images, runs containers")
	}
	cli := proctest.DockerEngine(t)
	r := newFlowRepo(t)
	ca := r.commit("alpha")
	cb := r.commit("bravo")
	r.setBranch("release", ca)
	gitCleanup(cli, ca, cb)
	t.Cleanup(func() { gitCleanup(cli, ca, cb) })
	gitBuildBase(t, cli, gitBaseImage)
	g := newGitDocker(t, cli, `{"image":"`+gitBaseImage+`","image_pull_policy":"Never","network_mode":"host","allow":{"network_modes":["host"]}}`)

	src := func(ref string) *store.Source {
		return &store.Source{Repository: r.url(), Ref: ref, Entrypoint: "./cmd/flows"}
	}
	check := func(t *testing.T, dep, name, commit, marker string) (store.FlowRun, time.Duration) {
		t.Helper()
		run, took := g.run(dep, name)
		if run.State.Type != flow.TypeCompleted {
			t.Fatalf("run of %s: %s; logs:\n%s", dep, run.State, g.logs(run.ID))
		}
		if run.SourceCommit != commit {
			t.Errorf("run of %s: commit %q, want %q", dep, run.SourceCommit, commit)
		}
		if got, want := g.result(run.ID), marker+" "+name; got != want {
			t.Errorf("run of %s: result %q, want %q", dep, got, want)
		}
		// The container's output reaches the logs as the container ends,
		// which may be after the run's final state: await it.
		want := "marker " + marker + " for " + name
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(g.logs(run.ID), want) {
			if time.Now().After(deadline) {
				t.Errorf("run of %s: %q not in the logs:\n%s", dep, want, g.logs(run.ID))
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		return run, took
	}

	g.deploy("pin-a", src(ca), "")
	g.deploy("pin-b", src(cb), "")
	g.deploy("branch", src("release"), "")

	// First runs: fetch, go build, derived image build.
	_, firstA := check(t, "pin-a", "ada", ca, "alpha")
	_, firstB := check(t, "pin-b", "bob", cb, "bravo")
	imA, imB := derivedImages(t, cli, ca), derivedImages(t, cli, cb)
	if len(imA) != 1 || len(imB) != 1 || imA[0] == imB[0] {
		t.Fatalf("derived images: commit A %v, commit B %v; want one each, distinct", imA, imB)
	}

	t.Run("DerivedImageReused", func(t *testing.T) {
		_, again := check(t, "pin-a", "cy", ca, "alpha")
		if got := derivedImages(t, cli, ca); !slices.Equal(got, imA) {
			t.Errorf("derived image of commit A after a second run: %v, want %v (built once)", got, imA)
		}
		t.Logf("commit A: first run %v (fetch + build + image), second run %v", firstA, again)
	})

	t.Run("DerivedImagePrunedIsBuiltAgain", func(t *testing.T) {
		// An operator's `docker image prune -a` removes the derived
		// image the worker built and remembers: the next run builds it
		// again instead of failing to create its container.
		for _, id := range derivedImages(t, cli, ca) {
			if _, err := cli.ImageRemove(t.Context(), id, mclient.ImageRemoveOptions{Force: true}); err != nil {
				t.Fatal(err)
			}
		}
		check(t, "pin-a", "pru", ca, "alpha")
		if got := derivedImages(t, cli, ca); len(got) != 1 {
			t.Errorf("derived images of commit A after the prune and a run: %v, want one", got)
		}
		imA = derivedImages(t, cli, ca)
	})

	t.Run("BranchMoves", func(t *testing.T) {
		check(t, "branch", "di", ca, "alpha")
		r.setBranch("release", cb)
		check(t, "branch", "ed", cb, "bravo")
		if got := derivedImages(t, cli, cb); !slices.Equal(got, imB) {
			t.Errorf("derived image of commit B after the branch moved: %v, want %v", got, imB)
		}
	})

	t.Run("Rollback", func(t *testing.T) {
		g.deploy("prod", src(cb), "")
		check(t, "prod", "fay", cb, "bravo")
		g.deploy("prod", src(ca), "") // roll back: deploy the older ref again
		check(t, "prod", "gus", ca, "alpha")
		g.deploy("prod", src(cb), "") // and forward again
		check(t, "prod", "hal", cb, "bravo")
	})

	t.Run("Overhead", func(t *testing.T) {
		// plain: a deployment without source whose runs the docker
		// launcher gets with commit A's build, as if no source launcher
		// were there: the same derived image, the same container.
		g.mu.Lock()
		g.plain["plain"] = ca
		g.mu.Unlock()
		g.deploy("plain", nil, "")
		const n = 7
		var pinned, plain, pinOver, branchOver []time.Duration
		for range n {
			run, took := check(t, "pin-a", "x", ca, "alpha")
			pinned, pinOver = append(pinned, took), append(pinOver, g.overhead(run.ID))
			_, took = check(t, "plain", "x", "", "alpha") // no source: no commit recorded
			plain = append(plain, took)
			run, _ = check(t, "branch", "x", cb, "bravo")
			branchOver = append(branchOver, g.overhead(run.ID))
		}
		t.Logf("first run (fetch + go build + derived image): commit A %v, commit B %v", firstA, firstB)
		t.Logf("create → final, median of %d: pinned commit %v, plain docker launch %v (difference %v)",
			n, median(pinned), median(plain), median(pinned)-median(plain))
		t.Logf("source launcher overhead before the docker launch, median of %d: pinned commit %v, branch ref (resolve + fetch) %v",
			n, median(pinOver), median(branchOver))
		// Figures only: the ≤ 50 ms target for a pinned commit whose image
		// is built is not asserted here (a timed test on a shared machine
		// fails on noise); the run-reuses-image behaviour is asserted by
		// the subtests above, the figure is read from -v output.
	})
}
