package backup

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/netauto-dev/netauto/device"
)

// Backup stores device configurations in Git: one bare repository (or one
// per group), one file per device, one commit per device whose sanitized
// configuration changed and none when nothing changed.
//
// Each commit changes exactly one file and names the device, its platform
// and the run in trailers:
//
//	backup: core1 changed
//
//	Device: core1
//	Platform: arista_eos
//	Run-Id: nightly-2026-11-26
//	Device-Previous: 4f0c...   (the device's previous commit, if any)
//
// and the ref refs/netauto/device-index points at a small tree whose file
// lists each device's latest commit ("<device> <commit>" lines, updated once
// per run).
// A device's history is therefore the Device-Previous chain from its index
// entry: reading it costs one commit per change of that device, whatever
// the size of the repository, and a diff between two versions reads two
// blobs.
//
// Keeping the repository compact over years: a commit is written only when
// the sanitized configuration differs from the stored one (noise lines such
// as timestamps are dropped first, so a quiet device costs nothing), the
// root tree is the only tree and is rewritten once per change, and Compact
// packs loose objects into a delta-compressed packfile (daily configs differ
// by a few lines, so each version costs roughly the size of its diff).
// Each run writes one packfile; a run that finds more than 16 repacks the
// repository, so lookups stay fast. Compact does the same on demand and
// also prunes objects left unreachable by interrupted runs.
type Backup struct {
	// Dir holds the repository, or with PerGroup one "<group>.git"
	// repository per group. Repositories are created when missing.
	Dir string
	// PerGroup stores each host in the repository of its first group
	// (hosts without groups go to "ungrouped").
	PerGroup bool
	// Secrets resolves the hosts' credential references and the push
	// credentials.
	Secrets device.SecretResolver
	// FanOut bounds concurrency, per-host deadlines and the failure
	// threshold of a run.
	FanOut device.FanOut
	// Sanitizer returns the rules for a platform (default DefaultSanitizer).
	Sanitizer func(platform string) device.Sanitizer
	// Author signs the commits (default "netauto backup <backup@netauto>").
	Author object.Signature
	// Check, when set, vets each configuration read before it is
	// committed; an error fails that device (class Failed), which keeps
	// its previous backup.
	Check func(platform, config string) error
	// Push, when set, pushes every repository after each run (also one
	// without commits, so a push that failed is caught up).
	Push *Push
}

// Push is where and how a backup repository is pushed.
type Push struct {
	// URL of the remote. With PerGroup, "{group}" is replaced by the group.
	URL string
	// Username and PasswordSecret (a secret reference, e.g. a token) for
	// HTTP basic authentication; empty for none.
	Username       string
	PasswordSecret string
	// Timeout bounds each repository's push (default 2 minutes).
	Timeout time.Duration
}

// Result is the outcome of one device's backup.
type Result struct {
	Repo    string // repository directory
	Path    string // file in the repository
	Commit  string // the new commit, "" when unchanged
	Changed bool
	// Diff between the stored and the new sanitized configuration.
	Diff string

	diffFrom plumbing.Hash // the blob replaced
}

// ChangeDiff reports whether the backup changed and how.
func (r *Result) ChangeDiff() (bool, string) {
	if r == nil {
		return false, ""
	}
	return r.Changed, r.Diff
}

// Report summarizes a backup run.
type Report struct {
	RunID   string
	Results device.Results[*Result]
	// Commits made, and the time spent holding repository locks to check
	// and write them (the serial part of a run).
	Commits    int
	CommitTime time.Duration
	Wall       time.Duration
	// PushErr is the first push failure, if any.
	PushErr error
}

// repo is one backup repository and the serialized state of its branch.
// Commits are built in memory (staged) and written by flush as one
// packfile followed by the ref updates: a few file writes per run instead
// of five per commit, and a crash before the flush leaves the repository
// exactly as it was.
type repo struct {
	dir  string
	git  *git.Repository
	mu   sync.Mutex
	base plumbing.Hash            // branch head in the repository (zero if none)
	head plumbing.Hash            // branch head including staged commits
	tree map[string]plumbing.Hash // file name -> blob of the head tree
	busy time.Duration            // time spent holding mu (the serial part)

	staged     *memory.Storage
	stagedObjs []plumbing.Hash
	stagedSize int
	index      map[string]plumbing.Hash // device -> latest commit (incl. staged)
}

