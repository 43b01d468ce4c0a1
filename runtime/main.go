package runtime

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/runtime/agent"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// The environment variables the commands read. Flags override them.
const (
	// EnvAPIURL is the API's base URL for the client commands and the
	// process launcher's children (default http://127.0.0.1:4200).
	EnvAPIURL = agent.EnvAPIURL
	// EnvAPIKey is the API key the client commands send.
	EnvAPIKey = agent.EnvAPIKey
	// EnvAPIKeys lists the API keys the server accepts, comma-separated,
	// each NAME:ROLE:KEY or NAME:ROLE:sha256:HEX (see [api.ParseKeys]).
	// Without keys (and without EnvAPIKeysFile) the server makes a local
	// admin key (EnvLocalKeyFile) and listens on loopback only.
	EnvAPIKeys = "NETAUTO_API_KEYS"
	// EnvAPIKeysFile names a keys file: lines NAME ROLE sha256:HEX
	// [POOL...] (see [api.ReadKeysFile]), read with EnvAPIKeys.
	EnvAPIKeysFile = "NETAUTO_API_KEYS_FILE"
	// EnvLocalKeyFile is where a server without configured keys keeps
	// its local admin key (mode 0600), and where the client commands on
	// the same machine read it; default local-admin.key beside the
	// SQLite file (in .netauto/ for PostgreSQL).
	EnvLocalKeyFile = "NETAUTO_LOCAL_KEY_FILE"
	// EnvDB is the store: a SQLite file path, or a postgres:// URL.
	EnvDB = "NETAUTO_DB"
	// EnvListen is the server's listen address (default 127.0.0.1:4200).
	EnvListen = "NETAUTO_LISTEN"
	// EnvTokenSecret signs run tokens (at least 32 bytes); set it when
	// several servers share a store or tokens must survive a restart.
	EnvTokenSecret = "NETAUTO_TOKEN_SECRET"
	// EnvRunToken carries a child's run-scoped token to `execute`.
	EnvRunToken = agent.EnvRunToken
	// EnvRun carries the claimed run (JSON) to `execute`.
	EnvRun = agent.EnvRun
	// EnvLogLevel is the level of the commands' own logs: debug, info,
	// warn, error (default info).
	EnvLogLevel = "NETAUTO_LOG_LEVEL"
	// EnvSourceCache is the directory where a worker fetches and builds
	// Git sources (default .netauto/source).
	EnvSourceCache = "NETAUTO_SOURCE_CACHE"
	// EnvSourceAllowFile, set to 1, lets a worker accept file:// Git
	// sources.
	EnvSourceAllowFile = "NETAUTO_SOURCE_ALLOW_FILE"
	// EnvTLSCert and EnvTLSKey are the PEM certificate (chain) and key
	// files the server serves HTTPS with; unset, it serves plain HTTP
	// (behind a TLS-terminating proxy off loopback, see SECURITY.md).
	EnvTLSCert = "NETAUTO_TLS_CERT"
	EnvTLSKey  = "NETAUTO_TLS_KEY"
	// EnvTLSCA is a PEM file of CA certificates the client commands, the
	// workers and execute trust for the API's HTTPS besides the system's.
	EnvTLSCA = agent.EnvTLSCA
	// EnvChildEnv names the variables of a worker's environment its
	// process-launcher children get besides worker.DefaultChildEnv:
	// comma-separated names or PREFIX* patterns (--child-env).
	EnvChildEnv = "NETAUTO_CHILD_ENV"
)

// Defaults of the configuration.
const (
	DefaultDB     = ".netauto/netauto.db"
	DefaultListen = "127.0.0.1:4200"
	// DefaultSourceCache is the worker's Git source cache directory.
	DefaultSourceCache = ".netauto/source"
)

// Exit statuses of [App.Run].
const (
	ExitOK        = 0
	ExitFailed    = 1 // the command failed, or the run it watched did not complete
	ExitUsage     = 2 // bad command line
	exitCancelled = 130
)

