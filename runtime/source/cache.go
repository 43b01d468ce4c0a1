package source

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// Cache fetches Git sources and builds their flow binaries in a directory:
//
//	repos/<repo>.git                    one bare repository per URL, fetched into
//	checkouts/<repo>-<commit>/          one checkout per commit, never modified
//	builds/<repo>-<commit>-<target>/    flow (the binary), build.log, describe.json
//
// Each of them is created under an exclusive file lock and published by a
// rename, so concurrent runs of the same commit, in this process or in
// other worker processes sharing the directory, fetch and build it once and
// never see a half-written tree. A Cache is safe for concurrent use.
type Cache struct {
	// Dir is the cache directory; it is created when missing.
	Dir string
	// AllowFile accepts file:// repositories (tests, a repository on
	// the worker's disk).
	AllowFile bool
	// Go is the go command; default "go" from PATH: the worker's own
	// toolchain (GOTOOLCHAIN=local, no download).
	Go string
	// Env is added to the build's environment (after the worker's GO*
	// variables, worker.DefaultChildEnv and CGO_ENABLED=0; nothing else
	// of the worker's environment): GOFLAGS, GOPROXY, GOPRIVATE... The module and
	// build caches are the worker's (GOMODCACHE, GOCACHE), so builds
	// after the first are quick.
	Env []string
	// BuildTimeout bounds one go build; default 10 minutes.
	BuildTimeout time.Duration
}

// Request is a source to prepare, with the credentials to fetch it.
type Request struct {
	Source store.Source
	// Auth authenticates fetches; nil for none.
	Auth transport.AuthMethod
	// Secrets are values masked in every error and log (the token).
	Secrets []string
}

// Build is a prepared source: a commit, its binary and what it describes.
type Build struct {
	// Commit is the full hash of the commit the ref resolved to.
	Commit string
	// Binary is the path of the flow binary built from it.
	Binary string
	// Log is the path of the build log (go build's output).
	Log string
	// Description is the binary's `describe` output.
	Description wire.Description
	// Built is true when this call built the binary, false when it was
	// already in the cache.
	Built bool
}

// BuildError is a failed build (or a binary whose describe failed); Log
// holds go build's output, secrets masked.
type BuildError struct {
	Commit string
	Err    error
	Log    string
}

