package device

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
)

func TestSessionPerPlatform(t *testing.T) {
	cases := []struct {
		name, platform, sim, command, want, bad, badMsg, running string
	}{
		{"ios", "cisco_iosxe", "oxidized_ios_C9200L_17.09.04a_simulation.yaml", "show version", "Version 17.09.04a", "show versoin", "% Invalid input detected at '^' marker.", "hostname LAB-SW123_9200L"},
		{"nxos", "cisco_nxos", "oxidized_nxos_C93180YC_10.4.5_simulation.yaml", "show version", "NXOS: version 10.4(5)", "show versoin", "% Invalid command at '^' marker.", "hostname TEST-12345"},
		{"eos", "arista_eos", "oxidized_eos_DCS-7050SX3_4.29.2F_simulation.yaml", "show inventory | no-more", "DCS-7050SX3-48YC8", "show versoin", "% Invalid input (at token 1: 'versoin')", "hostname eos-test-01"},
		{"srx", "juniper_junos", "oxidized_junos_srx300_22.4_simulation.yaml", "show version", "Junos: 22.4R3-S2.11", "show versoin", "syntax error, expecting <command>.", "host-name"},
	}
	var specs []devicetest.Spec
	for _, c := range cases {
		specs = append(specs, simSpec(t, c.name, c.platform, c.sim))
	}
	specs[3].RunningConfig = strings.Replace(specs[3].RunningConfig, "system {", "system {\n    host-name srx;", 1)
	lab := startLab(t, specs...)
	ctx := context.Background()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Open(ctx, hostFor(t, lab, c.name), testSecrets)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			res, err := s.Send(ctx, c.command, c.bad)
			var cerr *CommandError
			if ClassOf(err) != CommandFailed || !errors.As(err, &cerr) || cerr.Message != c.badMsg {
				t.Fatalf("send: want command_failed with %q, got %v", c.badMsg, err)
			}
			if len(res) != 2 || res[0].Err != nil || !strings.Contains(res[0].Output, c.want) || res[1].Err == nil {
				t.Fatalf("results: %+v", res)
			}
			cfg, err := s.RunningConfig(ctx)
			if err != nil || !strings.Contains(cfg, c.running) {
				t.Fatalf("running config: %v\n%s", err, cfg)
			}
		})
	}
}

func TestConfigurePushWithDiff(t *testing.T) {
	lab := startLab(t, devicetest.GeneratedSpec("r1"))
	s, err := Open(context.Background(), hostFor(t, lab, "r1"), testSecrets)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	change, err := s.Configure(context.Background(), []string{"interface GigabitEthernet2", "description core link", "ip address 198.51.100.1 255.255.255.0", "no shutdown"})
	if err != nil {
		t.Fatal(err)
	}
	want := "--- r1 (before)\n+++ r1 (after)\n@@ -14,9 +14,8 @@\n  ip address 192.0.2.1 255.255.255.0\n !\n interface GigabitEthernet2\n- description uplink\n- no ip address\n- shutdown\n+ description core link\n+ ip address 198.51.100.1 255.255.255.0\n !\n snmp-server community <secret-removed> RO\n !\n"
	if !change.Changed || change.Diff != want {
		t.Errorf("diff:\n%s\nwant:\n%s", change.Diff, want)
	}
	if lab.Device("r1").RunningConfig() != change.After {
		t.Errorf("After is not the device's running config")
	}
	again, err := s.Configure(context.Background(), []string{"interface GigabitEthernet2", "description core link"})
	if err != nil || again.Changed || again.Diff != "" {
		t.Errorf("repeating a setting: changed=%v err=%v diff:\n%s", again.Changed, err, again.Diff)
	}
	bad, err := s.Configure(context.Background(), []string{"interface GigabitEthernet2", "frobnicate now", "description never"})
	if ClassOf(err) != CommandFailed || len(bad.Results) != 2 || bad.Changed {
		t.Errorf("rejected line: class %s, %d results, changed %v", ClassOf(err), len(bad.Results), bad.Changed)
	}
}

