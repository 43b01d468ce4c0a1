package docker

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/moby/moby/api/types/build"
	"github.com/moby/moby/client"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/netauto-dev/netauto/runtime/store"
)

// ImageBuilder is the part of the Engine API client that [BuildImage]
// uses. *client.Client from github.com/moby/moby/client implements it.
type ImageBuilder interface {
	ImageBuild(ctx context.Context, buildContext io.Reader, options client.ImageBuildOptions) (client.ImageBuildResult, error)
}

// BuildOptions describes one image build: the equivalent of
// `docker build -f DOCKERFILE -t TAG --build-arg K=V --target T --label K=V CONTEXT`.
type BuildOptions struct {
	// ContextDir is the build context: a directory sent to the engine as
	// a tar stream, less what its ignore file excludes. Required.
	//
	// The ignore file is the Dockerfile's own one when it exists (for
	// Dockerfile "build/Dockerfile", "build/Dockerfile.dockerignore"),
	// otherwise ".dockerignore" at the root of the context. Its syntax is
	// Docker's: one pattern a line, "#" comments, "**" for any number of
	// directories, "!" for an exception. The Dockerfile and the ignore
	// file are always sent, as the docker CLI does.
	ContextDir string
	// Dockerfile is the Dockerfile's path, relative to ContextDir unless
	// absolute; default "Dockerfile". It may lie outside ContextDir.
	Dockerfile string
	// Tags name the image, such as "netauto-worker:1.4"; each must be a
	// valid image reference without a digest.
	Tags []string
	// BuildArgs set the Dockerfile's ARG values. They are not logged, but
	// an image keeps them in its history: pass no secret this way.
	BuildArgs map[string]string
	// Target is the stage to build; default the last stage. The engine's
	// builder runs every stage before the target, in order.
	Target string
	// Labels are set on the image.
	Labels map[string]string
	// NoCache runs every step anew instead of reusing cached layers.
	NoCache bool
	// Pull pulls the base images even when present locally.
	Pull bool
	// Output, when set, receives the build's output as the engine streams
	// it, for a user to follow. The same text is in [BuildResult.Log].
	Output io.Writer
}

// BuildResult is a built image.
type BuildResult struct {
	// ImageID is the image's ID ("sha256:…").
	ImageID string
	// Log is the build's output, the text `docker build` prints.
	Log string
}

// buildTailLines is how many of the last lines of a build log a *BuildError
// carries.
const buildTailLines = 20

// BuildError is a build that the engine refused or ran and that failed:
// the Dockerfile is invalid, its target does not exist, or a step returned
// an error. Errors sending the context or reaching the engine are not
// BuildErrors.
type BuildError struct {
	// Step is the step that failed as the builder announced it, such as
	// "Step 3/4 : RUN go build ./...", or "" when it failed before any.
	Step string
	// Message is the engine's error, such as "The command '/bin/sh -c go
	// build ./...' returned a non-zero code: 1".
	Message string
	// Code is the engine's error code (the step's exit code for a failed
	// RUN), 0 when it gave none.
	Code int
	// Tail is the last lines of the build log before the error (at most
	// 20), the failed step's output among them.
	Tail []string
}

// Error names the step and the engine's message, then the log's tail.
func (e *BuildError) Error() string {
	var b strings.Builder
	b.WriteString("build image: ")
	if e.Step != "" {
		fmt.Fprintf(&b, "%s: ", e.Step)
	}
	b.WriteString(e.Message)
	if len(e.Tail) > 0 {
		b.WriteString("\nlast lines of the build log:")
		for _, l := range e.Tail {
			b.WriteString("\n  ")
			b.WriteString(l)
		}
	}
	return b.String()
}

