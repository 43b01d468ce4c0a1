package netsync

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
)

// Intended interfaces named as sources of truth and show outputs name them
// are the configured ones: an IOS "Gi1/0/1" is the configuration's
// GigabitEthernet1/0/1 (real C9200L configuration, Oxidized simulation),
// and a Junos address lives on a logical unit, so "irb.0" is the SRX300's
// irb unit 0 with 192.168.1.1/24 (real configuration, Oxidized
// simulation). Comparing the spelled-out names only reported them
// missing, failing every device.
func TestCompareMatchesInterfaceNamesAsSourcesOfTruthSpellThem(t *testing.T) {
	for _, tc := range []struct {
		platform, sim string
		want          []Interface
	}{
		{"cisco_iosxe", "testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml", []Interface{
			{Name: "Gi1/0/1", Enabled: true},
			{Name: "GigabitEthernet1/0/24", Enabled: true},
		}},
		{"juniper_junos", "testdata/oxidized_junos_srx300_22.4_simulation.yaml", []Interface{
			{Name: "irb.0", Enabled: true, IPAddress: "192.168.1.1/24"},
			{Name: "ge-0/0/1.0", Enabled: true},
			{Name: "ge-0/0/1", Enabled: true},
		}},
	} {
		spec, err := devicetest.LoadSimulation(tc.platform, tc.sim)
		if err != nil {
			t.Fatal(err)
		}
		obs, err := parseConfig(tc.platform, spec.RunningConfig)
		if err != nil {
			t.Fatal(err)
		}
		v := compare(Device{Name: "d1", Platform: tc.platform, Interfaces: tc.want}, obs)
		if v.Status != StatusPassed || v.Checked != len(tc.want) {
			t.Errorf("%s: status %s, checked %d, mismatches %v", tc.platform, v.Status, v.Checked, v.Mismatches)
		}
	}
}