// flushThreshold bounds the memory staged commits may take.
const flushThreshold = 64 << 20

const branch = plumbing.ReferenceName("refs/heads/main")

// indexRef names a tree whose file indexFile maps each device to its
// latest commit. (A tree, not a bare blob: go-git's object walkers used by
// prune and repack only follow commits, trees and tags.)
const (
	indexRef  = plumbing.ReferenceName("refs/netauto/device-index")
	indexFile = "devices"
)

// readIndex loads the device index of a repository (empty if none).
func readIndex(g *git.Repository) (map[string]plumbing.Hash, error) {
	index := map[string]plumbing.Hash{}
	ref, err := g.Reference(indexRef, false)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return index, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", indexRef, err)
	}
	t, err := g.TreeObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", indexRef, err)
	}
	f, err := t.File(indexFile)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", indexRef, err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	sc := bufio.NewScanner(rd)
	for sc.Scan() {
		name, hash, ok := strings.Cut(sc.Text(), " ")
		if !ok || !plumbing.IsHash(hash) {
			return nil, fmt.Errorf("%s: malformed line %q", indexRef, sc.Text())
		}
		index[name] = plumbing.NewHash(hash)
	}
	return index, sc.Err()
}

// stageIndex stages the device index tree and returns its hash.
func (r *repo) stageIndex() (plumbing.Hash, error) {
	names := make([]string, 0, len(r.index))
	for n := range r.index {
		names = append(names, n)
	}
	sort.Strings(names)
	blob := &plumbing.MemoryObject{}
	blob.SetType(plumbing.BlobObject)
	for _, n := range names {
		fmt.Fprintf(blob, "%s %s\n", n, r.index[n])
	}
	if _, err := r.stage(blob); err != nil {
		return plumbing.ZeroHash, err
	}
	tree := &plumbing.MemoryObject{}
	if err := (&object.Tree{Entries: []object.TreeEntry{{Name: indexFile, Mode: filemode.Regular, Hash: blob.Hash()}}}).Encode(tree); err != nil {
		return plumbing.ZeroHash, err
	}
	return r.stage(tree)
}

func fileName(host string) string { return host + ".cfg" }

// Run backs up every host of inv. runID names the run in commit trailers.
// A failing device is reported in its result and keeps its previous backup;
// it never stops the others (unless the FanOut failure threshold says so).
func (b *Backup) Run(ctx context.Context, inv *device.Inventory, runID string) (*Report, error) {
	if b.Dir == "" {
		return nil, errors.New("backup: Dir is empty")
	}
	if strings.ContainsAny(runID, "\n\r") || runID == "" {
		return nil, errors.New("backup: runID must be one non-empty line")
	}
	for _, h := range inv.Hosts() {
		if err := validDeviceName(h.Name); err != nil {
			return nil, fmt.Errorf("backup: host %q: %w", h.Name, err)
		}
		if key := b.repoKey(h); key != "" {
			if err := validDeviceName(key); err != nil {
				return nil, fmt.Errorf("backup: host %q: group %q as repository name: %w", h.Name, key, err)
			}
		}
	}
	start := time.Now()
	repos := map[string]*repo{}
	for _, h := range inv.Hosts() {
		key := b.repoKey(h)
		if repos[key] != nil {
			continue
		}
		r, err := openRepo(b.repoDir(key))
		if err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		repos[key] = r
	}
	run := &Report{RunID: runID}
	var statMu sync.Mutex
	run.Results = device.Run(ctx, inv, b.FanOut, func(ctx context.Context, h device.Host) (*Result, error) {
		// The session is closed before the (serialized) commit.
		var cfg string
		err := device.With(ctx, h, b.Secrets, func(s *device.Session) error {
			var err error
			cfg, err = s.RunningConfig(ctx)
			return err
		})
		if err != nil {
			return nil, err
		}
		if b.Check != nil {
			if err := b.Check(h.Platform, cfg); err != nil {
				return nil, &device.Error{Host: h.Name, Op: "backup", Class: device.Failed, Err: err}
			}
		}
		clean := b.sanitizer(h.Platform).Clean(cfg)
		r := repos[b.repoKey(h)]
		res, err := r.commit(h, clean, runID, b.author())
		if err == nil {
			err = r.describe(res, clean)
		}
		if err != nil {
			return nil, &device.Error{Host: h.Name, Op: "backup", Class: device.Failed, Err: err}
		}
		if res.Changed {
			statMu.Lock()
			run.Commits++
			statMu.Unlock()
		}
		return res, nil
	})
	var flushErr error
	for _, r := range repos {
		if err := r.flush(); err != nil {
			flushErr = errors.Join(flushErr, err)
			// Those commits were not stored: report the devices as failed.
			for i, res := range run.Results {
				if res.Class == device.Changed && res.Value.Repo == r.dir {
					run.Results[i].Class = device.Failed
					run.Results[i].Err = &device.Error{Host: res.Host, Op: "backup", Class: device.Failed, Err: err}
					run.Commits--
				}
			}
		}
		r.mu.Lock()
		run.CommitTime += r.busy
		r.mu.Unlock()
	}
	if flushErr != nil {
		run.Wall = time.Since(start)
		return run, fmt.Errorf("backup: %w", flushErr)
	}
	if b.Push != nil {
		for key, r := range repos {
			if err := b.push(ctx, key, r); err != nil && run.PushErr == nil {
				run.PushErr = err
			}
		}
	}
	run.Wall = time.Since(start)
	return run, nil
}

