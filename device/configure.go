package device

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/scrapli/scrapligo/driver/opoptions"
)

// JunosMode is how Configure enters Junos configuration mode.
type JunosMode string

// Junos configuration modes ("Forms of the configure Command", Junos CLI
// User Guide).
const (
	// JunosPrivate ("configure private", the default): a private copy of
	// the committed configuration; the commit activates only this change,
	// and an unfinished change is never committed by someone else's commit.
	// Junos refuses it while the shared candidate holds uncommitted edits,
	// and does not allow "commit confirmed" in it.
	JunosPrivate JunosMode = "private"
	// JunosExclusive ("configure exclusive"): locks the shared candidate
	// while the change is made; refused while someone holds uncommitted
	// shared edits or the lock. The default with WithCommitConfirmed.
	JunosExclusive JunosMode = "exclusive"
	// JunosShared ("configure"): the one shared candidate. A failure's
	// "rollback 0" also discards other users' uncommitted edits in it.
	JunosShared JunosMode = "shared"
)

// ConfigureOption adjusts how Configure makes a change.
type ConfigureOption func(*configureOptions)

type configureOptions struct {
	junosMode JunosMode
	confirm   int
}

// WithJunosMode sets how Configure enters configuration mode on Junos
// (default JunosPrivate, or JunosExclusive with WithCommitConfirmed).
func WithJunosMode(m JunosMode) ConfigureOption {
	return func(o *configureOptions) { o.junosMode = m }
}

// WithCommitConfirmed makes Configure commit on Junos with "commit confirmed
// minutes": the device rolls the change back by itself after that many
// minutes unless ConfirmCommit (typically after a post-check) confirms it,
// so a change that cuts the device off undoes itself. Not possible in
// JunosPrivate mode.
func WithCommitConfirmed(minutes int) ConfigureOption {
	return func(o *configureOptions) { o.confirm = minutes }
}

func (o *configureOptions) check(platform string, lines []string) error {
	for i, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			return fmt.Errorf("lines[%d]: holds a line break", i)
		}
	}
	if o.confirm < 0 || o.confirm > 65535 {
		return fmt.Errorf("commit confirmed: %d minutes out of range 1-65535", o.confirm)
	}
	switch platform {
	case "juniper_junos":
		switch o.junosMode {
		case "":
			o.junosMode = JunosPrivate
			if o.confirm > 0 {
				o.junosMode = JunosExclusive
			}
		case JunosPrivate:
			if o.confirm > 0 {
				return errors.New("commit confirmed is not possible in Junos configure private mode: use JunosExclusive or JunosShared")
			}
		case JunosExclusive, JunosShared:
		default:
			return fmt.Errorf("junos mode %q unknown (private, exclusive, shared)", o.junosMode)
		}
		for i, l := range lines {
			switch w := strings.Fields(l); {
			case len(w) == 0:
			case w[0] == "commit" || w[0] == "rollback" || w[0] == "exit" || w[0] == "quit" || w[0] == "configure" || w[0] == "run":
				return fmt.Errorf("lines[%d]: %q: Configure validates, commits and leaves configuration mode itself; pass only configuration statements", i, w[0])
			}
		}
	case "cisco_iosxr":
		// IOS-XR commits a candidate too; its commit/abort sequence is not
		// implemented (and the fake devices do not emulate IOS-XR).
		return errors.New("configuration changes on cisco_iosxr are not supported (its commit model is not implemented)")
	default:
		if o.confirm > 0 {
			return fmt.Errorf("commit confirmed: platform %s has no commit", platform)
		}
	}
	return nil
}

