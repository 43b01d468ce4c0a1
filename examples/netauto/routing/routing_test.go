package routing_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
	"github.com/netauto-dev/netauto/examples/netauto/routing"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/store"
)

var platforms = []string{"arista_eos", "cisco_iosxe", "cisco_nxos", "juniper_junos"}

type rlab struct {
	fake   *infrahubtest.Server
	client *infrahub.Client
	lab    *netsynctest.Lab
	dev    *devicetest.Device
	flow   func(ctx context.Context, p routing.Params) (routing.Result, error)
	def    *flow.Flow[routing.Params, routing.Result]
	rcID   string
	devID  string
	name   string
	plat   string
}

// newLab starts one lab device of platform (netsynctest's fleet device: one
// neighbour, "upstream"), with the extra neighbours and faults given,
// seeded into a fake Infrahub with a routing config of AS 65000. Its
// post-check gives up after 30 seconds (of the harness's clock): a
// session that never comes up is read 7 times, not 37 (the default wait
// is TestPostCheckTimesOut's).
func newLab(t *testing.T, platform string, extra []netsync.BGPNeighbor, down []string, faults ...devicetest.Fault) *rlab {
	t.Helper()
	return newLabWith(t, labOptions{platform: platform, extra: extra, down: down, faults: faults, deps: func(d *routing.Deps) {
		d.PostCheckTimeout = 30 * time.Second
	}})
}

// labOptions are newLab's arguments and more: how the device's BGP
// sessions come up, the clock they come up by (the harness's, so the
// post-check's waits move it), and changes to the flow's Deps.
type labOptions struct {
	platform string
	extra    []netsync.BGPNeighbor
	down     []string
	faults   []devicetest.Fault
	bgp      devicetest.BGP
	clock    devicetest.Clock
	deps     func(*routing.Deps)
}

