package device

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/scrapli/scrapligo/platform"
)

// scrapliFailures returns scrapligo v1's failed_when_contains strings for a
// platform, to show which refusals it alone would have taken for success.
func scrapliFailures(t *testing.T, name string) []string {
	t.Helper()
	p, err := platform.NewPlatform(name, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.GetNetworkDriver()
	if err != nil {
		t.Fatal(err)
	}
	return d.FailedWhenContains
}

func missedByScrapli(t *testing.T, plat, reply string) bool {
	for _, s := range scrapliFailures(t, plat) {
		if strings.Contains(reply, s) {
			return false
		}
	}
	return true
}

// A line refused half-way through a push stops it; the lines before it
// stay applied on the real running-configuration CLIs (FAILURES.md) and the
// *ChangeError lists them, so the caller can undo exactly those. Refusals
// include those without a "%" and those scrapligo v1's failure strings do
// not know (IOS "Error: ...", NX-OS "% Invalid parameter ...").
func TestConfigureRefusedLineStopsPush(t *testing.T) {
	const bad = "ip address 10.9.9.9 255.255.255.255"
	lines := []string{"interface Loopback9", "description first", bad, "mtu 9000"}
	cases := []struct {
		platform string
		fault    devicetest.Fault
		message  string
		scrapli  bool // scrapligo alone would catch it
	}{
		{"cisco_iosxe", devicetest.Fault{}, "% Invalid input detected at '^' marker.", true},
		{"cisco_iosxe", devicetest.Fault{Refusal: devicetest.RefuseIncomplete}, "% Incomplete command.", true},
		{"cisco_iosxe", devicetest.Fault{Refusal: devicetest.RefuseAmbiguous}, `% Ambiguous command:  "` + bad + `"`, true},
		{"cisco_iosxe", devicetest.Fault{Reply: "Error: Loopback9 address overlaps with GigabitEthernet1"}, "Error: Loopback9 address overlaps with GigabitEthernet1", false},
		{"cisco_iosxe", devicetest.Fault{Reply: "% 10.9.9.9 overlaps with Loopback0\n% BGP is already running; AS is 65000"}, "% BGP is already running; AS is 65000", false},
		{"cisco_nxos", devicetest.Fault{}, "% Invalid command at '^' marker.", true},
		{"cisco_nxos", devicetest.Fault{Refusal: devicetest.RefuseParameter}, "% Invalid parameter detected at '^' marker.", false},
		{"cisco_nxos", devicetest.Fault{Reply: "ERROR: Invalid address"}, "ERROR: Invalid address", true},
		{"cisco_nxos", devicetest.Fault{Reply: "Error: interface Loopback9 is in use"}, "Error: interface Loopback9 is in use", false},
		{"arista_eos", devicetest.Fault{}, "% Invalid input (at token 3: '255.255.255.255')", true},
		{"arista_eos", devicetest.Fault{Refusal: devicetest.RefuseIncomplete}, "% Incomplete command", true},
		{"arista_eos", devicetest.Fault{Reply: "% Address 10.9.9.9/32 is already assigned to interface Loopback0"}, "", false},
	}
	for _, c := range cases {
		t.Run(c.platform+"/"+c.message, func(t *testing.T) {
			f := c.fault
			f.Kind, f.Command = devicetest.FaultRefuse, bad
			lab := startLab(t, devicetest.Spec{Name: "r1", Platform: c.platform, RunningConfig: "hostname r1\n!\nend", Faults: []devicetest.Fault{f}})
			h := hostFor(t, lab, "r1")
			if c.message == "" {
				// A message no rule knows: data for this host.
				h.ErrorPatterns = []string{`^% Address \S+ is already assigned`}
				c.message = f.Reply
			}
			if f.Reply != "" && missedByScrapli(t, c.platform, f.Reply) == c.scrapli {
				t.Fatalf("test data: scrapligo catches %q: %v, want %v", f.Reply, !c.scrapli, c.scrapli)
			}
			var change *ConfigChange
			err := With(context.Background(), h, testSecrets, func(s *Session) error {
				var err error
				change, err = s.Configure(context.Background(), lines)
				if err == nil {
					return nil
				}
				// The session is still usable: the CLI left configuration mode.
				if _, err2 := s.Send(context.Background(), "show running-config"); err2 != nil {
					t.Errorf("session unusable after the refusal: %v", err2)
				}
				return err
			})
			var ce *ChangeError
			if ClassOf(err) != CommandFailed || !errors.As(err, &ce) {
				t.Fatalf("err %v (class %s), want a *ChangeError of class command_failed", err, ClassOf(err))
			}
			if ce.Command != bad || ce.Message != strings.Split(c.message, "\n")[0] && !strings.Contains(c.message, ce.Message) {
				t.Errorf("refused %q with %q, want %q with %q", ce.Command, ce.Message, bad, c.message)
			}
			if !slices.Equal(ce.Applied, lines[:2]) || !slices.Equal(ce.NotSent, lines[3:]) || !slices.Equal(change.Applied, lines[:2]) {
				t.Errorf("applied %q (change %q), not sent %q", ce.Applied, change.Applied, ce.NotSent)
			}
			cfg := lab.Device("r1").RunningConfig()
			if !strings.Contains(cfg, "interface Loopback9") || !strings.Contains(cfg, "description first") || strings.Contains(cfg, "mtu 9000") {
				t.Errorf("device configuration:\n%s", cfg)
			}
			if !change.Changed || !regexp.MustCompile(`(?m)^\+\s+description first$`).MatchString(change.Diff) {
				t.Errorf("diff of the partial change:\n%s", change.Diff)
			}
		})
	}
}

// A refused line may carry a secret: the error string masks it.
func TestChangeErrorMasksSecrets(t *testing.T) {
	const bad = "username bob privilege 15 secret 0 hunter2"
	lab := startLab(t, devicetest.Spec{Name: "r1", Platform: "cisco_iosxe", RunningConfig: "hostname r1\n!\nend",
		Faults: []devicetest.Fault{{Kind: devicetest.FaultRefuse, Command: bad, Reply: "Error: password hunter2 too weak"}}})
	err := With(context.Background(), hostFor(t, lab, "r1"), testSecrets, func(s *Session) error {
		_, err := s.Configure(context.Background(), []string{bad})
		return err
	})
	var ce *ChangeError
	if !errors.As(err, &ce) || ce.Command != bad {
		t.Fatalf("err %v", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error leaks the secret: %v", err)
	}
}

func junosSpec(faults ...devicetest.Fault) devicetest.Spec {
	return devicetest.Spec{Name: "srx", Platform: "juniper_junos", Faults: faults,
		RunningConfig: "## Last commit: 2024-12-06 11:41:05 UTC by root\nversion 22.4;\nsystem {\n    host-name srx;\n}"}
}

// Every Junos failure of FAILURES.md is a failed change, none of them
// contains scrapligo's juniper_junos failure strings, and each leaves
// nothing behind: nothing committed, no candidate, configuration mode left
// (the "[yes,no]" question answered rather than waited on until the
// operation timeout).
func TestConfigureJunosFailures(t *testing.T) {
	lines := []string{"set system location building-7", "set snmp contact noc"}
	cases := []struct {
		name    string
		faults  []devicetest.Fault
		setup   func(t *testing.T, lab *devicetest.Lab) // another user's session
		mode    JunosMode
		step    string
		message string
	}{
		{name: "refused statement", faults: []devicetest.Fault{{Kind: devicetest.FaultRefuse, Command: lines[1]}},
			step: lines[1], message: "syntax error."},
		{name: "check-out failed", faults: []devicetest.Fault{{Kind: devicetest.FaultCommitFail}},
			step: "commit check", message: "error: configuration check-out failed"},
		{name: "commit failed", faults: []devicetest.Fault{{Kind: devicetest.FaultRefuse, Command: "commit", Reply: "error: commit failed: (statements constraint check failed)"}},
			step: "commit", message: "error: commit failed: (statements constraint check failed)"},
		{name: "locked by exclusive user", setup: holdExclusive,
			step: "commit check", message: "error: configuration database locked by:"},
		{name: "locked, exclusive mode", setup: holdExclusive, mode: JunosExclusive,
			step: "configure exclusive", message: "error: configuration database locked by:"},
		{name: "shared candidate modified", setup: leaveSharedEdit,
			step: "configure private", message: "error: shared configuration database modified"},
		{name: "shared candidate modified, exclusive", setup: leaveSharedEdit, mode: JunosExclusive,
			step: "configure exclusive", message: "error: configuration database modified"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lab := startLab(t, junosSpec(c.faults...))
			d := lab.Device("srx")
			if c.setup != nil {
				c.setup(t, lab)
			}
			sharedBefore := d.CandidateModified()
			before := d.RunningConfig()
			var opts []ConfigureOption
			if c.mode != "" {
				opts = append(opts, WithJunosMode(c.mode))
			}
			var change *ConfigChange
			err := With(context.Background(), hostFor(t, lab, "srx"), testSecrets, func(s *Session) error {
				var err error
				change, err = s.Configure(context.Background(), lines, opts...)
				if _, err2 := s.Send(context.Background(), "show version"); err2 != nil && !strings.Contains(err2.Error(), "rejected") {
					t.Errorf("session unusable after the failure: %v", err2)
				}
				return err
			})
			var ce *ChangeError
			if ClassOf(err) != CommandFailed || !errors.As(err, &ce) {
				t.Fatalf("err %v (class %s), want a *ChangeError", err, ClassOf(err))
			}
			if ce.Command != c.step || !strings.Contains(ce.Message, c.message) {
				t.Errorf("failed at %q with %q, want %q with %q", ce.Command, ce.Message, c.step, c.message)
			}
			for _, s := range scrapliFailures(t, "juniper_junos") {
				if strings.Contains(c.message, s) && c.step != lines[1] {
					t.Errorf("test data: %q contains scrapligo's %q", c.message, s)
				}
			}
			if len(ce.Applied) != 0 || len(change.Applied) != 0 || change.Changed {
				t.Errorf("applied %q / %q, changed %v", ce.Applied, change.Applied, change.Changed)
			}
			if entered := !strings.HasPrefix(c.step, "configure"); ce.Discarded != entered {
				t.Errorf("Discarded = %v, want %v (configuration mode entered: %v)", ce.Discarded, entered, entered)
			}
			if after := d.RunningConfig(); after != before {
				t.Errorf("configuration changed:\n%s", UnifiedDiff("before", "after", before, after))
			}
			if d.CandidateModified() != sharedBefore {
				t.Errorf("shared candidate modified: %v, was %v", d.CandidateModified(), sharedBefore)
			}
		})
	}
}

// holdExclusive keeps another user in "configure exclusive" for the test.
func holdExclusive(t *testing.T, lab *devicetest.Lab) {
	t.Helper()
	s, err := Open(context.Background(), hostFor(t, lab, "srx"), testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.drv.Driver.SendCommand("configure exclusive"); err != nil {
		t.Fatal(err)
	}
}

// leaveSharedEdit leaves an uncommitted edit in the shared candidate, as a
// person who typed "configure", a set, and exited answering "yes" does.
func leaveSharedEdit(t *testing.T, lab *devicetest.Lab) {
	t.Helper()
	s, err := Open(context.Background(), hostFor(t, lab, "srx"), testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []string{"configure", "set system location someone-elses-edit"} {
		if _, err := s.drv.Driver.SendCommand(c); err != nil {
			t.Fatal(err)
		}
	}
	s.drv.CurrentPriv = "configuration"
	if asked, err := s.leaveJunosConfig(); err != nil || !asked {
		t.Fatalf("leaving with an uncommitted edit: asked %v, %v", asked, err)
	}
	if !lab.Device("srx").CandidateModified() {
		t.Fatal("setup: the shared edit did not stay")
	}
}

// Configure's private mode commits only its own change: another user's
// uncommitted shared edit refuses it rather than being committed with it
// (FAILURES.md: the next person's commit commits the shared candidate).
// Shared mode would have committed the other user's edit.
func TestConfigureJunosModes(t *testing.T) {
	lab := startLab(t, junosSpec())
	d := lab.Device("srx")
	leaveSharedEdit(t, lab)
	h := hostFor(t, lab, "srx")
	err := With(context.Background(), h, testSecrets, func(s *Session) error {
		_, err := s.Configure(context.Background(), []string{"set snmp contact noc"})
		return err
	})
	if ClassOf(err) != CommandFailed || strings.Contains(d.RunningConfig(), "someone-elses-edit") {
		t.Fatalf("private: %v\n%s", err, d.RunningConfig())
	}
	err = With(context.Background(), h, testSecrets, func(s *Session) error {
		_, err := s.Configure(context.Background(), []string{"set snmp contact noc"}, WithJunosMode(JunosShared))
		return err
	})
	if err != nil || !strings.Contains(d.RunningConfig(), "someone-elses-edit") {
		t.Fatalf("shared mode commits everyone's edits (the reason for private): %v\n%s", err, d.RunningConfig())
	}
	// Bad input never reaches the device.
	err = With(context.Background(), h, testSecrets, func(s *Session) error {
		_, err := s.Configure(context.Background(), []string{"set snmp location x"}, WithJunosMode(JunosPrivate), WithCommitConfirmed(5))
		return err
	})
	if ClassOf(err) != Failed || !strings.Contains(err.Error(), "private") {
		t.Errorf("commit confirmed in private mode: %v", err)
	}
	err = With(context.Background(), h, testSecrets, func(s *Session) error {
		_, err := s.Configure(context.Background(), []string{"set snmp location x", "commit"})
		return err
	})
	if ClassOf(err) != Failed || !strings.Contains(err.Error(), "lines[1]") {
		t.Errorf("a commit among the lines: %v", err)
	}
}

// "commit confirmed N" stays in force only when confirmed; ConfirmCommit
// confirms it with "commit check" and leaves another user's uncommitted
// edit uncommitted.
func TestConfigureCommitConfirmed(t *testing.T) {
	lab := startLab(t, junosSpec())
	d := lab.Device("srx")
	h := hostFor(t, lab, "srx")
	push := func(line string) *ConfigChange {
		t.Helper()
		var change *ConfigChange
		err := With(context.Background(), h, testSecrets, func(s *Session) error {
			var err error
			change, err = s.Configure(context.Background(), []string{line}, WithCommitConfirmed(5))
			return err
		})
		if err != nil || !change.ConfirmPending || !d.ConfirmPending() {
			t.Fatalf("push: %v, pending %v/%v", err, change != nil && change.ConfirmPending, d.ConfirmPending())
		}
		return change
	}
	push("set system location unconfirmed")
	if !d.ExpireConfirmedCommit() || strings.Contains(d.RunningConfig(), "unconfirmed") {
		t.Fatalf("an unconfirmed commit stayed:\n%s", d.RunningConfig())
	}

	push("set system location confirmed")
	leaveSharedEdit(t, lab)
	err := With(context.Background(), h, testSecrets, func(s *Session) error { return s.ConfirmCommit(context.Background()) })
	if err != nil {
		t.Fatal(err)
	}
	if d.ConfirmPending() || d.ExpireConfirmedCommit() {
		t.Error("still pending after ConfirmCommit")
	}
	cfg := d.RunningConfig()
	if !strings.Contains(cfg, "location confirmed;") || strings.Contains(cfg, "someone-elses-edit") || !d.CandidateModified() {
		t.Errorf("after confirming: shared edit pending %v\n%s", d.CandidateModified(), cfg)
	}
}

// Params.ErrorPatterns makes a device-specific message a refusal.
func TestErrorPatternsAreData(t *testing.T) {
	const line = "feature bgp"
	spec := devicetest.Spec{Name: "n1", Platform: "cisco_nxos", RunningConfig: "hostname n1",
		Faults: []devicetest.Fault{{Kind: devicetest.FaultRefuse, Command: line, Reply: "License missing for feature bgp"}}}
	lab := startLab(t, spec)
	h := hostFor(t, lab, "n1")
	push := func(h Host) error {
		return With(context.Background(), h, testSecrets, func(s *Session) error {
			_, err := s.Configure(context.Background(), []string{line})
			return err
		})
	}
	if err := push(h); err != nil {
		t.Fatalf("without the pattern the message is not a refusal: %v", err)
	}
	h.ErrorPatterns = []string{`^License missing`}
	if err := push(h); ClassOf(err) != CommandFailed {
		t.Errorf("with the pattern: %v", err)
	}
	h.ErrorPatterns = []string{`(`}
	if err := push(h); ClassOf(err) != Failed || !strings.Contains(err.Error(), "error_patterns[0]") {
		t.Errorf("bad pattern: %v", err)
	}
}

// When discarding a failed Junos change fails too, the CLI state is
// unknown: Configure ends the session (Junos drops a private candidate with
// its session) instead of typing on, and says both failures.
func TestConfigureJunosAbortFailureEndsSession(t *testing.T) {
	lab := startLab(t, junosSpec(
		devicetest.Fault{Kind: devicetest.FaultCommitFail},
		devicetest.Fault{Kind: devicetest.FaultRefuse, Command: "rollback 0", Reply: "error: rollback failed"},
	))
	d := lab.Device("srx")
	before := d.RunningConfig()
	s, err := Open(context.Background(), hostFor(t, lab, "srx"), testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Configure(context.Background(), []string{"set system location x"})
	var ce *ChangeError
	if ClassOf(err) != Failed || errors.As(err, &ce) || !strings.Contains(err.Error(), "configuration check-out failed") || !strings.Contains(err.Error(), "rollback failed") {
		t.Fatalf("err %v (class %s)", err, ClassOf(err))
	}
	if _, err := s.Send(context.Background(), "show version"); !errors.Is(err, ErrSessionClosed) {
		t.Errorf("session still used after an unknown state: %v", err)
	}
	waitConns(t, lab)
	if d.RunningConfig() != before || d.CandidateModified() {
		t.Errorf("left behind: candidate %v\n%s", d.CandidateModified(), d.RunningConfig())
	}
}
