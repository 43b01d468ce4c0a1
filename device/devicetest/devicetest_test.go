package devicetest_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/transport"
	"github.com/scrapli/scrapligo/util"
)

func simSpec(t *testing.T, name, plat, file string) devicetest.Spec {
	t.Helper()
	s, err := devicetest.LoadSimulation(plat, "testdata/"+file)
	if err != nil {
		t.Fatal(err)
	}
	s.Name = name
	if s.Hostname == "" {
		s.Hostname = name
	}
	return s
}

func startLab(t *testing.T, specs ...devicetest.Spec) *devicetest.Lab {
	t.Helper()
	lab, err := devicetest.Start(context.Background(), specs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	return lab
}

func open(t *testing.T, d *devicetest.Device, user, pass string, extra ...util.Option) *network.Driver {
	t.Helper()
	opts := []util.Option{
		options.WithTransportType(transport.StandardTransport),
		options.WithPort(d.Port()),
		options.WithAuthUsername(user),
		options.WithAuthPassword(pass),
		options.WithAuthNoStrictKey(),
		options.WithTimeoutOps(30 * time.Second),
		options.WithTimeoutSocket(30 * time.Second),
	}
	opts = append(opts, extra...)
	p, err := platform.NewPlatform(d.Platform(), "127.0.0.1", opts...)
	if err != nil {
		t.Fatal(err)
	}
	drv, err := p.GetNetworkDriver()
	if err != nil {
		t.Fatal(err)
	}
	if err := drv.Open(); err != nil {
		t.Fatalf("open %s: %v", d.Name(), err)
	}
	t.Cleanup(func() { _ = drv.Close() })
	return drv
}

func TestSimulationsWithScrapligo(t *testing.T) {
	cases := []struct {
		name, platform, file, command, want, bad, badErr, runningWant string
	}{
		{"ios", "cisco_iosxe", "oxidized_ios_C9200L_17.09.04a_simulation.yaml", "show vtp status", "VTP Domain Name                 : Oxidized", "show vtp statuz", "% Invalid input detected at '^' marker.", "hostname LAB-SW123_9200L"},
		{"nxos", "cisco_nxos", "oxidized_nxos_C93180YC_10.4.5_simulation.yaml", "show inventory all", "NXA-PAC-650W-PI", "show inventory al", "% Invalid command at '^' marker.", "hostname TEST-12345"},
		{"eos", "arista_eos", "oxidized_eos_DCS-7050SX3_4.29.2F_simulation.yaml", "show inventory | no-more", "SSJ00000000", "show inventori", "% Invalid input (at token 1: 'inventori')", "hostname eos-test-01"},
		{"srx1", "juniper_junos", "oxidized_junos_srx300_22.4_simulation.yaml", "show chassis hardware", "RE-SRX300", "show chassis hardwar", "syntax error, expecting <command>.", "version 22.4R3-S2.11;"},
	}
	var specs []devicetest.Spec
	for _, c := range cases {
		specs = append(specs, simSpec(t, c.name, c.platform, c.file))
	}
	lab := startLab(t, specs...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			drv := open(t, lab.Device(c.name), "admin", "admin")
			r, err := drv.SendCommand(c.command)
			if err != nil || r.Failed != nil {
				t.Fatalf("send %q: %v %v", c.command, err, r.Failed)
			}
			if !strings.Contains(r.Result, c.want) {
				t.Errorf("%q output lacks %q:\n%s", c.command, c.want, r.Result)
			}
			r, err = drv.SendCommand(c.bad)
			if err != nil {
				t.Fatal(err)
			}
			if r.Failed == nil || !strings.Contains(r.Result, c.badErr) {
				t.Errorf("%q: want failure with %q, got %v:\n%s", c.bad, c.badErr, r.Failed, r.Result)
			}
			cmd := "show running-config"
			if c.platform == "juniper_junos" {
				cmd = "show configuration"
			}
			r, err = drv.SendCommand(cmd)
			if err != nil || r.Failed != nil || !strings.Contains(r.Result, c.runningWant) {
				t.Errorf("running config: %v %v lacks %q:\n%s", err, r.Failed, c.runningWant, r.Result)
			}
		})
	}
}

