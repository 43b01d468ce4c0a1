package routing_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/common"
	"github.com/netauto-dev/netauto/examples/netauto/routing"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/examples/netauto/sync/synctest"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/store"
)

func TestRenderMissingInverse(t *testing.T) {
	in := routing.Intent{Platform: "arista_eos", LocalAS: 65000, RouterID: "10.255.255.1", Neighbors: []routing.Neighbor{
		{Address: "10.0.0.1", RemoteAS: 65100, Description: "upstream", Enabled: true},
		{Address: "10.0.0.3", RemoteAS: 65101, Enabled: false},
	}}
	lines, err := routing.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"router bgp 65000", "router-id 10.255.255.1", "neighbor 10.0.0.1 remote-as 65100", "neighbor 10.0.0.1 description upstream", "neighbor 10.0.0.3 remote-as 65101", "neighbor 10.0.0.3 shutdown"}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("Render = %q", lines)
	}
	running := "hostname r1\n!\nrouter bgp 65000\n   router-id 10.255.255.1\n   neighbor 10.0.0.1 remote-as 65100\n   neighbor 10.0.0.1 description upstream\n!\nend\n"
	miss := routing.Missing(running, lines)
	if !reflect.DeepEqual(miss, []string{"router bgp 65000", "neighbor 10.0.0.3 remote-as 65101", "neighbor 10.0.0.3 shutdown"}) {
		t.Errorf("Missing = %q", miss)
	}
	if m := routing.Missing(running, lines[:4]); m != nil {
		t.Errorf("Missing with everything present = %q", m)
	}
	if inv := routing.Inverse(miss); !reflect.DeepEqual(inv, []string{"router bgp 65000", "no neighbor 10.0.0.3 shutdown", "no neighbor 10.0.0.3 remote-as 65101"}) {
		t.Errorf("Inverse = %q", inv)
	}
	in.Platform = "juniper_junos"
	var pe *routing.ParamsError
	if _, err := routing.Render(in); !errors.As(err, &pe) || pe.Field != "platform" {
		t.Errorf("junos: %v", err)
	}
}

type rlab struct {
	fake  *infrahubtest.Server
	lab   *synctest.Lab
	flow  func(ctx context.Context, p routing.Params) (routing.Result, error)
	rcID  string
	devID string
	name  string
}

