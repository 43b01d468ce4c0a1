package netsync

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
)

var fuzzPlatforms = []string{"cisco_iosxe", "cisco_iosxr", "cisco_nxos", "arista_eos", "juniper_junos"}

// seedSimulations adds the recorded outputs of testdata's simulations.
func seedSimulations(f *testing.F, add func(platform, text string)) {
	for platform, file := range map[string]string{
		"cisco_iosxe":   "testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml",
		"cisco_nxos":    "testdata/oxidized_nxos_C93180YC_10.4.5_simulation.yaml",
		"juniper_junos": "testdata/oxidized_junos_srx300_22.4_simulation.yaml",
	} {
		spec, err := devicetest.LoadSimulation(platform, file)
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

// Device output is outside input: no text makes the parser (package
// device/confparse, fuzzed there too) or the comparison with the intended
// state panic, and what they return is consistent.
func FuzzParseConfig(f *testing.F) {
	seedSimulations(f, func(p, text string) { f.Add(platformIndex(p), text) })
	for _, cfg := range []string{
		"interface Ethernet1\n ip address 10.0.0.1 255.255.255.254\n shutdown\nrouter bgp 1\n neighbor 10.0.0.0 remote-as 2\n",
		"router bgp 1\n  neighbor 10.0.0.1\n    inherit peer P\n  template peer P\n    remote-as 5\n",
		"interfaces {\n    ge-0/0/0 {\n        unit 0 {\n            family inet {\n                address 10.0.0.0/31;\n",
		"protocols {\n bgp {\n  group g {\n   neighbor 10.0.0.1;\n  }\n }\n}\n}\n}\n",
		"}\n}\ninterfaces {\n}\n ge-0/0/0;\n",
	} {
		for i := range fuzzPlatforms {
			f.Add(uint8(i), cfg)
		}
	}
	f.Fuzz(func(t *testing.T, pi uint8, cfg string) {
		platform := fuzzPlatforms[int(pi)%len(fuzzPlatforms)]
		o, err := parseConfig(platform, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for k, i := range o.Interfaces {
			if i == nil || k != strings.ToLower(i.Name) {
				t.Errorf("interface key %q for %+v", k, i)
			}
		}
		for k, n := range o.Neighbors {
			if _, err := netip.ParseAddr(k); err != nil || n == nil || n.Address != k || canonAddr(k) != k {
				t.Errorf("neighbor key %q for %+v", k, n)
			}
		}
		// What the comparison does with it must not panic either.
		compare(Device{Name: "r1", Interfaces: []Interface{{Name: "Ethernet1", Enabled: true, MTU: 1500, IPAddress: "10.0.0.0/31", Description: "x"}},
			BGPNeighbors: []BGPNeighbor{{PeerAddress: "10.0.0.1", RemoteAS: 1, Enabled: true}}}, o)
	})
}
