package routing

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/flow"
)

// notListed is the state of a neighbour the summary does not list.
const notListed = "not listed"

// postCheck waits for every intended enabled neighbour of in to be
// Established: it reads the BGP summary, and again every
// PostCheckInterval, until they all are or PostCheckTimeout has passed on
// the engine's clock (so tests with a fake clock do not wait). Neighbours
// the intent has disabled are not waited for. A failed read is tried again
// at the next poll on a new session (the push may have moved the
// management path for a moment), except a refused command or login, which
// no wait mends. The failure is a non-retryable *CheckError naming each
// neighbour not up and its last state.
func (d Deps) postCheck(ctx context.Context, in Intent) (checkOut, error) {
	var out checkOut
	log := flow.Logger(ctx)
	var want []Neighbor
	for _, n := range in.Neighbors {
		if n.Enabled {
			want = append(want, n)
		}
	}
	if len(want) == 0 {
		log.Info("post-check: no enabled BGP neighbour to wait for", "device", in.Device)
		return out, nil
	}
	v6 := slices.ContainsFunc(want, func(n Neighbor) bool { return confparse.IsIPv6(n.Address) })
	cmds := confparse.SummaryCommands(in.Platform, v6)
	timeout, interval := d.postCheckWait()
	clock := flow.EngineFrom(ctx).Clock
	start := clock.Now()
	deadline := start.Add(timeout)

	var s *device.Session
	defer func() {
		if s != nil {
			_ = s.Close()
		}
	}()
	read := func() (map[string]string, error) {
		if s == nil {
			var err error
			if s, err = device.Open(ctx, d.host(in), d.Secrets); err != nil {
				s = nil
				return nil, err
			}
		}
		res, err := s.Send(ctx, cmds...)
		if err != nil {
			_ = s.Close()
			s = nil
			return nil, err
		}
		states := map[string]string{}
		for _, r := range res {
			maps.Copy(states, confparse.ParseBGPSummary(r.Output))
		}
		return states, nil
	}

	var pending map[string]string // the last states read of the neighbours not up
	var readErr error             // the last read's error
	for {
		out.Polls++
		states, err := read()
		readErr = err
		switch {
		case err == nil:
			pending = map[string]string{}
			for _, n := range want {
				if st := states[confparse.CanonAddr(n.Address)]; st != "Established" {
					pending[n.Address] = cmp.Or(st, notListed)
				}
			}
		case ctx.Err() != nil:
			return out, context.Cause(ctx)
		case device.ClassOf(err) == device.CommandFailed || device.ClassOf(err) == device.AuthFailed:
			// The device refuses the command or the login: waiting does
			// not change that.
			return out, d.checkFailed(ctx, in, pending, clock.Now().Sub(start), err)
		}
		now := clock.Now()
		if err == nil && len(pending) == 0 {
			out.Waited = now.Sub(start)
			for _, n := range want {
				out.Established = append(out.Established, n.Address)
			}
			log.Info("post-check: BGP sessions Established", "device", in.Device, "neighbors", len(want), "polls", out.Polls, "waited", out.Waited.Round(time.Millisecond).String())
			return out, nil
		}
		if !now.Before(deadline) {
			return out, d.checkFailed(ctx, in, pending, now.Sub(start), readErr)
		}
		if err != nil {
			log.Debug("post-check: BGP summary not read; trying again", "device", in.Device, "poll", out.Polls, "error", err.Error(), "remaining", deadline.Sub(now).Round(time.Millisecond).String())
		} else {
			log.Debug("post-check: waiting for BGP sessions", "device", in.Device, "poll", out.Polls, "pending", describe(pending), "remaining", deadline.Sub(now).Round(time.Millisecond).String())
		}
		if err := clock.Sleep(ctx, min(interval, deadline.Sub(now))); err != nil {
			return out, err
		}
	}
}

// checkFailed logs and returns the post-check's failure: the neighbours
// not Established with their last states, and the last read's error.
func (d Deps) checkFailed(ctx context.Context, in Intent, pending map[string]string, waited time.Duration, readErr error) error {
	ce := &CheckError{Device: in.Device, Sessions: pending, Waited: waited, Err: readErr}
	var reason []string
	if len(pending) > 0 {
		reason = append(reason, fmt.Sprintf("BGP neighbours not Established after %s: %s", waited.Round(time.Millisecond), describe(pending)))
	}
	if readErr != nil {
		reason = append(reason, "BGP summary not read: "+readErr.Error())
	}
	ce.Reason = strings.Join(reason, "; ")
	attrs := []any{"device", in.Device, "waited", waited.Round(time.Millisecond).String()}
	if len(pending) > 0 {
		attrs = append(attrs, "not_established", describe(pending))
	}
	if readErr != nil {
		attrs = append(attrs, "error", readErr.Error())
	}
	flow.Logger(ctx).Warn("post-check failed: rolling back", attrs...)
	return flow.NonRetryable(ce)
}

// describe lists neighbours and states: "10.0.0.1 (Active), 10.0.0.2 (not
// listed)".
func describe(states map[string]string) string {
	addrs := slices.Sorted(maps.Keys(states))
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a + " (" + states[a] + ")"
	}
	return strings.Join(parts, ", ")
}