func newLab(t *testing.T) *rlab {
	t.Helper()
	fake, srv := infrahubtest.NewTestServer(t, infrahubtest.Options{Schemas: schema.FakeSchemas(), Seed: seed.Infrahub()})
	devs := synctest.Fleet("", 1) // r01, arista_eos
	lab, err := synctest.Start(context.Background(), fake, devs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	name := devs[0].Name
	rc, err := seed.RoutingConfig(fake, name+"-bgp", lab.IDs[name], 65000, "")
	if err != nil {
		t.Fatal(err)
	}
	load := func(_ context.Context, env string) (common.NetAutoConfig, error) {
		return common.NetAutoConfig{Environment: env, InfrahubURL: srv.URL, InfrahubToken: store.NewSecret(infrahubtest.DefaultAPIToken)}, nil
	}
	f := routing.New(routing.Deps{Config: load, Secrets: lab.Secrets(), DeviceDefaults: lab.DeviceDefaults()})
	return &rlab{fake: fake, lab: lab, flow: f.Run, rcID: rc, devID: lab.IDs[name], name: name}
}

func TestDeployNoChangeThenChange(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	res, err := l.flow(h.Context(), routing.Params{Environment: "production", RoutingConfigID: l.rcID})
	if err != nil || res.Changed {
		t.Fatalf("fresh lab: %+v %v, want no change", res, err)
	}
	// A new description of the existing neighbour: pushed, sessions still up.
	dev := l.lab.Devices.Device(l.name)
	before := dev.RunningConfig()
	if _, err := l.fake.Create("", schema.KindNetworkBGPNeighbor, map[string]any{
		"peer_address": "10.0.0.1", "remote_as": 65100, "enabled": true, "description": "upstream-renamed",
		"device": map[string]any{"id": l.devID},
	}); err != nil {
		t.Skipf("the fake refuses a second neighbour node with the same address: %v", err)
	}
	res, err = l.flow(h.Context(), routing.Params{Environment: "production", RoutingConfigID: l.rcID})
	if err != nil || !res.Changed {
		t.Fatalf("description change: %+v %v", res, err)
	}
	if after := dev.RunningConfig(); !strings.Contains(after, "neighbor 10.0.0.1 description upstream-renamed") || after == before {
		t.Errorf("device config after push:\n%s", after)
	}
}

func TestBrokenChangeRollsBack(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	dev := l.lab.Devices.Device(l.name)
	before := dev.RunningConfig()
	if _, err := l.fake.Create("", schema.KindNetworkBGPNeighbor, map[string]any{
		"peer_address": "10.0.0.99", "remote_as": 65199, "enabled": true, "device": map[string]any{"id": l.devID},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := l.flow(h.Context(), routing.Params{Environment: "production", RoutingConfigID: l.rcID})
	var ce *routing.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want a *CheckError", err)
	}
	if after := dev.RunningConfig(); after != before {
		t.Errorf("not rolled back:\n%s", device.UnifiedDiff("before", "after", before, after))
	}
	comp := h.Only(t, "push.compensate")
	if st := h.Final(comp.ID); st.Name != "Completed" {
		t.Errorf("push.compensate ended %s", st.Name)
	}
}

// A push that changes a value (router-id, a neighbour's description or
// remote AS) replaces the device's line: undoing it with "no <new line>"
// alone leaves the setting absent, not as it was. Restore puts the
// section's previous lines back after the "no" lines.
func TestRestoreReappliesReplacedLines(t *testing.T) {
	running := "hostname r1\n!\nrouter bgp 65000\n   router-id 10.255.255.1\n   neighbor 10.0.0.1 remote-as 65100\n   neighbor 10.0.0.1 description upstream\n!\nend\n"
	pushed := []string{"router bgp 65000", "router-id 10.255.255.2", "neighbor 10.0.0.1 description upstream-renamed"}
	want := []string{
		"router bgp 65000",
		"no neighbor 10.0.0.1 description upstream-renamed", "no router-id 10.255.255.2",
		"router-id 10.255.255.1", "neighbor 10.0.0.1 remote-as 65100", "neighbor 10.0.0.1 description upstream",
	}
	if got := routing.Restore(running, pushed); !reflect.DeepEqual(got, want) {
		t.Errorf("Restore = %q\nwant      %q", got, want)
	}
	// A section the device did not have: removed whole.
	if got := routing.Restore("hostname r1\n!\nend\n", pushed); !reflect.DeepEqual(got, []string{"no router bgp 65000"}) {
		t.Errorf("Restore of a new section = %q", got)
	}
}

// Values from Infrahub go into configuration lines: one holding a line
// break would push a second, arbitrary command (here a user) to the
// device. Render must refuse it, naming the field.
func TestRenderRefusesLineBreaksInValues(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	dev := l.lab.Devices.Device(l.name)
	if _, err := l.fake.Create("", schema.KindNetworkBGPNeighbor, map[string]any{
		"peer_address": "10.0.0.98", "remote_as": 65198, "enabled": false, "device": map[string]any{"id": l.devID},
		"description": "peer\nusername evil privilege 15 secret 0 x",
	}); err != nil {
		t.Fatal(err)
	}
	_, err := l.flow(h.Context(), routing.Params{Environment: "production", RoutingConfigID: l.rcID})
	var pe *routing.ParamsError
	if !errors.As(err, &pe) || !strings.Contains(pe.Field, "description") {
		t.Errorf("err %v, want a *ParamsError naming the description", err)
	}
	if cfg := dev.RunningConfig(); strings.Contains(cfg, "username evil") {
		t.Errorf("a command hidden in a description reached the device:\n%s", cfg)
	}
}

// A push that opened a section the device did not have (a BGP process)
// must be rolled back by removing that section: an empty "router bgp"
// left behind still starts a BGP process.
func TestRollbackRemovesASectionItCreated(t *testing.T) {
	l := newLab(t)
	h := flowtest.New(t)
	dev := l.lab.Devices.Device(l.name)
	dev.SetRunningConfig(strings.Replace(dev.RunningConfig(), "router bgp 65000", "router bgp 64999", 1))
	before := dev.RunningConfig()
	if _, err := l.fake.Create("", schema.KindNetworkBGPNeighbor, map[string]any{
		"peer_address": "10.0.0.99", "remote_as": 65199, "enabled": true, "device": map[string]any{"id": l.devID},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := l.flow(h.Context(), routing.Params{Environment: "production", RoutingConfigID: l.rcID})
	var ce *routing.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v, want a *CheckError", err)
	}
	if after := dev.RunningConfig(); after != before {
		t.Errorf("not rolled back:\n%s", device.UnifiedDiff("before", "after", before, after))
	}
}
