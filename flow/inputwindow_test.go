package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

// slept is a clock fixed at now whose Sleep returns at once, recording how
// long it was asked to wait: the wait for a window is checked without
// waiting.
type slept struct {
	now time.Time
	mu  sync.Mutex
	d   []time.Duration
}

func (c *slept) Now() time.Time { return c.now }
func (c *slept) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.d = append(c.d, d)
	c.mu.Unlock()
	return ctx.Err()
}
func (c *slept) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// nightly is a change window open from 22:00 to 24:00 UTC.
type nightly struct{}

func (nightly) NextOpen(t time.Time) (time.Time, bool) {
	t = t.UTC()
	if t.Hour() >= 22 {
		return t, true
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 22, 0, 0, 0, time.UTC), true
}

// TestWaitForInputWindow: an approval inside the window goes on at once;
// outside it, the run waits for the opening (WindowWait) or fails, not
// retried, without applying (WindowFail). A rejection is not affected.
func TestWaitForInputWindow(t *testing.T) {
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		at      time.Time
		outside flow.OutsideWindow
		wantErr bool
		wait    time.Duration
	}{
		{"inside", day.Add(23 * time.Hour), flow.WindowFail, false, 0},
		{"outside-wait", day.Add(20 * time.Hour), flow.WindowWait, false, 2 * time.Hour},
		{"outside-fail", day.Add(20 * time.Hour), flow.WindowFail, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := &slept{now: tc.at}
			m := flow.NewMemoryStore()
			in := flow.NewMemoryInputs()
			reqs := make(chan flow.InputRequest, 1)
			in.OnRequest = func(r flow.InputRequest) { reqs <- r }
			ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: m, Inputs: in, Clock: clock})
			g := &gate{}
			done := make(chan error, 1)
			go func() { _, err := g.flow(flow.InputWindow(nightly{}, tc.outside)).Run(ctx, "r1"); done <- err }()
			req := <-reqs
			if err := in.Answer(ctx, req.RunID, req.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"CHG-1"}`)}); err != nil {
				t.Fatal(err)
			}
			err := <-done
			var ow *flow.OutsideWindowError
			switch {
			case tc.wantErr && (!errors.As(err, &ow) || !ow.Next.Equal(day.Add(22*time.Hour)) || g.applied.Load() != 0):
				t.Fatalf("err %v, applied %d: want an OutsideWindowError naming 22:00, nothing applied", err, g.applied.Load())
			case !tc.wantErr && (err != nil || g.applied.Load() != 1):
				t.Fatalf("err %v applied %d", err, g.applied.Load())
			}
			if tc.wantErr {
				h := m.History(req.RunID)
				if last := h[len(h)-1]; last.Name != flow.NameFailed || names(h) != "Pending,Running,AwaitingInput,Running,Failed" {
					t.Fatalf("history %s: want Failed once, not retried", names(h))
				}
			}
			var waited time.Duration
			for _, d := range clock.d {
				if d > time.Minute {
					waited += d
				}
			}
			if waited != tc.wait {
				t.Fatalf("waited %v for the window, want %v", waited, tc.wait)
			}
		})
	}
	if _, err := (&gate{}).flow(flow.InputWindow(nil, flow.WindowWait)).Run(context.Background(), "r"); err == nil {
		t.Fatal("a nil window was accepted")
	}
}
