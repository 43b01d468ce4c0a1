package f5flows_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/f5flows"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/f5"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// gated gives l flows whose production block requires approval (as
// configure saves it) and staging's does not, and a harness whose engine
// stores input requests in memory, announcing each on the channel.
func gated(t *testing.T, l *lab, timeout ...string) (*flowtest.Harness, *flow.MemoryInputs, chan flow.InputRequest) {
	t.Helper()
	load := func(_ context.Context, env string) (envconfig.NetAutoConfig, error) {
		return envconfig.NetAutoConfig{
			Environment: env, InfrahubURL: l.ihURL, InfrahubToken: store.NewSecret(infrahubtest.DefaultAPIToken),
			F5URL: l.bigURL, F5Username: "netauto", F5Password: store.NewSecret("netauto-pw"), F5InsecureSkipVerify: true,
			Approval: envconfig.Approval{Required: env == "production", Roles: []string{"operator"}, Timeout: strings.Join(timeout, "")},
		}, nil
	}
	l.flows = f5flows.New(f5flows.Deps{Config: load})
	h := flowtest.New(t)
	in := flow.NewMemoryInputs()
	reqs := make(chan flow.InputRequest, 4)
	in.OnRequest = func(r flow.InputRequest) { reqs <- r }
	h.Engine.Inputs = in
	return h, in, reqs
}

func TestAS3ProductionWaitsForApproval(t *testing.T) {
	l := newLab(t)
	h, in, reqs := gated(t, l)
	done := make(chan error, 1)
	go func() {
		_, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID})
		done <- err
	}()
	req := <-reqs
	if l.bigip.Tenant(seed.Tenant) != nil {
		t.Fatal("tenant declared before the approval")
	}
	if !strings.Contains(req.Prompt.Diff, "+ /"+seed.Tenant) || !slices.Contains(req.Prompt.Devices, seed.Tenant) ||
		!strings.HasPrefix(req.Prompt.Devices[0], "bigip ") || !slices.Equal(req.Answerers.Roles, []string{"operator"}) {
		t.Fatalf("request %+v: want the tenant's diff, the BIG-IP and the tenant as devices, the operator role", req)
	}
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "bob", Roles: []string{"operator"}}, flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if l.bigip.Tenant(seed.Tenant) == nil {
		t.Fatal("approved, but the tenant was not declared")
	}
	if got := h.States(req.RunID); !slices.Contains(got, flow.NameAwaitingInput) || got[len(got)-1] != "Completed" {
		t.Fatalf("states %v", got)
	}
}

func TestAS3ProductionRejectedChangesNothing(t *testing.T) {
	l := newLab(t)
	h, in, reqs := gated(t, l)
	done := make(chan error, 1)
	go func() {
		_, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID})
		done <- err
	}()
	req := <-reqs
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "carol", Roles: []string{"operator"}}, flow.Answer{Reason: "outside the change window"}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var re *flow.RejectedError
	if !errors.As(err, &re) || re.By != "carol" {
		t.Fatalf("err %v, want a *flow.RejectedError by carol", err)
	}
	if l.bigip.Tenant(seed.Tenant) != nil {
		t.Fatal("rejected, but the tenant was declared")
	}
	if got := h.Final(req.RunID); got.Name != "Cancelled" {
		t.Fatalf("final state %+v, want Cancelled", got)
	}
}

func TestAS3StagingDoesNotWait(t *testing.T) {
	l := newLab(t)
	h, in, _ := gated(t, l)
	if _, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "staging", ArtifactID: l.as3ID}); err != nil {
		t.Fatal(err)
	}
	if p := in.Pending(); len(p) != 0 || l.bigip.Tenant(seed.Tenant) == nil {
		t.Fatalf("pending %v, tenant %v: staging must declare without a wait", p, l.bigip.Tenant(seed.Tenant))
	}
}

// LTM in production shows the pools to create and members to add, and
// changes nothing when rejected; approved, it creates them.
func TestLTMProductionWaitsForApproval(t *testing.T) {
	l := newLab(t)
	h, in, reqs := gated(t, l)
	art := findArtifact(t, l, "f5-ltm")
	c, err := f5.New(f5.Config{BaseURL: l.bigURL, Username: "netauto", Password: "netauto-pw", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	run := func(answer flow.Answer) (*flow.InputRequest, error) {
		done := make(chan error, 1)
		go func() {
			_, err := l.flows.LTM.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: art})
			done <- err
		}()
		req := <-reqs
		if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "bob", Roles: []string{"operator"}}, answer); err != nil {
			t.Fatal(err)
		}
		return &req, <-done
	}
	req, err := run(flow.Answer{Reason: "no"})
	var re *flow.RejectedError
	if !errors.As(err, &re) {
		t.Fatalf("err %v, want a *flow.RejectedError", err)
	}
	first, _, _ := strings.Cut(req.Prompt.Diff, "\n")
	pool, ok := strings.CutPrefix(first, "+ pool ")
	if !ok || strings.Contains(pool, " ") || !strings.Contains(req.Prompt.Diff, " member ") {
		t.Fatalf("diff %q: want the pool to create, then its members", req.Prompt.Diff)
	}
	var fe *f5.Error
	if _, err := c.Pool(context.Background(), pool); !errors.As(err, &fe) || fe.StatusCode != 404 {
		t.Fatalf("rejected, but pool %s: %v", pool, err)
	}
	if _, err := run(flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pool(context.Background(), pool); err != nil {
		t.Fatalf("approved, but pool %s: %v", pool, err)
	}
}

// Nobody answered within the block's approval timeout: the change is
// cancelled, nothing declared.
func TestAS3ApprovalTimeoutCancels(t *testing.T) {
	l := newLab(t)
	h, _, _ := gated(t, l, "1ms")
	_, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID})
	var te *flow.InputTimeoutError
	if !errors.As(err, &te) || te.Then != flow.TimeoutCancel {
		t.Fatalf("err %v, want a *flow.InputTimeoutError that cancels", err)
	}
	if l.bigip.Tenant(seed.Tenant) != nil {
		t.Fatal("timed out, but the tenant was declared")
	}
	run := h.Only(t, f5flows.FlowAS3)
	if got := h.Final(run.ID); got.Type != flow.TypeCancelled {
		t.Fatalf("final state %+v, want Cancelled", got)
	}
}