func (e *BuildError) Error() string {
	return fmt.Sprintf("build commit %s: %v", short(e.Commit), e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }

// ProtocolError is a built flow binary whose library speaks a protocol
// this worker's does not.
type ProtocolError struct {
	Commit   string
	Protocol int
	Library  string
}

func (e *ProtocolError) Error() string {
	return fmt.Sprintf("commit %s was built with netauto %s speaking protocol %d; this worker speaks protocol %d (netauto %s): move the source's ref to a commit using a compatible netauto version",
		short(e.Commit), e.Library, e.Protocol, wire.Protocol, wire.LibraryVersion())
}

func short(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func key(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

// Prepare resolves the source's ref to a commit, fetches and checks it
// out unless the cache has it, builds its entrypoint unless built, runs
// the binary's describe and checks its protocol. A ref pinned to a
// commit hash already built touches neither the network nor git.
func (c *Cache) Prepare(ctx context.Context, req Request) (*Build, error) {
	m := masker(req.Secrets)
	b, err := c.prepare(ctx, req)
	if err != nil {
		var be *BuildError
		if errors.As(err, &be) {
			be.Log = m.mask(be.Log)
		}
		return nil, maskedError{err: err, msg: m.mask(err.Error())}
	}
	return b, nil
}

// maskedError keeps the error chain (errors.As still finds a BuildError)
// with a message whose secrets are masked.
type maskedError struct {
	err error
	msg string
}

func (e maskedError) Error() string { return e.msg }
func (e maskedError) Unwrap() error { return e.err }

func (c *Cache) prepare(ctx context.Context, req Request) (*Build, error) {
	src := req.Source
	if err := Validate(src, c.AllowFile); err != nil {
		return nil, err
	}
	sub, _ := CleanPath("source.path", src.Path)
	entry, _ := CleanPath("source.entrypoint", src.Entrypoint)
	if c.Dir == "" {
		return nil, errors.New("source cache: no directory")
	}
	repoKey := key(src.Repository)
	target := key(sub, entry)
	if IsHash(src.Ref) {
		if b, ok := c.cached(src.Ref, repoKey, target); ok {
			return b, c.checkProtocol(b)
		}
	}
	commit, err := c.resolve(ctx, req, repoKey)
	if err != nil {
		return nil, err
	}
	if b, ok := c.cached(commit, repoKey, target); ok {
		return b, c.checkProtocol(b)
	}
	checkout, err := c.checkout(ctx, req, repoKey, commit)
	if err != nil {
		return nil, err
	}
	b, err := c.build(ctx, checkout, sub, entry, commit, repoKey, target)
	if err != nil {
		return nil, err
	}
	return b, c.checkProtocol(b)
}

func (c *Cache) checkProtocol(b *Build) error {
	if !wire.Compatible(b.Description.Protocol) {
		return &ProtocolError{Commit: b.Commit, Protocol: b.Description.Protocol, Library: b.Description.Library}
	}
	return nil
}

func (c *Cache) buildDir(commit, repoKey, target string) string {
	return filepath.Join(c.Dir, "builds", repoKey+"-"+commit+"-"+target)
}

// cached returns a finished build from the cache.
func (c *Cache) cached(commit, repoKey, target string) (*Build, bool) {
	dir := c.buildDir(commit, repoKey, target)
	doc, err := os.ReadFile(filepath.Join(dir, "describe.json"))
	if err != nil {
		return nil, false
	}
	var d wire.Description
	if json.Unmarshal(doc, &d) != nil {
		return nil, false
	}
	return &Build{Commit: commit, Binary: filepath.Join(dir, "flow"), Log: filepath.Join(dir, "build.log"), Description: d}, true
}

// resolve turns the ref into a commit hash: a hash as is, a name with the
// remote's refs (no fetch). An annotated tag gives the tag object's hash,
// peeled when the remote lists it peeled.
func (c *Cache) resolve(ctx context.Context, req Request, repoKey string) (string, error) {
	ref := req.Source.Ref
	if IsHash(ref) {
		return ref, nil
	}
	rem := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{req.Source.Repository}})
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: req.Auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return "", fmt.Errorf("list refs of %s: %w", MaskURL(req.Source.Repository), err)
	}
	byName := map[string]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name().String()] = r
	}
	var names []string
	switch {
	case ref == "":
		h := byName["HEAD"]
		if h == nil {
			return "", &store.InvalidError{Field: "source.ref", Reason: "empty and the remote has no HEAD: name a branch, tag or commit"}
		}
		if h.Type() == plumbing.SymbolicReference {
			names = []string{h.Target().String()}
		} else {
			return h.Hash().String(), nil
		}
	case strings.HasPrefix(ref, "refs/"):
		names = []string{ref}
	default:
		names = []string{"refs/heads/" + ref, "refs/tags/" + ref}
	}
	for _, n := range names {
		if p := byName[n+"^{}"]; p != nil {
			return p.Hash().String(), nil
		}
		if r := byName[n]; r != nil && r.Type() == plumbing.HashReference {
			return r.Hash().String(), nil
		}
	}
	return "", &store.InvalidError{Field: "source.ref", Reason: fmt.Sprintf("%q: no such branch or tag in the repository", ref)}
}

