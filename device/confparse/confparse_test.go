package confparse

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func neighbors(o *Config) map[string]Neighbor {
	out := map[string]Neighbor{}
	for k, n := range o.Neighbors {
		c := *n
		c.Group = ""
		out[k] = c
	}
	return out
}

func TestParseBGPConfigForms(t *testing.T) {
	want := map[string]Neighbor{
		"10.0.0.1":    {Address: "10.0.0.1", RemoteAS: 65002, Description: "to core", Enabled: true},
		"10.0.0.3":    {Address: "10.0.0.3", RemoteAS: 65003, Enabled: false},
		"2001:db8::1": {Address: "2001:db8::1", RemoteAS: 65009, Enabled: true},
	}
	for _, tc := range []struct{ platform, cfg string }{
		{"cisco_iosxe", `router bgp 65001
 neighbor PEERS peer-group
 neighbor PEERS remote-as 65009
 neighbor 10.0.0.1 remote-as 65002
 neighbor 10.0.0.1 description to core
 neighbor 10.0.0.3 remote-as 65003
 neighbor 10.0.0.3 shutdown
 neighbor 2001:DB8::1 peer-group PEERS
 !
 address-family ipv4
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.9 activate
 exit-address-family
!
end`},
		{"arista_eos", `router bgp 65001
   neighbor PEERS peer group
   neighbor PEERS remote-as 65009
   neighbor 10.0.0.1 remote-as 65002
   neighbor 10.0.0.1 description to core
   neighbor 10.0.0.3 remote-as 65003
   neighbor 10.0.0.3 shutdown
   neighbor 2001:db8::1 peer group PEERS
!`},
		{"cisco_nxos", `router bgp 65001
  template peer PEERS
    remote-as 65009
  neighbor 10.0.0.1
    remote-as 65002
    description to core
  neighbor 10.0.0.3
    remote-as 65003
    shutdown
  neighbor 2001:db8::1
    inherit peer PEERS
interface Ethernet1/1
  no shutdown`},
		{"juniper_junos", `protocols {
    bgp {
        group core {
            peer-as 65002;
            neighbor 10.0.0.1 {
                description "to core";
            }
            inactive: neighbor 10.0.0.3 {
                peer-as 65003;
            }
        }
        group v6 {
            peer-as 65009;
            neighbor 2001:db8::1;
        }
    }
}`},
	} {
		o, err := Parse(tc.platform, tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := neighbors(o); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: neighbors = %+v\nwant %+v", tc.platform, got, want)
		}
	}
}

func TestParseBGPSummaries(t *testing.T) {
	ios := `BGP router identifier 10.0.0.0, local AS number 65001
Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
10.0.0.1        4        65002     100     100        1    0    0 1w2d            5
10.0.0.3        4        65003       0       0        1    0    0 never    Idle (Admin)
10.0.0.5        4        65004       0       0        1    0    0 never    Active`
	eos := `  Neighbor         V  AS           MsgRcvd   MsgSent  InQ OutQ  Up/Down State   PfxRcd PfxAcc
  10.0.0.1         4  65002            100       100    0    0 01:00:00 Estab   5      5
  10.0.0.5         4  65004              0         0    0    0 01:00:00 Connect`
	junos := `Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped...
10.0.0.1              65002        100        100       0       0     1:00:00 0/5/5/0              0/0/0/0
10.0.0.5              65004          0          0       0       0     1:00:00 Active`
	for name, tc := range map[string]struct {
		out  string
		want map[string]string
	}{
		"ios":   {ios, map[string]string{"10.0.0.1": "Established", "10.0.0.3": "Idle", "10.0.0.5": "Active"}},
		"eos":   {eos, map[string]string{"10.0.0.1": "Established", "10.0.0.5": "Connect"}},
		"junos": {junos, map[string]string{"10.0.0.1": "Established", "10.0.0.5": "Active"}},
	} {
		if got := ParseBGPSummary(tc.out); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: states = %v, want %v", name, got, tc.want)
		}
	}
}