func (b *Backup) repoKey(h device.Host) string {
	if !b.PerGroup {
		return ""
	}
	if len(h.Groups) == 0 {
		return "ungrouped"
	}
	return h.Groups[0]
}

func (b *Backup) repoDir(key string) string {
	if key == "" {
		return b.Dir
	}
	return filepath.Join(b.Dir, key+".git")
}

func (b *Backup) sanitizer(platform string) device.Sanitizer {
	if b.Sanitizer != nil {
		return b.Sanitizer(platform)
	}
	return device.DefaultSanitizer(platform)
}

func (b *Backup) author() object.Signature {
	a := b.Author
	if a.Name == "" {
		a.Name = "netauto backup"
	}
	if a.Email == "" {
		a.Email = "backup@netauto"
	}
	a.When = time.Now()
	return a
}

// validDeviceName rejects names that cannot be a file and ref name.
func validDeviceName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("name unusable as a file name")
	case strings.ContainsAny(name, "/\\ \t\n:~^?*[") || strings.Contains(name, ".."):
		return errors.New("name contains a character not allowed in file or ref names")
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, ".lock"):
		return errors.New("name not allowed as a ref name")
	}
	return nil
}

func openRepo(dir string) (*repo, error) {
	g, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create repository %s: %w", dir, err)
		}
		g, err = git.PlainInitWithOptions(dir, &git.PlainInitOptions{Bare: true, InitOptions: git.InitOptions{DefaultBranch: branch}})
	}
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	r := &repo{dir: dir, git: g, tree: map[string]plumbing.Hash{}}
	r.reset()
	if r.index, err = readIndex(g); err != nil {
		return nil, fmt.Errorf("repository %s: %w", dir, err)
	}
	ref, err := g.Reference(branch, true)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repository %s: read %s: %w", dir, branch, err)
	}
	c, err := g.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("repository %s: head commit: %w", dir, err)
	}
	t, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("repository %s: head tree: %w", dir, err)
	}
	for _, e := range t.Entries {
		r.tree[e.Name] = e.Hash
	}
	r.head, r.base = ref.Hash(), ref.Hash()
	return r, nil
}

func (r *repo) reset() {
	r.staged = memory.NewStorage()
	r.stagedObjs, r.stagedSize = nil, 0
}

