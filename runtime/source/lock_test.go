package source_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestGitPrepareHelper is the child of TestGitPrepareAcrossProcesses: it
// prepares the source in $GIT_HELPER_SOURCE into $GIT_HELPER_CACHE and
// prints whether it built.
func TestGitPrepareHelper(t *testing.T) {
	if os.Getenv("GIT_HELPER_CACHE") == "" {
		t.Skip("only run as a child process")
	}
	var src store.Source
	must(t, json.Unmarshal([]byte(os.Getenv("GIT_HELPER_SOURCE")), &src))
	cache := &source.Cache{Dir: os.Getenv("GIT_HELPER_CACHE"), AllowFile: true, Env: buildEnv}
	b, err := cache.Prepare(context.Background(), source.Request{Source: src})
	must(t, err)
	fmt.Printf("built=%v binary=%s\n", b.Built, b.Binary)
}

// TestGitPrepareAcrossProcesses: worker processes sharing a cache
// directory build a new commit once between them (file locks).
func TestGitPrepareAcrossProcesses(t *testing.T) {
	r := newTestRepo(t)
	c := r.commit(flowVersion{Greeting: "shared"})
	cache := t.TempDir()
	doc, _ := json.Marshal(store.Source{Repository: r.url(), Ref: c, Entrypoint: "cmd/flows"})
	const n = 3
	outs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestGitPrepareHelper$", "-test.v")
			cmd.Env = append(os.Environ(), "GIT_HELPER_CACHE="+cache, "GIT_HELPER_SOURCE="+string(doc))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("child %d: %v\n%s", i, err, out)
			}
			outs[i] = string(out)
		})
	}
	wg.Wait()
	built := 0
	for _, o := range outs {
		var b bool
		var bin string
		for _, line := range strings.Split(o, "\n") {
			if _, err := fmt.Sscanf(line, "built=%t binary=%s", &b, &bin); err == nil {
				if b {
					built++
				}
			}
		}
	}
	if built != 1 {
		t.Errorf("%d processes built the commit, want 1:\n%v", built, outs)
	}
	if got := countBuilds(t, cache); got != 1 {
		t.Errorf("%d builds in the cache", got)
	}
}
