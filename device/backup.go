package device

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
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
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
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
// and refs/devices/<name> points at the device's latest commit. A device's
// history is therefore the Device-Previous chain from that ref: reading it
// costs one commit per change of that device, whatever the size of the
// repository, and a diff between two versions reads two blobs.
//
// Keeping the repository compact over years: a commit is written only when
// the sanitized configuration differs from the stored one (noise lines such
// as timestamps are dropped first, so a quiet device costs nothing), the
// root tree is the only tree and is rewritten once per change, and Compact
// packs loose objects into a delta-compressed packfile (daily configs differ
// by a few lines, so each version costs roughly the size of its diff).
// Run Compact periodically (for example weekly, after a backup run).
type Backup struct {
	// Dir holds the repository, or with PerGroup one "<group>.git"
	// repository per group. Repositories are created when missing.
	Dir string
	// PerGroup stores each host in the repository of its first group
	// (hosts without groups go to "ungrouped").
	PerGroup bool
	// Secrets resolves the hosts' credential references and the push
	// credentials.
	Secrets SecretResolver
	// FanOut bounds concurrency, per-host deadlines and the failure
	// threshold of a run.
	FanOut FanOut
	// Sanitizer returns the rules for a platform (default DefaultSanitizer).
	Sanitizer func(platform string) Sanitizer
	// Author signs the commits (default "netauto backup <backup@netauto>").
	Author object.Signature
	// Push, when set, pushes every repository that got commits.
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
}

// BackupResult is the outcome of one device's backup.
type BackupResult struct {
	Repo    string // repository directory
	Path    string // file in the repository
	Commit  string // the new commit, "" when unchanged
	Changed bool
	// Diff between the stored and the new sanitized configuration.
	Diff string
}

// ChangeDiff reports whether the backup changed and how.
func (r *BackupResult) ChangeDiff() (bool, string) {
	if r == nil {
		return false, ""
	}
	return r.Changed, r.Diff
}

// BackupRun summarizes a backup run.
type BackupRun struct {
	RunID   string
	Results Results[*BackupResult]
	// Commits made, and the time spent writing them (commits to one
	// repository are serialized).
	Commits    int
	CommitTime time.Duration
	Wall       time.Duration
	// PushErr is the first push failure, if any.
	PushErr error
}

// repo is one backup repository and the serialized state of its branch.
type repo struct {
	dir  string
	git  *git.Repository
	mu   sync.Mutex
	head plumbing.Hash            // zero for an empty repository
	tree map[string]plumbing.Hash // file name -> blob of the head tree
}

const branch = plumbing.ReferenceName("refs/heads/main")

func deviceRef(name string) plumbing.ReferenceName {
	return plumbing.ReferenceName("refs/devices/" + name)
}

func fileName(host string) string { return host + ".cfg" }

// Run backs up every host of inv. runID names the run in commit trailers.
// A failing device is reported in its result and keeps its previous backup;
// it never stops the others (unless the FanOut failure threshold says so).
func (b *Backup) Run(ctx context.Context, inv *Inventory, runID string) (*BackupRun, error) {
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
	run := &BackupRun{RunID: runID}
	var statMu sync.Mutex
	run.Results = RunSessions(ctx, inv, b.Secrets, b.FanOut, func(ctx context.Context, s *Session) (*BackupResult, error) {
		h := s.Host()
		cfg, err := s.RunningConfig(ctx)
		if err != nil {
			return nil, err
		}
		clean := b.sanitizer(h.Platform).Clean(cfg)
		r := repos[b.repoKey(h)]
		t0 := time.Now()
		res, err := r.commit(h, clean, runID, b.author())
		if err != nil {
			return nil, &Error{Host: h.Name, Op: "backup", Class: Failed, Err: err}
		}
		if res.Changed {
			statMu.Lock()
			run.Commits++
			run.CommitTime += time.Since(t0)
			statMu.Unlock()
		}
		return res, nil
	})
	if b.Push != nil && run.Commits > 0 {
		for key, r := range repos {
			if err := b.push(ctx, key, r); err != nil && run.PushErr == nil {
				run.PushErr = err
			}
		}
	}
	run.Wall = time.Since(start)
	return run, nil
}

