package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/store"
)

// RunGetter reads a run; a store.Store is one.
type RunGetter interface {
	GetRun(ctx context.Context, id string) (store.FlowRun, error)
}

// Recovered says what [Launcher.Recover] did with one container.
type Recovered struct {
	Container string
	Run       string
	// Removed is set when the container was killed and removed; the
	// run, if not final, is left to lapse and be crashed (and retried
	// per its policy) by the scheduler's reaper.
	Removed bool
	// Reason says why.
	Reason string
}

// Recover is called when a worker starts, before it claims: it finds the
// containers labelled for pool and kills and removes those that no live
// execution owns — containers this worker's name launched in an earlier
// life (its runs are no longer watched, so their container must not run
// on unseen), and containers whose run is final, gone, or no longer
// leased to the worker that launched them. Containers of runs still
// leased to another worker are left alone. No re-attach is attempted: a
// run whose container is removed is crashed by the reaper when its lease
// lapses and retried per policy, so no orphan keeps running.
func (l *Launcher) Recover(ctx context.Context, pool string, runs RunGetter) ([]Recovered, error) {
	res, err := l.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelPool+"="+pool)})
	if err != nil {
		return nil, fmt.Errorf("recover containers of pool %q: %w", pool, err)
	}
	var out []Recovered
	var errs []error
	now := time.Now()
	for _, c := range res.Items {
		r := Recovered{Container: c.ID, Run: c.Labels[LabelRun]}
		owner := c.Labels[LabelWorker]
		run, gerr := runs.GetRun(ctx, r.Run)
		switch {
		case owner == l.Worker && l.Worker != "":
			r.Reason = "launched by this worker before it restarted"
		case errors.Is(gerr, store.ErrNotFound):
			r.Reason = "run not found"
		case gerr != nil:
			errs = append(errs, fmt.Errorf("run %s of container %s: %w", r.Run, shortID(c.ID), gerr))
			continue
		case run.State.Final():
			r.Reason = "run is " + string(run.State.Type)
		case run.Worker != owner:
			r.Reason = "run is leased to " + run.Worker + ", not " + owner
		case run.LeaseExpires.Before(now):
			r.Reason = "lease of " + owner + " expired"
		default:
			continue // a live worker's
		}
		if err := l.kill(ctx, c.ID); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Removed = true
		l.logger().Info("removed container left over", slog.String("container", shortID(c.ID)), slog.String("run_id", r.Run), slog.String("reason", r.Reason))
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// kill removes a container at once: its run must be crashed by the
// reaper (and retried), not report itself Cancelled as a stop would make
// it do.
func (l *Launcher) kill(ctx context.Context, id string) error {
	if _, err := l.Client.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
		return fmt.Errorf("remove container %s: %w", shortID(id), err)
	}
	return nil
}

func (l *Launcher) grace() time.Duration {
	if l.Grace > 0 {
		return l.Grace
	}
	return 10 * time.Second
}