// The layouts and state words of real summaries: NX-OS's "Shut (Admin)"
// and 4-byte AS numbers that push the columns onto the next line
// (ntc-templates cisco_nxos_show_ip_bgp_summary_vrf.raw, genieparser's
// NX-OS golden outputs), EOS's Description column and "Idle(reason)"
// states (ntc-templates arista_eos_show_ip_bgp_summary{2,3}.raw), Junos's
// transitional states and per-RIB lines (genieparser's Junos ShowBgpSummary
// golden output).
func TestParseBGPSummaryLayouts(t *testing.T) {
	nxos := `BGP summary information for VRF default, address family IPv4 Unicast
BGP router identifier 10.4.1.1, local AS number 100
BGP table version is 2, IPv4 Unicast config peers 4, capable peers 1

Neighbor        V    AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
10.16.2.5       4   200       0       0        0    0    0     5w6d Shut (Admin)
10.101.1.1      4 4233316914
                        14111081 14037706     1922    0    0     5w1d 100
10.101.1.4      4 4255544594
                               0        0        0    0    0 00:00:12 Idle
10.101.1.9      4 65009       0       0        0    0    0 00:00:03 OpenSent`
	eos := `BGP summary information for VRF default
Router identifier 10.255.0.9, local AS number 65113
Neighbor Status Codes: m - Under maintenance
  Description              Neighbor         V AS           MsgRcvd   MsgSent  InQ OutQ  Up/Down State   PfxRcd PfxAcc
  spine-1 Active uplink    10.0.0.24        4 65001             11        14    0    0 00:00:49 Estab   15     15
  10.0.0.99 old            10.0.0.26        4 65001              0         0    0    0 00:00:49 Connect
  leaf-3a                  10.255.2.10      4 65113              0         0    0    0   79d05h Idle(NoIf)
                           10.255.2.11      4 65114              0         0    0    0 00:01:00 Idle(Admin)
  tôt                      10.255.2.12      4 65115             10        12    0    0 00:00:48 OpenConfirm
`
	junos := `Threading mode: BGP I/O
Groups: 2 Peers: 4 Down peers: 3
Table          Tot Paths  Act Paths Suppressed    History Damp State    Pending
inet.0
                       5          5          0          0          0          0
Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped...
10.49.216.179         65171          0          0       0       0 29w5d 22:42:36 Connect
10.169.14.240         65151     280414     221573       0     127 3w2d 4:19:15 Establ
  inet.0: 682/684/684/0
10.169.14.249         65151          0          0       0       0          12 OpenSent
2001:db8:6be:89bb::1:140       65171          0          0       0       0       45:12 Idle`
	for name, tc := range map[string]struct {
		out  string
		want map[string]string
	}{
		"nxos":  {nxos, map[string]string{"10.16.2.5": "Idle", "10.101.1.1": "Established", "10.101.1.4": "Idle", "10.101.1.9": "OpenSent"}},
		"eos":   {eos, map[string]string{"10.0.0.24": "Established", "10.0.0.26": "Connect", "10.255.2.10": "Idle", "10.255.2.11": "Idle", "10.255.2.12": "OpenConfirm"}},
		"junos": {junos, map[string]string{"10.49.216.179": "Connect", "10.169.14.240": "Established", "10.169.14.249": "OpenSent", "2001:db8:6be:89bb::1:140": "Idle"}},
	} {
		if got := ParseBGPSummary(tc.out); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: states = %v\nwant %v", name, got, tc.want)
		}
	}
	// A session line cut short with nothing after it says nothing.
	if got := ParseBGPSummary("10.0.0.1        4 4233316914\n"); len(got) != 0 {
		t.Errorf("truncated line: %v", got)
	}
	// An IPv6 address and a 4-byte AS: the columns wrap twice.
	twice := "2001:db8:ffff:1::2\n                4 4233316914\n                               0        0        0    0    0 00:00:12 Active\n"
	if got := ParseBGPSummary(twice); got["2001:db8:ffff:1::2"] != "Active" || len(got) != 1 {
		t.Errorf("twice wrapped line: %v", got)
	}
}

