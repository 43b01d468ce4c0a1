package routing_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/routing"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
)

// gatedLab is an IOS-XE lab whose production block requires approval (as
// configure saves it) and staging's does not, with a change pending in
// Infrahub (10.9.0.1 added, 10.8.0.1 removed), and a harness whose
// engine keeps input requests in memory, announcing each on the channel.
// Sessions with the peers down never come up.
func gatedLab(t *testing.T, down ...string) (*rlab, *flowtest.Harness, *flow.MemoryInputs, chan flow.InputRequest) {
	t.Helper()
	l := newLabWith(t, labOptions{platform: "cisco_iosxe", down: down, extra: []netsync.BGPNeighbor{{PeerAddress: "10.8.0.1", RemoteAS: 65801, Enabled: true}},
		deps: func(d *routing.Deps) {
			d.PostCheckTimeout = 30 * time.Second
			load := d.Config
			d.Config = func(ctx context.Context, env string) (envconfig.NetAutoConfig, error) {
				cfg, err := load(ctx, env)
				cfg.Approval = envconfig.Approval{Required: env == "production", FourEyes: true}
				return cfg, err
			}
		}})
	l.addNeighbor(t, "10.9.0.1", 65901, "new-peer", true)
	l.removeNeighbor(t, "10.8.0.1")
	h := flowtest.New(t)
	in := flow.NewMemoryInputs()
	reqs := make(chan flow.InputRequest, 4)
	in.OnRequest = func(r flow.InputRequest) { reqs <- r }
	h.Engine.Inputs = in
	return l, h, in, reqs
}

func TestProductionPushWaitsForApproval(t *testing.T) {
	l, h, in, reqs := gatedLab(t)
	before := l.dev.RunningConfig()
	done := make(chan error, 1)
	go func() { _, err := l.run(h); done <- err }()
	req := <-reqs
	if l.dev.RunningConfig() != before {
		t.Fatal("configuration pushed before the approval")
	}
	d := req.Prompt.Diff
	if !strings.Contains(d, "# add neighbour(s): 10.9.0.1") || !strings.Contains(d, "# remove neighbour(s): 10.8.0.1") ||
		!strings.Contains(d, "+ neighbor 10.9.0.1 remote-as 65901") || !strings.Contains(d, "- no neighbor 10.8.0.1") ||
		!slices.Equal(req.Prompt.Devices, []string{l.name}) || !req.Answerers.NotCreator {
		t.Fatalf("prompt %+v answerers %+v: want the lines to push and remove, the device, four-eyes", req.Prompt, req.Answerers)
	}
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("%v\n%s", err, h.Dump())
	}
	got := l.state(t)
	if _, ok := got.Neighbors["10.9.0.1"]; !ok {
		t.Fatalf("approved, but 10.9.0.1 is not configured:\n%s", l.dev.RunningConfig())
	}
	if _, ok := got.Neighbors["10.8.0.1"]; ok {
		t.Fatalf("approved, but 10.8.0.1 is still configured:\n%s", l.dev.RunningConfig())
	}
}

func TestProductionPushRejectedChangesNothing(t *testing.T) {
	l, h, in, reqs := gatedLab(t)
	before := l.dev.RunningConfig()
	done := make(chan error, 1)
	go func() { _, err := l.run(h); done <- err }()
	req := <-reqs
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "carol"}, flow.Answer{Reason: "peer not ready"}); err != nil {
		t.Fatal(err)
	}
	var re *flow.RejectedError
	if err := <-done; !errors.As(err, &re) || re.Reason != "peer not ready" {
		t.Fatalf("err %v, want a *flow.RejectedError", err)
	}
	if l.dev.RunningConfig() != before || len(h.Runs("push")) != 0 {
		t.Fatalf("rejected, but %d push runs; configuration:\n%s", len(h.Runs("push")), l.dev.RunningConfig())
	}
	if got := h.Final(req.RunID); got.Type != flow.TypeCancelled {
		t.Fatalf("final state %+v, want Cancelled", got)
	}
}

func TestStagingPushDoesNotWait(t *testing.T) {
	l, h, in, _ := gatedLab(t)
	res, err := l.flow(h.Context(), routing.Params{Environment: "staging", RoutingConfigID: l.rcID})
	if err != nil || !res.Changed || len(in.Pending()) != 0 {
		t.Fatalf("%+v %v, pending %v: staging must push without a wait", res, err, in.Pending())
	}
}

// An approval that outlasts the worker's patience suspends the run; the
// resumed run reads the plan back from the store, its secrets masked. It
// reads the device again before pushing, so that a rollback still
// restores a removed neighbour's password exactly.
func TestApprovalAfterSuspensionRollsBackExactly(t *testing.T) {
	const secret = "0822455D0A16"
	l, h, in, reqs := gatedLab(t, "10.9.0.9")
	l.dev.SetRunningConfig(strings.Replace(l.dev.RunningConfig(), " neighbor 10.8.0.1 remote-as 65801\n", " neighbor 10.8.0.1 remote-as 65801\n neighbor 10.8.0.1 password 7 "+secret+"\n", 1))
	l.addNeighbor(t, "10.9.0.9", 65909, "", true) // never Established: rolled back
	before := l.dev.RunningConfig()
	h.Engine.SuspendAfter = 1 // suspend at once
	params, err := json.Marshal(routing.Params{Environment: "production", RoutingConfigID: l.rcID})
	if err != nil {
		t.Fatal(err)
	}
	var se *flow.SuspendedError
	if _, err := l.def.Execute(h.Context(), flow.Execution{RunID: "r1", Params: params}); !errors.As(err, &se) {
		t.Fatalf("first execution: %v, want a *flow.SuspendedError", err)
	}
	req := <-reqs
	if strings.Contains(req.Prompt.Diff, secret) {
		t.Fatalf("the prompt shows the password: %s", req.Prompt.Diff)
	}
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
	_, err = l.def.Execute(h.Context(), flow.Execution{RunID: "r1", Params: params, State: flow.Pending(), Resume: true})
	var ce *routing.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("resumed: %v, want the post-check's *CheckError\n%s", err, h.Dump())
	}
	if n := len(h.Runs("re-plan")); n != 1 {
		t.Fatalf("%d re-plan runs: want the resumed run to read the device again once", n)
	}
	if after := l.dev.RunningConfig(); after != before {
		t.Fatalf("rollback after the resumed push differs:\nbefore %s\nafter  %s", before, after)
	}
}