// BuildImage builds an image through the Engine API, as `docker build`
// does with the classic builder: it tars opts.ContextDir (honouring the
// ignore file) as it streams it to the engine, streams the build output
// to opts.Output, and returns the image's ID and the log.
//
// Bad options are a *store.InvalidError naming the field, before anything
// is sent. A build that fails in the engine is a *[BuildError] naming the
// failed step and carrying the last lines of the log; the log up to the
// failure is in the returned BuildResult too.
func BuildImage(ctx context.Context, cli ImageBuilder, opts BuildOptions) (BuildResult, error) {
	if cli == nil {
		return BuildResult{}, errors.New("build image: no Engine API client")
	}
	bc, err := prepareBuild(opts)
	if err != nil {
		return BuildResult{}, err
	}
	args := make(map[string]*string, len(opts.BuildArgs))
	for k, v := range opts.BuildArgs {
		args[k] = &v
	}

	pr, pw := io.Pipe()
	tarDone := make(chan error, 1)
	go func() {
		err := bc.write(pw)
		pw.CloseWithError(err)
		tarDone <- err
	}()
	// finish stops the tar writer if the engine stopped reading, and
	// returns its error: nil when it finished, or when the reading end
	// was closed (by us, or by the HTTP transport once it had the answer).
	finish := func() error {
		pr.CloseWithError(errContextStopped)
		if err := <-tarDone; err != nil && !errors.Is(err, errContextStopped) && !errors.Is(err, io.ErrClosedPipe) {
			return err
		}
		return nil
	}

	resp, err := cli.ImageBuild(ctx, pr, client.ImageBuildOptions{
		Tags:        opts.Tags,
		Dockerfile:  bc.dockerfile,
		BuildArgs:   args,
		Target:      opts.Target,
		Labels:      opts.Labels,
		NoCache:     opts.NoCache,
		PullParent:  opts.Pull,
		Remove:      true,
		ForceRemove: true, // no container of a failed step left behind
		Version:     build.BuilderV1,
	})
	if err != nil {
		if terr := finish(); terr != nil {
			return BuildResult{}, fmt.Errorf("build image: send context %s: %w", opts.ContextDir, terr)
		}
		if cerrdefs.IsInvalidArgument(err) {
			// The engine refused the Dockerfile or the target before
			// running any step: "dockerfile parse error line 2: …".
			return BuildResult{}, &BuildError{Message: err.Error()}
		}
		return BuildResult{}, fmt.Errorf("build image: %w", err)
	}
	res, err := readBuildOutput(resp.Body, opts.Output)
	resp.Body.Close()
	if terr := finish(); terr != nil {
		// The context could not be sent whole: whatever the engine made
		// of it, that is the cause.
		err = fmt.Errorf("build image: send context %s: %w", opts.ContextDir, terr)
	}
	return res, err
}

// errContextStopped stops the context writer once the engine's answer is read.
var errContextStopped = errors.New("build context no longer read")