// IOS-XR spells interface addresses "ipv4 address", configures neighbours
// in sub-modes that may "use neighbor-group", and has no "show ip bgp".
func TestParseIOSXRConfig(t *testing.T) {
	o, err := Parse("cisco_iosxr", `Building configuration...
!! IOS XR Configuration 7.3.2
!! Last configuration change at Thu Nov 26 10:00:00 2026 by admin
!
hostname xr1
interface Loopback0
 ipv4 address 10.255.0.1 255.255.255.255
!
interface GigabitEthernet0/0/0/0
 description uplink
 mtu 9000
 ipv4 address 10.0.0.0 255.255.255.254
!
interface GigabitEthernet0/0/0/1
 shutdown
!
router bgp 65001
 neighbor-group CORE
  remote-as 65009
  address-family ipv6 unicast
  !
 !
 neighbor 10.0.0.1
  remote-as 65002
  description to core
 !
 neighbor 10.0.0.3
  remote-as 65003
  shutdown
 !
 neighbor 2001:db8::1
  use neighbor-group CORE
 !
!
end`)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Interfaces["gigabitethernet0/0/0/0"]; got == nil || got.IPAddress != "10.0.0.0/31" || got.MTU != 9000 || !got.Enabled {
		t.Errorf("GigabitEthernet0/0/0/0 = %+v", got)
	}
	if got := o.Interfaces["loopback0"]; got == nil || got.IPAddress != "10.255.0.1/32" {
		t.Errorf("Loopback0 = %+v", got)
	}
	want := map[string]Neighbor{
		"10.0.0.1":    {Address: "10.0.0.1", RemoteAS: 65002, Description: "to core", Enabled: true},
		"10.0.0.3":    {Address: "10.0.0.3", RemoteAS: 65003, Enabled: false},
		"2001:db8::1": {Address: "2001:db8::1", RemoteAS: 65009, Enabled: true},
	}
	if got := neighbors(o); !reflect.DeepEqual(got, want) {
		t.Errorf("neighbors = %+v\nwant %+v", got, want)
	}
	if cmds := SummaryCommands("cisco_iosxr", true); slices.Contains(cmds, "show ip bgp summary") {
		t.Errorf("IOS-XR summary commands %q: \"show ip bgp\" does not exist there", cmds)
	}
}

// Neighbours of VRFs are not the device's global BGP neighbours that
// NetworkBGPNeighbor models: they must not show up as extra neighbours.
func TestParseBGPIgnoresVRFNeighbors(t *testing.T) {
	for platform, cfg := range map[string]string{
		"cisco_iosxe": `router bgp 65001
 neighbor 10.0.0.1 remote-as 65002
 !
 address-family ipv4
  neighbor 10.0.0.1 activate
 exit-address-family
 !
 address-family ipv4 vrf CUST
  neighbor 192.168.0.1 remote-as 65100
  neighbor 192.168.0.1 activate
 exit-address-family
 neighbor 10.0.0.1 description to core
!
end`,
		"arista_eos": `router bgp 65001
   neighbor 10.0.0.1 remote-as 65002
   !
   vrf CUST
      neighbor 192.168.0.1 remote-as 65100
   neighbor 10.0.0.1 description to core
!`,
		"cisco_nxos": `router bgp 65001
  neighbor 10.0.0.1
    remote-as 65002
  vrf CUST
    neighbor 192.168.0.1
      remote-as 65100
    neighbor 192.168.0.2 remote-as 65101
  neighbor 10.0.0.1
    description to core`,
		"cisco_iosxr": `router bgp 65001
 neighbor 10.0.0.1
  remote-as 65002
  description to core
 !
 vrf CUST
  rd 65001:1
  neighbor 192.168.0.1
   remote-as 65100
  !
 !
!`,
	} {
		o, err := Parse(platform, cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]Neighbor{"10.0.0.1": {Address: "10.0.0.1", RemoteAS: 65002, Description: "to core", Enabled: true}}
		if got := neighbors(o); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: neighbors = %+v\nwant %+v", platform, got, want)
		}
	}
}

// Devices configured with "bgp asnotation dot" (IOS, NX-OS, EOS) write
// 4-byte AS numbers as "high.low".
func TestParseASDot(t *testing.T) {
	o := parseIOSLike("router bgp 1.1\n neighbor 10.0.0.1 remote-as 1.10\n neighbor 10.0.0.3 remote-as 65003\n")
	if got := neighbors(o); got["10.0.0.1"].RemoteAS != 65546 || got["10.0.0.3"].RemoteAS != 65003 {
		t.Errorf("neighbors = %+v", got)
	}
	j := parseJunos("protocols {\n    bgp {\n        group g {\n            peer-as 1.10;\n            neighbor 10.0.0.1;\n        }\n    }\n}\n")
	if got := neighbors(j); got["10.0.0.1"].RemoteAS != 65546 {
		t.Errorf("junos neighbors = %+v", got)
	}
}

