package devicetest_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/netauto-dev/netauto/flow/flowtest"
)

// Configurations with a BGP instance (AS 65000, router id 10.255.0.1)
// whose neighbour 10.0.0.1 (AS 65001, "upstream") is enabled and 10.0.0.3
// (AS 65003) shut down.
var bgpConfigs = map[string]string{
	"cisco_iosxe":   "hostname r1\n!\nrouter bgp 65000\n bgp router-id 10.255.0.1\n neighbor 10.0.0.1 remote-as 65001\n neighbor 10.0.0.1 description upstream\n neighbor 10.0.0.3 remote-as 65003\n neighbor 10.0.0.3 shutdown\n!\nend",
	"arista_eos":    "hostname r1\n!\nrouter bgp 65000\n   router-id 10.255.0.1\n   neighbor 10.0.0.1 remote-as 65001\n   neighbor 10.0.0.1 description upstream\n   neighbor 10.0.0.3 remote-as 65003\n   neighbor 10.0.0.3 shutdown\n!\nend",
	"cisco_nxos":    "hostname r1\n\nrouter bgp 65000\n  router-id 10.255.0.1\n  neighbor 10.0.0.1\n    remote-as 65001\n    description upstream\n  neighbor 10.0.0.3\n    remote-as 65003\n    shutdown\n",
	"juniper_junos": "system {\n    host-name r1;\n}\nprotocols {\n    bgp {\n        group peers {\n            type external;\n            neighbor 10.0.0.1 {\n                description \"upstream\";\n                peer-as 65001;\n            }\n            neighbor 10.0.0.3 {\n                peer-as 65003;\n                shutdown;\n            }\n        }\n    }\n}\nrouting-options {\n    router-id 10.255.0.1;\n    autonomous-system 65000;\n}",
}

// configure types lines in configuration mode (committed on Junos).
func configure(tm *term, platform string, lines ...string) {
	tm.t.Helper()
	if platform == "juniper_junos" {
		tm.expect("configure")
		for _, l := range lines {
			tm.refuse(l, "error", "syntax")
		}
		tm.expect("commit", "commit complete")
		tm.expect("exit")
		return
	}
	tm.expect("configure terminal")
	for _, l := range lines {
		tm.refuse(l, "% ")
	}
	tm.expect("end")
}

// neighborLines are the lines configuring a neighbour with its remote AS,
// or setting one of its settings, on each platform.
func neighborLines(platform, addr, setting string) []string {
	switch platform {
	case "juniper_junos":
		setting = strings.Replace(setting, "remote-as", "peer-as", 1)
		setting = strings.Replace(setting, "password", "authentication-key", 1)
		setting = strings.Replace(setting, "update-source", "local-address", 1)
		return []string{"set protocols bgp group peers neighbor " + addr + " " + setting}
	case "cisco_nxos":
		return []string{"router bgp 65000", "neighbor " + addr, setting}
	}
	return []string{"router bgp 65000", "neighbor " + addr + " " + setting}
}

// summaryCommand is the summary listing IPv4 (v6 false) or IPv6 sessions.
func summaryCommand(platform string, v6 bool) string {
	cmds := confparse.SummaryCommands(platform, v6)
	return cmds[len(cmds)-1]
}