// stage adds an object to the staged commits.
func (r *repo) stage(o plumbing.EncodedObject) (plumbing.Hash, error) {
	h, err := r.staged.SetEncodedObject(o)
	if err != nil {
		return h, err
	}
	r.stagedObjs = append(r.stagedObjs, h)
	r.stagedSize += int(o.Size())
	return h, nil
}

// flush writes the staged objects as one packfile, then moves the branch
// (only if nobody else moved it meanwhile) and the device refs.
func (r *repo) flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	locked := time.Now()
	defer func() { r.busy += time.Since(locked) }()
	return r.flushLocked()
}

func (r *repo) flushLocked() error {
	if len(r.stagedObjs) == 0 {
		return nil
	}
	defer r.reset()
	fail := func(err error) error {
		// Forget the staged commits: the repository still has base.
		r.head = r.base
		if err2 := r.reloadTree(); err2 != nil {
			err = errors.Join(err, err2)
		}
		index, err2 := readIndex(r.git)
		if err2 != nil {
			return fmt.Errorf("write %s: %w", r.dir, errors.Join(err, err2))
		}
		r.index = index
		return fmt.Errorf("write %s: %w", r.dir, err)
	}
	indexHash, err := r.stageIndex()
	if err != nil {
		return fail(err)
	}
	pw, ok := r.git.Storer.(storer.PackfileWriter)
	if !ok {
		return fail(errors.New("storage cannot write packfiles"))
	}
	w, err := pw.PackfileWriter()
	if err != nil {
		return fail(err)
	}
	// Successive trees differ by one entry: deltas make them tiny, which
	// costs less than compressing each in full.
	if _, err := packfile.NewEncoder(w, r.staged, false).Encode(r.stagedObjs, 10); err != nil {
		_ = w.Close()
		return fail(err)
	}
	if err := w.Close(); err != nil {
		return fail(err)
	}
	var old *plumbing.Reference
	if !r.base.IsZero() {
		old = plumbing.NewHashReference(branch, r.base)
	}
	if err := r.git.Storer.CheckAndSetReference(plumbing.NewHashReference(branch, r.head), old); err != nil {
		return fail(fmt.Errorf("update %s (concurrent writer?): %w", branch, err))
	}
	r.base = r.head
	if err := r.git.Storer.SetReference(plumbing.NewHashReference(indexRef, indexHash)); err != nil {
		return fmt.Errorf("write %s: %s: %w", r.dir, indexRef, err)
	}
	if err := r.compactIfFragmented(); err != nil {
		// The commits are stored; a failed repack only costs lookup speed.
		slog.Warn("backup repository not compacted", "repo", r.dir, "err", err)
	}
	return nil
}

// maxPacks is how many packfiles (one per run) a repository may collect
// before a run repacks it: object lookups check every pack index, so runs
// would otherwise slow down day after day.
const maxPacks = 16

func (r *repo) compactIfFragmented() error {
	packs, err := filepath.Glob(filepath.Join(r.dir, "objects", "pack", "*.pack"))
	if err != nil || len(packs) <= maxPacks {
		return err
	}
	if err := r.git.RepackObjects(&git.RepackConfig{}); err != nil {
		return err
	}
	// The storage caches the indexes of the packs just deleted: reopen.
	g, err := git.PlainOpen(r.dir)
	if err != nil {
		return err
	}
	r.git = g
	return nil
}

// reloadTree rereads the file list of base.
func (r *repo) reloadTree() error {
	r.tree = map[string]plumbing.Hash{}
	if r.base.IsZero() {
		return nil
	}
	c, err := r.git.CommitObject(r.base)
	if err != nil {
		return err
	}
	t, err := c.Tree()
	if err != nil {
		return err
	}
	for _, e := range t.Entries {
		r.tree[e.Name] = e.Hash
	}
	return nil
}

