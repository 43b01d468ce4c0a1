package netsync_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

var seenAt = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// env is a fake Infrahub, a lab of fake devices seeded into it, and the
// flows' dependencies pointing at both.
type env struct {
	fake   *infrahubtest.Server
	client *infrahub.Client
	lab    *netsynctest.Lab
	deps   netsync.Deps
	store  *flow.MemoryStore
	ctx    context.Context
}

func newEnv(t *testing.T, devs []netsynctest.Device) *env {
	t.Helper()
	fake, srv := infrahubtest.NewTestServer(t, infrahubtest.Options{Schemas: schema.FakeSchemas()})
	if _, err := fake.Create("", "LocationSite", map[string]any{"name": "Atlanta", "shortname": "atl1"}); err != nil {
		t.Fatal(err)
	}
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	lab, err := netsynctest.Start(t.Context(), fake, devs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	e := &env{fake: fake, client: client, lab: lab, store: flow.NewMemoryStore()}
	e.deps = netsync.Deps{
		Infrahub: func(_ context.Context, environment string) (*infrahub.Client, error) {
			if environment != "test" {
				// A retry cannot fix this: say so, and the run fails at once.
				return nil, flow.NonRetryable(fmt.Errorf("no configuration for environment %q", environment))
			}
			return client, nil
		},
		Secrets:        lab.Secrets(),
		DeviceDefaults: lab.DeviceDefaults(),
		FanOut:         device.FanOut{Concurrency: 8, HostTimeout: 20 * time.Second},
		BackupDir:      filepath.Join(t.TempDir(), "{environment}", "backup.git"),
		Now:            func() time.Time { return seenAt },
	}
	e.ctx = flow.WithEngine(t.Context(), &flow.Engine{Recorder: e.store})
	return e
}

// node reads a NetworkDevice back from Infrahub.
type node struct {
	Name              infrahub.Attr[string] `json:"name"`
	Serial            infrahub.Attr[string] `json:"serial"`
	OSVersion         infrahub.Attr[string] `json:"os_version"`
	Model             infrahub.Attr[string] `json:"model"`
	Hostname          infrahub.Attr[string] `json:"hostname"`
	Reachable         infrahub.Attr[bool]   `json:"reachable"`
	LastSeen          infrahub.Attr[string] `json:"last_seen"`
	SyncError         infrahub.Attr[string] `json:"sync_error"`
	ValidationStatus  infrahub.Attr[string] `json:"validation_status"`
	ValidationSummary infrahub.Attr[string] `json:"validation_summary"`
	ValidatedAt       infrahub.Attr[string] `json:"validated_at"`
}

func (e *env) nodes(t *testing.T) map[string]node {
	t.Helper()
	list, err := infrahub.List[node](context.Background(), e.client, schema.KindNetworkDevice, infrahub.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]node{}
	for _, n := range list {
		out[n.Name.Value] = n
	}
	return out
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func edge(name, platform, ifName string, peer string, as int64) netsynctest.Device {
	return netsynctest.Device{Device: netsync.Device{
		Name: name, Platform: platform, Role: "edge", Site: "atl1",
		Interfaces:   []netsync.Interface{{Name: ifName, Enabled: true, IPAddress: "10.0.0.0/31", Description: "uplink"}},
		BGPNeighbors: []netsync.BGPNeighbor{{PeerAddress: peer, RemoteAS: as, Enabled: true}},
	}, LocalAS: 65001}
}

func labDevices() []netsynctest.Device {
	return []netsynctest.Device{
		edge("atl1-edge1", "arista_eos", "Ethernet1", "10.0.0.1", 65002),
		edge("atl1-edge2", "cisco_iosxe", "GigabitEthernet1", "10.0.0.3", 65003),
		edge("atl1-leaf1", "cisco_nxos", "Ethernet1/1", "10.0.0.5", 65004),
		edge("atl1-fw1", "juniper_junos", "ge-0/0/0", "10.0.0.7", 65005),
	}
}

func TestInventorySyncWritesFactsAndReportsUnreachable(t *testing.T) {
	e := newEnv(t, labDevices())
	// A device Infrahub lists but nobody answers for.
	if _, err := netsynctest.Seed(e.fake, netsync.Device{Name: "atl1-gone", Platform: "cisco_iosxe"}, "127.0.0.1", closedPort(t)); err != nil {
		t.Fatal(err)
	}
	// A device that is not active is not touched.
	if _, err := e.fake.Create("", schema.KindNetworkDevice, map[string]any{
		"name": "atl1-new", "management_address": "127.0.0.1", "platform": "arista_eos", "status": "planned",
	}); err != nil {
		t.Fatal(err)
	}

	rep, err := netsync.InventorySync(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatalf("inventory sync: %v", err)
	}
	if len(rep.Devices) != 5 || rep.Reachable != 4 || rep.Unreachable != 1 || rep.Updated != 5 || !slices.Equal(rep.Failed, []string{"atl1-gone"}) {
		t.Errorf("report = %+v", rep)
	}
	got := e.nodes(t)
	for name, want := range map[string][3]string{ // model, serial, version
		"atl1-edge1": {"DCS-7280SR3-48YC8", "SNATL1EDGE1", "4.29.2F"},
		"atl1-edge2": {"C8000V", "SNATL1EDGE2", "17.09.04a"},
		"atl1-leaf1": {"C93180YC-FX", "SNATL1LEAF1", "10.4(5)"},
		"atl1-fw1":   {"vsrx", "SNATL1FW1", "22.4R3-S2.11"},
	} {
		n := got[name]
		if n.Model.Value != want[0] || n.Serial.Value != want[1] || n.OSVersion.Value != want[2] ||
			!n.Reachable.Value || n.LastSeen.Value != seenAt.Format(time.RFC3339) || n.SyncError.Value != "" {
			t.Errorf("%s written back as %+v, want model/serial/version %v", name, n, want)
		}
	}
	gone := got["atl1-gone"]
	if gone.Reachable.Value || gone.Reachable.Null || !strings.Contains(gone.SyncError.Value, "connection refused") || gone.Serial.Value != "" || !gone.LastSeen.Null {
		t.Errorf("unreachable device written back as %+v", gone)
	}
	if n := got["atl1-new"]; !n.Reachable.Null || !n.LastSeen.Null {
		t.Errorf("planned device was touched: %+v", n)
	}
	if !strings.Contains(fmt.Sprint(rep.Devices), "unreachable") {
		t.Errorf("unreachable class not reported: %+v", rep.Devices)
	}
}

// A node.created webhook for one NetworkDevice syncs that device only, on
// the event's branch.
func TestInventorySyncFromNodeCreatedEvent(t *testing.T) {
	e := newEnv(t, labDevices()[:2])
	id := e.lab.IDs["atl1-edge2"]
	payload := fmt.Sprintf(`{"data":{"kind":"NetworkDevice","node_id":%q,"action":"created","fields":["name"],"changelog":{}},"id":"ev-1","branch":"main","account_id":"acc","occured_at":"2026-11-26T12:00:00Z","event":"infrahub.node.created"}`, id)
	ev := &trigger.Event{ID: "ev-1", Source: "infrahub", Type: infrahub.EventNodeCreated, Payload: json.RawMessage(payload)}
	rep, err := netsync.InventorySync(e.deps).Run(e.ctx, netsync.Params{Environment: "test", Event: ev})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Devices) != 1 || rep.Devices[0].Device != "atl1-edge2" || rep.Devices[0].ID != id {
		t.Errorf("report = %+v", rep)
	}
	if got := e.nodes(t); !got["atl1-edge1"].Reachable.Null || !got["atl1-edge2"].Reachable.Value {
		t.Errorf("nodes = %+v", got)
	}

	deleted := strings.ReplaceAll(strings.ReplaceAll(payload, `"created"`, `"deleted"`), "node.created", "node.deleted")
	rep, err = netsync.InventorySync(e.deps).Run(e.ctx, netsync.Params{Environment: "test", Event: &trigger.Event{Type: infrahub.EventNodeDeleted, Payload: json.RawMessage(deleted)}})
	if err != nil || rep.Skipped == "" || len(rep.Devices) != 0 {
		t.Errorf("deleted device: %+v, %v", rep, err)
	}
}

func TestFlowsRejectBadParameters(t *testing.T) {
	e := newEnv(t, nil)
	_, err := netsync.InventorySync(e.deps).Run(e.ctx, netsync.Params{})
	var pe *netsync.ParamsError
	if !errors.As(err, &pe) || pe.Field != "environment" {
		t.Errorf("no environment: %v", err)
	}
	_, err = netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test", Devices: []string{"nope"}})
	if !errors.As(err, &pe) || pe.Field != "devices" || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown device: %v", err)
	}
	_, err = netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "staging"})
	if err == nil || !strings.Contains(err.Error(), `environment "staging"`) {
		t.Errorf("unknown environment: %v", err)
	}
	_, err = netsync.Validation(netsync.Deps{}).Run(e.ctx, netsync.Params{Environment: "test"})
	if err == nil || !strings.Contains(err.Error(), "Deps.Infrahub") {
		t.Errorf("no Infrahub dependency: %v", err)
	}
}

