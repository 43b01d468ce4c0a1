// Package agent is what a user's flow binary links to be run by a netauto
// worker: [Main] gives the binary the commands a worker uses,
//
//	execute --run-id ID   run one claimed run, reporting over the API
//	execute --warm        the same, for a run handed over on standard
//	                      input ([AwaitRun]): a child started ahead of demand
//	hooks --run-id ID     run the state hooks of a run the runtime ended
//	                      itself (its process or container died)
//	describe              print the binary's flows and protocol as JSON
//
// A flow binary built from a Git source (see runtime/source) is nothing
// but a main package calling [Main] with its flows. The package links the
// flow engine and the API client only: no store driver, no server, no
// schema validator, so that a flow build stays small and quick.
//
// `execute` first asks the server for its protocol version and refuses
// to run against a server whose protocol is not compatible with the one
// this library speaks ([wire.Protocol]): rolling a deployment back to an
// old ref means running an old library.
package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/remote"
	"github.com/netauto-dev/netauto/runtime/store"
)

// The environment variables `execute` reads; the worker's process
// launcher sets them for its child. The runtime package uses the same
// names.
const (
	// EnvAPIURL is the API's base URL.
	EnvAPIURL = "NETAUTO_API_URL"
	// EnvAPIKey is an API key, used when no run token is given.
	EnvAPIKey = "NETAUTO_API_KEY"
	// EnvRunToken is the run-scoped token the child reports with.
	EnvRunToken = "NETAUTO_RUN_TOKEN"
	// EnvRun is the claimed run as JSON.
	EnvRun = "NETAUTO_RUN"
	// EnvRunID is the run to execute (also given as --run-id).
	EnvRunID = "NETAUTO_RUN_ID"
	// EnvTLSCA is a PEM file of CA certificates trusted for the API's
	// HTTPS besides the system's.
	EnvTLSCA = "NETAUTO_TLS_CA"
	// EnvSecretEnv set to "stdin" says that the secret part of the
	// environment comes on standard input ([wire.EnvSecretEnv]).
	EnvSecretEnv = wire.EnvSecretEnv
)

// maxSecretEnv bounds the secret environment read from standard input.
const maxSecretEnv = 1 << 20

// LoadSecretEnv reads the secret environment from r when EnvSecretEnv is
// "stdin" and sets it in the process's environment (where flows read
// their settings), then unsets EnvSecretEnv. It does nothing otherwise.
// The secrets are one line, a JSON object of strings; r is read one byte
// at a time up to that line's end, so that what follows on the same input
// (the worker's lease channel, see [wire.EnvLeaseFD]) is left unread.
// Errors never hold a value.
func LoadSecretEnv(r io.Reader) error {
	switch mode := os.Getenv(EnvSecretEnv); mode {
	case "":
		return nil
	case "stdin":
	default:
		return fmt.Errorf("%s=%q: want stdin", EnvSecretEnv, mode)
	}
	raw, err := readLine(r, maxSecretEnv)
	if err != nil {
		return fmt.Errorf("read the secret environment from standard input: %w", err)
	}
	return setSecretEnv(raw)
}

// setSecretEnv sets the variables of raw, a JSON object of strings, in
// the process's environment and unsets EnvSecretEnv. Errors never hold a
// value.
func setSecretEnv(raw []byte) error {
	var vars map[string]string
	if err := json.Unmarshal(raw, &vars); err != nil || vars == nil {
		return fmt.Errorf("secret environment on standard input: not a JSON object of strings (%d bytes)", len(raw))
	}
	for k, v := range vars {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("secret environment on standard input: bad variable name %q", k)
		}
		if err := os.Setenv(k, v); err != nil {
			return fmt.Errorf("set %s: %w", k, err)
		}
	}
	return os.Unsetenv(EnvSecretEnv)
}

// AwaitRun is how a warm child of the process launcher (`execute --warm`,
// see [wire.WarmArg]) gets its run: started ahead of demand, with the
// environment every child of its worker gets and EnvSecretEnv=stdin, it
// blocks reading r (its standard input) until the worker hands it one
// run: a JSON object of the variables a child started for that run would
// have had in its environment (the run's ID, its token, the run...),
// then the end of input. They are set in the process's environment, as
// [LoadSecretEnv] does, so that what follows executes exactly as in a
// child started for the run. An input that ends empty (the worker closed
// it, or died) is an [ErrNoRun].
func AwaitRun(r io.Reader) error {
	if mode := os.Getenv(EnvSecretEnv); mode != "stdin" {
		return fmt.Errorf("a warm child needs %s=stdin, not %q", EnvSecretEnv, mode)
	}
	raw, err := io.ReadAll(io.LimitReader(r, maxSecretEnv+1))
	switch {
	case err != nil:
		return fmt.Errorf("read the run from standard input: %w", err)
	case len(raw) > maxSecretEnv:
		return fmt.Errorf("the run on standard input: more than %d bytes", maxSecretEnv)
	case len(bytes.TrimSpace(raw)) == 0:
		return ErrNoRun
	}
	return setSecretEnv(raw)
}