// commit stages content as host's file, in a commit of its own when it
// differs from the stored version.
func (r *repo) commit(h device.Host, content, runID string, author object.Signature) (*Result, error) {
	name := fileName(h.Name)
	res := &Result{Repo: r.dir, Path: name}
	blob := &plumbing.MemoryObject{}
	blob.SetType(plumbing.BlobObject)
	if _, err := blob.Write([]byte(content)); err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	locked := time.Now()
	defer func() { r.busy += time.Since(locked) }()
	old, had := r.tree[name]
	if had && old == blob.Hash() {
		return res, nil
	}
	if _, err := r.stage(blob); err != nil {
		return nil, fmt.Errorf("stage blob: %w", err)
	}

	entries := make([]object.TreeEntry, 0, len(r.tree)+1)
	for n, hash := range r.tree {
		if n != name {
			entries = append(entries, object.TreeEntry{Name: n, Mode: filemode.Regular, Hash: hash})
		}
	}
	entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: blob.Hash()})
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	treeObj := &plumbing.MemoryObject{}
	if err := (&object.Tree{Entries: entries}).Encode(treeObj); err != nil {
		return nil, fmt.Errorf("encode tree: %w", err)
	}
	treeHash, err := r.stage(treeObj)
	if err != nil {
		return nil, fmt.Errorf("stage tree: %w", err)
	}

	msg := fmt.Sprintf("backup: %s changed\n\nDevice: %s\nPlatform: %s\nRun-Id: %s\n", h.Name, h.Name, h.Platform, runID)
	if prev, ok := r.index[h.Name]; ok {
		msg += "Device-Previous: " + prev.String() + "\n"
	}
	commit := &object.Commit{Author: author, Committer: author, Message: msg, TreeHash: treeHash}
	if !r.head.IsZero() {
		commit.ParentHashes = []plumbing.Hash{r.head}
	}
	commitObj := &plumbing.MemoryObject{}
	if err := commit.Encode(commitObj); err != nil {
		return nil, fmt.Errorf("encode commit: %w", err)
	}
	commitHash, err := r.stage(commitObj)
	if err != nil {
		return nil, fmt.Errorf("stage commit: %w", err)
	}
	r.head = commitHash
	r.tree[name] = blob.Hash()
	r.index[h.Name] = commitHash
	res.Commit = commitHash.String()
	res.Changed = true
	if r.stagedSize > flushThreshold {
		if err := r.flushLocked(); err != nil {
			return nil, err
		}
	}
	res.diffFrom = old
	return res, nil
}

// describe fills the diff of a changed result from the previous blob; it
// runs outside the repository lock.
func (r *repo) describe(res *Result, content string) error {
	if !res.Changed {
		return nil
	}
	previous := ""
	if !res.diffFrom.IsZero() {
		text, err := r.blobText(res.diffFrom)
		if err != nil {
			return err
		}
		previous = text
	}
	res.Diff = device.UnifiedDiff("a/"+res.Path, "b/"+res.Path, previous, content)
	return nil
}

func (r *repo) blobText(h plumbing.Hash) (string, error) {
	b, err := object.GetBlob(r.git.Storer, h)
	if err != nil {
		return "", fmt.Errorf("read blob %s: %w", h, err)
	}
	rd, err := b.Reader()
	if err != nil {
		return "", err
	}
	defer rd.Close()
	data, err := io.ReadAll(rd)
	return string(data), err
}

