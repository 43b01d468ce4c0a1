// Package sourcetest generates Git repositories holding flow modules, for
// tests of Git-sourced deployments. A generated module's go.mod requires
// github.com/netauto-dev/netauto and replaces it with this checkout (with
// its go.sum), because the module is not on the proxy; builds need
// GOFLAGS=-mod=mod ([BuildEnv]).
package sourcetest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Entrypoint is the package path of the flow binary in a generated
// repository.
const Entrypoint = "./cmd/flows"

// BuildEnv is what a build of a generated module needs: -mod=mod, so that
// go fills go.mod from the replaced module's requirements (the module
// cache has them; GOPROXY stays the environment's).
var BuildEnv = []string{"GOFLAGS=-mod=mod"}

// ModuleRoot returns this checkout's root, which generated repositories
// replace github.com/netauto-dev/netauto with.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// Repo is a generated Git repository (non-bare, in a temporary directory)
// holding a flow module.
type Repo struct {
	// Dir is the repository's working tree.
	Dir  string
	t    testing.TB
	repo *git.Repository
}

// NewRepo creates an empty repository with the module's go.mod and
// go.sum, not yet committed.
func NewRepo(t testing.TB) *Repo {
	t.Helper()
	root := ModuleRoot(t)
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	gomod := "module example.com/flows\n\ngo 1.26\n\nrequire github.com/netauto-dev/netauto v0.0.0\n\nreplace github.com/netauto-dev/netauto => " + root + "\n"
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	r := &Repo{Dir: dir, t: t, repo: repo}
	r.must(os.MkdirAll(filepath.Join(dir, filepath.FromSlash(Entrypoint)), 0o755))
	r.must(os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	r.must(os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644))
	return r
}

func (r *Repo) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

// Commit writes mainGo as the entrypoint's main.go, commits the whole
// tree on the current branch with message, and returns the commit hash.
func (r *Repo) Commit(mainGo, message string) string {
	r.t.Helper()
	r.must(os.WriteFile(filepath.Join(r.Dir, filepath.FromSlash(Entrypoint), "main.go"), []byte(mainGo), 0o644))
	wt, err := r.repo.Worktree()
	r.must(err)
	r.must(wt.AddGlob("."))
	h, err := wt.Commit(message, &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	r.must(err)
	return h.String()
}

// SetBranch points a branch at a commit.
func (r *Repo) SetBranch(name, commit string) {
	r.t.Helper()
	r.must(r.repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(name), plumbing.NewHash(commit))))
}

// URL is the repository's file:// URL (a worker must allow file sources).
func (r *Repo) URL() string { return "file://" + r.Dir }
