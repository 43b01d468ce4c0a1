package f5flows_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/f5flows"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
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

// bigipClient is a client of l's BIG-IP, as a person changing it by hand.
func bigipClient(t *testing.T, l *lab) *f5.Client {
	t.Helper()
	c, err := f5.New(f5.Config{BaseURL: l.bigURL, Username: "netauto", Password: "netauto-pw", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// A tenant changed by hand while the change waited for approval: once
// approved, the run reads the tenant again, sees that the change is no
// longer the one approved and fails naming the tenant and what changed,
// declaring nothing (the hand change stays).
func TestAS3ApprovedAfterTenantChangedRefuses(t *testing.T) {
	l := newLab(t)
	h, in, reqs := gated(t, l)
	done := make(chan error, 1)
	go func() {
		_, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: l.as3ID})
		done <- err
	}()
	req := <-reqs
	// By hand, meanwhile: the tenant with another pool member.
	if _, err := bigipClient(t, l).Declare(context.Background(), json.RawMessage(seed.AS3("by-hand", "10.7.7.7")), nil); err != nil {
		t.Fatal(err)
	}
	byHand, _ := json.Marshal(l.bigip.Tenant(seed.Tenant))
	applied := len(l.bigip.Applied())
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "bob", Roles: []string{"operator"}}, flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var de *f5flows.DriftError
	if !errors.As(err, &de) || !slices.Equal(de.Names, []string{seed.Tenant}) || de.Kind != "tenant" || de.Environment != "production" {
		t.Fatalf("err %v, want a *DriftError naming tenant %s", err, seed.Tenant)
	}
	if !strings.Contains(err.Error(), seed.Tenant) || !strings.Contains(err.Error(), "10.7.7.7") || !strings.Contains(err.Error(), "nothing applied") {
		t.Fatalf("error %q: want the tenant, what changed (10.7.7.7) and that nothing was applied", err)
	}
	if n := len(l.bigip.Applied()); n != applied {
		t.Fatalf("%d declaration(s) after the approval, want none", n-applied)
	}
	if after, _ := json.Marshal(l.bigip.Tenant(seed.Tenant)); string(after) != string(byHand) {
		t.Fatalf("tenant after the refusal:\n%s\nwant the hand change kept:\n%s", after, byHand)
	}
	if got := h.Final(req.RunID); got.Name != "Failed" {
		t.Fatalf("final state %+v, want Failed", got)
	}
	if got := h.States(req.RunID); slices.Contains(got, "Retrying") {
		t.Fatalf("states %v: a drift is not retried", got)
	}
}

