package device

import (
	"strings"
	"testing"
	"time"
)

const inventoryYAML = `
defaults:
  username: netops
  password_secret: devices/password
  known_hosts_file: /etc/netauto/known_hosts
  connect_timeout: 10s
  data: {owner: noc, tier: 3}
groups:
  core:
    platform: arista_eos
    operation_timeout: 2m
    data: {role: core, tier: 1}
  ams:
    platform: cisco_iosxe
    username: ams-ops
    data: {site: ams1, tier: 2}
hosts:
  core1:
    address: 192.0.2.1
    groups: [core, ams]
  edge1:
    address: 192.0.2.2
    groups: [ams]
    platform: cisco_nxos
    data: {tier: 9}
  lab1:
    address: 192.0.2.3
    port: 2222
`

func TestInventoryInheritance(t *testing.T) {
	inv, err := ParseInventory([]byte(inventoryYAML))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		host, platform, username string
		port                     int
		opTimeout                time.Duration
		data                     map[string]any
	}{
		{"core1", "arista_eos", "ams-ops", 22, 2 * time.Minute, map[string]any{"owner": "noc", "tier": 1, "role": "core", "site": "ams1"}},
		{"edge1", "cisco_nxos", "ams-ops", 22, 0, map[string]any{"owner": "noc", "tier": 9, "site": "ams1"}},
		{"lab1", "", "netops", 2222, 0, map[string]any{"owner": "noc", "tier": 3}},
	}
	for _, c := range cases {
		h, ok := inv.Host(c.host)
		if !ok {
			t.Fatalf("host %s missing", c.host)
		}
		if h.Platform != c.platform || h.Username != c.username || h.Port != c.port || h.OperationTimeout != c.opTimeout {
			t.Errorf("%s: got platform %q user %q port %d op timeout %v", c.host, h.Platform, h.Username, h.Port, h.OperationTimeout)
		}
		if h.PasswordSecret != "devices/password" || h.ConnectTimeout != 10*time.Second || h.KnownHostsFile != "/etc/netauto/known_hosts" {
			t.Errorf("%s: defaults not inherited: %+v", c.host, h.Params)
		}
		if len(h.Data) != len(c.data) {
			t.Errorf("%s: data %v, want %v", c.host, h.Data, c.data)
		}
		for k, v := range c.data {
			if h.Data[k] != v {
				t.Errorf("%s: data[%s] = %v, want %v", c.host, k, h.Data[k], v)
			}
		}
	}
}

func TestInventoryFilter(t *testing.T) {
	inv, err := ParseInventory([]byte(inventoryYAML))
	if err != nil {
		t.Fatal(err)
	}
	names := func(i *Inventory) string {
		var n []string
		for _, h := range i.Hosts() {
			n = append(n, h.Name)
		}
		return strings.Join(n, ",")
	}
	cases := []struct {
		name  string
		preds []func(Host) bool
		want  string
	}{
		{"group", []func(Host) bool{InGroup("ams")}, "core1,edge1"},
		{"group and platform", []func(Host) bool{InGroup("ams"), FieldEquals("platform", "cisco_nxos")}, "edge1"},
		{"data field", []func(Host) bool{FieldEquals("site", "ams1")}, "core1,edge1"},
		{"data number", []func(Host) bool{FieldEquals("tier", "3")}, "lab1"},
		{"func", []func(Host) bool{func(h Host) bool { return h.Port != 22 }}, "lab1"},
		{"none", []func(Host) bool{InGroup("nope")}, ""},
	}
	for _, c := range cases {
		if got := names(inv.Filter(c.preds...)); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestInventoryErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"hosts: {a: {groups: [x]}}", `host "a": address is empty`},
		{"hosts: {a: {address: h, groups: [x]}}", `group "x" not defined`},
		{"hosts: {a: {address: h, pasword_secret: x}}", "pasword_secret"},
		{"defaults: {connect_timeout: soon}", "line 1: cannot unmarshal !!str `soon` into time.Duration"},
	}
	for _, c := range cases {
		_, err := ParseInventory([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want mention of %q", c.yaml, err, c.want)
		}
	}
}

func TestInventoryFromRecords(t *testing.T) {
	records := []HostRecord{
		{Name: "r1", Address: "10.0.0.1", Platform: "cisco_iosxe", Groups: []string{"site-ams", "edge"}, Data: map[string]any{"serial": "X1"}},
		{Name: "r2", Address: "10.0.0.2", Groups: []string{"edge"}},
	}
	inv, err := NewInventoryFromRecords(records, []Group{{Name: "edge", Params: Params{Platform: "arista_eos", Username: "edge-ops"}}}, Defaults{Params: Params{Username: "netops"}})
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := inv.Host("r1")
	r2, _ := inv.Host("r2")
	if r1.Platform != "cisco_iosxe" || r1.Username != "edge-ops" || r1.Data["serial"] != "X1" || r2.Platform != "arista_eos" {
		t.Errorf("records: r1=%+v r2=%+v", r1, r2)
	}
	if got := inv.Filter(InGroup("site-ams")).Len(); got != 1 {
		t.Errorf("implicit group: %d hosts", got)
	}
	if _, err := NewInventoryFromRecords([]HostRecord{{Name: "x"}}, nil, Defaults{}); err == nil {
		t.Error("record without address accepted")
	}
}

func FuzzParseInventory(f *testing.F) {
	f.Add([]byte(inventoryYAML))
	f.Add([]byte("hosts: {a: {address: h, groups: [a, a]}}\ngroups: {a: {}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := ParseInventory(data)
		if err != nil {
			return
		}
		for _, h := range inv.Hosts() {
			if h.Name == "" || h.Address == "" || h.Port == 0 {
				t.Fatalf("invalid host accepted: %+v", h)
			}
		}
	})
}