// commits lists the backup repository's commits, newest first, with the
// files each changed.
func commits(t *testing.T, dir string) [][]string {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	main, err := repo.Reference(plumbing.NewBranchReferenceName("main"), true)
	if err != nil {
		t.Fatal(err)
	}
	iter, err := repo.Log(&git.LogOptions{From: main.Hash()})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	err = iter.ForEach(func(c *object.Commit) error {
		stats, err := c.Stats()
		if err != nil {
			return err
		}
		var files []string
		for _, s := range stats {
			files = append(files, s.Name)
		}
		out = append(out, files)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestConfigBackupOneCommitPerChangedDevice(t *testing.T) {
	e := newEnv(t, labDevices())
	backupFlow := netsync.ConfigBackup(e.deps)
	dir := e.deps.BackupDirFor("test")

	rep, err := backupFlow.Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatalf("first backup: %v", err)
	}
	if rep.Commits != 4 || len(rep.Changed) != 4 || len(rep.CommitIDs) != 4 || rep.Repository != dir {
		t.Errorf("first run: %+v", rep)
	}
	if got := commits(t, dir); len(got) != 4 {
		t.Fatalf("repository has %d commits, want 4", len(got))
	}

	rep, err = backupFlow.Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil || rep.Commits != 0 || len(rep.Unchanged) != 4 {
		t.Fatalf("unchanged run: %+v, %v", rep, err)
	}

	dev := e.lab.Devices.Device("atl1-edge2")
	dev.SetRunningConfig(strings.Replace(dev.RunningConfig(), "description uplink", "description uplink to core", 1))
	rep, err = backupFlow.Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatalf("third backup: %v", err)
	}
	if rep.Commits != 1 || !slices.Equal(rep.Changed, []string{"atl1-edge2"}) || len(rep.Unchanged) != 3 {
		t.Errorf("one changed device: %+v", rep)
	}
	got := commits(t, dir)
	if len(got) != 5 || !slices.Equal(got[0], []string{"atl1-edge2.cfg"}) {
		t.Errorf("commits = %v, want 5 with the newest changing atl1-edge2.cfg only", got)
	}
	hist, err := backup.History(dir, "atl1-edge2", 0)
	if err != nil || len(hist) != 2 || hist[0].Commit != rep.CommitIDs[0] || hist[0].RunID == "" {
		t.Fatalf("history of atl1-edge2: %+v, %v", hist, err)
	}
	cfg, err := backup.Config(dir, "atl1-edge2", rep.CommitIDs[0])
	if err != nil || !strings.Contains(cfg, "description uplink to core") {
		t.Errorf("stored config: %v\n%s", err, cfg)
	}
}

func TestConfigBackupReportsUnreachableDevice(t *testing.T) {
	e := newEnv(t, labDevices()[:1])
	if _, err := netsynctest.Seed(e.fake, netsync.Device{Name: "atl1-gone", Platform: "arista_eos"}, "127.0.0.1", closedPort(t)); err != nil {
		t.Fatal(err)
	}
	rep, err := netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Commits != 1 || len(rep.Failed) != 1 || rep.Failed[0].Device != "atl1-gone" || rep.Failed[0].Class != device.Unreachable {
		t.Errorf("report = %+v", rep)
	}
}

func TestValidationPassesOnMatchingLab(t *testing.T) {
	e := newEnv(t, labDevices())
	rep, err := netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatalf("validation: %v", err)
	}
	if rep.Passed != 4 || rep.Failed != 0 || rep.Errors != 0 {
		t.Errorf("report = %+v", rep)
	}
	for name, n := range e.nodes(t) {
		if n.ValidationStatus.Value != netsync.StatusPassed || n.ValidatedAt.Value != seenAt.Format(time.RFC3339) || !strings.Contains(n.ValidationSummary.Value, "2 intended objects match") {
			t.Errorf("%s: %+v", name, n)
		}
	}
}

