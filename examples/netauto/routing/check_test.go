package routing_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/routing"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/infrahub"
)

// logRecords collects the records of every level a flow logs (the
// engine's Logs handler; the store keeps Info and above only).
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// messages returns the messages logged at level, each with its attributes.
func (l *logRecords) messages(level slog.Level) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.recs {
		if r.Level != level {
			continue
		}
		m := r.Message
		r.Attrs(func(a slog.Attr) bool {
			m += " " + a.Key + "=" + a.Value.String()
			return true
		})
		out = append(out, m)
	}
	return out
}

func harness(t *testing.T) (*flowtest.Harness, *logRecords) {
	h := flowtest.New(t)
	logs := &logRecords{}
	h.Engine.Logs = logs
	return h, logs
}

func sum(ds []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range ds {
		s += d
	}
	return s
}

// checkResult is the post-check's persisted result.
func checkResult(t *testing.T, h *flowtest.Harness) (out struct {
	Established []string      `json:"established"`
	Polls       int           `json:"polls"`
	Waited      time.Duration `json:"waited"`
}) {
	t.Helper()
	run := h.Only(t, "post-check")
	results, err := h.Store.RunResults(context.Background(), run.FlowRunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range results {
		if json.Unmarshal(v, &out) == nil && out.Polls > 0 {
			return out
		}
	}
	t.Fatalf("no post-check result among %d", len(results))
	return out
}

// A neighbour pushed to the device takes 40 seconds to come up: the
// post-check reads the summary every 5 seconds on the engine's clock (no
// real time passes) until it is Established, and the run completes with
// nothing rolled back. Each poll's progress is logged at debug, the
// outcome at info.
func TestPostCheckWaitsForSessions(t *testing.T) {
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			h, logs := harness(t)
			l := newLabWith(t, labOptions{platform: p, clock: h.Clock, bgp: devicetest.BGP{EstablishPolls: -1, EstablishAfter: 40 * time.Second}})
			l.addNeighbor(t, "10.9.0.1", 65901, "new-peer", true)
			res, err := l.run(h)
			if err != nil || !res.Changed {
				t.Fatalf("run: %+v %v\n%s", res, err, h.Dump())
			}
			if sleeps := h.Clock.Sleeps(); len(sleeps) != 8 || sum(sleeps) != 40*time.Second {
				t.Errorf("waited %v, want 8 polls of 5s", sleeps)
			}
			if n := len(h.Runs("push.compensate")); n != 0 {
				t.Errorf("%d compensations ran", n)
			}
			if st := l.dev.BGPState("10.9.0.1"); st != "Established" {
				t.Errorf("device shows %s", st)
			}
			if out := checkResult(t, h); out.Polls != 9 || out.Waited != 40*time.Second || len(out.Established) != 2 || !slices.Contains(out.Established, "10.9.0.1") {
				t.Errorf("post-check result %+v", out)
			}
			debug := logs.messages(slog.LevelDebug)
			if len(debug) != 8 || !strings.Contains(debug[0], "pending=10.9.0.1 (Idle)") || !strings.Contains(debug[7], "pending=10.9.0.1 (OpenConfirm)") {
				t.Errorf("debug logs:\n%s", strings.Join(debug, "\n"))
			}
			if !slices.ContainsFunc(logs.messages(slog.LevelInfo), func(m string) bool {
				return strings.HasPrefix(m, "post-check: BGP sessions Established") && strings.Contains(m, "polls=9") && strings.Contains(m, "waited=40s")
			}) {
				t.Errorf("no info log of the outcome:\n%s", strings.Join(logs.messages(slog.LevelInfo), "\n"))
			}
		})
	}
}

// Sessions that never come up (a peer that never answers, one running
// another AS) fail the post-check when its time is up, naming each
// neighbour and the state it was last seen in; the push is rolled back.
// A neighbour added with it that did come up is not named.
func TestPostCheckTimesOut(t *testing.T) {
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			h, logs := harness(t)
			l := newLabWith(t, labOptions{platform: p, clock: h.Clock, down: []string{"10.9.0.9"}, bgp: devicetest.BGP{
				Peers: map[string]devicetest.BGPPeer{"10.9.0.8": {AS: 65999}},
			}})
			before := l.dev.RunningConfig()
			l.addNeighbor(t, "10.9.0.1", 65901, "comes-up", true)
			l.addNeighbor(t, "10.9.0.8", 65908, "wrong-as", true)
			l.addNeighbor(t, "10.9.0.9", 65909, "never-answers", true)
			_, err := l.run(h)
			var ce *routing.CheckError
			if !errors.As(err, &ce) || !flow.IsNonRetryable(err) {
				t.Fatalf("err %v, want a non-retryable *CheckError\n%s", err, h.Dump())
			}
			want := map[string]string{"10.9.0.8": "Idle", "10.9.0.9": "Active"}
			if !maps.Equal(ce.Sessions, want) || ce.Waited != routing.DefaultPostCheckTimeout || ce.Err != nil {
				t.Errorf("CheckError %+v, want sessions %v after %s", ce, want, routing.DefaultPostCheckTimeout)
			}
			for _, w := range []string{"10.9.0.8 (Idle)", "10.9.0.9 (Active)", "after 3m0s"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "10.9.0.1") {
				t.Errorf("error names the session that came up: %v", err)
			}
			if s := sum(h.Clock.Sleeps()); s != routing.DefaultPostCheckTimeout {
				t.Errorf("waited %s on the clock, want %s", s, routing.DefaultPostCheckTimeout)
			}
			sameConfig(t, p, before, l.dev.RunningConfig())
			if comp := h.Only(t, "push.compensate"); h.Final(comp.ID).Name != "Completed" {
				t.Errorf("push.compensate ended %s", h.Final(comp.ID).Name)
			}
			if !slices.ContainsFunc(logs.messages(slog.LevelWarn), func(m string) bool {
				return strings.HasPrefix(m, "post-check failed") && strings.Contains(m, "not_established=10.9.0.8 (Idle), 10.9.0.9 (Active)")
			}) {
				t.Errorf("no warning naming the sessions:\n%s", strings.Join(logs.messages(slog.LevelWarn), "\n"))
			}
		})
	}
}