// AwaitAssignment is the start of `execute --warm`: [AwaitRun] on
// standard input, then the run ID and API URL from the variables it set.
// A warm child takes its run from standard input only: flags naming the
// run or the API are refused (setFlags lists those given). While it
// waits, a child started with the API URL in its environment already
// asks the server for its protocol ([CheckServer]: no credential needed)
// over the connection its run will use; the *[WarmStart] it returns
// hands that to [Execute] (ExecuteConfig.Warm).
func AwaitAssignment(setFlags []string) (runID, apiURL string, warm *WarmStart, err error) {
	for _, f := range setFlags {
		if f == "run-id" || f == "api" {
			return "", "", nil, errors.New("execute " + wire.WarmArg + " takes its run and API on standard input, not --" + f)
		}
	}
	warm = prepareWarm(os.Getenv(EnvAPIURL), os.Getenv(EnvTLSCA))
	if err := AwaitRun(os.Stdin); err != nil {
		return "", "", nil, err
	}
	return os.Getenv(EnvRunID), os.Getenv(EnvAPIURL), warm, nil
}

// WarmStart is what a warm child prepared while it waited for its run:
// a client of the API and the answer to its protocol check.
type WarmStart struct {
	url, ca string
	c       *client.Client
	checked chan struct{}
	err     error
	at      time.Time // of the check's answer
}

// warmCheckFresh is how long a warm child's protocol check holds: a
// child that waited longer checks again (the server may have been
// upgraded meanwhile).
const warmCheckFresh = 30 * time.Second

// prepareWarm starts the protocol check of the API at url; nil when url
// is empty or makes no client.
func prepareWarm(url, ca string) *WarmStart {
	if url == "" {
		return nil
	}
	c, err := client.New(url, client.Options{CAFile: ca})
	if err != nil {
		return nil
	}
	w := &WarmStart{url: url, ca: ca, c: c, checked: make(chan struct{})}
	go func() {
		defer close(w.checked)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		w.err = CheckServer(ctx, c)
		w.at = time.Now()
	}()
	return w
}

// client returns the prepared client for apiURL with token, and whether
// the server's protocol was checked: nil when it was prepared for
// another API or TLS trust.
func (w *WarmStart) client(ctx context.Context, apiURL, token string) (c *client.Client, checked bool) {
	if w == nil || w.url != apiURL || w.ca != os.Getenv(EnvTLSCA) {
		return nil, false
	}
	w.c.SetToken(token)
	select {
	case <-w.checked:
		return w.c, w.err == nil && time.Since(w.at) < warmCheckFresh
	case <-ctx.Done():
		return w.c, false
	}
}

// ErrNoRun is a warm child's input that ended with no run: its worker
// stopped or died before it needed the child.
var ErrNoRun = errors.New("no run given: the worker closed standard input")

// readLine reads r up to a newline (not included) or its end, at most max
// bytes, without reading past the newline.
func readLine(r io.Reader, max int) ([]byte, error) {
	var line []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return line, nil
			}
			if len(line) == max {
				return nil, fmt.Errorf("more than %d bytes", max)
			}
			line = append(line, b[0])
		}
		if errors.Is(err, io.EOF) {
			return line, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Exit statuses of [Run].
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// RunFailedError is an executed run that did not complete.
type RunFailedError struct {
	RunID string
	State flow.State
}

func (e *RunFailedError) Error() string {
	return fmt.Sprintf("run %s ended %s", e.RunID, e.State)
}

// UnknownFlowError is a run of a flow the binary does not contain.
type UnknownFlowError = wire.UnknownFlowError

// ProtocolError is a server whose protocol this library cannot speak.
type ProtocolError struct {
	// Server is the server's protocol, 0 when it announces none.
	Server int
	// Library is the server's library version, when known.
	Library string
}

func (e *ProtocolError) Error() string {
	if e.Server == 0 {
		return fmt.Sprintf("the server announces no protocol version (it predates protocol 1); this flow binary speaks protocol %d (netauto %s): upgrade the server or build the flow with the server's netauto version", wire.Protocol, wire.LibraryVersion())
	}
	return fmt.Sprintf("the server speaks protocol %d (netauto %s), this flow binary protocol %d (netauto %s): build the flow with a netauto version speaking protocol %d, or upgrade the server",
		e.Server, e.Library, wire.Protocol, wire.LibraryVersion(), e.Server)
}

// Main runs the command line of os.Args with flows, with a context
// cancelled by SIGINT and SIGTERM, and exits with its status.
func Main(flows ...flow.Definition) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdout, os.Stderr, flows...)
	stop()
	os.Exit(code)
}