func TestValidationDetectsInjectedMismatches(t *testing.T) {
	devs := labDevices()
	devs[3].Down = []string{"10.0.0.7"} // atl1-fw1's session is not up
	// atl1-edge1's peer runs AS 65002: configured with another AS, its
	// session resets and stays down.
	devs[0].BGP.Peers = map[string]devicetest.BGPPeer{"10.0.0.1": {AS: 65002}}
	e := newEnv(t, devs)

	// atl1-edge1's neighbour now has another AS; atl1-edge2's uplink is shut.
	eos := e.lab.Devices.Device("atl1-edge1")
	eos.SetRunningConfig(strings.Replace(eos.RunningConfig(), "neighbor 10.0.0.1 remote-as 65002", "neighbor 10.0.0.1 remote-as 65099", 1))
	ios := e.lab.Devices.Device("atl1-edge2")
	ios.SetRunningConfig(strings.Replace(ios.RunningConfig(), " description uplink\n", " description uplink\n shutdown\n", 1))

	rep, err := netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	var ve *netsync.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("validation error = %v, want a *ValidationError", err)
	}
	if !flow.IsNonRetryable(err) {
		t.Error("mismatches should not be retried")
	}
	var lines []string
	for _, m := range ve.Report.Mismatches() {
		lines = append(lines, m.String())
	}
	want := []string{
		"atl1-edge1: bgp neighbor 10.0.0.1: remote_as: intended 65002, observed 65099",
		"atl1-edge1: bgp neighbor 10.0.0.1: session: intended Established, observed Idle",
		"atl1-edge2: interface GigabitEthernet1: enabled: intended true, observed false",
		"atl1-fw1: bgp neighbor 10.0.0.7: session: intended Established, observed Active",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("mismatches:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error message lacks %q:\n%v", w, err)
		}
	}
	if ve.Report.Failed != 3 || ve.Report.Passed != 1 || rep.Failed != 3 {
		t.Errorf("report = %+v / %+v", ve.Report, rep)
	}
	got := e.nodes(t)
	if n := got["atl1-edge1"]; n.ValidationStatus.Value != netsync.StatusFailed || n.ValidationSummary.Value != "bgp neighbor 10.0.0.1: remote_as: intended 65002, observed 65099\nbgp neighbor 10.0.0.1: session: intended Established, observed Idle" {
		t.Errorf("atl1-edge1 written back as %+v", n)
	}
	if n := got["atl1-leaf1"]; n.ValidationStatus.Value != netsync.StatusPassed {
		t.Errorf("atl1-leaf1 written back as %+v", n)
	}
	// The run is recorded as failed with the mismatches in its state message.
	var flowRun flow.RunRecord
	for _, r := range e.store.Runs() {
		if r.Kind == flow.KindFlow {
			flowRun = r
		}
	}
	hist := e.store.History(flowRun.ID)
	if last := hist[len(hist)-1]; last.Type != flow.TypeFailed || !strings.Contains(last.Message, "remote_as: intended 65002, observed 65099") {
		t.Errorf("final state %+v", last)
	}
}