// otherTenant is a declaration of a tenant other than the seed's, its pool
// member addr, its virtual address apart from the seed's.
func otherTenant(t *testing.T, addr string) json.RawMessage {
	t.Helper()
	var decl map[string]any
	if err := json.Unmarshal(seed.AS3("other", addr), &decl); err != nil {
		t.Fatal(err)
	}
	tn := decl[seed.Tenant].(map[string]any)
	delete(decl, seed.Tenant)
	tn["web_shop"].(map[string]any)["service"].(map[string]any)["virtualAddresses"] = []string{"10.1.20.20"}
	decl["Other_Tenant"] = tn
	b, err := json.Marshal(decl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The rollback restores the tenants as they were when the change was
// approved, not as they were shown. A complete-mode declaration removes
// every tenant it does not name; its diff shows the removal, not the
// tenant's content, so a hand change of that tenant during the wait is no
// drift. The change fails its post-check: the rollback must put back the
// tenant as changed by hand, the state it replaced.
func TestAS3RollbackSnapshotTakenAfterApproval(t *testing.T) {
	l := newLab(t)
	h, in, reqs := gated(t, l)
	c := bigipClient(t, l)
	ctx := context.Background()
	if _, err := c.Declare(ctx, otherTenant(t, "10.2.2.1"), nil); err != nil {
		t.Fatal(err)
	}
	var broken map[string]any
	if err := json.Unmarshal(seed.AS3("broken"), &broken); err != nil {
		t.Fatal(err)
	}
	broken["updateMode"] = "complete"
	body, _ := json.Marshal(broken)
	sid := l.ih.PutObject(body)
	ev := event(t, map[string]any{"node_id": l.as3ID, "target_kind": schema.KindNetautoFlexApplication, "storage_id": sid})
	done := make(chan error, 1)
	go func() {
		_, err := l.flows.AS3.Run(h.Context(), f5flows.Params{Environment: "production", Event: ev})
		done <- err
	}()
	req := <-reqs
	if !strings.Contains(req.Prompt.Diff, "- /Other_Tenant") {
		t.Fatalf("diff %q: want the removal of Other_Tenant", req.Prompt.Diff)
	}
	if _, err := c.Declare(ctx, otherTenant(t, "10.2.2.2"), nil); err != nil {
		t.Fatal(err)
	}
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "bob", Roles: []string{"operator"}}, flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
	var ce *f5flows.CheckError
	if err := <-done; !errors.As(err, &ce) {
		t.Fatalf("err %v, want a *CheckError", err)
	}
	b, _ := json.Marshal(l.bigip.Tenant("Other_Tenant"))
	if !strings.Contains(string(b), "10.2.2.2") {
		t.Fatalf("Other_Tenant after the rollback: %s\nwant it as changed by hand during the wait (member 10.2.2.2)", b)
	}
	var reads []string
	for _, r := range h.Children(req.RunID) {
		if strings.Contains(r.Name, "read-tenants") {
			reads = append(reads, r.Name)
		}
	}
	if !slices.Equal(reads, []string{"read-tenants", "re-read-tenants"}) {
		t.Fatalf("tenant reads %v, want the one shown and the one after approval", reads)
	}
}

// A pool created by hand while the LTM change waited: the approved plan
// ("+ pool P", its members) is no longer what the device needs; the run
// fails naming the pool, nothing added.
func TestLTMApprovedAfterPoolChangedRefuses(t *testing.T) {
	l := newLab(t)
	h, in, reqs := gated(t, l)
	art := findArtifact(t, l, "f5-ltm")
	c := bigipClient(t, l)
	done := make(chan error, 1)
	go func() {
		_, err := l.flows.LTM.Run(h.Context(), f5flows.Params{Environment: "production", ArtifactID: art})
		done <- err
	}()
	req := <-reqs
	first, _, _ := strings.Cut(req.Prompt.Diff, "\n")
	pool, ok := strings.CutPrefix(first, "+ pool ")
	if !ok {
		t.Fatalf("diff %q: want a pool to create first", req.Prompt.Diff)
	}
	part, name, _ := strings.Cut(strings.TrimPrefix(pool, "/"), "/")
	if err := c.CreatePool(context.Background(), &f5.LTMPool{Name: name, Partition: part}); err != nil {
		t.Fatal(err)
	}
	if err := in.Answer(h.Context(), req.RunID, req.Key, flow.Responder{Key: "bob", Roles: []string{"operator"}}, flow.Answer{Approved: true}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var de *f5flows.DriftError
	if !errors.As(err, &de) || !slices.Contains(de.Names, pool) || de.Kind != "pool" || !slices.Contains(de.Approved, "+ pool "+pool) {
		t.Fatalf("err %v, want a *DriftError naming pool %s and its creation as no longer planned", err, pool)
	}
	if !strings.Contains(err.Error(), pool) {
		t.Fatalf("error %q does not name pool %s", err, pool)
	}
	if m, err := c.PoolMembers(context.Background(), pool); err != nil || len(m) != 0 {
		t.Fatalf("pool %s members %v (%v): want the hand-made pool left empty, nothing added", pool, m, err)
	}
	if got := h.Final(req.RunID); got.Name != "Failed" {
		t.Fatalf("final state %+v, want Failed", got)
	}
}