// Configure makes a configuration change and captures the running
// configuration before and after it.
//
// On IOS-XE, NX-OS and EOS the lines are typed in configuration mode one
// by one and each takes effect as it is typed. The first line the device
// refuses stops the push: the error is an *Error of class CommandFailed
// wrapping a *ChangeError naming the line and the lines already applied,
// which stay in force (ConfigChange.Applied, ChangeError.Applied) for the
// caller to undo. Refusals are recognised by scrapligo's failure strings
// and the platform's own patterns, including messages without a "%" (IOS
// "Error: ...", NX-OS "ERROR: ..."), plus Params.ErrorPatterns.
//
// On Junos the lines are set/delete statements loaded into a candidate
// (see JunosMode: "configure private" by default), validated with "commit
// check" and committed ("commit", or "commit confirmed N" with
// WithCommitConfirmed). A refused statement, a failed check or commit (also
// "error: configuration database locked by: ...") commits nothing: the
// candidate is discarded with "rollback 0" and configuration mode left,
// answering Junos's "[yes,no]" question instead of waiting for a prompt
// that never comes, and the *ChangeError says so.
//
// The returned change is filled as far as it got also when err is not nil.
func (s *Session) Configure(ctx context.Context, lines []string, opts ...ConfigureOption) (*ConfigChange, error) {
	fail := func(err error) (*ConfigChange, error) {
		return nil, &Error{Host: s.host.Name, Op: "configure", Class: Failed, Err: err}
	}
	if len(lines) == 0 {
		return fail(errors.New("no configuration lines"))
	}
	var o configureOptions
	for _, f := range opts {
		f(&o)
	}
	if err := o.check(s.host.Platform, lines); err != nil {
		return fail(err)
	}
	change := &ConfigChange{}
	err := s.do(ctx, "configure", func() error {
		var err error
		if change.Before, err = s.runningConfig(); err != nil {
			return fmt.Errorf("before: %w", err)
		}
		var refused error
		if s.host.Platform == "juniper_junos" {
			refused = s.configureJunos(lines, o, change)
		} else {
			refused = s.configureLines(lines, change)
		}
		var ce *ChangeError
		if refused != nil && !errors.As(refused, &ce) {
			return refused // the session is in an unknown state
		}
		if change.After, err = s.runningConfig(); err != nil {
			return errors.Join(refused, fmt.Errorf("after: %w", err))
		}
		return refused
	})
	if change.After != "" {
		san := DefaultSanitizer(s.host.Platform)
		change.Diff = UnifiedDiff(s.host.Name+" (before)", s.host.Name+" (after)", san.Clean(change.Before), san.Clean(change.After))
		change.Changed = change.Diff != ""
	}
	return change, err
}

// configureLines types lines in configuration mode, stopping at the first
// refused one, and returns to the default privilege level.
func (s *Session) configureLines(lines []string, change *ConfigChange) error {
	if err := s.drv.AcquirePriv("configuration"); err != nil {
		return fmt.Errorf("enter configuration mode: %w", err)
	}
	var refused *ChangeError
	for i, l := range lines {
		r, err := s.drv.Driver.SendCommand(l)
		if err != nil {
			return fmt.Errorf("line %d %q: %w", i+1, maskLine(s.host.Platform, l), err)
		}
		res := s.result(r, true)
		change.Results = append(change.Results, res)
		if res.Err != nil {
			var ce *CommandError
			errors.As(res.Err, &ce)
			refused = &ChangeError{CommandError: ce, Applied: append([]string(nil), change.Applied...), NotSent: append([]string(nil), lines[i+1:]...)}
			break
		}
		change.Applied = append(change.Applied, l)
	}
	if err := s.drv.AcquirePriv(s.drv.DefaultDesiredPriv); err != nil {
		// Not a ChangeError: the CLI state is unknown, the session ends.
		if refused != nil {
			return fmt.Errorf("leave configuration mode after %s: %w", refused.Error(), err)
		}
		return fmt.Errorf("leave configuration mode: %w", err)
	}
	return refused.orNil()
}

// orNil returns e as an error, nil for a nil *ChangeError.
func (e *ChangeError) orNil() error {
	if e == nil {
		return nil
	}
	return e
}

// abortError is a failed Junos change whose clean-up failed too.
type abortError struct {
	change *ChangeError
	err    error
}

func (e *abortError) Error() string {
	return e.change.Error() + "; discarding the candidate failed: " + e.err.Error()
}

// Unwrap returns the clean-up's failure only: the session is in an unknown
// state, which is what callers must act on.
func (e *abortError) Unwrap() error { return e.err }

