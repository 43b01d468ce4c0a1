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

// Outside go test, a program rehearses a flow against a stub with
// NewHarness, and checks what was recorded with errors, not a test.
func ExampleNewHarness() {
	push := task.New("push-config", func(context.Context, string) (string, error) {
		return "", errors.New("no lab here")
	})
	deploy := flow.New("deploy", func(ctx context.Context, dev string) (string, error) { return push.Run(ctx, dev) })

	h, err := flowtest.NewHarness(context.Background())
	if err != nil {
		panic(err)
	}
	ctx := task.WithStub(h.Context(), push, func(_ context.Context, dev string) (string, error) { return "pushed " + dev, nil })
	fmt.Println(deploy.Run(ctx, "r1"))
	run, err := h.One("push-config")
	fmt.Println(err, h.CheckStates(run.ID, "Pending", "Running", "Completed"))
	_, err = h.One("nothing")
	fmt.Println(err)
	err = h.CheckStates(run.ID, "Pending", "Completed")
	fmt.Println(strings.ReplaceAll(err.Error(), run.ID, "RUN"))
	// Output:
	// pushed r1 <nil>
	// <nil> <nil>
	// flowtest: 0 runs named "nothing", want 1
	// flowtest: run RUN states
	//  got: Pending → Running → Completed
	// want: Pending → Completed
}

func TestNewHarnessRefusesABadOption(t *testing.T) {
	if _, err := flowtest.NewHarness(context.Background(), flowtest.WithLimits(task.Limits{"ssh": 0})); err == nil {
		t.Fatal("an invalid limit was accepted")
	}
}

// The fake clock's timers fire when it is moved past them, by Advance or
// Sleep, and not before; a stopped one never fires.
func TestClockTimers(t *testing.T) {
	c := flowtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fired := make(chan string, 3)
	c.AfterFunc(time.Minute, func() { fired <- "minute" })
	stop := c.AfterFunc(time.Second, func() { fired <- "stopped" })
	c.AfterFunc(time.Hour, func() { fired <- "hour" })
	if !stop() || stop() {
		t.Fatal("stop of a pending timer did not report true once")
	}
	c.Advance(59 * time.Second)
	if c.Timers() != 2 {
		t.Fatalf("%d timers pending, want 2", c.Timers())
	}
	if err := c.Sleep(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if got := <-fired; got != "minute" {
		t.Fatalf("fired %q, want the minute's timer", got)
	}
	if c.Timers() != 1 {
		t.Fatalf("%d timers pending, want the hour's", c.Timers())
	}
	c.Advance(time.Hour)
	if got := <-fired; got != "hour" {
		t.Fatalf("fired %q", got)
	}
}
