package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// ExitLeaseLost is the exit status of an `execute` process that stopped
// because its worker lost the run's lease or is gone.
const ExitLeaseLost = 3

// Why an execution stops through its lease channel.
var (
	// ErrWorkerGone is the cause when the lease channel ended: the worker
	// died (the kernel closed its end).
	ErrWorkerGone = errors.New("the worker is gone (its lease channel ended)")
	// ErrLeaseLost is the cause when the worker says it lost the lease.
	ErrLeaseLost = errors.New("the worker lost the run's lease")
	// ErrLeaseRanOut is the cause when the lease ran out unrenewed.
	ErrLeaseRanOut = errors.New("the run's lease ran out without renewal")
)

// leaseFile opens the lease channel $NETAUTO_LEASE_FD names, nil when
// unset.
func leaseFile() (*os.File, error) {
	v := os.Getenv(wire.EnvLeaseFD)
	if v == "" {
		return nil, nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 0 {
		return nil, fmt.Errorf("%s=%q: want a file descriptor number", wire.EnvLeaseFD, v)
	}
	return os.NewFile(uintptr(fd), "lease"), nil
}

// WatchLease reads a worker's lease channel from r (see [wire.LeaseStop])
// and returns a context that ends, with the reason as its cause, when the
// channel says stop, ends, or a lease runs out unrenewed; onLost is
// called then, once, with the same reason. Until the first line, the
// execution waits for one without a deadline. Call stop to end the watch
// (it does not close r).
func WatchLease(r io.Reader, onLost func(reason error)) (lease context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	type msg struct {
		d    time.Duration
		stop bool
		end  error
	}
	msgs := make(chan msg, 1)
	quit := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			d, stop, err := wire.ParseLeaseLine(sc.Text())
			if err != nil {
				continue // a newer worker's line: ignore it
			}
			select {
			case msgs <- msg{d: d, stop: stop}:
			case <-quit:
				return
			}
		}
		end := ErrWorkerGone
		if err := sc.Err(); err != nil {
			end = fmt.Errorf("%w: %v", ErrWorkerGone, err)
		}
		select {
		case msgs <- msg{end: end}:
		case <-quit:
		}
	}()
	go func() {
		var timeout <-chan time.Time
		var timer *time.Timer
		lost := func(reason error) {
			cancel(reason)
			if onLost != nil {
				onLost(reason)
			}
		}
		for {
			select {
			case <-quit:
				return
			case <-timeout:
				lost(ErrLeaseRanOut)
				return
			case m := <-msgs:
				switch {
				case m.end != nil:
					lost(m.end)
					return
				case m.stop:
					lost(ErrLeaseLost)
					return
				}
				if timer == nil {
					timer = time.NewTimer(m.d)
					timeout = timer.C
				} else {
					timer.Stop()
					timer.Reset(m.d)
				}
			}
		}
	}()
	var once bool
	return ctx, func() {
		if !once {
			once = true
			close(quit)
			cancel(context.Canceled)
		}
	}
}

// stopAtOnce ends the process and everything it started, recording
// nothing: its worker is gone or lost the run, which may already run
// again elsewhere.
func stopAtOnce(reason error) {
	if !errors.Is(reason, ErrWorkerGone) { // else nobody reads the output
		fmt.Fprintf(os.Stderr, "execute: stopping at once, recording nothing: %v\n", reason)
	}
	killOwnGroup()
	os.Exit(ExitLeaseLost)
}