func TestCisshgoChangeYieldsAfterConfig(t *testing.T) {
	read := func(f string) string {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		return strings.ReplaceAll(strings.TrimRight(string(b), "\n"), "{{.Hostname}}", "csr1")
	}
	lab := startLab(t, devicetest.Spec{Name: "csr1", Platform: "cisco_iosxe", RunningConfig: read("cisshgo_csr1000v_running_before.txt"), EnableSecret: "en"})
	drv := open(t, lab.Device("csr1"), "admin", "admin", options.WithAuthSecondary("en"))
	r, err := drv.SendConfigs([]string{
		"interface GigabitEthernet0/0/2",
		"description added-in-scenario",
		"ip address 172.16.0.1 255.255.255.0",
		"no shutdown",
	})
	if err != nil || r.Failed != nil {
		t.Fatalf("send configs: %v %v", err, r.Failed)
	}
	got, err := drv.SendCommand("show running-config")
	if err != nil || got.Failed != nil {
		t.Fatal(err, got.Failed)
	}
	want := read("cisshgo_csr1000v_running_after.txt")
	// The fixture's size header is synthetic (1912 bytes for a 346-byte
	// file); the fake prints the real size, as a device does.
	_, rest, _ := strings.Cut(want, "Current configuration : 1912 bytes\n")
	want = strings.Replace(want, "1912", strconv.Itoa(len(rest)+1), 1)
	if got.Result != want {
		t.Errorf("running config after change:\n%s\nwant:\n%s", got.Result, want)
	}
}

func TestPlatformCommands(t *testing.T) {
	lab := startLab(t,
		devicetest.Spec{Name: "ios", Platform: "cisco_iosxe", RunningConfig: "hostname ios\nend"},
		devicetest.Spec{Name: "nxos", Platform: "cisco_nxos", RunningConfig: "hostname nxos"},
		devicetest.Spec{Name: "eos", Platform: "arista_eos", RunningConfig: "hostname eos\nend"},
		devicetest.Spec{Name: "junos", Platform: "juniper_junos", RunningConfig: "system { host-name junos; }"},
	)
	cases := []struct {
		device, command, want string
		failed                bool
	}{
		{"ios", "terminal width 600", "                  ^\n% Invalid input detected at '^' marker.", true},
		{"ios", "terminal width 0", "", false},
		{"ios", "frobnicate", `Translating "frobnicate"`, true},
		{"nxos", "terminal width 12", "% Invalid command at '^' marker.", true},
		{"eos", "terminal length 0", "Pagination disabled.", false},
		{"eos", "terminal width 32767", "Width set to 32767 columns.", false},
		{"eos", "show running-config | include hostname", "hostname eos", false},
		{"eos", "show running-config | grep x", "% Invalid input (at token 3: 'grep')", true},
		{"junos", "set cli screen-width 511", "Screen width set to 511", false},
		{"junos", "frobnicate", "unknown command.", true},
	}
	drivers := map[string]*network.Driver{}
	for _, d := range lab.Devices() {
		drivers[d.Name()] = open(t, d, "admin", "admin")
	}
	for _, c := range cases {
		r, err := drivers[c.device].SendCommand(c.command)
		if err != nil {
			t.Fatalf("%s %q: %v", c.device, c.command, err)
		}
		if (r.Failed != nil) != c.failed || !strings.Contains(r.Result, c.want) {
			t.Errorf("%s %q: failed=%v output:\n%s\nwant failed=%v containing %q", c.device, c.command, r.Failed, r.Result, c.failed, c.want)
		}
	}
}

func TestEnableAndAuthMethods(t *testing.T) {
	lab := startLab(t,
		devicetest.Spec{Name: "kbi", Platform: "cisco_iosxe", EnableSecret: "s3", Auth: []devicetest.AuthMethod{devicetest.AuthKeyboardInteractive}, RunningConfig: "hostname kbi\nend"},
		devicetest.Spec{Name: "pw", Platform: "arista_eos", EnableSecret: "s4", Auth: []devicetest.AuthMethod{devicetest.AuthPassword}, RunningConfig: "hostname pw\nend"},
	)
	for _, d := range lab.Devices() {
		secret := map[string]string{"kbi": "s3", "pw": "s4"}[d.Name()]
		drv := open(t, d, "admin", "admin", options.WithAuthSecondary(secret))
		r, err := drv.SendCommand("show running-config")
		if err != nil || r.Failed != nil || !strings.Contains(r.Result, "hostname "+d.Name()) {
			t.Errorf("%s: privileged command after enable: %v %v %q", d.Name(), err, r.Failed, r.Result)
		}
	}
}
