package flowtest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/task"
)

// recordingTB captures failures instead of failing the test.
type recordingTB struct {
	testing.TB
	errors []string
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Helper() {}

func TestAssertStates(t *testing.T) {
	h := flowtest.New(t)
	f := flow.New("f", func(context.Context, int) (int, error) { return 0, errors.New("x") })
	f.Run(h.Context(), 1)
	id := h.Only(t, "f").ID
	rec := &recordingTB{TB: t}
	h.AssertStates(rec, id, "Pending", "Running", "Failed")
	if len(rec.errors) != 0 {
		t.Fatalf("matching states reported: %v", rec.errors)
	}
	h.AssertStates(rec, id, "Pending", "Running", "Completed")
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "Pending → Running → Failed") {
		t.Fatalf("a mismatch was not reported with the actual history: %v", rec.errors)
	}
	if h.Final(id).Name != flow.NameFailed || len(h.Children(id)) != 0 || !strings.Contains(h.Dump(), "flow f") {
		t.Fatal("Final, Children or Dump disagree with the recorded run")
	}
}

func TestClock(t *testing.T) {
	start := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)
	c := flowtest.NewClock(start)
	if err := c.Sleep(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	if got := c.Now(); !got.Equal(start.Add(61 * time.Minute)) {
		t.Fatalf("Now = %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v", err)
	}
	if fmt.Sprint(c.Sleeps()) != "[1m0s]" {
		t.Fatalf("Sleeps = %v", c.Sleeps())
	}
}

func TestWithLimits(t *testing.T) {
	h := flowtest.New(t, flowtest.WithLimits(task.Limits{"ssh": 2}))
	if _, ok := h.Engine.Limiter.(*task.Limiter); !ok {
		t.Fatal("no limiter installed")
	}
	bad := &fatalTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		flowtest.New(bad, flowtest.WithLimits(task.Limits{"ssh": 0}))
	}()
	if !bad.failed {
		t.Fatal("an invalid limit did not fail the test")
	}
}

type fatalTB struct {
	testing.TB
	failed bool
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}

func ExampleHarness() {
	push := task.New("push-config", func(context.Context, string) (string, error) {
		return "", errors.New("no lab in unit tests")
	})
	deploy := flow.New("deploy", func(ctx context.Context, dev string) (string, error) { return push.Run(ctx, dev) })

	h := flowtest.New(&exampleTB{}) // in a test: flowtest.New(t)
	ctx := task.WithStub(h.Context(), push, func(_ context.Context, dev string) (string, error) { return "pushed " + dev, nil })
	out, err := deploy.Run(ctx, "r1")
	fmt.Println(out, err, h.States(h.Runs("push-config")[0].ID))
	// Output: pushed r1 <nil> [Pending Running Completed]
}

// exampleTB is enough of a testing.TB for the example.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper()                  {}
func (exampleTB) Context() context.Context { return context.Background() }