// A device that cannot be read is an error result, written back, and fails
// the run; the others are still validated.
func TestValidationUnreadableDevice(t *testing.T) {
	e := newEnv(t, labDevices()[:1])
	if _, err := netsynctest.Seed(e.fake, netsync.Device{Name: "atl1-gone", Platform: "arista_eos"}, "127.0.0.1", closedPort(t)); err != nil {
		t.Fatal(err)
	}
	_, err := netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	var ve *netsync.ValidationError
	if !errors.As(err, &ve) || ve.Report.Errors != 1 || ve.Report.Passed != 1 {
		t.Fatalf("err = %v", err)
	}
	got := e.nodes(t)
	if n := got["atl1-gone"]; n.ValidationStatus.Value != netsync.StatusError || !strings.Contains(n.ValidationSummary.Value, "connection refused") {
		t.Errorf("atl1-gone written back as %+v", n)
	}
}

// The runtime's path: JSON parameters through Execute, checked against the
// flow's parameter schema.
func TestExecuteFromJSONParameters(t *testing.T) {
	e := newEnv(t, labDevices()[:1])
	def := flow.Definition(netsync.InventorySync(e.deps))
	desc := def.Describe()
	if desc.Name != netsync.FlowInventorySync || !strings.Contains(string(desc.Parameters), `"environment"`) || !strings.Contains(string(desc.Parameters), `"event"`) {
		t.Errorf("description = %s %s", desc.Name, desc.Parameters)
	}
	out, err := def.Execute(e.ctx, flow.Execution{RunID: flow.NewID(), Params: json.RawMessage(`{"environment":"test","role":"edge","site":"atl1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var rep netsync.InventoryReport
	if err := json.Unmarshal(out, &rep); err != nil || len(rep.Devices) != 1 || rep.Reachable != 1 {
		t.Errorf("report = %s, %v", out, err)
	}
	_, err = def.Execute(e.ctx, flow.Execution{RunID: flow.NewID(), Params: json.RawMessage(`{"environment":"test","sites":"atl1"}`)})
	if err == nil || !strings.Contains(err.Error(), "sites") {
		t.Errorf("unknown parameter: %v", err)
	}
	out, err = def.Execute(e.ctx, flow.Execution{RunID: flow.NewID(), Params: json.RawMessage(`{"environment":"test","site":"nyc1"}`)})
	if err != nil || !strings.Contains(string(out), `"devices":[]`) {
		t.Errorf("other site: %s, %v", out, err)
	}
}

func TestConfigBackupPushesToRemote(t *testing.T) {
	e := newEnv(t, labDevices()[:2])
	remote := filepath.Join(t.TempDir(), "remote.git")
	if _, err := git.PlainInit(remote, true); err != nil {
		t.Fatal(err)
	}
	e.deps.BackupPush = &backup.Push{URL: remote}
	rep, err := netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil || !rep.Pushed || rep.Commits != 2 {
		t.Fatalf("backup: %+v, %v", rep, err)
	}
	if got := commits(t, remote); len(got) != 2 {
		t.Errorf("remote has %d commits, want 2", len(got))
	}
}

// IPv6 neighbours and interface addresses validate on every platform: their
// sessions come from the IPv6 summary, their addresses from "ipv6 address"
// ("family inet6").
func TestValidationIPv6(t *testing.T) {
	var devs []netsynctest.Device
	for i, p := range []string{"arista_eos", "cisco_iosxe", "cisco_nxos", "juniper_junos"} {
		d := edge(fmt.Sprintf("v6-r%d", i), p, map[string]string{"arista_eos": "Ethernet1", "cisco_iosxe": "GigabitEthernet1", "cisco_nxos": "Ethernet1/1", "juniper_junos": "ge-0/0/0"}[p], "10.0.0.1", 65002)
		d.Interfaces[0].IPAddress = "2001:db8:ffff:100::/127"
		d.BGPNeighbors = append(d.BGPNeighbors, netsync.BGPNeighbor{PeerAddress: "2001:db8:ffff:100::1", RemoteAS: 65002, Enabled: true})
		devs = append(devs, d)
	}
	devs[1].Down = []string{"2001:db8:ffff:100::1"}
	e := newEnv(t, devs)
	_, err := netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	var ve *netsync.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want the one session down reported", err)
	}
	var lines []string
	for _, m := range ve.Report.Mismatches() {
		lines = append(lines, m.String())
	}
	want := []string{"v6-r1: bgp neighbor 2001:db8:ffff:100::1: session: intended Established, observed Active"}
	if !slices.Equal(lines, want) || ve.Report.Passed != 3 {
		t.Errorf("mismatches %q (passed %d), want %q", lines, ve.Report.Passed, want)
	}
}
