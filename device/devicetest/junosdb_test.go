package devicetest_test

import (
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
)

const junosBase = "## Last commit: 2024-12-06 11:41:05 UTC by root\nversion 22.4;\nsystem {\n    host-name srx1;\n}\ninterfaces {\n    ge-0/0/1 {\n        unit 0;\n    }\n}"

func junosLab(t *testing.T, faults ...devicetest.Fault) *devicetest.Device {
	t.Helper()
	lab := startLab(t, devicetest.Spec{Name: "srx1", Platform: "juniper_junos", RunningConfig: junosBase, Faults: faults})
	return lab.Device("srx1")
}

// FAILURES.md: "In shared configure mode the uncommitted candidate survives
// the session and is committed by the next person's commit", and "configure
// private ... refuses to start while the shared candidate is modified".
// Leaving with uncommitted changes asks "Exit with uncommitted changes?".
func TestJunosSharedCandidateOutlivesItsSession(t *testing.T) {
	d := junosLab(t)
	a := dial(t, d)
	a.expect("configure", "Entering configuration mode")
	a.expect("set system location building B7")
	a.expect("exit", "The configuration has been changed but not committed", "Exit with uncommitted changes? [yes,no] (yes) ")
	a.expect("yes", "Exiting configuration mode", "admin@srx1> ")
	if !d.CandidateModified() {
		t.Fatal("the shared candidate lost its change when the session left")
	}

	b := dial(t, d)
	b.expect("configure private", "error: shared configuration database modified", "admin@srx1> ")
	b.expect("configure exclusive", "error: configuration database modified", "admin@srx1> ")
	b.expect("configure", "Entering configuration mode", "The configuration has been changed but not committed")
	b.expect("show | compare", "set system location building B7")
	b.expect("commit", "commit complete")
	if cfg := d.RunningConfig(); !strings.Contains(cfg, "location building B7;") || !strings.Contains(cfg, "by admin") {
		t.Errorf("B's commit did not activate A's change:\n%s", cfg)
	}
	b.expect("exit", "Exiting configuration mode")
}

// configure exclusive locks the shared candidate: others may enter
// configuration mode (and see who holds the lock), but not change, roll back
// or commit; a private session may edit its copy but not commit. Leaving
// exclusive mode with changes asks "Discard uncommitted changes?" and
// discards them.
func TestJunosExclusiveLock(t *testing.T) {
	d := junosLab(t)
	a := dial(t, d)
	a.expect("configure exclusive", "warning: uncommitted changes will be discarded on exit", "Entering configuration mode")
	c := dial(t, d)
	c.expect("configure private", "Entering configuration mode", "exclusive [edit]")
	a.expect("set system host-name locked")

	b := dial(t, d)
	b.expect("configure exclusive", "error: configuration database locked by:", "exclusive [edit]", "admin@srx1> ")
	b.expect("configure", "Entering configuration mode", "Users currently editing the configuration:", "terminal pts/0", "exclusive [edit]")
	b.expect("set system location x", "error: configuration database locked by:")
	b.expect("rollback 0", "error: configuration database locked by:")
	b.expect("commit", "error: configuration database locked by:")
	b.expect("exit", "Exit with uncommitted changes?") // a's change is in the shared candidate
	b.expect("yes", "Exiting configuration mode")

	c.expect("set system location private")
	c.expect("commit", "error: configuration database locked by:")
	c.expect("exit", "Discard uncommitted changes? [yes,no] (yes)")
	c.expect("yes", "Exiting configuration mode")

	a.expect("exit", "warning: Auto rollback on exiting 'configure exclusive'", "Discard uncommitted changes? [yes,no] (yes)")
	a.expect("no", "admin@srx1# ") // "no" keeps editing
	a.expect("exit", "Discard uncommitted changes?")
	a.expect("yes", "warning: discarding uncommitted changes", "load complete", "Exiting configuration mode")
	if d.CandidateModified() || strings.Contains(d.RunningConfig(), "locked") {
		t.Errorf("exclusive changes survived the exit:\n%s", d.RunningConfig())
	}
	// The lock is gone with the session's configuration mode.
	b.expect("configure exclusive", "Entering configuration mode")
}

// A session that disconnects in exclusive mode releases the lock and its
// changes, like a NETCONF session that ends before committing.
func TestJunosExclusiveReleasedOnDisconnect(t *testing.T) {
	d := junosLab(t)
	a := dial(t, d)
	a.expect("configure exclusive", "Entering configuration mode")
	a.expect("set system host-name gone")
	a.in.(interface{ Close() error }).Close()
	b := dial(t, d)
	// The server notices the closed channel asynchronously: wait for the
	// lock to go, bounded by the read timeout of term.
	for i := 0; ; i++ {
		out := b.send("configure exclusive")
		if strings.Contains(out, "Entering configuration mode") {
			break
		}
		if i == 50 {
			t.Fatalf("lock never released:\n%s", out)
		}
		<-timeTick()
	}
	if d.CandidateModified() {
		t.Error("the disconnected session's exclusive changes stayed in the candidate")
	}
}