func bgpLab(t *testing.T, platform string, bgp devicetest.BGP, opts ...devicetest.Option) (*devicetest.Device, *term) {
	t.Helper()
	lab, err := devicetest.Start(context.Background(), []devicetest.Spec{{Name: "r1", Platform: platform, RunningConfig: bgpConfigs[platform], BGP: &bgp}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	d := lab.Device("r1")
	return d, dial(t, d)
}

// stateOf reads one session's state the way a client does: the summary's
// text, parsed.
func stateOf(tm *term, platform, addr string) (state, out string) {
	tm.t.Helper()
	out = tm.send(summaryCommand(platform, confparse.IsIPv6(addr)))
	return confparse.ParseBGPSummary(out)[addr], out
}

// A neighbour added to a running device is not Established at once: the
// summary shows it Idle, Connect, OpenSent (over the three reads of
// DefaultEstablishPolls) in the platform's words, then Established; the
// sessions already up and shut down show as before, in each platform's
// words, and confparse reads all of it.
func TestBGPSessionComesUpOverPolls(t *testing.T) {
	admin := map[string]string{"cisco_iosxe": "Idle (Admin)", "cisco_nxos": "Shut (Admin)", "arista_eos": "Idle(Admin)", "juniper_junos": "10.0.0.3 "}
	// The new session's line once up: the prefix count (IOS-XE, NX-OS),
	// "Estab" with PfxRcd and PfxAcc (EOS), "Establ" and the RIB line
	// (Junos).
	up := map[string]string{"cisco_iosxe": "00:00:00        7\n", "cisco_nxos": "00:00:00 7\n", "arista_eos": "00:00:00 Estab   7      7\n", "juniper_junos": "0 Establ\n  inet.0: 7/7/7/0"}
	for _, p := range devicetest.Platforms() {
		t.Run(p, func(t *testing.T) {
			d, tm := bgpLab(t, p, devicetest.BGP{Peers: map[string]devicetest.BGPPeer{"10.0.0.5": {Prefixes: 7}}})
			st, out := stateOf(tm, p, "10.0.0.1")
			if st != "Established" || !strings.Contains(out, admin[p]) {
				t.Fatalf("before the change: 10.0.0.1 %q, want Established; shut neighbour shown with %q:\n%s", st, admin[p], out)
			}
			if got := confparse.ParseBGPSummary(out)["10.0.0.3"]; got != "Idle" {
				t.Errorf("shut neighbour read as %q, want Idle", got)
			}
			configure(tm, p, neighborLines(p, "10.0.0.5", "remote-as 65005")...)
			var seen []string
			for range 4 {
				st, out = stateOf(tm, p, "10.0.0.5")
				seen = append(seen, st)
			}
			if want := []string{"Idle", "Connect", "OpenSent", "Established"}; !reflect.DeepEqual(seen, want) {
				t.Errorf("new session over four reads: %q, want %q", seen, want)
			}
			if !strings.Contains(out, up[p]) {
				t.Errorf("Established session lacks %q:\n%s", up[p], out)
			}
			if st := d.BGPState("10.0.0.5"); st != "Established" {
				t.Errorf("BGPState = %q", st)
			}
		})
	}
}

// A description change leaves a session up; a change of the remote AS, the
// password or the update source restarts it from Idle; shutting it down
// shows it administratively down, and enabling it again starts over.
func TestBGPSessionResets(t *testing.T) {
	for _, p := range devicetest.Platforms() {
		t.Run(p, func(t *testing.T) {
			d, tm := bgpLab(t, p, devicetest.BGP{})
			step := func(what string, lines []string, want string) {
				t.Helper()
				configure(tm, p, lines...)
				if st, out := stateOf(tm, p, "10.0.0.1"); st != want {
					t.Fatalf("after %s: 10.0.0.1 %q, want %q:\n%s", what, st, want, out)
				}
				for i := 0; i < 3 && want != "Established"; i++ {
					stateOf(tm, p, "10.0.0.1") // let it come up again
				}
			}
			desc := `description "renamed"`
			if p != "juniper_junos" {
				desc = "description renamed"
			}
			step("a new description", neighborLines(p, "10.0.0.1", desc), "Established")
			step("a new remote AS", neighborLines(p, "10.0.0.1", "remote-as 65011"), "Idle")
			step("a password", neighborLines(p, "10.0.0.1", "password s3cret"), "Idle")
			src := "update-source Loopback0"
			if p == "juniper_junos" {
				src = "update-source 10.255.0.1"
			}
			step("an update source", neighborLines(p, "10.0.0.1", src), "Idle")
			if st := d.BGPState("10.0.0.1"); st != "Established" {
				t.Fatalf("after three more reads: %q", st)
			}
			shut := neighborLines(p, "10.0.0.1", "shutdown")
			if p == "juniper_junos" {
				shut = []string{"set protocols bgp group peers neighbor 10.0.0.1 shutdown"}
			}
			step("shutdown", shut, "Idle")
			if st := d.BGPState("10.0.0.1"); st != "Idle" {
				t.Errorf("shut down: %q", st)
			}
		})
	}
}

// A change takes effect as it is typed (when committed, on Junos): a
// remote AS changed and changed back before anyone reads the summary still
// reset the session, and a Junos commit confirmed that rolls back resets it
// again.
func TestBGPResetBetweenReads(t *testing.T) {
	for _, p := range []string{"cisco_iosxe", "juniper_junos"} {
		t.Run(p, func(t *testing.T) {
			d, tm := bgpLab(t, p, devicetest.BGP{})
			// On Junos a candidate changed and changed back commits
			// nothing: two commits.
			configure(tm, p, neighborLines(p, "10.0.0.1", "remote-as 65011")...)
			configure(tm, p, neighborLines(p, "10.0.0.1", "remote-as 65001")...)
			if st, out := stateOf(tm, p, "10.0.0.1"); st != "Idle" {
				t.Fatalf("after a change and its undo: %q, want Idle (reset)\n%s", st, out)
			}
			if p != "juniper_junos" {
				return
			}
			for range 3 {
				stateOf(tm, p, "10.0.0.1")
			}
			tm.expect("configure")
			tm.expect("set protocols bgp group peers neighbor 10.0.0.1 peer-as 65012")
			tm.expect("commit confirmed 5", "commit complete")
			tm.expect("exit")
			for range 4 {
				stateOf(tm, p, "10.0.0.1")
			}
			if !d.ExpireConfirmedCommit() {
				t.Fatal("no commit confirmed pending")
			}
			if st, out := stateOf(tm, p, "10.0.0.1"); st != "Idle" || !strings.Contains(out, "65001") {
				t.Errorf("after the automatic rollback: %q, want Idle with AS 65001\n%s", st, out)
			}
		})
	}
}

// A peer that never answers stays Active, one running another AS falls
// back to Idle, whatever the number of reads and the time; when the peer
// is fixed (SetBGPPeer) the session comes up like a new one.
func TestBGPSessionThatNeverComesUp(t *testing.T) {
	for _, p := range devicetest.Platforms() {
		t.Run(p, func(t *testing.T) {
			clk := flowtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			d, tm := bgpLab(t, p, devicetest.BGP{EstablishAfter: time.Minute, Peers: map[string]devicetest.BGPPeer{
				"10.0.0.5": {Down: true}, "10.0.0.6": {AS: 65099},
			}}, devicetest.WithClock(clk))
			configure(tm, p, append(neighborLines(p, "10.0.0.5", "remote-as 65005"), neighborLines(p, "10.0.0.6", "remote-as 65006")...)...)
			var down, refused []string
			for range 8 {
				st, _ := stateOf(tm, p, "10.0.0.5")
				down = append(down, st)
				st, _ = stateOf(tm, p, "10.0.0.6")
				refused = append(refused, st)
				clk.Advance(20 * time.Second)
			}
			if want := []string{"Idle", "Connect", "Active", "Active", "Active", "Active", "Active", "Active"}; !reflect.DeepEqual(down, want) {
				t.Errorf("unanswered peer: %q, want %q", down, want)
			}
			if want := []string{"Idle", "Connect", "OpenSent", "Idle", "Idle", "Idle", "Idle", "Idle"}; !reflect.DeepEqual(refused, want) {
				t.Errorf("peer of another AS: %q, want %q", refused, want)
			}
			if err := d.SetBGPPeer("10.0.0.5", devicetest.BGPPeer{}); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				stateOf(tm, p, "10.0.0.5")
			}
			clk.Advance(time.Minute)
			if st, out := stateOf(tm, p, "10.0.0.5"); st != "Established" {
				t.Errorf("fixed peer after its time and reads: %q\n%s", st, out)
			}
		})
	}
}

// With EstablishPolls negative, time on the lab's clock alone brings a
// session up: reads without time passing do not. Every state on the way
// is printed as the platform prints it and read back by confparse.
func TestBGPSessionComesUpByClock(t *testing.T) {
	for _, p := range devicetest.Platforms() {
		t.Run(p, func(t *testing.T) {
			clk := flowtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
			d, tm := bgpLab(t, p, devicetest.BGP{EstablishPolls: -1, EstablishAfter: 50 * time.Second}, devicetest.WithClock(clk))
			configure(tm, p, neighborLines(p, "10.0.0.5", "remote-as 65005")...)
			for range 5 {
				if st, _ := stateOf(tm, p, "10.0.0.5"); st != "Idle" {
					t.Fatalf("without time passing: %q", st)
				}
			}
			var seen, direct []string
			for range 6 {
				direct = append(direct, d.BGPState("10.0.0.5"))
				st, out := stateOf(tm, p, "10.0.0.5")
				if !strings.Contains(out, st) && st != "Established" {
					t.Errorf("%s not printed as such:\n%s", st, out)
				}
				seen = append(seen, st)
				clk.Advance(10 * time.Second)
			}
			want := []string{"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established"}
			if !reflect.DeepEqual(seen, want) || !reflect.DeepEqual(direct, want) {
				t.Errorf("over 50 s: summary %q, BGPState %q, want %q", seen, direct, want)
			}
		})
	}
}

// The IPv6 summary lists the IPv6 sessions (on Junos the one summary lists
// both); a long address or a 4-byte AS wraps the line where IOS and NX-OS
// wrap it, and confparse reads it.
func TestBGPSummaryIPv6AndWideColumns(t *testing.T) {
	for _, p := range devicetest.Platforms() {
		t.Run(p, func(t *testing.T) {
			d, tm := bgpLab(t, p, devicetest.BGP{EstablishPolls: -1})
			configure(tm, p, append(neighborLines(p, "2001:db8:ffff:100::1", "remote-as 4200000001"), neighborLines(p, "10.0.0.9", "remote-as 4200000009")...)...)
			st6, out6 := stateOf(tm, p, "2001:db8:ffff:100::1")
			st4, out4 := stateOf(tm, p, "10.0.0.9")
			if st6 != "Established" || st4 != "Established" {
				t.Fatalf("IPv6 %q, IPv4 %q:\n%s\n%s", st6, st4, out6, out4)
			}
			if p != "juniper_junos" && (strings.Contains(out4, "2001:db8") || strings.Contains(out6, "10.0.0.1 ")) {
				t.Errorf("summaries mix the families:\n%s\n%s", out4, out6)
			}
			if p == "cisco_nxos" && !strings.Contains(out4, "10.0.0.9        4 4200000009\n") {
				t.Errorf("NX-OS 4-byte AS not wrapped:\n%s", out4)
			}
			if p == "cisco_iosxe" && !strings.Contains(out6, "2001:db8:ffff:100::1\n ") {
				t.Errorf("IOS long address not alone on its line:\n%s", out6)
			}
			if d.BGPState("2001:DB8:FFFF:100::1") != "Established" {
				t.Error("BGPState of a differently spelt address")
			}
		})
	}
}

// Without a BGP instance each platform says so; NX-OS, whose BGP commands
// come with the feature, refuses the command.
func TestBGPNotRunning(t *testing.T) {
	want := map[string]string{"cisco_iosxe": "% BGP not active", "arista_eos": "% BGP inactive", "juniper_junos": "BGP is not running", "cisco_nxos": "% Invalid command at '^' marker."}
	for _, p := range devicetest.Platforms() {
		lab := startLab(t, devicetest.Spec{Name: "r-" + p, Platform: p, RunningConfig: "hostname r1\n", BGP: &devicetest.BGP{}})
		tm := dial(t, lab.Device("r-"+p))
		tm.expect(summaryCommand(p, false), want[p])
	}
}

// Junos: a deactivated neighbour is not running, so not listed (the
// "shutdown" one is listed Idle: TestBGPSessionComesUpOverPolls). Output
// filters apply to summaries.
func TestBGPJunosInactiveAndFilters(t *testing.T) {
	d, tm := bgpLab(t, "juniper_junos", devicetest.BGP{})
	configure(tm, "juniper_junos", "deactivate protocols bgp group peers neighbor 10.0.0.1")
	if st, out := stateOf(tm, "juniper_junos", "10.0.0.1"); st != "" || !strings.Contains(out, "Peers: 1 Down peers: 1") {
		t.Errorf("deactivated neighbour listed (%q):\n%s", st, out)
	}
	if d.BGPState("10.0.0.1") != "" {
		t.Error("BGPState of a deactivated neighbour")
	}
	_, tm = bgpLab(t, "cisco_iosxe", devicetest.BGP{})
	out := tm.expect("show ip bgp summary | include 10.0.0.3", "10.0.0.3")
	if strings.Contains(out, "10.0.0.1") || strings.Contains(out, "router identifier") {
		t.Errorf("filter not applied:\n%s", out)
	}
}

// Spec.BGP is checked when the lab starts, naming the field; SetBGPPeer
// checks its arguments.
func TestBGPSpecErrors(t *testing.T) {
	for name, bgp := range map[string]devicetest.BGP{
		"BGP.Peers[\"peer\"]":         {Peers: map[string]devicetest.BGPPeer{"peer": {}}},
		"BGP.EstablishAfter":          {EstablishAfter: -time.Second},
		"BGP.Peers[\"10.0.0.1\"]: AS": {Peers: map[string]devicetest.BGPPeer{"10.0.0.1": {AS: 1 << 32}}},
	} {
		_, err := devicetest.Start(context.Background(), []devicetest.Spec{{Name: "r1", Platform: "cisco_iosxe", BGP: &bgp}})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: err %v", name, err)
		}
	}
	d, _ := bgpLab(t, "cisco_iosxe", devicetest.BGP{})
	if err := d.SetBGPPeer("x", devicetest.BGPPeer{}); err == nil {
		t.Error("SetBGPPeer of a bad address")
	}
	lab := startLab(t, devicetest.Spec{Name: "plain", Platform: "cisco_iosxe"})
	if err := lab.Device("plain").SetBGPPeer("10.0.0.1", devicetest.BGPPeer{}); err == nil || lab.Device("plain").BGPState("10.0.0.1") != "" {
		t.Error("a device without Spec.BGP")
	}
}