func newLabWith(t *testing.T, o labOptions) *rlab {
	t.Helper()
	platform := o.platform
	fake, srv := infrahubtest.NewTestServer(t, infrahubtest.Options{Schemas: schema.FakeSchemas(), Seed: seed.Infrahub()})
	var d netsynctest.Device
	for _, f := range netsynctest.Fleet("", 4) {
		if f.Platform == platform {
			d = f
		}
	}
	d.BGPNeighbors = append(d.BGPNeighbors, o.extra...)
	d.Down, d.Faults, d.BGP = o.down, o.faults, o.bgp
	var opts []devicetest.Option
	if o.clock != nil {
		opts = append(opts, devicetest.WithClock(o.clock))
	}
	lab, err := netsynctest.Start(context.Background(), fake, []netsynctest.Device{d}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	rc, err := seed.RoutingConfig(fake, d.Name+"-bgp", lab.IDs[d.Name], 65000, "")
	if err != nil {
		t.Fatal(err)
	}
	load := func(_ context.Context, env string) (envconfig.NetAutoConfig, error) {
		return envconfig.NetAutoConfig{Environment: env, InfrahubURL: srv.URL, InfrahubToken: store.NewSecret(infrahubtest.DefaultAPIToken)}, nil
	}
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	deps := routing.Deps{Config: load, Secrets: lab.Secrets(), DeviceDefaults: lab.DeviceDefaults()}
	if o.deps != nil {
		o.deps(&deps)
	}
	f := routing.New(deps)
	return &rlab{fake: fake, client: client, lab: lab, dev: lab.Devices.Device(d.Name), flow: f.Run, def: f, rcID: rc, devID: lab.IDs[d.Name], name: d.Name, plat: platform}
}

func (l *rlab) run(h *flowtest.Harness) (routing.Result, error) {
	return l.flow(h.Context(), routing.Params{Environment: "production", RoutingConfigID: l.rcID})
}

func (l *rlab) addNeighbor(t *testing.T, addr string, as int64, desc string, enabled bool) {
	t.Helper()
	if _, err := l.fake.Create("", schema.KindNetworkBGPNeighbor, map[string]any{
		"peer_address": addr, "remote_as": as, "enabled": enabled, "description": desc, "device": map[string]any{"id": l.devID},
	}); err != nil {
		t.Fatal(err)
	}
}

type neighborNode struct {
	ID          string                `json:"id"`
	PeerAddress infrahub.Attr[string] `json:"peer_address"`
}

func (l *rlab) neighborID(t *testing.T, addr string) string {
	t.Helper()
	nodes, err := infrahub.List[neighborNode](t.Context(), l.client, schema.KindNetworkBGPNeighbor, infrahub.ListOptions{Filters: infrahub.Filters{"peer_address__value": addr}})
	if err != nil || len(nodes) != 1 {
		t.Fatalf("neighbour %s in Infrahub: %d nodes, %v", addr, len(nodes), err)
	}
	return nodes[0].ID
}

func (l *rlab) removeNeighbor(t *testing.T, addr string) {
	t.Helper()
	if err := l.client.Delete(t.Context(), schema.KindNetworkBGPNeighbor, l.neighborID(t, addr), infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (l *rlab) updateNeighbor(t *testing.T, addr string, data infrahub.Data) {
	t.Helper()
	if _, err := l.client.Update(t.Context(), schema.KindNetworkBGPNeighbor, l.neighborID(t, addr), data, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
}

// state is what the device's configuration says about BGP.
func (l *rlab) state(t *testing.T) *confparse.Config {
	t.Helper()
	c, err := confparse.Parse(l.plat, l.dev.RunningConfig())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lines is the device's configuration as a sorted multiset of sanitized
// lines: equal before and after a rollback when exactly the applied lines
// were undone (the fakes append re-added lines where the real devices sort
// them, so the order may differ).
func lines(platform, cfg string) []string {
	var out []string
	for _, l := range strings.Split(device.DefaultSanitizer(platform).Clean(cfg), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, strings.TrimRight(l, " "))
		}
	}
	slices.Sort(out)
	return out
}

func sameConfig(t *testing.T, platform, before, after string) {
	t.Helper()
	if a, b := lines(platform, before), lines(platform, after); !slices.Equal(a, b) {
		t.Errorf("configuration not restored:\n%s", device.UnifiedDiff("before", "after", strings.Join(a, "\n"), strings.Join(b, "\n")))
	}
}

const upstream = "upstream"

// The flow makes the device match Infrahub on every platform: neighbours
// added in Infrahub are added, changed ones changed, removed ones removed;
// a second run finds nothing to do. On Junos the change is committed
// confirmed and confirmed after the post-check.
func TestConvergesOnEveryPlatform(t *testing.T) {
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			l := newLab(t, p, []netsync.BGPNeighbor{
				{PeerAddress: "10.8.0.1", RemoteAS: 65801, Description: "old-peer", Enabled: true},
				{PeerAddress: "10.8.0.2", RemoteAS: 65802, Description: "to-disable", Enabled: true},
			}, nil)
			h := flowtest.New(t)
			res, err := l.run(h)
			if err != nil || res.Changed {
				t.Fatalf("fresh lab: %+v %v, want no change", res, err)
			}
			l.addNeighbor(t, "10.9.0.1", 65901, "new-peer", true)
			l.addNeighbor(t, "10.9.0.3", 65903, "", false)
			l.removeNeighbor(t, "10.8.0.1")
			l.updateNeighbor(t, "10.8.0.2", infrahub.Data{"enabled": infrahub.Value(false), "description": infrahub.Value("renamed"), "remote_as": infrahub.Value(65812)})
			res, err = l.run(h)
			if err != nil || !res.Changed {
				t.Fatalf("change: %+v %v\n%s", res, err, h.Dump())
			}
			if !slices.Equal(res.Added, []string{"10.9.0.1", "10.9.0.3"}) || !slices.Equal(res.Removed, []string{"10.8.0.1"}) || !slices.Equal(res.Updated, []string{"10.8.0.2"}) {
				t.Errorf("added %q updated %q removed %q", res.Added, res.Updated, res.Removed)
			}
			got := l.state(t)
			want := map[string]confparse.Neighbor{
				"10.8.0.2": {Address: "10.8.0.2", RemoteAS: 65812, Description: "renamed", Enabled: false},
				"10.9.0.1": {Address: "10.9.0.1", RemoteAS: 65901, Description: "new-peer", Enabled: true},
				"10.9.0.3": {Address: "10.9.0.3", RemoteAS: 65903, Enabled: false},
			}
			for addr, w := range want {
				n := got.Neighbors[addr]
				if n == nil {
					t.Errorf("neighbour %s missing:\n%s", addr, l.dev.RunningConfig())
					continue
				}
				c := *n
				c.Group = ""
				if c != w {
					t.Errorf("neighbour %s = %+v, want %+v", addr, c, w)
				}
			}
			if got.Neighbors["10.8.0.1"] != nil {
				t.Errorf("removed neighbour still configured:\n%s", l.dev.RunningConfig())
			}
			if len(got.Neighbors) != 4 { // with the fleet's own upstream neighbour
				t.Errorf("%d neighbours configured, want 4:\n%s", len(got.Neighbors), l.dev.RunningConfig())
			}
			if p == "juniper_junos" {
				if len(h.Runs("confirm-commit")) != 1 || l.dev.ConfirmPending() {
					t.Errorf("Junos commit not confirmed: pending %v\n%s", l.dev.ConfirmPending(), h.Dump())
				}
			} else if len(h.Runs("confirm-commit")) != 0 {
				t.Errorf("confirm-commit ran on %s", p)
			}
			res, err = l.run(h)
			if err != nil || res.Changed {
				t.Errorf("second run: %+v %v, want no change (converged)", res, err)
			}
		})
	}
}