// Private commits merge only the session's own changes; "commit confirmed"
// is not possible in private mode (Junos 8.5 CLI guide).
func TestJunosPrivateCommit(t *testing.T) {
	d := junosLab(t)
	a := dial(t, d)
	a.expect("configure private", "warning: uncommitted changes will be discarded on exit", "Entering configuration mode")
	a.expect("set system location p1")
	a.expect("delete system nonexistent", "warning: statement not found")
	a.expect("commit confirmed 5", "error:")
	if d.ConfirmPending() {
		t.Fatal("a private session armed a commit confirmed")
	}
	a.expect("commit check", "configuration check succeeds")
	a.expect("commit", "commit complete")
	a.expect("exit", "Exiting configuration mode")
	if !strings.Contains(d.RunningConfig(), "location p1;") {
		t.Errorf("private commit lost:\n%s", d.RunningConfig())
	}
}

// "commit confirmed N" rolls back unless a commit or "commit check"
// confirms it within N minutes; "show system commit" marks it pending.
func TestJunosCommitConfirmed(t *testing.T) {
	d := junosLab(t)
	a := dial(t, d)
	a.expect("configure exclusive", "Entering configuration mode")
	a.expect("set system host-name maybe")
	a.expect("commit confirmed 5", "commit confirmed will be automatically rolled back in 5 minutes unless confirmed", "commit complete")
	a.expect("exit", "Exiting configuration mode")
	a.expect("show system commit", "commit confirmed, rollback in 5mins", "rollback pending")
	if !d.ConfirmPending() || !strings.Contains(d.RunningConfig(), "host-name maybe;") {
		t.Fatalf("not pending:\n%s", d.RunningConfig())
	}
	if !d.ExpireConfirmedCommit() {
		t.Fatal("nothing to expire")
	}
	if cfg := d.RunningConfig(); strings.Contains(cfg, "maybe") || !strings.Contains(cfg, "host-name srx1;") || !strings.Contains(cfg, "by root") {
		t.Errorf("not rolled back:\n%s", cfg)
	}
	a.expect("show system commit", "by root via other")

	// Confirmed this time, by "commit check" from another session.
	a.expect("configure exclusive", "Entering configuration mode")
	a.expect("set system host-name kept")
	a.expect("commit confirmed 1", "commit complete")
	a.expect("exit", "Exiting configuration mode")
	b := dial(t, d)
	b.expect("configure", "Entering configuration mode")
	b.expect("commit check", "configuration check succeeds")
	b.expect("exit", "Exiting configuration mode")
	if d.ConfirmPending() || d.ExpireConfirmedCommit() || !strings.Contains(d.RunningConfig(), "host-name kept;") {
		t.Errorf("commit check did not confirm:\n%s", d.RunningConfig())
	}
}

// A failing commit prints its errors, keeps the candidate, and its output
// holds none of scrapligo's juniper_junos failure strings (FAILURES.md).
func TestJunosCommitFailure(t *testing.T) {
	d := junosLab(t, devicetest.Fault{Kind: devicetest.FaultCommitFail})
	a := dial(t, d)
	a.expect("configure private", "Entering configuration mode")
	a.expect("set system host-name never")
	for _, cmd := range []string{"commit check", "commit"} {
		out := a.expect(cmd, "Policy error: Policy p1 referenced but not defined", "error: configuration check-out failed")
		for _, s := range []string{"is ambiguous", "No valid completions", "unknown command", "syntax error"} {
			if strings.Contains(out, s) {
				t.Errorf("%s: output contains scrapligo's %q", cmd, s)
			}
		}
	}
	a.expect("show | compare", "set system host-name never")
	a.expect("rollback 0", "load complete")
	a.expect("exit", "Exiting configuration mode")
	if strings.Contains(d.RunningConfig(), "never") {
		t.Error("failed commit changed the configuration")
	}
	d2 := junosLab(t, devicetest.Fault{Kind: devicetest.FaultCommitFail, Reply: "error: commit failed: (statements constraint check failed)"})
	b := dial(t, d2)
	b.expect("configure", "Entering configuration mode")
	b.expect("commit", "error: commit failed: (statements constraint check failed)")
}

func TestJunosDisplaySet(t *testing.T) {
	d := junosLab(t)
	a := dial(t, d)
	out := a.expect("show configuration | display set", "set version 22.4", "set system host-name srx1", "set interfaces ge-0/0/1 unit 0")
	if strings.Contains(out, "{") {
		t.Errorf("display set printed braces:\n%s", out)
	}
}
