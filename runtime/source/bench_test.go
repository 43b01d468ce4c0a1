package source_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/worker"
)

type nopLauncher struct{}

func (nopLauncher) Launch(context.Context, worker.Job) error { return nil }

// benchLaunch measures source.Launcher.Launch in front of a launcher that
// does nothing: the Git source's overhead beyond the launch itself.
func benchLaunch(b *testing.B, ref func(r *testRepo, c string) string) {
	r := newTestRepo(b)
	c := r.commit(flowVersion{Greeting: "bench", Extra: "N int `json:\"n,omitempty\"`"})
	ctx := context.Background()
	key, _ := store.NewKey(bytes.Repeat([]byte{7}, 32))
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "db"), store.Options{Key: key})
	must(b, err)
	defer st.Close()
	must(b, st.ApplyPool(ctx, store.Pool{Name: "git", Type: "process"}))
	_, err = st.ApplyDeployment(ctx, store.Deployment{Name: "greet", Flow: "greet", Pool: "git",
		Source: &store.Source{Repository: r.url(), Ref: ref(r, c), Entrypoint: "cmd/flows"}})
	must(b, err)
	run, _, err := st.CreateRun(ctx, store.RunSpec{Deployment: "greet", Parameters: []byte(`{"name":"b","n":1}`)})
	must(b, err)
	l := &source.Launcher{Next: nopLauncher{}, Store: st, Cache: &source.Cache{Dir: b.TempDir(), AllowFile: true, Env: buildEnv}}
	job := worker.Job{Run: run, Started: func(string) {}, Fenced: func() bool { return false }}
	must(b, l.Launch(ctx, job)) // the first build, not measured
	var ds []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := l.Launch(ctx, job); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	reportMedian(b, ds)
}

func reportMedian(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	if len(ds) > 0 {
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, "ms-median")
	}
}

// BenchmarkGitPinnedCommit: a ref pinned to a commit already built (target
// ≤ 50 ms beyond the launch).
func BenchmarkGitPinnedCommit(b *testing.B) {
	benchLaunch(b, func(_ *testRepo, c string) string { return c })
}

// BenchmarkGitBranchRef: a branch ref, resolved against the remote at
// every run (file:// runs git-upload-pack).
func BenchmarkGitBranchRef(b *testing.B) {
	benchLaunch(b, func(r *testRepo, c string) string { r.setBranch("bench", c); return "bench" })
}

// BenchmarkGitFirstBuild: fetch, check out, build and describe a commit
// into an empty cache (Go's module and build caches warm, as on a worker
// that has built before).
func BenchmarkGitFirstBuild(b *testing.B) {
	r := newTestRepo(b)
	c := r.commit(flowVersion{Greeting: "first"})
	ctx := context.Background()
	var ds []time.Duration
	for b.Loop() {
		cache := &source.Cache{Dir: b.TempDir(), AllowFile: true, Env: buildEnv}
		if os.Getenv("NETAUTO_BENCH_COLD") == "1" {
			// A worker's very first build: an empty Go build cache too.
			cache.Env = append(cache.Env, "GOCACHE="+b.TempDir())
		}
		t0 := time.Now()
		bd, err := cache.Prepare(ctx, source.Request{Source: store.Source{Repository: r.url(), Ref: c, Entrypoint: "cmd/flows"}})
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
		if !bd.Built {
			b.Fatal("not built")
		}
	}
	reportMedian(b, ds)
}