// A post-check that fails rolls back the whole push: the neighbour added
// is removed, the one removed is restored line by line, the one changed
// gets its old values (on Junos, by a new commit, which also confirms the
// pending one).
func TestFailedPostCheckRollsBackEverything(t *testing.T) {
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			l := newLab(t, p, []netsync.BGPNeighbor{
				{PeerAddress: "10.8.0.1", RemoteAS: 65801, Description: "old-peer", Enabled: true},
				{PeerAddress: "10.8.0.2", RemoteAS: 65802, Description: "kept", Enabled: true},
			}, []string{"10.9.0.9"})
			h := flowtest.New(t)
			before := l.dev.RunningConfig()
			l.addNeighbor(t, "10.9.0.9", 65909, "never-up", true)
			l.removeNeighbor(t, "10.8.0.1")
			l.updateNeighbor(t, "10.8.0.2", infrahub.Data{"description": infrahub.Value("changed")})
			_, err := l.run(h)
			var ce *routing.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v, want a *CheckError\n%s", err, h.Dump())
			}
			sameConfig(t, p, before, l.dev.RunningConfig())
			comp := h.Only(t, "push.compensate")
			if st := h.Final(comp.ID); st.Name != "Completed" {
				t.Errorf("push.compensate ended %s", st.Name)
			}
			if l.dev.ConfirmPending() || l.dev.CandidateModified() {
				t.Errorf("Junos left a pending confirmation (%v) or candidate (%v)", l.dev.ConfirmPending(), l.dev.CandidateModified())
			}
		})
	}
}

// A push refused part-way is compensated for exactly the lines the device
// applied: on IOS-XE, NX-OS and EOS the lines before the refused one are in
// force and are undone (here a removal, restored); on Junos nothing was
// committed, so nothing is undone and no candidate is left.
func TestPartialPushUndoesWhatWasApplied(t *testing.T) {
	refused := map[string]string{
		"arista_eos":    "no neighbor 10.8.0.2",
		"cisco_iosxe":   "no neighbor 10.8.0.2",
		"cisco_nxos":    "no neighbor 10.8.0.2",
		"juniper_junos": "delete protocols bgp group peers neighbor 10.8.0.2",
	}
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			l := newLab(t, p, []netsync.BGPNeighbor{
				{PeerAddress: "10.8.0.1", RemoteAS: 65801, Description: "first", Enabled: true},
				{PeerAddress: "10.8.0.2", RemoteAS: 65802, Description: "second", Enabled: false},
			}, nil, devicetest.Fault{Kind: devicetest.FaultRefuse, Command: refused[p], Reply: map[string]string{
				"arista_eos": "% Error: peer is in use", "cisco_iosxe": "Error: neighbor 10.8.0.2 is in use",
				"cisco_nxos": "ERROR: neighbor 10.8.0.2 is in use", "juniper_junos": "error: statement is protected",
			}[p]})
			h := flowtest.New(t)
			before := l.dev.RunningConfig()
			l.addNeighbor(t, "10.9.0.1", 65901, "added", true)
			l.removeNeighbor(t, "10.8.0.1")
			l.removeNeighbor(t, "10.8.0.2")
			_, err := l.run(h)
			var che *device.ChangeError
			if !errors.As(err, &che) || che.Command != refused[p] {
				t.Fatalf("err %v, want the *device.ChangeError of %q\n%s", err, refused[p], h.Dump())
			}
			sameConfig(t, p, before, l.dev.RunningConfig())
			comps := h.Runs("push.compensate")
			if p == "juniper_junos" {
				if len(comps) != 0 || len(che.Applied) != 0 || !che.Discarded || l.dev.CandidateModified() {
					t.Errorf("Junos: %d compensations, applied %q, discarded %v, candidate left %v", len(comps), che.Applied, che.Discarded, l.dev.CandidateModified())
				}
				return
			}
			if len(comps) != 1 || h.Final(comps[0].ID).Name != "Completed" {
				t.Fatalf("compensation runs %d\n%s", len(comps), h.Dump())
			}
			if len(che.Applied) == 0 || slices.Contains(che.Applied, refused[p]) {
				t.Errorf("applied %q", che.Applied)
			}
		})
	}
}