func (b *Backup) push(ctx context.Context, key string, r *repo) error {
	url := strings.ReplaceAll(b.Push.URL, "{group}", key)
	if url == "" {
		return errors.New("push: URL is empty")
	}
	const remote = "backup"
	if _, err := r.git.Remote(remote); errors.Is(err, git.ErrRemoteNotFound) {
		if _, err := r.git.CreateRemote(&config.RemoteConfig{Name: remote, URLs: []string{url}}); err != nil {
			return fmt.Errorf("push %s: add remote: %w", r.dir, err)
		}
	}
	opts := &git.PushOptions{
		RemoteName: remote,
		RemoteURL:  url,
		// The branch only fast-forwards (a diverged remote is reported, not
		// overwritten); the index is a tree, replaced each run.
		RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main", "+refs/netauto/*:refs/netauto/*"},
	}
	if b.Push.Username != "" || b.Push.PasswordSecret != "" {
		pw, err := b.pushPassword(ctx)
		if err != nil {
			return fmt.Errorf("push %s: %w", r.dir, err)
		}
		opts.Auth = &http.BasicAuth{Username: b.Push.Username, Password: pw}
	}
	timeout := b.Push.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := r.git.PushContext(ctx, opts); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("push %s to %s: %w", r.dir, redactURL(url), err)
	}
	return nil
}

// pushPassword resolves the push credential; errors name the reference,
// never a value.
func (b *Backup) pushPassword(ctx context.Context) (string, error) {
	ref := b.Push.PasswordSecret
	if ref == "" {
		return "", nil
	}
	if b.Secrets == nil {
		return "", fmt.Errorf("push.password_secret: secret %q referenced but no SecretResolver given", ref)
	}
	v, err := b.Secrets.Resolve(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("push.password_secret: resolve secret %q: %w", ref, err)
	}
	return v, nil
}

// redactURL hides a password embedded in a URL.
func redactURL(u string) string { return device.MaskLine("", u) }

// Compact packs the loose objects of every repository under the backup
// into one packfile with deltas; see Backup for why and when.
func (b *Backup) Compact(ctx context.Context) error {
	dirs := []string{b.Dir}
	if b.PerGroup {
		m, err := filepath.Glob(filepath.Join(b.Dir, "*.git"))
		if err != nil {
			return err
		}
		dirs = m
	}
	for _, d := range dirs {
		if err := ctx.Err(); err != nil {
			return err
		}
		g, err := git.PlainOpen(d)
		if err != nil {
			return fmt.Errorf("compact %s: %w", d, err)
		}
		// Unreachable leftovers of interrupted runs; recent ones may belong
		// to a run in progress.
		if err := g.Prune(git.PruneOptions{OnlyObjectsOlderThan: time.Now().Add(-time.Hour), Handler: g.DeleteObject}); err != nil {
			return fmt.Errorf("compact %s: prune: %w", d, err)
		}
		if err := g.RepackObjects(&git.RepackConfig{}); err != nil {
			return fmt.Errorf("compact %s: %w", d, err)
		}
	}
	return nil
}

// Version is one stored configuration of a device.
type Version struct {
	Commit string
	Time   time.Time
	RunID  string
}

// History returns the stored versions of device name in repository dir
// (a Backup's Dir, or its group repository), newest first, following the
// device's own commit chain (see Backup). limit <= 0 means all.
func History(dir, name string, limit int) ([]Version, error) {
	g, err := git.PlainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	index, err := readIndex(g)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	var out []Version
	for h := index[name]; !h.IsZero() && (limit <= 0 || len(out) < limit); {
		c, err := g.CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("history of %s: commit %s: %w", name, h, err)
		}
		tr := trailers(c.Message)
		if tr["Device"] != name {
			return nil, fmt.Errorf("history of %s: commit %s is for device %q", name, h, tr["Device"])
		}
		out = append(out, Version{Commit: h.String(), Time: c.Committer.When, RunID: tr["Run-Id"]})
		h = plumbing.NewHash(tr["Device-Previous"])
	}
	return out, nil
}

// Config returns the stored configuration of device name at commit.
func Config(dir, name, commit string) (string, error) {
	g, err := git.PlainOpen(dir)
	if err != nil {
		return "", fmt.Errorf("config of %s: %w", name, err)
	}
	c, err := g.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return "", fmt.Errorf("config of %s at %s: %w", name, commit, err)
	}
	f, err := c.File(fileName(name))
	if err != nil {
		return "", fmt.Errorf("config of %s at %s: %w", name, commit, err)
	}
	return f.Contents()
}

// DiffVersions returns the unified diff of device name's configuration
// between commits from and to.
func DiffVersions(dir, name, from, to string) (string, error) {
	a, err := Config(dir, name, from)
	if err != nil {
		return "", err
	}
	b, err := Config(dir, name, to)
	if err != nil {
		return "", err
	}
	return device.UnifiedDiff(name+"@"+short(from), name+"@"+short(to), a, b), nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// trailers parses "Key: value" lines of a commit message's last paragraph.
func trailers(msg string) map[string]string {
	paras := strings.Split(strings.TrimSpace(msg), "\n\n")
	out := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(paras[len(paras)-1]))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok {
			out[k] = v
		}
	}
	return out
}