// buildMessage is one message of the engine's JSON build stream.
type buildMessage struct {
	Stream      string          `json:"stream"`
	Status      string          `json:"status"`
	ID          string          `json:"id"`
	Progress    json.RawMessage `json:"progressDetail"`
	ErrorDetail *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"errorDetail"`
	Error string          `json:"error"`
	Aux   json.RawMessage `json:"aux"`
}

// sgr matches the terminal colour codes the classic builder wraps a
// step's stderr in; they are noise in a stored log.
var sgr = regexp.MustCompile("\x1b\\[[0-9;]*m")

// readBuildOutput decodes the build stream, copying its text to out.
func readBuildOutput(body io.Reader, out io.Writer) (BuildResult, error) {
	var (
		log      strings.Builder
		res      BuildResult
		failed   *BuildError
		failedAt int // length of the log before the error's line
	)
	emit := func(s string) {
		s = sgr.ReplaceAllString(s, "")
		log.WriteString(s)
		if out != nil {
			io.WriteString(out, s) // a failing Output does not fail the build
		}
	}
	dec := json.NewDecoder(body)
	for {
		var m buildMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			res.Log = log.String()
			return res, fmt.Errorf("build image: read the engine's output: %w", err)
		}
		switch {
		case m.ErrorDetail != nil || m.Error != "":
			failed = &BuildError{Message: m.Error}
			if m.ErrorDetail != nil {
				failed.Code = m.ErrorDetail.Code
				if m.ErrorDetail.Message != "" {
					failed.Message = m.ErrorDetail.Message
				}
			}
			failedAt = log.Len()
			emit(failed.Message + "\n")
		case len(m.Aux) > 0:
			var aux struct{ ID string }
			if json.Unmarshal(m.Aux, &aux) == nil && aux.ID != "" {
				res.ImageID = aux.ID
			}
		case m.Stream != "":
			emit(m.Stream)
		case m.Status != "" && (len(m.Progress) == 0 || string(m.Progress) == "{}"):
			// Pull progress bars are left out; their final status is kept.
			if m.ID != "" {
				emit(m.ID + ": " + m.Status + "\n")
			} else {
				emit(m.Status + "\n")
			}
		}
	}
	res.Log = log.String()
	if failed != nil {
		before := res.Log[:failedAt]
		failed.Step, failed.Tail = lastBuildStep(before), buildLogTail(before, buildTailLines)
		return res, failed
	}
	if res.ImageID == "" {
		// Engines before API 1.30 print the ID only as text.
		for _, l := range strings.Split(res.Log, "\n") {
			if id, ok := strings.CutPrefix(l, "Successfully built "); ok {
				res.ImageID = strings.TrimSpace(id)
			}
		}
	}
	if res.ImageID == "" {
		return res, &BuildError{Message: "the engine reported no image ID", Tail: buildLogTail(res.Log, buildTailLines)}
	}
	return res, nil
}

// lastBuildStep returns the last "Step N/M : …" line of a classic build log.
func lastBuildStep(log string) string {
	step := ""
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "Step ") {
			step = strings.TrimSpace(l)
		}
	}
	return step
}

// buildLogTail returns the last n non-empty lines of s.
func buildLogTail(s string, n int) []string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r "); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// contextTar is a validated context directory, ready to be tarred.
type contextTar struct {
	root       string
	dockerfile string                         // its name in the tar
	outside    []byte                         // the Dockerfile's content when it is outside root
	ignore     *patternmatcher.PatternMatcher // nil: send everything
	keep       map[string]bool                // sent even when the ignore file excludes them
}

// prepareBuild validates opts and reads the ignore file.
func prepareBuild(opts BuildOptions) (*contextTar, error) {
	invalid := func(field, format string, args ...any) error {
		return &store.InvalidError{Field: "BuildOptions." + field, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(opts.ContextDir) == "" {
		return nil, invalid("ContextDir", "empty")
	}
	root, err := filepath.Abs(opts.ContextDir)
	if err != nil {
		return nil, invalid("ContextDir", "%v", err)
	}
	if fi, err := os.Stat(root); err != nil {
		return nil, invalid("ContextDir", "%v", err)
	} else if !fi.IsDir() {
		return nil, invalid("ContextDir", "%s is not a directory", opts.ContextDir)
	}
	for i, t := range opts.Tags {
		ref, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return nil, invalid(fmt.Sprintf("Tags[%d]", i), "%q: %v", t, err)
		}
		if _, ok := ref.(reference.Digested); ok {
			return nil, invalid(fmt.Sprintf("Tags[%d]", i), "%q: a tag cannot carry a digest", t)
		}
	}
	for k := range opts.BuildArgs {
		if k == "" || strings.ContainsAny(k, "= \t\n") {
			return nil, invalid("BuildArgs", "bad name %q", k)
		}
	}
	for k := range opts.Labels {
		if strings.TrimSpace(k) == "" {
			return nil, invalid("Labels", "empty key")
		}
	}
	if strings.ContainsAny(opts.Target, " \t\n") {
		return nil, invalid("Target", "bad stage name %q", opts.Target)
	}

	bc := &contextTar{root: root, keep: map[string]bool{}}
	df := opts.Dockerfile
	if df == "" {
		df = "Dockerfile"
	}
	dfPath := df
	if !filepath.IsAbs(dfPath) {
		dfPath = filepath.Join(root, df)
	}
	if fi, err := os.Stat(dfPath); err != nil {
		return nil, invalid("Dockerfile", "%v", err)
	} else if !fi.Mode().IsRegular() {
		return nil, invalid("Dockerfile", "%s is not a file", df)
	}
	rel, err := filepath.Rel(root, dfPath)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		// Outside the context: sent under a name of its own, as the
		// docker CLI does.
		if bc.outside, err = os.ReadFile(dfPath); err != nil {
			return nil, invalid("Dockerfile", "%v", err)
		}
		var rnd [8]byte
		rand.Read(rnd[:])
		bc.dockerfile = ".dockerfile." + hex.EncodeToString(rnd[:])
	} else {
		bc.dockerfile = filepath.ToSlash(rel)
		bc.keep[bc.dockerfile] = true
	}

	ignorePath := dfPath + ".dockerignore"
	if _, err := os.Stat(ignorePath); err != nil {
		ignorePath = filepath.Join(root, ".dockerignore")
	}
	f, err := os.Open(ignorePath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return bc, nil
	case err != nil:
		return nil, fmt.Errorf("build image: ignore file: %w", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("build image: ignore file %s: %w", ignorePath, err)
	}
	if bc.ignore, err = patternmatcher.New(patterns); err != nil {
		return nil, fmt.Errorf("build image: ignore file %s: %w", ignorePath, err)
	}
	if rel, err := filepath.Rel(root, ignorePath); err == nil && !strings.HasPrefix(rel, "..") {
		bc.keep[filepath.ToSlash(rel)] = true
	}
	return bc, nil
}

// write writes the context as a tar stream to w.
func (bc *contextTar) write(w io.Writer) error {
	tw := tar.NewWriter(w)
	skipIgnore := false
	if bc.outside != nil {
		if err := writeTarFile(tw, bc.dockerfile, bc.outside); err != nil {
			return err
		}
		// As the docker CLI does: the context's .dockerignore also names
		// the Dockerfile sent under its own name, so that the engine's
		// COPY . leaves it out.
		ignore, err := os.ReadFile(filepath.Join(bc.root, ".dockerignore"))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("ignore file: %w", err)
		}
		ignore = append(ignore, []byte("\n"+bc.dockerfile+"\n")...)
		if err := writeTarFile(tw, ".dockerignore", ignore); err != nil {
			return err
		}
		skipIgnore = true
	}
	err := filepath.WalkDir(bc.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == bc.root {
			return nil
		}
		rel, err := filepath.Rel(bc.root, path)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if skipIgnore && name == ".dockerignore" {
			return nil // sent above
		}
		if bc.ignore != nil && !bc.keep[name] {
			excluded, err := bc.ignore.MatchesOrParentMatches(name)
			if err != nil {
				return fmt.Errorf("ignore file: %w", err)
			}
			if excluded {
				if d.IsDir() && !bc.ignore.Exclusions() {
					return filepath.SkipDir
				}
				// An exception ("!pattern") may bring back a path below
				// an excluded directory: walk in, add only what matches.
				return nil
			}
		}
		return addContextFile(tw, path, name, d)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// writeTarFile writes a regular file of content to tw.
func writeTarFile(tw *tar.Writer, name string, content []byte) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	_, err := tw.Write(content)
	return err
}

// addContextFile writes one file, directory or symbolic link; other kinds of file
// (sockets, devices) are left out, as they cannot be copied into an image.
func addContextFile(tw *tar.Writer, path, name string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	switch mode := info.Mode(); {
	case mode.IsRegular(), mode.IsDir():
	case mode&fs.ModeSymlink != 0:
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	default:
		return nil
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = name
	if info.IsDir() {
		hdr.Name += "/"
	}
	// Ownership is the builder's business: files belong to root in the
	// image unless the Dockerfile says otherwise.
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