// checkout returns the directory holding the commit's tree, fetching and
// writing it when the cache does not have it. commit may be an annotated
// tag's hash: it is peeled.
func (c *Cache) checkout(ctx context.Context, req Request, repoKey, commit string) (string, error) {
	dir := filepath.Join(c.Dir, "checkouts", repoKey+"-"+commit)
	if _, err := os.Stat(dir); err == nil {
		return dir, nil
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(dir); err == nil {
		return dir, nil // another run wrote it while we waited
	}
	repo, err := c.fetch(ctx, req, repoKey, commit)
	if err != nil {
		return "", err
	}
	cm, err := commitObject(repo, commit)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-checkout-")
	if err != nil {
		return "", fmt.Errorf("source cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := writeTree(cm, tmp); err != nil {
		return "", fmt.Errorf("check out commit %s: %w", short(commit), err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("source cache: publish checkout: %w", err)
	}
	return dir, nil
}

// fetch brings the remote's branches and tags into the cache's bare
// repository for the URL, unless it already has the object.
func (c *Cache) fetch(ctx context.Context, req Request, repoKey, commit string) (*git.Repository, error) {
	dir := filepath.Join(c.Dir, "repos", repoKey+".git")
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("source cache: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainInit(dir, true)
	}
	if err != nil {
		return nil, fmt.Errorf("source cache: open %s: %w", dir, err)
	}
	if _, err := repo.Object(plumbing.AnyObject, plumbing.NewHash(commit)); err == nil {
		return repo, nil
	}
	rem, err := repo.Remote("origin")
	if errors.Is(err, git.ErrRemoteNotFound) {
		rem, err = repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{req.Source.Repository}})
	}
	if err != nil {
		return nil, fmt.Errorf("source cache: remote: %w", err)
	}
	err = rem.FetchContext(ctx, &git.FetchOptions{
		RemoteURL: req.Source.Repository,
		Auth:      req.Auth,
		RefSpecs:  []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"},
		Tags:      git.NoTags,
		Force:     true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetch %s: %w", MaskURL(req.Source.Repository), err)
	}
	return repo, nil
}

// commitObject returns the commit with hash h, peeling annotated tags.
func commitObject(repo *git.Repository, h string) (*object.Commit, error) {
	hash := plumbing.NewHash(h)
	if t, err := repo.TagObject(hash); err == nil {
		return t.Commit()
	}
	cm, err := repo.CommitObject(hash)
	if err != nil {
		return nil, &store.InvalidError{Field: "source.ref", Reason: fmt.Sprintf("commit %s is not on any branch or tag of the repository", short(h))}
	}
	return cm, nil
}

// writeTree writes a commit's files under dir. Names come from a tree
// that may be hostile: each must stay inside dir, and a symbolic link
// must point inside the tree.
func writeTree(cm *object.Commit, dir string) error {
	tree, err := cm.Tree()
	if err != nil {
		return err
	}
	return tree.Files().ForEach(func(f *object.File) error {
		rel, err := CleanPath("file", f.Name)
		if err != nil || rel == "." || strings.HasPrefix(rel, ".git/") || rel == ".git" {
			return fmt.Errorf("refusing tree entry %q", f.Name)
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch f.Mode {
		case filemode.Symlink:
			target, err := f.Contents()
			if err != nil {
				return err
			}
			joined := filepath.Join(filepath.Dir(rel), target)
			if filepath.IsAbs(target) || joined == ".." || strings.HasPrefix(joined, "../") {
				return fmt.Errorf("refusing symbolic link %q pointing outside the repository", f.Name)
			}
			return os.Symlink(target, dst)
		case filemode.Regular, filemode.Executable, filemode.Deprecated:
			perm := os.FileMode(0o644)
			if f.Mode == filemode.Executable {
				perm = 0o755
			}
			r, err := f.Reader()
			if err != nil {
				return err
			}
			defer r.Close()
			out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, r); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		default:
			return nil // submodules are not fetched
		}
	})
}

// build compiles the entrypoint of the checkout (once per commit and
// target), runs its describe and publishes the result.
func (c *Cache) build(ctx context.Context, checkout, sub, entry, commit, repoKey, target string) (*Build, error) {
	dir := c.buildDir(commit, repoKey, target)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("source cache: %w", err)
	}
	unlock, err := lockFile(ctx, dir+".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	if b, ok := c.cached(commit, repoKey, target); ok {
		return b, nil
	}
	// The module directory and the package must be inside the checkout,
	// also after symbolic links.
	modDir := filepath.Join(checkout, filepath.FromSlash(sub))
	pkgDir := filepath.Join(modDir, filepath.FromSlash(entry))
	for _, d := range []struct{ field, path string }{{"source.path", modDir}, {"source.entrypoint", pkgDir}} {
		real, err := filepath.EvalSymlinks(d.path)
		if err != nil {
			return nil, &store.InvalidError{Field: d.field, Reason: fmt.Sprintf("not in commit %s", short(commit))}
		}
		root, _ := filepath.EvalSymlinks(checkout)
		if rel, err := filepath.Rel(root, real); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return nil, &store.InvalidError{Field: d.field, Reason: "leaves the repository"}
		}
		if st, err := os.Stat(real); err != nil || !st.IsDir() {
			return nil, &store.InvalidError{Field: d.field, Reason: fmt.Sprintf("not a directory in commit %s", short(commit))}
		}
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".tmp-build-")
	if err != nil {
		return nil, fmt.Errorf("source cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	gobin := c.Go
	if gobin == "" {
		gobin = "go"
	}
	timeout := c.BuildTimeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pkg := "./" + entry
	if entry == "." {
		pkg = "."
	}
	var log bytes.Buffer
	cmd := exec.CommandContext(bctx, gobin, "build", "-trimpath", "-o", filepath.Join(tmp, "flow"), pkg)
	cmd.Dir = modDir
	// The build gets the Go toolchain's settings and what any program
	// needs, not the worker's credentials (see worker.ChildEnviron).
	cmd.Env = append(append(worker.ChildEnviron(os.Environ(), []string{"GO*"}), "CGO_ENABLED=0", "GOTOOLCHAIN=local"), c.Env...)
	cmd.Stdout, cmd.Stderr = &log, &log
	fmt.Fprintf(&log, "$ go build -trimpath -o flow %s   (in %s, commit %s)\n", pkg, sub, commit)
	berr := cmd.Run()
	if werr := os.WriteFile(filepath.Join(tmp, "build.log"), log.Bytes(), 0o644); werr != nil {
		return nil, fmt.Errorf("source cache: %w", werr)
	}
	if berr != nil {
		if bctx.Err() != nil {
			berr = fmt.Errorf("%w (timeout %s)", berr, timeout)
		}
		return nil, &BuildError{Commit: commit, Err: fmt.Errorf("go build: %w", berr), Log: log.String()}
	}
	doc, err := describe(ctx, filepath.Join(tmp, "flow"))
	if err != nil {
		return nil, &BuildError{Commit: commit, Err: err, Log: log.String()}
	}
	if err := os.WriteFile(filepath.Join(tmp, "describe.json"), doc, 0o644); err != nil {
		return nil, fmt.Errorf("source cache: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("source cache: publish build: %w", err)
	}
	b, ok := c.cached(commit, repoKey, target)
	if !ok {
		return nil, errors.New("source cache: build vanished")
	}
	b.Built = true
	return b, nil
}

// describe runs the binary's describe command and checks its output.
func describe(ctx context.Context, bin string) ([]byte, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(dctx, bin, "describe")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("flow binary describe: %w: %s (does its main call agent.Main?)", err, strings.TrimSpace(lastLines(errOut.String(), 5)))
	}
	var d wire.Description
	if err := json.Unmarshal(out.Bytes(), &d); err != nil {
		return nil, fmt.Errorf("flow binary describe: not a description: %w", err)
	}
	if d.Protocol == 0 {
		return nil, errors.New("flow binary describe: no protocol version")
	}
	return out.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