// The diff's record of the device's BGP section (and the undo of a removed
// neighbour) holds its password; what is persisted (task results, logs)
// has it masked, while the rollback, in the same process, still restores
// it exactly.
func TestPersistedPlanHasNoSecret(t *testing.T) {
	const secret = "0822455D0A16"
	l := newLab(t, "cisco_iosxe", []netsync.BGPNeighbor{{PeerAddress: "10.8.0.1", RemoteAS: 65801, Enabled: true}}, []string{"10.9.0.9"})
	cfg := strings.Replace(l.dev.RunningConfig(), " neighbor 10.8.0.1 remote-as 65801\n", " neighbor 10.8.0.1 remote-as 65801\n neighbor 10.8.0.1 password 7 "+secret+"\n", 1)
	l.dev.SetRunningConfig(cfg)
	before := l.dev.RunningConfig()
	if !strings.Contains(before, secret) {
		t.Fatal("setup: no password line")
	}
	l.removeNeighbor(t, "10.8.0.1")
	l.addNeighbor(t, "10.9.0.9", 65909, "", true) // never Established: rolled back
	h := flowtest.New(t)
	_, err := l.run(h)
	var ce *routing.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v\n%s", err, h.Dump())
	}
	if after := l.dev.RunningConfig(); !strings.Contains(after, "neighbor 10.8.0.1 password 7 "+secret) {
		t.Errorf("rollback did not restore the password line:\n%s", after)
	}
	flowRun := h.Only(t, routing.FlowName)
	results, err := h.Store.RunResults(context.Background(), flowRun.ID)
	if err != nil || len(results) == 0 {
		t.Fatalf("results: %v %v", results, err)
	}
	for key, v := range results {
		if strings.Contains(string(v), secret) {
			t.Errorf("persisted result %s holds the password: %s", key, v)
		}
	}
	var plan routing.Plan
	for _, v := range results {
		if json.Unmarshal(v, &plan) == nil && len(plan.Before) > 0 {
			break
		}
	}
	if !slices.ContainsFunc(plan.Before, func(s string) bool { return strings.Contains(s, device.SecretMask) }) {
		t.Errorf("persisted plan's Before: %q", plan.Before)
	}
	for _, rec := range h.Store.Logs("") {
		if strings.Contains(rec.Message, secret) || strings.Contains(string(rec.Attrs), secret) {
			t.Errorf("log holds the password: %s %s", rec.Message, rec.Attrs)
		}
	}
	// A plan read back from the store cannot restore the password: its
	// undo says so rather than pushing the mask.
	if undo := plan.UndoLines(len(plan.Lines())); !slices.ContainsFunc(undo, func(s string) bool { return strings.Contains(s, device.SecretMask) }) {
		t.Errorf("undo of the persisted plan: %q", undo)
	}
}

// Values from Infrahub go into configuration lines: one holding a line
// break would push a second, arbitrary command (here a user) to the
// device. The flow refuses it, naming the field.
func TestRefusesLineBreaksInValues(t *testing.T) {
	l := newLab(t, "arista_eos", nil, nil)
	h := flowtest.New(t)
	l.addNeighbor(t, "10.0.0.98", 65198, "peer\nusername evil privilege 15 secret 0 x", false)
	_, err := l.run(h)
	var pe *routing.ParamsError
	if !errors.As(err, &pe) || !strings.Contains(pe.Field, "description") {
		t.Errorf("err %v, want a *ParamsError naming the description", err)
	}
	if cfg := l.dev.RunningConfig(); strings.Contains(cfg, "username evil") {
		t.Errorf("a command hidden in a description reached the device:\n%s", cfg)
	}
}

// A push that creates the BGP section (the device had none) is rolled back
// by removing the section: an empty "router bgp" left behind still starts
// a BGP process. A device running another AS is a conflict the flow does
// not resolve by itself.
func TestSectionCreatedAndASConflict(t *testing.T) {
	for _, p := range []string{"arista_eos", "cisco_iosxe", "cisco_nxos"} {
		t.Run(p, func(t *testing.T) {
			l := newLab(t, p, nil, []string{"10.9.0.9"})
			h := flowtest.New(t)
			cfg := l.dev.RunningConfig()
			start := strings.Index(cfg, "router bgp 65000")
			end := len(cfg)
			if p == "arista_eos" || p == "cisco_iosxe" {
				end = start + strings.Index(cfg[start:], "!\n") + 2
			}
			l.dev.SetRunningConfig(cfg[:start] + cfg[end:])
			before := l.dev.RunningConfig()
			l.addNeighbor(t, "10.9.0.9", 65909, "", true)
			_, err := l.run(h)
			var ce *routing.CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v\n%s", err, h.Dump())
			}
			if after := l.dev.RunningConfig(); strings.Contains(after, "router bgp") {
				t.Errorf("section left behind:\n%s", after)
			}
			sameConfig(t, p, before, l.dev.RunningConfig())

			l.dev.SetRunningConfig(before + "\nrouter bgp 64999\n")
			_, err = l.run(h)
			var conflict *routing.ConflictError
			if !errors.As(err, &conflict) || !strings.Contains(err.Error(), "64999") {
				t.Errorf("other AS: %v", err)
			}
		})
	}
}
