package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"
)

// ErrUnavailable matches every error that says the store could not be
// reached or refused work for a while (see [IsUnavailable]) with
// errors.Is.
var ErrUnavailable = errors.New("store unavailable")

// UnavailableError is a store that could not be reached or refused work
// for a while: the database restarting or failing over, a connection
// refused or broken, a server answering 503. Nothing is wrong with the
// request: the same request may pass later. Its message names only the
// root cause, never the runs of the batch it failed, since a batch may
// hold the writes of several runs.
type UnavailableError struct {
	// Err is the error as the driver or client returned it.
	Err error
}

func (e *UnavailableError) Error() string { return "store unavailable: " + rootCause(e.Err) }

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Unavailable wraps err in an *[UnavailableError] when [IsUnavailable]
// says it is one, and returns it unchanged otherwise.
func Unavailable(err error) error {
	if err == nil || !IsUnavailable(err) {
		return err
	}
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return err
	}
	return &UnavailableError{Err: err}
}

// IsUnavailable reports whether err says the store could not be reached
// or refused work for a while, so that the same request may pass later:
// a network error (connection refused, reset, timed out, broken), a
// PostgreSQL error of class 08 (connection exception), 53 (insufficient
// resources), 57P01-57P03 (the server shutting down or starting up),
// 40001 or 40P01 (a serialization failure or deadlock that outlived the
// store's own retries), or an error matching
// [ErrUnavailable] (a SQLite database busy beyond its timeout, an API
// answering 502, 503 or 504). A context's cancellation is not: the caller
// gave up.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var ss interface{ SQLState() string }
	if errors.As(err, &ss) {
		code := ss.SQLState()
		switch {
		case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
			return true
		}
		switch code {
		case "57P01", "57P02", "57P03", "40001", "40P01":
			return true
		}
		return false
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return true
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, e) {
			return true
		}
	}
	return errors.Is(err, io.ErrUnexpectedEOF)
}

// rootCause returns the message of the innermost error of err's chain
// that still says something: the driver's or the network's own words,
// without the context the callers added (which may name one run of a
// batch holding several).
func rootCause(err error) string {
	var ss interface {
		error
		SQLState() string
	}
	if errors.As(err, &ss) {
		return ss.Error()
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Error()
	}
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// WithLease returns a context telling the [Recorder] (and every store
// client that honours it) how long an execution may go on: until lease
// is done, which its worker does when it loses the run's lease. Writes
// and reads that fail because the store is unavailable ([IsUnavailable])
// are retried with backoff while lease holds; once it is done they fail
// with its cause, and CreateRun and SetState refuse to buffer anything
// more, so that nothing of a stale execution reaches the store.
func WithLease(ctx context.Context, lease context.Context) context.Context {
	return withExecution(ctx, func(e *execution) { e.lease = lease })
}

// LeaseFrom returns the lease of ctx (see [WithLease]), if any.
func LeaseFrom(ctx context.Context) (context.Context, bool) {
	if e := executionFrom(ctx); e != nil && e.lease != nil {
		return e.lease, true
	}
	return nil, false
}

// LeaseLost returns the cause of the end of ctx's lease, nil while it
// holds or when ctx carries none.
func LeaseLost(ctx context.Context) error {
	return executionFrom(ctx).lost()
}

// lost returns why the execution's lease ended, nil while it holds.
func (e *execution) lost() error {
	if e != nil && e.lease != nil && e.lease.Err() != nil {
		return context.Cause(e.lease)
	}
	return nil
}

// Backoff is the retry schedule of a store client waiting out an
// outage: first, then doubling up to limit, each wait jittered by ±25%.
type Backoff struct {
	First, Limit time.Duration
	next         time.Duration
}

// Next returns the wait before the next try.
func (b *Backoff) Next() time.Duration {
	if b.First <= 0 {
		b.First = 100 * time.Millisecond
	}
	if b.Limit < b.First {
		b.Limit = max(b.First, 5*time.Second)
	}
	if b.next == 0 {
		b.next = b.First
	}
	d := b.next
	b.next = min(2*b.next, b.Limit)
	return d - d/4 + rand.N(d/2+1)
}

// RetryUnavailable calls fn until it returns an error that is not
// [IsUnavailable] or nil, waiting with backoff between calls, while both
// ctx and the lease of ctx ([WithLease]) hold; without a lease it gives
// up after patience (0: at once). It returns fn's last error, prefixed
// with what (when not empty) and followed by why it stopped retrying.
func RetryUnavailable(ctx context.Context, patience time.Duration, what string, fn func(ctx context.Context) error) error {
	err := fn(ctx)
	if err == nil || !IsUnavailable(err) {
		return err // the common case: nothing to set up
	}
	lease, leased := LeaseFrom(ctx)
	if !leased && patience <= 0 {
		return err
	}
	var giveUp <-chan time.Time
	var done <-chan struct{}
	if leased {
		done = lease.Done()
	} else {
		t := time.NewTimer(patience)
		defer t.Stop()
		giveUp = t.C
	}
	b := Backoff{First: 50 * time.Millisecond, Limit: 2 * time.Second}
	prefix := ""
	if what != "" {
		prefix = what + ": "
	}
	for {
		t := time.NewTimer(b.Next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s%w (gave up: %w)", prefix, err, context.Cause(ctx))
		case <-done:
			t.Stop()
			return fmt.Errorf("%s%w (gave up: the execution's lease is lost: %w)", prefix, err, context.Cause(lease))
		case <-giveUp:
			t.Stop()
			return fmt.Errorf("%s%w (gave up after %s)", prefix, err, patience)
		}
		if err = fn(ctx); err == nil || !IsUnavailable(err) {
			return err
		}
	}
}
