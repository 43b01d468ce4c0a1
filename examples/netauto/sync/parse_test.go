package sync

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
)

// Facts from real recorded outputs (see testdata/README.md).
func TestParseFactsRecordedOutputs(t *testing.T) {
	for _, tc := range []struct {
		platform, file string
		want           Facts
	}{
		{"cisco_iosxe", "testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml",
			Facts{Hostname: "LAB-SW123_9200L", Model: "C9200L-24P-4G", Serial: "JAE24FFFFFF", OSVersion: "17.09.04a"}},
		{"cisco_nxos", "testdata/oxidized_nxos_C93180YC_10.4.5_simulation.yaml",
			Facts{Hostname: "TEST-12345", Model: "C93180YC-FX3H", Serial: "FDO20000000", OSVersion: "10.4(5)"}},
		{"juniper_junos", "testdata/oxidized_junos_srx300_22.4_simulation.yaml",
			Facts{Model: "srx300", Serial: "AA0000AA0000", OSVersion: "22.4R3-S2.11"}},
	} {
		spec, err := devicetest.LoadSimulation(tc.platform, tc.file)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := FactCommands(tc.platform)
		if err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		for _, c := range cmds {
			o, ok := spec.Commands[c]
			if !ok {
				t.Fatalf("%s: simulation has no %q", tc.platform, c)
			}
			out.WriteString(o + "\n")
		}
		if got := ParseFacts(tc.platform, out.String()); got != tc.want {
			t.Errorf("%s: facts = %+v, want %+v", tc.platform, got, tc.want)
		}
	}
	if _, err := FactCommands("nokia_sros"); err == nil {
		t.Error("FactCommands of an unknown platform: no error")
	}
}

func TestParseIOSConfigRecorded(t *testing.T) {
	spec, err := devicetest.LoadSimulation("cisco_iosxe", "testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseConfig("cisco_iosxe", spec.RunningConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]obsInterface{
		"vlan1":                {Name: "Vlan1", Enabled: false},
		"vlan2":                {Name: "Vlan2", Description: "network management", Enabled: true, IPAddress: "10.42.11.42/24"},
		"gigabitethernet1/0/1": {Name: "GigabitEthernet1/0/1", Description: "oxidized test one", Enabled: true},
	}
	for k, w := range want {
		if got := o.Interfaces[k]; got == nil || *got != w {
			t.Errorf("interface %s = %+v, want %+v", k, got, w)
		}
	}
	if len(o.Neighbors) != 0 {
		t.Errorf("neighbors = %v, want none", o.Neighbors)
	}
}

func TestParseJunosConfigRecorded(t *testing.T) {
	spec, err := devicetest.LoadSimulation("juniper_junos", "testdata/oxidized_junos_srx300_22.4_simulation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseConfig("juniper_junos", spec.RunningConfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Interfaces["irb"]; got == nil || got.IPAddress != "192.168.1.1/24" || !got.Enabled {
		t.Errorf("irb = %+v", got)
	}
	if len(o.Interfaces) != 9 { // ge-0/0/0..7 and irb; not the security zones' interfaces
		t.Errorf("interfaces = %d, want 9", len(o.Interfaces))
	}
}

func neighbors(o *observed) map[string]obsNeighbor {
	out := map[string]obsNeighbor{}
	for k, n := range o.Neighbors {
		c := *n
		c.group = ""
		out[k] = c
	}
	return out
}

func TestParseBGPConfigForms(t *testing.T) {
	want := map[string]obsNeighbor{
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
		o, err := parseConfig(tc.platform, tc.cfg)
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
		if got := parseBGPSummary(tc.out); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: states = %v, want %v", name, got, tc.want)
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
	obs := parseIOSLike(`interface Ethernet1
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

// IOS-XR spells interface addresses "ipv4 address", configures neighbours
// in sub-modes that may "use neighbor-group", and has no "show ip bgp".
func TestParseIOSXRConfig(t *testing.T) {
	o, err := parseConfig("cisco_iosxr", `Building configuration...
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
	want := map[string]obsNeighbor{
		"10.0.0.1":    {Address: "10.0.0.1", RemoteAS: 65002, Description: "to core", Enabled: true},
		"10.0.0.3":    {Address: "10.0.0.3", RemoteAS: 65003, Enabled: false},
		"2001:db8::1": {Address: "2001:db8::1", RemoteAS: 65009, Enabled: true},
	}
	if got := neighbors(o); !reflect.DeepEqual(got, want) {
		t.Errorf("neighbors = %+v\nwant %+v", got, want)
	}
	if cmds := bgpSummaryCommands("cisco_iosxr", []BGPNeighbor{{PeerAddress: "10.0.0.1"}}); slices.Contains(cmds, "show ip bgp summary") {
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
		o, err := parseConfig(platform, cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]obsNeighbor{"10.0.0.1": {Address: "10.0.0.1", RemoteAS: 65002, Description: "to core", Enabled: true}}
		if got := neighbors(o); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: neighbors = %+v\nwant %+v", platform, got, want)
		}
	}
}

// "show ip bgp summary" lists IPv4 sessions only: IPv6 neighbours need the
// IPv6 summary, whose long addresses wrap onto a line of their own.
func TestBGPSessionsOfIPv6Neighbors(t *testing.T) {
	v4 := BGPNeighbor{PeerAddress: "10.0.0.1", Enabled: true}
	v6 := BGPNeighbor{PeerAddress: "2001:db8::1", Enabled: true}
	for platform, want := range map[string][]string{
		"cisco_iosxe":   {"show ip bgp summary", "show bgp ipv6 unicast summary"},
		"cisco_nxos":    {"show ip bgp summary", "show bgp ipv6 unicast summary"},
		"cisco_iosxr":   {"show bgp ipv4 unicast summary", "show bgp ipv6 unicast summary"},
		"arista_eos":    {"show ip bgp summary", "show ipv6 bgp summary"},
		"juniper_junos": {"show bgp summary"},
	} {
		if got := bgpSummaryCommands(platform, []BGPNeighbor{v4, v6}); !slices.Equal(got, want) {
			t.Errorf("%s: commands %q, want %q", platform, got, want)
		}
		if got := bgpSummaryCommands(platform, []BGPNeighbor{v4}); len(got) != 1 {
			t.Errorf("%s, IPv4 neighbours only: commands %q", platform, got)
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
	if got := parseBGPSummary(ios); !reflect.DeepEqual(got, want) {
		t.Errorf("wrapped IPv6 summary: %v, want %v", got, want)
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
