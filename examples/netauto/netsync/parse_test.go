package netsync

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
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

// Facts from NTC templates' recorded "show version" outputs (testdata/ntc,
// networktocode/ntc-templates@d0bc5a480fe9 tests/<platform>/show_version),
// with the values NTC's own parsed samples (the .yml beside each .raw)
// give: an empty "Serial number:" line of vEOS and cEOS is no serial (not
// the first word of the next line), IOS prints "Processor board ID X,
// with hardware revision N" (the serial has no comma), and a Junos VM host
// whose "show version" has no "Junos:" line has no version to read (the
// bracketed build strings of its packages are not one).
func TestParseFactsNTCOutputs(t *testing.T) {
	for _, tc := range []struct {
		platform string
		files    []string
		want     Facts
	}{
		{"arista_eos", []string{"arista_eos_show_version.raw"}, Facts{Model: "vEOS", OSVersion: "4.14.7M"}},
		{"arista_eos", []string{"arista_eos_show_version_clab.raw"}, Facts{Model: "cEOSLab", OSVersion: "4.32.1F-37265360.4321F"}},
		{"arista_eos", []string{"arista_eos_show_version2.raw"}, Facts{Model: "CCS-720XP-24ZY4-F", Serial: "JPE11400249", OSVersion: "4.27.6M"}},
		{"cisco_iosxe", []string{"cisco_ios_show_version_01.raw"}, Facts{Hostname: "stud-adsl", Model: "1801", Serial: "FHK102KKKKK", OSVersion: "12.4(6)T2"}},
		{"cisco_iosxe", []string{"cisco_ios_show_version4.raw"}, Facts{Hostname: "AKBTESTW01", Model: "C9500-40X", Serial: "FCW2233FFG3", OSVersion: "16.09.03"}},
		{"cisco_nxos", []string{"cisco_nxos_show_version2.raw"}, Facts{Hostname: "IEDP02-N5K-SW01", Model: "5596", Serial: "FOC17153X08", OSVersion: "7.1(4)N1(1)"}},
		{"juniper_junos", []string{"juniper_junos_show_version_vmhost.raw"}, Facts{Hostname: "MyRouter", Model: "nfx250_att_s1_10_t"}},
		{"juniper_junos", []string{"juniper_junos_show_version_srx_cluster.raw"}, Facts{Hostname: "lab", Model: "srx1500", OSVersion: "19.4R3-S1.3"}},
		{"juniper_junos", []string{"juniper_junos_show_chassis_hardware4.raw"}, Facts{Serial: "JN1111111"}},
	} {
		var out strings.Builder
		for _, f := range tc.files {
			b, err := os.ReadFile(filepath.Join("testdata", "ntc", f))
			if err != nil {
				t.Fatal(err)
			}
			out.Write(b)
			out.WriteString("\n")
		}
		if got := ParseFacts(tc.platform, out.String()); got != tc.want {
			t.Errorf("%s %v: facts = %+v, want %+v", tc.platform, tc.files, got, tc.want)
		}
	}
}

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
