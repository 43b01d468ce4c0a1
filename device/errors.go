package device

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/scrapli/scrapligo/util"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Class is the outcome of an operation on one host. Fan-out results carry
// one; errors from this package carry one that ClassOf extracts.
type Class string

// Outcome classes.
const (
	// Unchanged: the operation succeeded and changed nothing (also the class
	// of successful read-only operations).
	Unchanged Class = "unchanged"
	// Changed: the operation succeeded and changed the device or backup.
	Changed Class = "changed"
	// Unreachable: the TCP connection failed (refused, no route, no answer
	// within the connect timeout), the SSH handshake failed, or the host key
	// did not verify.
	Unreachable Class = "unreachable"
	// AuthFailed: the device rejected the credentials (login or enable).
	AuthFailed Class = "auth_failed"
	// CommandFailed: the device answered with an error such as
	// "% Invalid input".
	CommandFailed Class = "command_failed"
	// TimedOut: the device accepted the connection but did not complete
	// SSH or answer an operation in time, or the context ended.
	TimedOut Class = "timed_out"
	// Failed: any other failure (dropped connection, bad input, panic).
	Failed Class = "failed"
	// Skipped: the host was not started because the failure threshold was
	// exceeded.
	Skipped Class = "skipped"
)

// IsFailure reports whether c is one of the failure classes.
func (c Class) IsFailure() bool {
	return c != Changed && c != Unchanged && c != Skipped && c != ""
}

// Error is an operation failure on one host.
type Error struct {
	Host  string
	Op    string // "connect", "send", "running-config", "configure", "backup", ...
	Class Class
	Err   error
}

// Error names the host, operation and class; it never contains secrets.
func (e *Error) Error() string {
	return fmt.Sprintf("device %s: %s: %s: %v", e.Host, e.Op, e.Class, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// CommandError reports device error output for a command.
type CommandError struct {
	Command string
	// Message is the device's error line, e.g. "% Invalid input detected at '^' marker.".
	Message string

	platform string // for masking secrets in Error
}

// Error names the command and the device's message, with secrets masked by
// the platform's sanitizer (a refused line may carry a password).
func (e *CommandError) Error() string {
	cmd := maskLine(e.platform, e.Command)
	msg := maskText(e.platform, e.Message)
	// The device may quote the refused value in its message.
	for _, v := range removedSecrets(e.Command, cmd) {
		msg = strings.ReplaceAll(msg, v, SecretMask)
	}
	return fmt.Sprintf("command %q rejected: %s", cmd, msg)
}

// ChangeError is a configuration change the device refused part-way. On
// the platforms that apply lines as they are typed (IOS-XE, NX-OS, EOS) the
// lines before the refused one stay applied: Applied lists them, so a
// compensation can undo exactly those. On Junos nothing is applied unless
// the commit succeeds: a refused line, a failed "commit check" or commit
// leaves Applied empty and the candidate discarded ("rollback 0").
type ChangeError struct {
	// CommandError is the refused line (or the Junos step: "configure
	// private", "commit check", "commit") and the device's message.
	*CommandError
	// Applied are the lines in force on the device, in the order sent.
	Applied []string
	// NotSent are the lines after the refused one.
	NotSent []string
	// Discarded (Junos) reports that the candidate was rolled back and
	// configuration mode left, so no uncommitted change remains.
	Discarded bool
}

// Error names the refused line and how many lines were applied, secrets
// masked.
func (e *ChangeError) Error() string {
	s := e.CommandError.Error()
	switch {
	case e.platform == "juniper_junos" && e.Discarded:
		s += "; nothing committed, candidate discarded"
	case e.platform == "juniper_junos":
		s += "; nothing committed"
	default:
		s += fmt.Sprintf("; %d line(s) applied before it, %d not sent", len(e.Applied), len(e.NotSent))
	}
	return s
}

// Unwrap returns the *CommandError.
func (e *ChangeError) Unwrap() error { return e.CommandError }

// ClassOf returns the class of err: the Class of an *Error in its chain,
// TimedOut for context errors, Unchanged for nil and Failed otherwise.
func ClassOf(err error) Class {
	if err == nil {
		return Unchanged
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return TimedOut
	}
	return Failed
}

// classify decides the class of a failure of op; ctxErr is the error of the
// operation's context (nil while it runs), which wins over the symptom it
// caused (a closed connection).
func classify(op string, err, ctxErr error) Class {
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	var netErr net.Error
	var cmdErr *CommandError
	var dialErr *dialError
	switch {
	case ctxErr != nil:
		return TimedOut
	case errors.As(err, &dialErr):
		return Unreachable
	case errors.As(err, &cmdErr):
		return CommandFailed
	case errors.As(err, &keyErr), errors.As(err, &revoked):
		return Unreachable
	// A privilege error on connect is the enable secret being refused.
	case errors.Is(err, util.ErrAuthError), strings.Contains(err.Error(), "unable to authenticate"),
		op == "connect" && errors.Is(err, util.ErrPrivilegeError):
		return AuthFailed
	case errors.Is(err, util.ErrTimeoutError), errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return TimedOut
	case op == "connect":
		return Unreachable
	}
	return Failed
}