// The global BGP instance's AS, router id and each neighbour's group, on
// every platform's spelling.
func TestParseBGPInstance(t *testing.T) {
	for platform, cfg := range map[string]string{
		"cisco_iosxe":   "router bgp 65001\n bgp router-id 10.255.0.1\n neighbor P peer-group\n neighbor P remote-as 65009\n neighbor 10.0.0.1 peer-group P\n!\nend",
		"cisco_iosxr":   "router bgp 65001\n bgp router-id 10.255.0.1\n neighbor-group P\n  remote-as 65009\n !\n neighbor 10.0.0.1\n  use neighbor-group P\n !\n!",
		"arista_eos":    "router bgp 65001\n   router-id 10.255.0.1\n   neighbor P peer group\n   neighbor P remote-as 65009\n   neighbor 10.0.0.1 peer group P\n!",
		"cisco_nxos":    "router bgp 65001\n  router-id 10.255.0.1\n  template peer P\n    remote-as 65009\n  neighbor 10.0.0.1\n    inherit peer P\n",
		"juniper_junos": "routing-options {\n    router-id 10.255.0.1;\n    autonomous-system 65001;\n}\nprotocols {\n    bgp {\n        group P {\n            peer-as 65009;\n            neighbor 10.0.0.1;\n        }\n    }\n}",
	} {
		c, err := Parse(platform, cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := c.Neighbors["10.0.0.1"]
		if c.LocalAS != 65001 || c.RouterID != "10.255.0.1" || n == nil || n.Group != "P" || n.RemoteAS != 65009 || !n.Enabled {
			t.Errorf("%s: local AS %d, router id %q, neighbour %+v", platform, c.LocalAS, c.RouterID, n)
		}
	}
	if _, err := Parse("nokia_sros", ""); err == nil {
		t.Error("unknown platform: no error")
	}
}

// "show ip bgp summary" lists IPv4 sessions only: IPv6 neighbours need the
// IPv6 summary, whose long addresses wrap onto a line of their own.
func TestSummaryCommandsAndWrappedIPv6(t *testing.T) {
	for platform, want := range map[string][]string{
		"cisco_iosxe":   {"show ip bgp summary", "show bgp ipv6 unicast summary"},
		"cisco_nxos":    {"show ip bgp summary", "show bgp ipv6 unicast summary"},
		"cisco_iosxr":   {"show bgp ipv4 unicast summary", "show bgp ipv6 unicast summary"},
		"arista_eos":    {"show ip bgp summary", "show ipv6 bgp summary"},
		"juniper_junos": {"show bgp summary"},
	} {
		if got := SummaryCommands(platform, true); !slices.Equal(got, want) {
			t.Errorf("%s: commands %q, want %q", platform, got, want)
		}
		if got := SummaryCommands(platform, false); len(got) != 1 || got[0] != want[0] {
			t.Errorf("%s, IPv4 only: commands %q", platform, got)
		}
	}
	ios := `BGP router identifier 10.0.0.0, local AS number 65001
Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
2001:DB8::1     4        65002     100     100        1    0    0 1w2d            5
2001:DB8:FFFF:1::2
                4        65003       0       0        1    0    0 never    Active
FE80::1%GigabitEthernet1
                4        65004     100     100        1    0    0 1w2d            3`
	want := map[string]string{"2001:db8::1": "Established", "2001:db8:ffff:1::2": "Active", "fe80::1%GigabitEthernet1": "Established"}
	if got := ParseBGPSummary(ios); !reflect.DeepEqual(got, want) {
		t.Errorf("wrapped IPv6 summary: %v, want %v", got, want)
	}
	if !IsIPv6("2001:db8::1") || IsIPv6("10.0.0.1") || IsIPv6("::ffff:10.0.0.1") || IsIPv6("peer") {
		t.Error("IsIPv6")
	}
}

// Reading a summary of 200 sessions, the size of a route server's.
func BenchmarkParseBGPSummary(b *testing.B) {
	var s strings.Builder
	s.WriteString("Neighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n")
	for i := range 200 {
		state := "Active"
		if i%2 == 0 {
			state = "5"
		}
		fmt.Fprintf(&s, "10.1.%d.%-10d 4 %12d     100     100        1    0    0 1w2d     %s\n", i/250, i%250+1, 65000+i, state)
	}
	out := s.String()
	b.ReportAllocs()
	for b.Loop() {
		if n := len(ParseBGPSummary(out)); n != 200 {
			b.Fatalf("%d sessions", n)
		}
	}
}

func TestParseJunosUnits(t *testing.T) {
	o, err := Parse("juniper_junos", `interfaces {
    ge-0/0/1 {
        description "to core";
        vlan-tagging;
        unit 100 {
            description "vlan 100";
            vlan-id 100;
            family inet {
                address 10.1.0.1/31;
            }
        }
        unit 200 {
            disable;
            vlan-id 200;
            family inet6 {
                address 2001:db8::1/127;
            }
        }
    }
    ge-0/0/2 {
        disable;
        unit 0 {
            family inet {
                address 10.2.0.1/31;
            }
        }
    }
    lo0 {
        unit 0 {
            family inet {
                address 10.255.0.1/32;
            }
        }
    }
}`)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]Interface{
		"ge-0/0/1":     {Name: "ge-0/0/1", Description: "to core", Enabled: true},
		"ge-0/0/1.100": {Name: "ge-0/0/1.100", Description: "vlan 100", Enabled: true, IPAddress: "10.1.0.1/31"},
		"ge-0/0/1.200": {Name: "ge-0/0/1.200", Enabled: false, IPv6Address: "2001:db8::1/127"},
		"ge-0/0/2":     {Name: "ge-0/0/2", Enabled: false, IPAddress: "10.2.0.1/31"},
		"ge-0/0/2.0":   {Name: "ge-0/0/2.0", Enabled: false, IPAddress: "10.2.0.1/31"},
		"lo0.0":        {Name: "lo0.0", Enabled: true, IPAddress: "10.255.0.1/32"},
	} {
		if got := o.Interface(name); got == nil || *got != want {
			t.Errorf("%s = %+v, want %+v", name, got, want)
		}
	}
}