// UsageError is a bad command line; [App.Run] exits with [ExitUsage].
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{Msg: fmt.Sprintf(format, args...)} }

// Main runs the command line of os.Args on app with a context cancelled
// by SIGINT and SIGTERM, and exits with its status.
func Main(app *App) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := app.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name, args, help string
	run              func(e *env, args []string) error
}

// env is what a command runs with.
type env struct {
	ctx            context.Context
	app            *compiled
	stdout, stderr io.Writer
	log            *slog.Logger
}

func (c *compiled) commands() []command {
	return append([]command{
		{"server", "[--db DB] [--listen ADDR] [--no-worker] [--pool NAME]", "API, scheduler, lease reaper and an embedded worker", cmdServer},
		{"worker", "--pool NAME [--launcher in-process|process|docker] [--db DB]", "claim and execute the runs of a pool", cmdWorker},
		{"deploy", "[--build [--image NAME:TAG] [--dockerfile PATH] [--context DIR] [--target STAGE] [--build-arg K=V]...]", "apply the app's flows, pools and deployments through the API, printing each change; --build first builds the worker image", cmdDeploy},
		{"run", "DEPLOYMENT [--param k=v]... [--param-json '{...}'] [--in 1h] [--watch] | show RUN", "create a run; --watch follows it and exits 1 unless it completes; `run show` is `show`", cmdRun},
		{"runs", "[cancel|retry [RUN...]] [--state S,...] [--deployment D] [--flow F] [--tag T] [--origin KIND] [--limit N] [--json] | override-window RUN --reason TEXT", "list runs, newest first, with what created each; cancel or retry all the filter selects (--dry-run first); override-window lets a run waiting for its change window start now", cmdRuns},
		{"show", "RUN [--json]", "show a run: state, what created it (schedule, trigger and event, API key, parent run), source commit, history", cmdShow},
		{"logs", "RUN [-f] [--json]", "print a run's logs; -f follows them until the run ends", cmdLogs},
		{"cancel", "RUN [--reason TEXT]", "ask a run to stop", cmdCancel},
		{"flows", "[--json]", "list the flows compiled into this binary", cmdFlows},
		{"execute", "--run-id ID", "run one claimed run (the process launcher's child)", cmdExecute},
		{"secrets", "[list|set NAME|delete NAME] [--json] | rotate --new-key-file PATH [--generate] [--db DB]", "list, set (value from stdin) or delete secrets over the API; rotate seals every secret again under a new key", cmdSecrets},
		{"keys", "new NAME [--role viewer|operator|approver|worker|admin] [--pools P,...]", "make an API key: prints it once, with the server's entries holding its hash", cmdKeys},
		{"deployments", "[list|show NAME|pause NAME|resume NAME] [--json]", "list, show, pause or resume deployments", cmdDeployments},
		{"results", "RUN [--json]", "print a run's result and its task runs' results", cmdResults},
		{"blocks", "[list|show NAME|set NAME|delete NAME] [--json]", "config blocks; set reads {\"type\",\"data\",\"secrets\"} JSON from stdin; secrets never shown", cmdBlocks},
		{"variables", "[list|get NAME|set NAME|delete NAME] [--json]", "variables; set reads the value (JSON, else a string) from stdin", cmdVariables},
		{"version", "[--json]", "this binary's and the server's netauto version and protocol", cmdVersion},
	}, append(approvalCommands(), windowCommands()...)...) // approvalscmd.go, windowscmd.go
}