// PostCheckTimeout and PostCheckInterval set the wait: the last sleep is
// cut short so the post-check ends at its deadline.
func TestPostCheckTimeoutAndInterval(t *testing.T) {
	h, _ := harness(t)
	l := newLabWith(t, labOptions{platform: "cisco_iosxe", clock: h.Clock, down: []string{"10.9.0.9"}, deps: func(d *routing.Deps) {
		d.PostCheckTimeout, d.PostCheckInterval = 25*time.Second, 10*time.Second
	}})
	l.addNeighbor(t, "10.9.0.9", 65909, "", true)
	_, err := l.run(h)
	var ce *routing.CheckError
	if !errors.As(err, &ce) || ce.Waited != 25*time.Second {
		t.Fatalf("err %v", err)
	}
	if got := h.Clock.Sleeps(); !slices.Equal(got, []time.Duration{10 * time.Second, 10 * time.Second, 5 * time.Second}) {
		t.Errorf("sleeps %v", got)
	}
}

// Only what the intent wants up is waited for: a neighbour disabled in
// Infrahub is not (its peer never answers here), and a neighbour that was
// up and whose description alone changed stays up, so the first read
// passes. A changed remote AS resets the session, which is waited for.
func TestPostCheckWaitsOnlyForWhatMustComeUp(t *testing.T) {
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			h, _ := harness(t)
			l := newLabWith(t, labOptions{platform: p, clock: h.Clock, down: []string{"10.9.0.3"}, extra: []netsync.BGPNeighbor{
				{PeerAddress: "10.8.0.2", RemoteAS: 65802, Description: "kept", Enabled: true},
			}})
			l.addNeighbor(t, "10.9.0.3", 65903, "off", false)
			l.updateNeighbor(t, "10.8.0.2", infrahub.Data{"description": infrahub.Value("renamed")})
			res, err := l.run(h)
			if err != nil || !slices.Equal(res.Updated, []string{"10.8.0.2"}) {
				t.Fatalf("run: %+v %v\n%s", res, err, h.Dump())
			}
			if sleeps := h.Clock.Sleeps(); len(sleeps) != 0 {
				t.Errorf("post-check waited %v for sessions that stayed up", sleeps)
			}
			l.updateNeighbor(t, "10.8.0.2", infrahub.Data{"remote_as": infrahub.Value(65812)})
			if _, err := l.run(h); err != nil {
				t.Fatalf("remote AS change: %v\n%s", err, h.Dump())
			}
			if n := len(h.Clock.Sleeps()); n != devicetest.DefaultEstablishPolls {
				t.Errorf("after a remote AS change: %d waits, want %d (the reset session's reads)", n, devicetest.DefaultEstablishPolls)
			}
		})
	}
}

// blockingClock is a clock whose Sleep waits for the context to end, and
// says when it starts waiting.
type blockingClock struct {
	*flowtest.Clock
	sleeping chan time.Duration
}

func (c blockingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeping <- d
	<-ctx.Done()
	return context.Cause(ctx)
}

// A run cancelled while the post-check waits stops at once, reads the
// summary no more, and rolls the push back.
func TestPostCheckCancelled(t *testing.T) {
	h, _ := harness(t)
	clock := blockingClock{Clock: h.Clock, sleeping: make(chan time.Duration, 8)}
	h.Engine.Clock = clock
	l := newLabWith(t, labOptions{platform: "arista_eos", clock: h.Clock, down: []string{"10.9.0.9"}})
	before := l.dev.RunningConfig()
	l.addNeighbor(t, "10.9.0.9", 65909, "", true)
	ctx, cancel := context.WithCancel(h.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := l.flow(ctx, routing.Params{Environment: "production", RoutingConfigID: l.rcID})
		done <- err
	}()
	select {
	case d := <-clock.sleeping:
		if d != routing.DefaultPostCheckInterval {
			t.Errorf("first wait %s", d)
		}
	case err := <-done:
		t.Fatalf("run ended before waiting: %v\n%s", err, h.Dump())
	}
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a wait
		t.Fatal("the run did not stop when cancelled")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if len(clock.sleeping) != 0 {
		t.Errorf("the post-check went on polling after the cancel")
	}
	if st := h.Final(h.Only(t, "post-check").ID); st.Type == flow.TypeCompleted || st.Type == flow.TypeFailed && !strings.Contains(st.Message, "cancel") {
		t.Errorf("post-check ended %s: %s", st.Name, st.Message)
	}
	sameConfig(t, "arista_eos", before, l.dev.RunningConfig())
}

