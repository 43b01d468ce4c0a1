package confparse_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/device/devicetest"
)

var fuzzPlatforms = []string{"cisco_iosxe", "cisco_iosxr", "cisco_nxos", "arista_eos", "juniper_junos"}

// seedSimulations adds the recorded outputs of the Oxidized simulations in
// ../devicetest/testdata.
func seedSimulations(f *testing.F, add func(platform, text string)) {
	for platform, file := range map[string]string{
		"cisco_iosxe":   "oxidized_ios_C9200L_17.09.04a_simulation.yaml",
		"cisco_nxos":    "oxidized_nxos_C93180YC_10.4.5_simulation.yaml",
		"arista_eos":    "oxidized_eos_DCS-7050SX3_4.29.2F_simulation.yaml",
		"juniper_junos": "oxidized_junos_srx300_22.4_simulation.yaml",
	} {
		spec, err := devicetest.LoadSimulation(platform, "../devicetest/testdata/"+file)
		if err != nil {
			f.Fatal(err)
		}
		add(platform, spec.RunningConfig)
		for _, out := range spec.Commands {
			add(platform, out)
		}
	}
}

func platformIndex(p string) uint8 {
	for i, q := range fuzzPlatforms {
		if q == p {
			return uint8(i)
		}
	}
	return 0
}

// Device output is outside input: no text makes the parsers panic, and
// what they return is consistent (keys are the canonical forms of what
// they index). The corpus in testdata/fuzz/FuzzParse holds configurations
// with VRFs, peer groups and templates, IOS-XR neighbour groups and
// unbalanced Junos braces; that of testdata/fuzz/FuzzParseBGPSummary
// wrapped IPv6 addresses and NX-OS 4-byte AS numbers, Junos prefix counts
// and EOS Description columns.
func FuzzParse(f *testing.F) {
	seedSimulations(f, func(p, text string) { f.Add(platformIndex(p), text) })
	for _, cfg := range []string{
		"interface Ethernet1\n ip address 10.0.0.1 255.255.255.254\n shutdown\nrouter bgp 1\n neighbor 10.0.0.0 remote-as 2\n",
		"router bgp 1\n  neighbor 10.0.0.1\n    inherit peer P\n  template peer P\n    remote-as 5\n",
		"interfaces {\n    ge-0/0/0 {\n        unit 0 {\n            family inet {\n                address 10.0.0.0/31;\n",
		"protocols {\n bgp {\n  group g {\n   neighbor 10.0.0.1;\n  }\n }\n}\n}\n}\n",
		"}\n}\ninterfaces {\n}\n ge-0/0/0;\n",
		"routing-options {\n autonomous-system 1.10;\n router-id x;\n}\n",
	} {
		for i := range fuzzPlatforms {
			f.Add(uint8(i), cfg)
		}
	}
	f.Fuzz(func(t *testing.T, pi uint8, cfg string) {
		platform := fuzzPlatforms[int(pi)%len(fuzzPlatforms)]
		o, err := confparse.Parse(platform, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for k, i := range o.Interfaces {
			if i == nil || k != strings.ToLower(i.Name) {
				t.Errorf("interface key %q for %+v", k, i)
			}
		}
		for k, n := range o.Neighbors {
			if _, err := netip.ParseAddr(k); err != nil || n == nil || n.Address != k || confparse.CanonAddr(k) != k {
				t.Errorf("neighbor key %q for %+v", k, n)
			}
		}
		if o.LocalAS < 0 || o.LocalAS > 1<<32-1 {
			t.Errorf("local AS %d", o.LocalAS)
		}
	})
}

func FuzzParseBGPSummary(f *testing.F) {
	seedSimulations(f, func(_, text string) { f.Add(text) })
	f.Add("10.0.0.1        4        65002     100     100        1    0    0 1w2d            5\n10.0.0.3 4 1 0 0 1 0 0 never Idle (Admin)")
	f.Add("2001:db8::1\n                4        65002     100     100        1    0    0 1w2d            5")
	f.Add("10.0.0.1              65002        100        100       0       0     1:00:00 0/5/5/0              0/0/0/0")
	f.Add("10.101.1.1      4 4233316914\n                        14111081 14037706     1922    0    0     5w1d 100\n10.16.2.5       4   200       0       0        0    0    0     5w6d Shut (Admin)")
	f.Add("  Description              Neighbor         V AS           MsgRcvd   MsgSent  InQ OutQ  Up/Down State   PfxRcd PfxAcc\n  tôt Active               10.0.0.24        4 65001             11        14    0    0 00:00:49 Estab   15     15\n")
	f.Fuzz(func(t *testing.T, out string) {
		for k, st := range confparse.ParseBGPSummary(out) {
			if a, err := netip.ParseAddr(k); err != nil || a.String() != k || st == "" {
				t.Errorf("session %q = %q", k, st)
			}
		}
	})
}