// Run runs the command line args (without the program name) and returns
// the exit status: [ExitOK], [ExitFailed], or [ExitUsage].
func (a *App) Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := a.compile()
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid app: %v\n", a.Name, err)
		return ExitFailed
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		c.usage(stderr)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	level, err := parseLevel(os.Getenv(EnvLogLevel))
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", c.name(), err)
		return ExitUsage
	}
	e := &env{ctx: ctx, app: c, stdout: stdout, stderr: stderr,
		log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))}
	for _, x := range a.Commands {
		if x.Name == args[0] {
			return x.Run(ctx, args[1:], stdout, stderr)
		}
	}
	for _, cmd := range c.commands() {
		if cmd.name != args[0] {
			continue
		}
		err := cmd.run(e, args[1:])
		var ue *UsageError
		var rf *RunFailedError
		switch {
		case err == nil:
			return ExitOK
		case errors.Is(err, flag.ErrHelp):
			return ExitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "%s %s: %v\nusage: %s %s %s\n", c.name(), cmd.name, err, c.name(), cmd.name, cmd.args)
			return ExitUsage
		case errors.As(err, &rf):
			fmt.Fprintf(stderr, "%s %s: %v\n", c.name(), cmd.name, err)
			return ExitFailed
		case ctx.Err() != nil && errors.Is(err, context.Canceled):
			fmt.Fprintf(stderr, "%s %s: interrupted\n", c.name(), cmd.name)
			return exitCancelled
		default:
			fmt.Fprintf(stderr, "%s %s: %s\n", c.name(), cmd.name, hint(c.name(), err))
			return ExitFailed
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n", c.name(), args[0])
	c.usage(stderr)
	return ExitUsage
}

func (c *compiled) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s COMMAND [flags]\n\ncommands:\n", c.name())
	for _, cmd := range c.commands() {
		fmt.Fprintf(w, "  %-8s %s\n           %s\n", cmd.name, cmd.help, cmd.args)
	}
	for _, x := range c.app.Commands {
		fmt.Fprintf(w, "  %-8s %s\n           %s\n", x.Name, x.Help, x.Args)
	}
	fmt.Fprintf(w, "\nenvironment: %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s\n",
		EnvAPIURL, EnvAPIKey, EnvAPIKeys, EnvAPIKeysFile, EnvLocalKeyFile, EnvDB, EnvListen, EnvTokenSecret, store.EnvSecretKey, store.EnvSecretKeyFile, EnvLogLevel)
}

func parseLevel(s string) (slog.Level, error) {
	if s == "" {
		return slog.LevelInfo, nil
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%s=%q: want debug, info, warn or error", EnvLogLevel, s)
	}
	return l, nil
}

// flags returns a flag set for a command whose errors are returned, not
// printed by the flag package.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses args with flags and positionals mixed in any order
// (`run hello --watch` as well as `run --watch hello`) and returns the
// positionals. A wrong count is a usage error.
func parse(fs *flag.FlagSet, args []string, positionals ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &UsageError{Msg: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != len(positionals) {
		if len(positionals) == 0 {
			return nil, usagef("unexpected argument %q", pos[0])
		}
		return nil, usagef("want %s", strings.Join(positionals, " "))
	}
	return pos, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// dbFlag declares --db with its environment default.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", envOr(EnvDB, DefaultDB), "store: SQLite file path or postgres:// URL (env "+EnvDB+")")
}

// apiFlags declares --api and --api-key with their environment defaults.
type apiFlags struct{ url, key *string }

func newAPIFlags(fs *flag.FlagSet) apiFlags {
	return apiFlags{
		url: fs.String("api", envOr(EnvAPIURL, "http://"+envOr(EnvListen, DefaultListen)), "API base URL (env "+EnvAPIURL+")"),
		key: fs.String("api-key", "", "API key (default env "+EnvAPIKey+"; prefer the environment: flags show in ps)"),
	}
}

// client returns a client of the API with the key of --api-key, else
// $NETAUTO_API_KEY, else the local admin key of a server on this machine
// that runs without configured keys.
func (f apiFlags) client() (*client.Client, error) {
	key := *f.key
	if key == "" {
		key = os.Getenv(EnvAPIKey)
	}
	if key == "" {
		key = localClientKey(*f.url)
	}
	return client.New(*f.url, client.Options{Token: key, Timeout: 30 * time.Second, CAFile: os.Getenv(EnvTLSCA)})
}