// Junos answers Configure and ConfirmCommit look for.
var (
	// junosQuestion is the question Junos asks when configuration mode is
	// left with uncommitted changes: "Exit with uncommitted changes?
	// [yes,no] (yes)" (shared), "Discard uncommitted changes? [yes,no]
	// (yes)" (exclusive, private) (FAILURES.md; "Using the configure
	// exclusive Command", Junos CLI guide).
	junosQuestion       = regexp.MustCompile(`(?im)^.*\? \[yes,no\] \(\w+\)\s*$`)
	junosCheckSucceeds  = "configuration check succeeds"
	junosCommitComplete = "commit complete"
)

// configureJunos loads lines into a candidate, checks and commits it, and
// on any failure discards the candidate and leaves configuration mode.
func (s *Session) configureJunos(lines []string, o configureOptions, change *ConfigChange) error {
	enter := map[JunosMode]string{JunosPrivate: "configure private", JunosExclusive: "configure exclusive", JunosShared: "configure"}[o.junosMode]
	priv := map[JunosMode]string{JunosPrivate: "configuration-private", JunosExclusive: "configuration-exclusive", JunosShared: "configuration"}[o.junosMode]
	refusedAt := func(res Result) *ChangeError {
		var ce *CommandError
		errors.As(res.Err, &ce)
		return &ChangeError{CommandError: ce}
	}
	// Enter configuration mode by hand: scrapligo's AcquirePriv would type
	// "configure private" again and again when Junos refuses it, and never
	// show why.
	r, err := s.drv.Driver.SendCommand(enter)
	if err != nil {
		return fmt.Errorf("%s: %w", enter, err)
	}
	if res := s.result(r, true); res.Err != nil {
		change.Results = append(change.Results, res)
		return &ChangeError{CommandError: refusedAt(res).CommandError, NotSent: append([]string(nil), lines...)}
	}
	s.drv.CurrentPriv = priv
	abort := func(ce *ChangeError) error {
		// Leave nothing behind: discard the candidate, then leave. When
		// that fails the CLI state is unknown: the error is not a
		// ChangeError, so the session is torn down (Junos discards a
		// private or exclusive candidate when its session ends).
		r, err := s.drv.Driver.SendCommand("rollback 0")
		if err != nil {
			return &abortError{ce, fmt.Errorf("rollback 0: %w", err)}
		}
		if res := s.result(r, true); res.Err != nil {
			change.Results = append(change.Results, res)
			return &abortError{ce, fmt.Errorf("rollback 0 refused: %s", res.Err)}
		}
		if _, err := s.leaveJunosConfig(); err != nil {
			return &abortError{ce, err}
		}
		ce.Discarded = true
		return ce
	}
	for i, l := range lines {
		r, err := s.drv.Driver.SendCommand(l)
		if err != nil {
			return fmt.Errorf("line %d %q: %w", i+1, maskLine(s.host.Platform, l), err)
		}
		res := s.result(r, true)
		change.Results = append(change.Results, res)
		if res.Err != nil {
			ce := refusedAt(res)
			ce.NotSent = append([]string(nil), lines[i+1:]...)
			return abort(ce)
		}
	}
	commit := "commit"
	if o.confirm > 0 {
		commit = fmt.Sprintf("commit confirmed %d", o.confirm)
	}
	for _, step := range []struct{ cmd, success string }{{"commit check", junosCheckSucceeds}, {commit, junosCommitComplete}} {
		r, err := s.drv.Driver.SendCommand(step.cmd)
		if err != nil {
			return fmt.Errorf("%s: %w", step.cmd, err)
		}
		res := s.result(r, true)
		if res.Err == nil && !strings.Contains(r.Result, step.success) {
			// Neither an error nor success: do not assume it worked.
			res.Err = &CommandError{Command: step.cmd, Message: "no " + strings.TrimSpace(strings.SplitN(step.success, "\n", 2)[0]) + " in the answer: " + lastLines(r.Result, 5), platform: s.host.Platform}
		}
		if res.Err != nil {
			// The whole answer: a commit failure names the statement
			// over several lines before its "error:" line.
			var ce *CommandError
			errors.As(res.Err, &ce)
			ce.Message = lastLines(r.Result, 20)
		}
		change.Results = append(change.Results, res)
		if res.Err != nil {
			return abort(refusedAt(res))
		}
	}
	change.Applied = append([]string(nil), lines...)
	change.ConfirmPending = o.confirm > 0
	if _, err := s.leaveJunosConfig(); err != nil {
		return err
	}
	return nil
}