func TestCompareReportsEachDifference(t *testing.T) {
	dev := Device{Name: "r1",
		Interfaces: []Interface{
			{Name: "Ethernet1", Enabled: true, IPAddress: "10.0.0.0/31", Description: "uplink", MTU: 9000},
			{Name: "Ethernet2", Enabled: true},
		},
		BGPNeighbors: []BGPNeighbor{
			{PeerAddress: "10.0.0.1", RemoteAS: 65002, Enabled: true},
			{PeerAddress: "10.0.0.3", RemoteAS: 65003, Enabled: true},
		},
	}
	obs, _ := parseConfig("arista_eos", `interface Ethernet1
   description downlink
   mtu 1500
   ip address 10.0.0.2/31
   shutdown
router bgp 65001
   neighbor 10.0.0.1 remote-as 65012
   neighbor 10.0.0.3 remote-as 65003
   neighbor 10.0.0.7 remote-as 65007`)
	obs.Sessions = map[string]string{"10.0.0.1": "Established", "10.0.0.3": "Active"}
	v := compare(dev, obs)
	var got []string
	for _, m := range v.Mismatches {
		got = append(got, m.String())
	}
	want := []string{
		"r1: interface Ethernet1: enabled: intended true, observed false",
		"r1: interface Ethernet1: description: intended uplink, observed downlink",
		"r1: interface Ethernet1: ip_address: intended 10.0.0.0/31, observed 10.0.0.2/31",
		"r1: interface Ethernet1: mtu: intended 9000, observed 1500",
		"r1: interface Ethernet2: presence: intended configured, observed missing",
		"r1: bgp neighbor 10.0.0.1: remote_as: intended 65002, observed 65012",
		"r1: bgp neighbor 10.0.0.3: session: intended Established, observed Active",
		"r1: bgp neighbor 10.0.0.7: presence: intended absent, observed configured",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mismatches:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if v.Status != StatusFailed || v.Checked != 4 {
		t.Errorf("status %s checked %d", v.Status, v.Checked)
	}
}

func TestParamsResolve(t *testing.T) {
	if _, err := (Params{}).resolve(); err == nil || err.Error() != "parameter environment: required" {
		t.Errorf("empty environment: %v", err)
	}
	if _, err := (Params{Environment: "dev", Devices: []string{"a", " "}}).resolve(); err == nil || !strings.Contains(err.Error(), "devices[1]") {
		t.Errorf("blank device name: %v", err)
	}
}

// "show ip bgp summary" lists IPv4 sessions only: an intended IPv6
// neighbour adds the IPv6 summary.
func TestBGPSessionsOfIPv6Neighbors(t *testing.T) {
	v4 := BGPNeighbor{PeerAddress: "10.0.0.1", Enabled: true}
	v6 := BGPNeighbor{PeerAddress: "2001:db8::1", Enabled: true}
	for _, platform := range []string{"cisco_iosxe", "cisco_nxos", "cisco_iosxr", "arista_eos"} {
		if got := bgpSummaryCommands(platform, []BGPNeighbor{v4, v6}); len(got) != 2 {
			t.Errorf("%s: commands %q", platform, got)
		}
		if got := bgpSummaryCommands(platform, []BGPNeighbor{v4}); len(got) != 1 {
			t.Errorf("%s, IPv4 neighbours only: commands %q", platform, got)
		}
	}
}

// An intended IPv6 interface address is compared with the interface's
// IPv6 address, not reported missing because the IPv4 one is absent.
func TestCompareIPv6InterfaceAddress(t *testing.T) {
	for platform, cfg := range map[string]string{
		"cisco_iosxe": "interface Ethernet1\n ipv6 address FE80::1 link-local\n ipv6 address 2001:DB8::1/64\n ip address 10.0.0.0 255.255.255.254\n",
		"arista_eos":  "interface Ethernet1\n   ip address 10.0.0.0/31\n   ipv6 address 2001:db8::1/64\n",
		"juniper_junos": `interfaces {
    Ethernet1 {
        unit 0 {
            family inet {
                address 10.0.0.0/31;
            }
            family inet6 {
                address 2001:db8::1/64;
            }
        }
    }
}`,
	} {
		obs, err := parseConfig(platform, cfg)
		if err != nil {
			t.Fatal(err)
		}
		dev := Device{Name: "r1", Interfaces: []Interface{{Name: "Ethernet1", Enabled: true, IPAddress: "2001:db8::1/64"}}}
		if v := compare(dev, obs); v.Status != StatusPassed {
			t.Errorf("%s: %v", platform, v.Mismatches)
		}
		dev.Interfaces[0].IPAddress = "2001:db8::2/64"
		if v := compare(dev, obs); len(v.Mismatches) != 1 || v.Mismatches[0].Observed != "2001:db8::1/64" {
			t.Errorf("%s: wrong IPv6 address: %v", platform, v.Mismatches)
		}
		dev.Interfaces[0].IPAddress = "10.0.0.0/31"
		if v := compare(dev, obs); v.Status != StatusPassed {
			t.Errorf("%s: IPv4 address: %v", platform, v.Mismatches)
		}
	}
}

// Devices print no "mtu" line for the default MTU: an interface intended
// at the platform's default is not a mismatch.
func TestCompareDefaultMTU(t *testing.T) {
	for platform, def := range map[string]int{"arista_eos": 1500, "cisco_iosxe": 1500, "cisco_nxos": 1500, "cisco_iosxr": 1514, "juniper_junos": 1514} {
		cfg := "interface Ethernet1\n description x\n"
		if platform == "juniper_junos" {
			cfg = "interfaces {\n    Ethernet1 {\n        description x;\n    }\n}\n"
		}
		obs, err := parseConfig(platform, cfg)
		if err != nil {
			t.Fatal(err)
		}
		dev := Device{Name: "r1", Platform: platform, Interfaces: []Interface{{Name: "Ethernet1", Enabled: true, MTU: def}}}
		if v := compare(dev, obs); v.Status != StatusPassed {
			t.Errorf("%s: %v", platform, v.Mismatches)
		}
		dev.Interfaces[0].MTU = 9000
		if v := compare(dev, obs); len(v.Mismatches) != 1 || v.Mismatches[0].Observed != strconv.Itoa(def)+" (default)" {
			t.Errorf("%s: mtu 9000 intended: %v", platform, v.Mismatches)
		}
	}
}

// A role outside the schema's choices is a typo: the run would select no
// device and "succeed" doing nothing.
func TestParamsRoleMustBeAChoice(t *testing.T) {
	_, err := (Params{Environment: "dev", Role: "edges"}).resolve()
	var pe *ParamsError
	if !errors.As(err, &pe) || pe.Field != "role" || !strings.Contains(err.Error(), "edge") {
		t.Errorf("role edges: %v, want a ParamsError on role listing the choices", err)
	}
	if _, err := (Params{Environment: "dev", Role: "leaf"}).resolve(); err != nil {
		t.Errorf("role leaf: %v", err)
	}
}
