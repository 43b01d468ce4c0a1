package routing_test

import (
	"context"
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
func gatedLab(t *testing.T) (*rlab, *flowtest.Harness, *flow.MemoryInputs, chan flow.InputRequest) {
	t.Helper()
	l := newLabWith(t, labOptions{platform: "cisco_iosxe", extra: []netsync.BGPNeighbor{{PeerAddress: "10.8.0.1", RemoteAS: 65801, Enabled: true}},
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