// leaveJunosConfig types "exit configuration-mode" and answers Junos's
// question about uncommitted changes with "yes" (discard in exclusive and
// private mode; in shared mode the changes stay in the candidate, as they
// were). asked reports whether the question came.
func (s *Session) leaveJunosConfig() (asked bool, err error) {
	defer func() {
		if err == nil {
			s.drv.CurrentPriv = s.drv.DefaultDesiredPriv
		}
	}()
	out, err := s.drv.Channel.SendInput("exit configuration-mode", opoptions.WithInterimPromptPattern([]*regexp.Regexp{junosQuestion}))
	if err != nil {
		return false, fmt.Errorf("exit configuration-mode: %w", err)
	}
	if !junosQuestion.Match(out) {
		return false, nil
	}
	if _, err := s.drv.Channel.SendInput("yes", opoptions.WithInterimPromptPattern([]*regexp.Regexp{junosQuestion})); err != nil {
		return true, fmt.Errorf("exit configuration-mode: answering %q: %w", lastLines(string(out), 1), err)
	}
	return true, nil
}

// ConfirmCommit confirms a Junos commit made WithCommitConfirmed, before
// its minutes pass. It enters configuration mode ("configure": "configure
// private" and "exclusive" are refused while anyone holds uncommitted
// edits) and runs "commit check", which confirms the pending commit
// without activating anything else of the shared candidate (a plain
// "commit" would commit other users' uncommitted edits with it), then
// leaves configuration mode keeping those edits as they were. It then
// checks "show system commit" no longer shows "rollback pending".
func (s *Session) ConfirmCommit(ctx context.Context) error {
	if s.host.Platform != "juniper_junos" {
		return &Error{Host: s.host.Name, Op: "confirm-commit", Class: Failed, Err: fmt.Errorf("platform %s has no commit confirmed", s.host.Platform)}
	}
	return s.do(ctx, "confirm-commit", func() error {
		if err := s.drv.AcquirePriv(s.drv.DefaultDesiredPriv); err != nil {
			return err
		}
		r, err := s.drv.Driver.SendCommand("configure")
		if err != nil {
			return fmt.Errorf("configure: %w", err)
		}
		if res := s.result(r, true); res.Err != nil {
			return res.Err
		}
		s.drv.CurrentPriv = "configuration"
		r, err = s.drv.Driver.SendCommand("commit check")
		if err != nil {
			return fmt.Errorf("commit check: %w", err)
		}
		res := s.result(r, true)
		if _, err := s.leaveJunosConfig(); err != nil {
			return err
		}
		if res.Err != nil {
			return res.Err
		}
		if !strings.Contains(r.Result, junosCheckSucceeds) {
			return &CommandError{Command: "commit check", Message: lastLines(r.Result, 20), platform: s.host.Platform}
		}
		r, err = s.drv.SendCommand("show system commit")
		if err != nil {
			return fmt.Errorf("show system commit: %w", err)
		}
		if strings.Contains(r.Result, "rollback pending") {
			return fmt.Errorf("commit still pending confirmation after commit check:\n%s", lastLines(r.Result, 3))
		}
		return nil
	})
}

// lastLines returns the last n non-empty lines of s, trimmed, without the
// "[edit]" banner Junos prints above its configuration prompt.
func lastLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r", ""), "\n") {
		if t := strings.TrimRight(l, " "); strings.TrimSpace(t) != "" && strings.TrimSpace(t) != "[edit]" {
			out = append(out, t)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.Join(out, "\n")
}
