package proctest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a PostgreSQL server of a test's own: a cluster made with
// initdb in a temporary directory, listening on a free loopback port. A
// test may stop, restart or crash it (a database failover, an outage)
// without disturbing the tests that share the machine's PostgreSQL.
type Postgres struct {
	// DSN selects the cluster's netauto_test database as user netauto.
	DSN string

	bin     string   // directory of initdb, pg_ctl, postgres
	dir     string   // the cluster's parent directory
	data    string   // the data directory
	port    int      // the port it listens on
	asOwner []string // command prefix running a program as the cluster's owner
}

// postgresBin returns the newest PostgreSQL server binaries' directory
// (Debian: /usr/lib/postgresql/<version>/bin), "" when none is installed.
func postgresBin() string {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p)
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int {
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return va - vb
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i]
		}
	}
	return ""
}

// StartPostgres makes and starts a cluster for t, stopped and removed when
// t ends. It skips t when no PostgreSQL server binaries are installed
// (fails under NETAUTO_CI, whose .ci/run installs them). PostgreSQL
// refuses to run as root: as root, the cluster belongs to the "postgres"
// user (Debian's package creates it) and its programs run as that user
// (setpriv).
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		if os.Getenv("NETAUTO_CI") != "" {
			t.Fatal("no PostgreSQL server binaries (initdb, pg_ctl), but NETAUTO_CI is set: .ci/run installs them")
		}
		t.Skip("no PostgreSQL server binaries (initdb, pg_ctl): install PostgreSQL to run this test")
	}
	p := &Postgres{bin: bin}
	dir, err := os.MkdirTemp("", "netauto-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p.dir = dir
	t.Cleanup(func() { p.cleanup(t) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs another user to run as: %v (Debian's postgresql package creates \"postgres\")", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		setpriv, err := exec.LookPath("setpriv")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL must run as %q: setpriv (util-linux) not found: %v", u.Username, err)
		}
		p.asOwner = []string{setpriv, "--reuid=" + u.Uid, "--regid=" + u.Gid, "--init-groups", "--"}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p.data = filepath.Join(dir, "data")
	p.run(t, "initdb", "-D", p.data, "-U", "netauto", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://netauto@127.0.0.1:%d/postgres?sslmode=disable", p.port))
	if err != nil {
		t.Fatalf("connect to the test's PostgreSQL: %v\n%s", err, p.Log())
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE netauto_test"); err != nil {
		t.Fatal(err)
	}
	p.DSN = fmt.Sprintf("postgres://netauto@127.0.0.1:%d/netauto_test?sslmode=disable", p.port)
	return p
}

// run runs one of the cluster's programs as its owner.
func (p *Postgres) run(t testing.TB, prog string, args ...string) {
	t.Helper()
	argv := append(append(slices.Clone(p.asOwner), filepath.Join(p.bin, prog)), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGDATA="+p.data)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", prog, strings.Join(args, " "), err, out.String(), p.Log())
	}
}

// Start starts the stopped cluster and waits until it accepts
// connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", p.port, p.dir)
	p.run(t, "pg_ctl", "-D", p.data, "-l", filepath.Join(p.dir, "server.log"), "-o", opts, "-w", "-t", "60", "start")
}

// Stop stops the cluster: mode "fast" disconnects the sessions
// (SQLSTATE 57P01) and shuts down cleanly, "immediate" kills the server
// as a crash would (the next start recovers).
func (p *Postgres) Stop(t testing.TB, mode string) {
	t.Helper()
	p.run(t, "pg_ctl", "-D", p.data, "-m", mode, "-w", "-t", "60", "stop")
}

// Restart stops the cluster (fast) and starts it again: a database
// restart of a second or two, as a minor upgrade or a failover makes.
func (p *Postgres) Restart(t testing.TB) {
	t.Helper()
	p.Stop(t, "fast")
	p.Start(t)
}

// Log returns the server's log so far.
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
	return string(b)
}

func (p *Postgres) cleanup(t testing.TB) {
	if _, err := os.Stat(filepath.Join(p.data, "postmaster.pid")); err == nil {
		argv := append(append(slices.Clone(p.asOwner), filepath.Join(p.bin, "pg_ctl")), "-D", p.data, "-m", "immediate", "-w", "stop")
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Logf("stop the test's PostgreSQL: %v\n%s", err, out)
		}
	}
	if t.Failed() {
		t.Logf("the test's PostgreSQL log:\n%s", p.Log())
	}
	os.RemoveAll(p.dir)
}