// Run runs one command (execute or describe) and returns the exit status:
// [ExitOK], [ExitFailed] (the command failed or the run did not complete)
// or [ExitUsage].
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, flows ...flow.Definition) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: execute --run-id ID | execute --warm | hooks --run-id ID | describe")
		return ExitUsage
	}
	lookup, err := Lookup(flows...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return ExitFailed
	}
	switch args[0] {
	case "describe":
		if len(args) > 1 {
			fmt.Fprintln(stderr, "describe takes no arguments")
			return ExitUsage
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(Describe(flows...)); err != nil {
			fmt.Fprintln(stderr, err)
			return ExitFailed
		}
		return ExitOK
	case "hooks":
		fs := flag.NewFlagSet("hooks", flag.ContinueOnError)
		fs.SetOutput(stderr)
		runID := fs.String("run-id", os.Getenv(EnvRunID), "the run whose state hooks to run (env "+EnvRunID+")")
		apiURL := fs.String("api", os.Getenv(EnvAPIURL), "API base URL (env "+EnvAPIURL+")")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return ExitUsage
		}
		if *runID == "" {
			fmt.Fprintln(stderr, "hooks: --run-id is required")
			return ExitUsage
		}
		if err := Hooks(ctx, ExecuteConfig{RunID: *runID, APIURL: *apiURL, Lookup: lookup}); err != nil {
			fmt.Fprintln(stderr, "hooks:", err)
			return ExitFailed
		}
		return ExitOK
	case "execute":
		fs := flag.NewFlagSet("execute", flag.ContinueOnError)
		fs.SetOutput(stderr)
		runID := fs.String("run-id", os.Getenv(EnvRunID), "the run to execute (env "+EnvRunID+")")
		apiURL := fs.String("api", os.Getenv(EnvAPIURL), "API base URL (env "+EnvAPIURL+")")
		warm := fs.Bool(wire.WarmArg[2:], false, "wait on standard input for the run to execute (a warm child of the process launcher)")
		if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
			return ExitUsage
		}
		var warmStart *WarmStart
		if *warm {
			var set []string
			fs.Visit(func(f *flag.Flag) { set = append(set, f.Name) })
			var err error
			if *runID, *apiURL, warmStart, err = AwaitAssignment(set); err != nil {
				if errors.Is(err, ErrNoRun) {
					return ExitOK
				}
				fmt.Fprintln(stderr, "execute:", err)
				return ExitFailed
			}
		}
		if *runID == "" {
			fmt.Fprintln(stderr, "execute: --run-id is required")
			return ExitUsage
		}
		err := Execute(ctx, ExecuteConfig{RunID: *runID, APIURL: *apiURL, Lookup: lookup, Warm: warmStart})
		if err != nil {
			fmt.Fprintln(stderr, "execute:", err)
			return ExitFailed
		}
		return ExitOK
	default:
		fmt.Fprintf(stderr, "unknown command %q: want execute, hooks or describe\n", args[0])
		return ExitUsage
	}
}

// Lookup indexes flows by name; two flows with one name are an error.
func Lookup(flows ...flow.Definition) (func(name string) (flow.Definition, bool), error) {
	m := make(map[string]flow.Definition, len(flows))
	for i, f := range flows {
		if f == nil {
			return nil, fmt.Errorf("flows[%d]: nil", i)
		}
		name := f.Describe().Name
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("flows[%d]: flow %q given twice", i, name)
		}
		m[name] = f
	}
	return func(name string) (flow.Definition, bool) { d, ok := m[name]; return d, ok }, nil
}