func TestSessionFaultClasses(t *testing.T) {
	gen := func(name string, faults ...devicetest.Fault) devicetest.Spec {
		s := devicetest.GeneratedSpec(name)
		s.Faults = faults
		return s
	}
	lab := startLab(t,
		gen("ok"),
		gen("badauth", devicetest.Fault{Kind: devicetest.FaultRejectAuth}),
		gen("hangconnect", devicetest.Fault{Kind: devicetest.FaultHangOnConnect}),
		gen("hang", devicetest.Fault{Kind: devicetest.FaultHang, Command: "show running-config"}),
		gen("drop", devicetest.Fault{Kind: devicetest.FaultDisconnect, Command: "show running-config"}),
		func() devicetest.Spec { s := gen("enable"); s.EnableSecret = "en-secret"; return s }(),
		func() devicetest.Spec { s := gen("old"); s.LegacySSH = true; return s }(),
	)
	legacy := true
	cases := []struct {
		device string
		edit   func(*Host)
		want   Class
	}{
		{"ok", nil, Unchanged},
		{"ok", func(h *Host) { h.PasswordSecret = "wrong" }, AuthFailed},
		{"badauth", nil, AuthFailed},
		{"ok", func(h *Host) { h.Port = closedPort(t) }, Unreachable},
		{"ok", func(h *Host) {
			h.KnownHostsFile = writeFile(t, "[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE3zSmkd2Cy5ulCEjrJ7nPIwJDR2aG9L7pCJ/7MRjjrx\n")
		}, Unreachable},
		{"hangconnect", nil, TimedOut},
		{"hang", nil, TimedOut},
		{"drop", nil, Failed},
		{"enable", func(h *Host) { h.EnableSecret = "enable" }, Unchanged},
		{"enable", func(h *Host) { h.EnableSecret = "wrong" }, AuthFailed},
		{"enable", func(h *Host) { h.EnableSecret = "missing" }, Failed},
		{"old", nil, Unreachable},
		{"old", func(h *Host) { h.LegacyAlgorithms = &legacy }, Unchanged},
	}
	for _, c := range cases {
		t.Run(string(c.want)+"/"+c.device, func(t *testing.T) {
			h := hostFor(t, lab, c.device)
			if c.want == TimedOut {
				h.ConnectTimeout, h.OperationTimeout = 500*time.Millisecond, 500*time.Millisecond
			}
			if c.edit != nil {
				c.edit(&h)
			}
			err := With(context.Background(), h, testSecrets, func(s *Session) error {
				_, err := s.RunningConfig(context.Background())
				return err
			})
			if got := ClassOf(err); got != c.want {
				t.Errorf("class %s, want %s (err %v)", got, c.want, err)
			}
			if err != nil && strings.Contains(err.Error(), "admin") {
				t.Errorf("error leaks a secret value: %v", err)
			}
		})
	}
}

func TestNoLeakAfterCancel(t *testing.T) {
	hang := devicetest.GeneratedSpec("hang")
	hang.Faults = []devicetest.Fault{{Kind: devicetest.FaultHang, Command: "show running-config"}}
	slow := devicetest.GeneratedSpec("slow")
	slow.Latency = 200 * time.Millisecond
	lab := startLab(t, hang, slow, devicetest.GeneratedSpec("fine"))
	hosts := []Host{hostFor(t, lab, "hang"), hostFor(t, lab, "slow"), hostFor(t, lab, "fine")}
	runtime := func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, len(hosts))
		for _, h := range hosts {
			go func() {
				done <- With(ctx, h, testSecrets, func(s *Session) error {
					_, err := s.RunningConfig(ctx)
					return err
				})
			}()
		}
		// "fine" finishes; cancel the rest while they are connected or waiting.
		first := <-done
		cancel()
		errs := []error{first, <-done, <-done}
		timedOut := 0
		for _, err := range errs {
			if ClassOf(err) == TimedOut {
				timedOut++
			}
		}
		if timedOut < 1 {
			t.Errorf("no operation was interrupted by the cancel: %v", errs)
		}
	}
	runtime() // warm up lazily started goroutines (e.g. resolver, timers)
	waitConns(t, lab)
	before := settleGoroutines(0)
	for range 3 {
		runtime()
	}
	waitConns(t, lab)
	if after := settleGoroutines(before); after > before {
		t.Errorf("goroutines: %d before, %d after cancelled sessions", before, after)
	}
}

// waitConns waits (bounded) until the lab sees no open connection.
func waitConns(t *testing.T, lab *devicetest.Lab) {
	t.Helper()
	for i := 0; i < 300 && lab.OpenConns() > 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if n := lab.OpenConns(); n > 0 {
		t.Fatalf("%d connections still open on the devices", n)
	}
}

func TestConfigureJunosCommits(t *testing.T) {
	lab := startLab(t, simSpec(t, "srx", "juniper_junos", "oxidized_junos_srx300_22.4_simulation.yaml"))
	var change *ConfigChange
	err := With(context.Background(), hostFor(t, lab, "srx"), testSecrets, func(s *Session) error {
		var err error
		change, err = s.Configure(context.Background(), []string{"set snmp contact noc@example.net", "delete system phone-home"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"+    contact noc@example.net;", "-    phone-home {"} {
		if !strings.Contains(change.Diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, change.Diff)
		}
	}
	if strings.Contains(change.Diff, "Last commit") || strings.Contains(change.Diff, "very-secret") {
		t.Errorf("diff shows noise or secrets:\n%s", change.Diff)
	}
}

func TestWithClosesOnPanic(t *testing.T) {
	lab := startLab(t, devicetest.GeneratedSpec("p1"))
	h := hostFor(t, lab, "p1")
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the task's panic", p)
			}
		}()
		_ = With(context.Background(), h, testSecrets, func(s *Session) error {
			if lab.OpenConns() != 1 {
				t.Errorf("%d connections while the session is open", lab.OpenConns())
			}
			panic("boom")
		})
	}()
	waitConns(t, lab)
}
