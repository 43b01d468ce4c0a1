package worker

import (
	"context"

	"github.com/netauto-dev/netauto/runtime/store"
)

// Launcher executes claimed runs: in a goroutine ([InProcess]), in a
// child process ([Process]), in a container (a Docker launcher).
//
// Launch executes job.Run to its end and returns when it has ended. The
// run itself records its states: the in-process engine through the
// store, a child process or container over the API. The worker settles
// what the run left open: when Launch returns and the store shows no final
// state, the worker records Crashed with Launch's error as the message (or
// Cancelled, when the run was being cancelled). Launch's error should
// therefore say how the run ended (an exit status, the last lines of
// output) and is otherwise ignored.
//
// When ctx is cancelled (the run is being cancelled, its lease was lost,
// or the worker is stopping) Launch stops the run: an in-process run
// through its context, a process with a signal and, after a grace period,
// a kill. It still returns only once the run has stopped.
type Launcher interface {
	Launch(ctx context.Context, job Job) error
}

// Job is a claimed run handed to a [Launcher].
type Job struct {
	// Run is the run as claimed: state Pending, Attempt set (more than 1
	// for a retry, which resumes with the results of completed tasks).
	Run store.FlowRun
	// Started records where the run executes (a process ID, a container
	// ID) as soon as the launcher knows it.
	Started func(infrastructureID string)
	// Fenced reports that the worker no longer holds the run's lease: the
	// run was reaped and may already be retried elsewhere, so nothing
	// more may be recorded for this execution of it.
	Fenced func() bool
	// Lease is the worker's hold on the run: lost when Fenced turns true,
	// renewed every heartbeat. A launcher stops the execution at once
	// (no grace) when it is lost, and hands its deadline to processes it
	// starts, which must stop by themselves when their worker is gone.
	// Nil when a launcher is driven without a worker.
	Lease *Lease
	// Binary, when set, is the flow binary to execute instead of the
	// worker's own: a build of the run's Git source. The process launcher
	// runs it as the child; the Docker launcher runs it in an image
	// derived from its base image (built once per Commit).
	Binary string
	// Commit is the source commit Binary was built from, when set.
	Commit string
}

// FailedError is a launcher's verdict that a run fails without being
// executed: its source could not be fetched or built, its parameters do
// not fit its flow's schema. The worker records the run Failed (not
// Crashed: running it again would fail the same way) with the message.
type FailedError struct{ Err error }

func (e *FailedError) Error() string { return e.Err.Error() }

func (e *FailedError) Unwrap() error { return e.Err }
