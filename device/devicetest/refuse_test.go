package devicetest_test

import (
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
)

// Every refusal of FAILURES.md, injected per line: the device prints it,
// applies nothing of that line, and keeps the lines typed before.
func TestRefusalsPerPlatform(t *testing.T) {
	const bad = "neighbor 10.0.0.99 remote-as 65099"
	cases := []struct {
		platform string
		fault    devicetest.Fault
		want     []string
	}{
		{"cisco_iosxe", devicetest.Fault{}, []string{"^\n% Invalid input detected at '^' marker."}},
		{"cisco_iosxe", devicetest.Fault{Refusal: devicetest.RefuseIncomplete}, []string{"% Incomplete command."}},
		{"cisco_iosxe", devicetest.Fault{Refusal: devicetest.RefuseAmbiguous}, []string{`% Ambiguous command:  "` + bad + `"`}},
		{"cisco_iosxe", devicetest.Fault{Reply: "Error: neighbor 10.0.0.99 cannot be configured"}, []string{"Error: neighbor"}},
		{"cisco_nxos", devicetest.Fault{}, []string{"% Invalid command at '^' marker."}},
		{"cisco_nxos", devicetest.Fault{Refusal: devicetest.RefuseParameter}, []string{"% Invalid parameter detected at '^' marker."}},
		{"cisco_nxos", devicetest.Fault{Reply: "ERROR: Peer AS mismatch"}, []string{"ERROR: Peer AS mismatch"}},
		{"arista_eos", devicetest.Fault{}, []string{"% Invalid input (at token 3: '65099')"}},
		{"arista_eos", devicetest.Fault{Refusal: devicetest.RefuseIncomplete}, []string{"% Incomplete command"}},
		{"arista_eos", devicetest.Fault{Refusal: devicetest.RefuseAmbiguous}, []string{"% Ambiguous command"}},
	}
	for _, c := range cases {
		t.Run(c.platform+"/"+string(c.fault.Refusal)+c.fault.Reply, func(t *testing.T) {
			f := c.fault
			f.Kind, f.Command = devicetest.FaultRefuse, bad
			lab := startLab(t, devicetest.Spec{Name: "r1", Platform: c.platform, RunningConfig: "hostname r1\n!\nend", Faults: []devicetest.Fault{f}})
			d := lab.Device("r1")
			tm := dial(t, d)
			tm.expect("configure terminal")
			tm.expect("router bgp 65000", "(config-router)#")
			tm.expect("neighbor 10.0.0.1 remote-as 65001")
			tm.expect(bad, c.want...)
			cfg := d.RunningConfig()
			if !strings.Contains(cfg, "router bgp 65000") || !strings.Contains(cfg, "neighbor 10.0.0.1 remote-as 65001") {
				t.Errorf("lines before the refused one were not kept:\n%s", cfg)
			}
			if strings.Contains(cfg, "10.0.0.99") {
				t.Errorf("refused line applied:\n%s", cfg)
			}
		})
	}
}

// NX-OS's BGP neighbours are a sub-mode of "router bgp"; "exit" climbs one
// level, "no neighbor A" removes the whole neighbour.
func TestNXOSNestedBGP(t *testing.T) {
	lab := startLab(t, devicetest.Spec{Name: "n1", Platform: "cisco_nxos", RunningConfig: "hostname n1\n\ninterface Ethernet1/1\n  no shutdown\n"})
	d := lab.Device("n1")
	tm := dial(t, d)
	tm.expect("configure terminal")
	tm.expect("router bgp 65000", "n1(config-router)# ")
	tm.expect("router-id 10.255.0.1")
	tm.expect("neighbor 10.0.0.1", "n1(config-router-neighbor)# ")
	tm.expect("remote-as 65001")
	tm.expect("description upstream")
	tm.expect("exit", "n1(config-router)# ")
	tm.expect("neighbor 10.0.0.2", "(config-router-neighbor)")
	tm.expect("remote-as 65002")
	tm.expect("shutdown")
	tm.expect("remote-as 65003") // replaces
	tm.expect("end", "n1# ")
	want := "router bgp 65000\n  router-id 10.255.0.1\n  neighbor 10.0.0.1\n    remote-as 65001\n    description upstream\n  neighbor 10.0.0.2\n    remote-as 65003\n    shutdown"
	if cfg := d.RunningConfig(); !strings.Contains(cfg, want) {
		t.Fatalf("running config:\n%s\nwant it to contain:\n%s", cfg, want)
	}
	tm.expect("configure terminal")
	tm.expect("router bgp 65000")
	tm.expect("no neighbor 10.0.0.1")
	tm.expect("neighbor 10.0.0.2")
	tm.expect("no shutdown")
	tm.expect("interface Ethernet1/1", "(config-if)") // a top-level command leaves the sub-modes
	tm.expect("end")
	want = "router bgp 65000\n  router-id 10.255.0.1\n  neighbor 10.0.0.2\n    remote-as 65003\n"
	if cfg := d.RunningConfig(); !strings.Contains(cfg+"\n", want) || strings.Contains(cfg, "10.0.0.1") {
		t.Fatalf("running config:\n%s\nwant it to contain:\n%s", cfg, want)
	}
}

// IOS and EOS neighbour statements are one line each; a new value of a
// neighbour setting replaces the old one and "no neighbor A" removes all.
func TestOneLineNeighbourStatements(t *testing.T) {
	for _, p := range []string{"cisco_iosxe", "arista_eos"} {
		t.Run(p, func(t *testing.T) {
			lab := startLab(t, devicetest.Spec{Name: "r1", Platform: p, RunningConfig: "hostname r1\n!\nend"})
			d := lab.Device("r1")
			tm := dial(t, d)
			tm.expect("configure terminal")
			for _, l := range []string{"router bgp 65000", "neighbor 10.0.0.1 remote-as 65001", "neighbor 10.0.0.1 description a",
				"neighbor 10.0.0.1 description b", "neighbor 10.0.0.2 remote-as 65002", "neighbor 10.0.0.2 shutdown", "no neighbor 10.0.0.2 shutdown"} {
				tm.expect(l)
			}
			cfg := d.RunningConfig()
			if !strings.Contains(cfg, "neighbor 10.0.0.1 description b") || strings.Contains(cfg, "description a") || strings.Contains(cfg, "10.0.0.2 shutdown") {
				t.Fatalf("running config:\n%s", cfg)
			}
			tm.expect("no neighbor 10.0.0.1")
			if cfg := d.RunningConfig(); strings.Contains(cfg, "10.0.0.1") || !strings.Contains(cfg, "neighbor 10.0.0.2 remote-as 65002") {
				t.Fatalf("after no neighbor:\n%s", cfg)
			}
		})
	}
}

// DynamicCommands answer from the configuration in force at the time.
func TestDynamicCommands(t *testing.T) {
	lab := startLab(t, devicetest.Spec{Name: "r1", Platform: "arista_eos", RunningConfig: "hostname r1\n!\nend",
		DynamicCommands: map[string]func(string) string{"show neighbours": func(cfg string) string {
			return "count " + string(rune('0'+strings.Count(cfg, "remote-as")))
		}}})
	tm := dial(t, lab.Device("r1"))
	tm.expect("show neighbours", "count 0")
	tm.expect("configure terminal")
	tm.expect("router bgp 1")
	tm.expect("neighbor 10.0.0.1 remote-as 2")
	tm.expect("end")
	tm.expect("show neighbours", "count 1")
}