// Sources of truth and operators abbreviate interface names the way the
// CLIs accept and print them in show outputs (IOS "Gi1/0/1", NX-OS
// "Eth1/1", EOS "Et1"); running configurations spell them out. A name
// matches the configured interface whose type it abbreviates, with the
// same numbering, when only one does (the CLI's own rule: an unambiguous
// prefix of the interface type).
func TestInterfaceAbbreviations(t *testing.T) {
	cfgs := map[string]string{
		"cisco_iosxe": "interface GigabitEthernet1/0/1\n shutdown\ninterface TenGigabitEthernet1/1/1\ninterface TwentyFiveGigE1/1/2\ninterface TwoGigabitEthernet1/1/2\ninterface Port-channel10\ninterface Vlan20\ninterface Loopback0\n",
		"cisco_nxos":  "interface Ethernet1/1\n  no shutdown\ninterface port-channel10\ninterface loopback0\ninterface mgmt0\n",
		"arista_eos":  "interface Ethernet1\ninterface Management1\ninterface Port-Channel10\ninterface Vxlan1\n",
	}
	for _, tc := range []struct{ platform, name, want string }{
		{"cisco_iosxe", "Gi1/0/1", "GigabitEthernet1/0/1"},
		{"cisco_iosxe", "gigabitethernet1/0/1", "GigabitEthernet1/0/1"},
		{"cisco_iosxe", "Te1/1/1", "TenGigabitEthernet1/1/1"},
		{"cisco_iosxe", "Twe1/1/2", "TwentyFiveGigE1/1/2"},
		{"cisco_iosxe", "Tw1/1/2", ""}, // TwoGigabitEthernet or TwentyFiveGigE
		{"cisco_iosxe", "Po10", "Port-channel10"},
		{"cisco_iosxe", "Vl20", "Vlan20"},
		{"cisco_iosxe", "Lo0", "Loopback0"},
		{"cisco_iosxe", "Gi1/0/2", ""},
		{"cisco_iosxe", "Gi1/0/1.100", ""},
		{"cisco_nxos", "Eth1/1", "Ethernet1/1"},
		{"cisco_nxos", "Po10", "port-channel10"},
		{"cisco_nxos", "Lo0", "loopback0"},
		{"arista_eos", "Et1", "Ethernet1"},
		{"arista_eos", "Ma1", "Management1"},
		{"arista_eos", "Po10", "Port-Channel10"},
		{"arista_eos", "Ethernet10", ""},
	} {
		o, err := Parse(tc.platform, cfgs[tc.platform])
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if i := o.Interface(tc.name); i != nil {
			got = i.Name
		}
		if got != tc.want {
			t.Errorf("%s %q: %q, want %q", tc.platform, tc.name, got, tc.want)
		}
	}
}