// A summary the device refuses fails the post-check at once (waiting does
// not mend it); one that cannot be read (the connection drops) is tried
// again at each poll, and the failure carries the read's error.
func TestPostCheckReadErrors(t *testing.T) {
	summary := confparse.SummaryCommands("cisco_nxos", false)[0]
	t.Run("refused", func(t *testing.T) {
		h, _ := harness(t)
		l := newLabWith(t, labOptions{platform: "cisco_nxos", clock: h.Clock, faults: []devicetest.Fault{{Kind: devicetest.FaultRefuse, Command: summary}}})
		before := l.dev.RunningConfig()
		l.addNeighbor(t, "10.9.0.1", 65901, "", true)
		_, err := l.run(h)
		var ce *routing.CheckError
		var cmdErr *device.CommandError
		if !errors.As(err, &ce) || !errors.As(err, &cmdErr) || len(h.Clock.Sleeps()) != 0 {
			t.Fatalf("err %v after %v, want a *CheckError wrapping the refusal at once", err, h.Clock.Sleeps())
		}
		sameConfig(t, "cisco_nxos", before, l.dev.RunningConfig())
	})
	t.Run("dropped", func(t *testing.T) {
		h, _ := harness(t)
		l := newLabWith(t, labOptions{platform: "cisco_nxos", clock: h.Clock, faults: []devicetest.Fault{{Kind: devicetest.FaultDisconnect, Command: summary}}, deps: func(d *routing.Deps) {
			d.PostCheckTimeout = 20 * time.Second
		}})
		before := l.dev.RunningConfig()
		l.addNeighbor(t, "10.9.0.1", 65901, "", true)
		_, err := l.run(h)
		var ce *routing.CheckError
		var devErr *device.Error
		if !errors.As(err, &ce) || !errors.As(err, &devErr) || ce.Sessions != nil {
			t.Fatalf("err %v, want a *CheckError wrapping the read's *device.Error", err)
		}
		if n := len(h.Clock.Sleeps()); n != 4 {
			t.Errorf("%d waits, want 4 (a read every 5s for 20s)", n)
		}
		if !strings.Contains(err.Error(), "BGP summary not read") {
			t.Errorf("error %q", err)
		}
		sameConfig(t, "cisco_nxos", before, l.dev.RunningConfig())
	})
}

// A wait that cannot work is refused before anything is pushed: a
// negative one, or one that would outlast the Junos commit-confirmed
// window (the commit would roll itself back before its confirmation).
func TestPostCheckWaitRefused(t *testing.T) {
	for name, c := range map[string]struct {
		platform, field string
		deps            func(*routing.Deps)
	}{
		"negative timeout":   {"arista_eos", "PostCheckTimeout", func(d *routing.Deps) { d.PostCheckTimeout = -time.Second }},
		"negative interval":  {"arista_eos", "PostCheckInterval", func(d *routing.Deps) { d.PostCheckInterval = -time.Second }},
		"junos window":       {"juniper_junos", "PostCheckTimeout", func(d *routing.Deps) { d.PostCheckTimeout = 9*time.Minute + time.Second }},
		"junos short window": {"juniper_junos", "PostCheckTimeout", func(d *routing.Deps) { d.CommitConfirmMinutes = 3 }},
	} {
		t.Run(name, func(t *testing.T) {
			h, _ := harness(t)
			l := newLabWith(t, labOptions{platform: c.platform, deps: c.deps})
			before := l.dev.RunningConfig()
			l.addNeighbor(t, "10.9.0.1", 65901, "", true)
			_, err := l.run(h)
			var pe *routing.ParamsError
			if !errors.As(err, &pe) || pe.Field != c.field || !flow.IsNonRetryable(err) {
				t.Fatalf("err %v, want a *ParamsError naming %s", err, c.field)
			}
			if len(h.Runs("push")) != 0 || l.dev.RunningConfig() != before {
				t.Error("pushed anyway")
			}
		})
	}
	// Without commit confirmed the window does not apply.
	h, _ := harness(t)
	l := newLabWith(t, labOptions{platform: "juniper_junos", clock: h.Clock, deps: func(d *routing.Deps) {
		d.CommitConfirmMinutes, d.PostCheckTimeout = -1, 20*time.Minute
	}})
	l.addNeighbor(t, "10.9.0.1", 65901, "", true)
	if _, err := l.run(h); err != nil {
		t.Errorf("Junos without commit confirmed: %v", err)
	}
}