// Describe returns what `describe` prints: the protocol, the library
// version and the flows, sorted by name.
func Describe(flows ...flow.Definition) wire.Description {
	d := wire.Description{Protocol: wire.Protocol, Library: wire.LibraryVersion(), Flows: []wire.FlowDescription{}}
	for _, f := range flows {
		if f == nil {
			continue
		}
		fd := f.Describe()
		d.Flows = append(d.Flows, wire.FlowDescription{Name: fd.Name, Version: fd.Version, Description: fd.Description, Parameters: fd.Parameters})
	}
	slices.SortFunc(d.Flows, func(a, b wire.FlowDescription) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return d
}

// ExecuteConfig says which run [Execute] executes and how it reaches the
// API.
type ExecuteConfig struct {
	RunID string
	// APIURL is the API base URL.
	APIURL string
	// Token authenticates to the API; default $NETAUTO_RUN_TOKEN, else
	// $NETAUTO_API_KEY.
	Token string
	// Lookup finds the run's flow by name.
	Lookup func(name string) (flow.Definition, bool)
	// Warm is what a warm child prepared while it waited for its run
	// ([AwaitAssignment]); nil otherwise.
	Warm *WarmStart
	// OnLeaseLost is called when the worker's lease channel
	// ($NETAUTO_LEASE_FD, see [wire.EnvLeaseFD]) says the execution must
	// stop: the worker died, lost the run's lease, or stopped renewing
	// it. Default: kill this process's group at once and exit with
	// [ExitLeaseLost], recording nothing, since the run's retry may
	// already start elsewhere. Tests replace it.
	OnLeaseLost func(reason error)
}

// outagePatience is how long a run executed without a lease channel (by
// hand) waits out an unreachable API before it fails.
const outagePatience = time.Minute

// Execute executes one claimed run with its flow and reports it over the
// API: states, task runs, results and logs. It first loads the secret
// environment from standard input when the launcher says so
// ([LoadSecretEnv]). It refuses (a *[ProtocolError])
// a server whose protocol is not compatible. A run that did not complete
// is a *[RunFailedError]; a flow Lookup does not know, an
// *[UnknownFlowError].
//
// Under a worker, Execute watches the worker's lease channel and stops
// the process at once when the worker is gone or lost the run (see
// [ExecuteConfig.OnLeaseLost]); while the lease holds, an API server or
// store that is unavailable (a restart, a failover) is waited out, not a
// failure of the run. The run's tasks take tag concurrency slots through
// the API, so that tag limits hold across every worker and process.
func Execute(ctx context.Context, cfg ExecuteConfig) error {
	if cfg.RunID == "" {
		return errors.New("run id: empty")
	}
	if err := LoadSecretEnv(os.Stdin); err != nil {
		return err
	}
	lf, err := leaseFile()
	if err != nil {
		return err
	}
	if lf != nil {
		onLost := cfg.OnLeaseLost
		if onLost == nil {
			onLost = stopAtOnce
		}
		lease, stopLease := WatchLease(lf, onLost)
		defer stopLease()
		ctx = store.WithLease(ctx, lease)
	}
	c, token, err := newClient(cfg.APIURL, cfg.Token)
	if err != nil {
		return err
	}
	warmC, checked := cfg.Warm.client(ctx, cfg.APIURL, token)
	if warmC != nil {
		c = warmC // its connection is open already
	}
	if strings.HasPrefix(token, wire.RunTokenPrefix) {
		// A run token lives minutes: renewed while the run's lease is,
		// first when half its life is spent (a short run never asks).
		exp, _ := wire.RunTokenExpiry(token)
		defer remote.KeepTokenFreshUntil(ctx, c, cfg.RunID, exp)()
	}
	if !checked {
		if err := store.RetryUnavailable(ctx, outagePatience, "reach the API", func(ctx context.Context) error { return CheckServer(ctx, c) }); err != nil {
			return err
		}
	}
	var run store.FlowRun
	if err := store.RetryUnavailable(ctx, outagePatience, "read the run", func(ctx context.Context) error {
		var err error
		run, err = claimedRun(ctx, c, cfg.RunID)
		return err
	}); err != nil {
		return err
	}
	def, ok := cfg.Lookup(run.Flow)
	if !ok {
		return &UnknownFlowError{Flow: run.Flow}
	}
	rec := remote.NewRecorder(c, run.ID, store.RecorderOptions{})
	lim := remote.NewLimiter(c, run.ID, store.LimiterOptions{})
	wctx, stopWatch := remote.WatchCancel(ctx, c, run.ID, 0)
	defer stopWatch()
	// Approval gates: requests over the API; a long wait suspends the run
	// (the worker then releases it) and a later execution resumes it.
	inputs := &remote.InputBroker{Client: c}
	eng := &flow.Engine{Recorder: rec, Results: rec, Limiter: lim, Inputs: inputs, SuspendAfter: InputSuspendAfter}
	_, xerr := def.Execute(flow.WithEngine(wctx, eng), flow.Execution{
		RunID: run.ID, RunName: run.Name, Tags: run.Tags, Params: run.Parameters,
		State: run.State, Attempt: run.Attempt, Attempts: run.Retries + 1, Resume: run.Attempt > 1 || store.Resumed(run),
	})
	if err := rec.Close(); err != nil {
		return fmt.Errorf("report run %s: %w", run.ID, err)
	}
	if xerr != nil {
		st, err := c.RunState(context.WithoutCancel(ctx), run.ID)
		if err != nil {
			return fmt.Errorf("run %s: %w", run.ID, xerr)
		}
		return &RunFailedError{RunID: run.ID, State: st}
	}
	return nil
}

// newClient returns the API client of an `execute` or `hooks` process:
// token, else $NETAUTO_RUN_TOKEN, else $NETAUTO_API_KEY; both variables
// are unset once read. It also returns the token it uses.
func newClient(apiURL, token string) (*client.Client, string, error) {
	if token == "" {
		token = os.Getenv(EnvRunToken)
	}
	if token == "" {
		token = os.Getenv(EnvAPIKey)
	}
	// The flow's code, and what it starts, must not find the credential
	// in the environment.
	_ = os.Unsetenv(EnvRunToken)
	_ = os.Unsetenv(EnvAPIKey)
	c, err := client.New(apiURL, client.Options{Token: token, CAFile: os.Getenv(EnvTLSCA)})
	return c, token, err
}

// Hooks runs the state hooks of run runID for its current (final) state,
// as the worker asks a flow binary to when the run ended without running
// them itself: its process or container died (Crashed), or died while it
// was being cancelled. The run comes from $NETAUTO_RUN, else from the API.
// It returns the hooks' errors; a flow Lookup does not know is an
// *[UnknownFlowError].
func Hooks(ctx context.Context, cfg ExecuteConfig) error {
	if cfg.RunID == "" {
		return errors.New("run id: empty")
	}
	c, _, err := newClient(cfg.APIURL, cfg.Token)
	if err != nil {
		return err
	}
	run, err := claimedRun(ctx, c, cfg.RunID)
	if err != nil {
		return err
	}
	def, ok := cfg.Lookup(run.Flow)
	if !ok {
		return &UnknownFlowError{Flow: run.Flow}
	}
	sh, ok := def.(flow.StateHooker)
	if !ok {
		return nil
	}
	return sh.RunStateHooks(ctx, run.HookEvent())
}

// CheckServer asks the server for its protocol and returns a
// *[ProtocolError] when it is not compatible with this library's.
func CheckServer(ctx context.Context, c *client.Client) error {
	v, err := c.Version(ctx)
	if client.IsNotFound(err) {
		return &ProtocolError{}
	}
	if err != nil {
		return fmt.Errorf("ask the server for its protocol: %w", err)
	}
	if !wire.Compatible(v.Protocol) {
		return &ProtocolError{Server: v.Protocol, Library: v.Library}
	}
	return nil
}

// claimedRun returns the run as its worker claimed it: from the
// environment the process launcher sets (a fast path), else from the
// API, where a run token may read its own run.
func claimedRun(ctx context.Context, c *client.Client, id string) (store.FlowRun, error) {
	if doc := os.Getenv(EnvRun); doc != "" {
		var run store.FlowRun
		if err := json.Unmarshal([]byte(doc), &run); err != nil {
			return store.FlowRun{}, fmt.Errorf("%s: %w", EnvRun, err)
		}
		if run.ID != id {
			return store.FlowRun{}, fmt.Errorf("%s holds run %s, not %s", EnvRun, run.ID, id)
		}
		return run, nil
	}
	d, err := c.Run(ctx, id)
	if err != nil {
		return store.FlowRun{}, fmt.Errorf("read run %s: %w", id, err)
	}
	return d.Run, nil
}

// InputSuspendAfter is how long a run in a child process or container
// waits at an approval gate before it is suspended (its process ends,
// its worker slot is released) to be resumed once answered.
var InputSuspendAfter = 30 * time.Second
