package envconfig_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

// TestChangeCalendarInTheBlock: an environment's block carries its freezes;
// a deployment naming the block holds its runs during them, and a bad
// calendar is refused when the block is saved, naming the field.
func TestChangeCalendarInTheBlock(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	now := time.Now().UTC()
	c := cfg("production", "http://prod")
	c.ChangeCalendar = window.Calendar{Freezes: []window.Freeze{{Name: "incident", Reason: "core outage",
		Start: now.Add(-time.Hour).Format(time.RFC3339), End: now.Add(time.Hour).Format(time.RFC3339)}}}
	if err := envconfig.Save(ctx, st, c, false); err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "routing-deploy-production", Flow: "routing", Pool: "p",
		Calendar: &window.Calendar{Block: envconfig.BlockName("production")}}); err != nil {
		t.Fatal(err)
	}
	run, _, err := st.CreateRun(ctx, store.RunSpec{Deployment: "routing-deploy-production"})
	if err != nil || run.State.Name != flow.NameAwaitingWindow || !strings.Contains(run.State.Message, "frozen by incident: core outage") {
		t.Fatalf("run in the block's freeze: %v %s", err, run.State)
	}

	c.ChangeCalendar = window.Calendar{Windows: []window.Window{{Start: "0 22 * * *", Duration: time.Hour, Timezone: "Europe/Berln"}}}
	err = envconfig.Save(ctx, st, c, false)
	var fe *fielderr.Error
	if !errors.As(err, &fe) || fe.Field != "change_calendar.windows[0].timezone" {
		t.Fatalf("bad calendar saved: %v", err)
	}
}

// TestGateWindow: with approval.window "fail", an approval given outside
// the environment's change calendar fails the gate.
func TestGateWindow(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	c := cfg("production", "http://prod")
	c.Approval = envconfig.Approval{Required: true, Window: "fail"}
	c.ChangeCalendar = window.Calendar{Freezes: []window.Freeze{{Name: "incident", Start: now.Add(-time.Hour).Format(time.RFC3339), End: now.Add(time.Hour).Format(time.RFC3339)}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	in := flow.NewMemoryInputs()
	in.OnRequest = func(r flow.InputRequest) {
		go func() {
			_ = in.Answer(ctx, r.RunID, r.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: []byte(`{}`)})
		}()
	}
	ectx := flow.WithEngine(ctx, &flow.Engine{Recorder: flow.NewMemoryStore(), Inputs: in})
	_, err := flow.New("change", func(ctx context.Context, _ struct{}) (string, error) {
		return "applied", envconfig.Gate(ctx, c, flow.Prompt{Text: "push"})
	}).Run(ectx, struct{}{})
	var ow *flow.OutsideWindowError
	if !errors.As(err, &ow) {
		t.Fatalf("gate outside the window: %v", err)
	}
	c.Approval.Window = "later"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "approval.window") {
		t.Fatalf("bad window outcome: %v", err)
	}
}