func (b *Backup) repoKey(h Host) string {
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

func (b *Backup) sanitizer(platform string) Sanitizer {
	if b.Sanitizer != nil {
		return b.Sanitizer(platform)
	}
	return DefaultSanitizer(platform)
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
	r.head = ref.Hash()
	return r, nil
}

// commit stores content as host's file, in a commit of its own when it
// differs from the stored version.
func (r *repo) commit(h Host, content, runID string, author object.Signature) (*BackupResult, error) {
	name := fileName(h.Name)
	res := &BackupResult{Repo: r.dir, Path: name}
	st := r.git.Storer

	blob := st.NewEncodedObject()
	blob.SetType(plumbing.BlobObject)
	w, err := blob.Writer()
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, content); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	old, had := r.tree[name]
	if had && old == blob.Hash() {
		return res, nil
	}
	previous := ""
	if had {
		prevText, err := r.blobText(old)
		if err != nil {
			return nil, err
		}
		previous = prevText
	}
	if _, err := st.SetEncodedObject(blob); err != nil {
		return nil, fmt.Errorf("write blob: %w", err)
	}

	entries := make([]object.TreeEntry, 0, len(r.tree)+1)
	for n, hash := range r.tree {
		if n != name {
			entries = append(entries, object.TreeEntry{Name: n, Mode: filemode.Regular, Hash: hash})
		}
	}
	entries = append(entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: blob.Hash()})
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	tree := &object.Tree{Entries: entries}
	treeObj := st.NewEncodedObject()
	if err := tree.Encode(treeObj); err != nil {
		return nil, fmt.Errorf("encode tree: %w", err)
	}
	treeHash, err := st.SetEncodedObject(treeObj)
	if err != nil {
		return nil, fmt.Errorf("write tree: %w", err)
	}

	msg := fmt.Sprintf("backup: %s changed\n\nDevice: %s\nPlatform: %s\nRun-Id: %s\n", h.Name, h.Name, h.Platform, runID)
	devRef, err := r.git.Reference(deviceRef(h.Name), false)
	switch {
	case err == nil:
		msg += "Device-Previous: " + devRef.Hash().String() + "\n"
	case !errors.Is(err, plumbing.ErrReferenceNotFound):
		return nil, fmt.Errorf("read device ref: %w", err)
	}
	commit := &object.Commit{Author: author, Committer: author, Message: msg, TreeHash: treeHash}
	if !r.head.IsZero() {
		commit.ParentHashes = []plumbing.Hash{r.head}
	}
	commitObj := st.NewEncodedObject()
	if err := commit.Encode(commitObj); err != nil {
		return nil, fmt.Errorf("encode commit: %w", err)
	}
	commitHash, err := st.SetEncodedObject(commitObj)
	if err != nil {
		return nil, fmt.Errorf("write commit: %w", err)
	}
	// Move the branch only if nobody else did meanwhile (another process).
	var oldRef *plumbing.Reference
	if !r.head.IsZero() {
		oldRef = plumbing.NewHashReference(branch, r.head)
	}
	if err := st.CheckAndSetReference(plumbing.NewHashReference(branch, commitHash), oldRef); err != nil {
		return nil, fmt.Errorf("update %s (concurrent writer?): %w", branch, err)
	}
	if err := st.SetReference(plumbing.NewHashReference(deviceRef(h.Name), commitHash)); err != nil {
		return nil, fmt.Errorf("update device ref: %w", err)
	}
	r.head = commitHash
	r.tree[name] = blob.Hash()
	res.Commit = commitHash.String()
	res.Changed = true
	res.Diff = UnifiedDiff("a/"+name, "b/"+name, previous, content)
	return res, nil
}

func (r *repo) blobText(h plumbing.Hash) (string, error) {
	b, err := r.git.BlobObject(h)
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
		RefSpecs:   []config.RefSpec{"+refs/heads/main:refs/heads/main", "+refs/devices/*:refs/devices/*"},
	}
	if b.Push.Username != "" || b.Push.PasswordSecret != "" {
		pw, err := resolve(ctx, b.Secrets, "push.password_secret", b.Push.PasswordSecret)
		if err != nil {
			return fmt.Errorf("push %s: %w", r.dir, err)
		}
		opts.Auth = &http.BasicAuth{Username: b.Push.Username, Password: pw}
	}
	if err := r.git.PushContext(ctx, opts); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("push %s to %s: %w", r.dir, redactURL(url), err)
	}
	return nil
}

// redactURL hides a password embedded in a URL.
func redactURL(u string) string {
	return urlSecrets[0].Pattern.ReplaceAllString(u, urlSecrets[0].Replacement)
}

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
		if err := g.RepackObjects(&git.RepackConfig{}); err != nil {
			return fmt.Errorf("compact %s: %w", d, err)
		}
		// Unreachable leftovers of interrupted runs; recent ones may belong
		// to a run in progress.
		if err := g.Prune(git.PruneOptions{OnlyObjectsOlderThan: time.Now().Add(-time.Hour), Handler: g.DeleteObject}); err != nil {
			return fmt.Errorf("compact %s: prune: %w", d, err)
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
	ref, err := g.Reference(deviceRef(name), false)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	var out []Version
	for h := ref.Hash(); !h.IsZero() && (limit <= 0 || len(out) < limit); {
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
	return UnifiedDiff(name+"@"+short(from), name+"@"+short(to), a, b), nil
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
