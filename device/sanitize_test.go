package device

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Every secret value present in the fixture configurations (testdata copies
// of ../shared/fixtures/devices): none may survive Clean.
func TestSanitizeFixtures(t *testing.T) {
	cases := []struct {
		file, platform string
		secrets        []string
		kept           []string
		noise          []string
	}{
		{"napalm_ios_show_running_config.txt", "cisco_iosxe",
			[]string{"enable password cisco", "password 0 cisco"},
			[]string{"hostname CSR1", "interface Loopback0"},
			[]string{"Last configuration change", "Current configuration", "Building configuration"}},
		{"oxidized_ios_C9200L_17.09.04a_output.txt", "cisco_iosxe",
			[]string{"SECRET_ENABLE", "SECRET_OXIDIZED", "AAAAAAAAAABBBBBBBBBB", "community public"},
			[]string{"hostname LAB-SW123_9200L", "snmp-server host 10.42.0.36 vrf Mgmt-vrf informs version 3 auth oxidized"},
			[]string{"NVRAM config last updated"}},
		{"napalm_nxos_ssh_show_running_config.txt", "cisco_nxos",
			[]string{"$5$aH4ttsPk", "$5$tGpa9bmJ", "0xd1e3bf7019f3a9c3ee4dccd381f0e4f3", "0x9e902c388e9b4c616e7c7c98d1079325", "bogus123"},
			[]string{"hostname nxos1", "no password strength-check"},
			[]string{"!Time:"}},
		{"napalm_eos_show_running_config.txt", "arista_eos",
			[]string{"$1$zr7sHZaW", "$1$VoQBHXed", "$1$l/6gq.Qs"},
			[]string{"interface Ethernet1"},
			[]string{"Startup-config last modified"}},
		{"cisshgo_eos_show_running-config.txt", "arista_eos",
			[]string{"$6$xyz"},
			[]string{"hostname {{.Hostname}}"}, nil},
		{"napalm_junos_config_committed_text.xml", "juniper_junos",
			[]string{"$1$kasfbiuw98p43hnfwe.", "$9$sdnfh2p9f8whefi2p98fehwuinoief98p2hif3beuis98ehfoi2", "$1$xMvNFGd6$HKlqUxgVJMkxMeDhQMFtR/", "community secure"},
			[]string{"host-name some-switch;", "location napalm;"}, nil},
		{"ntc_cisco_ios_show_running-config_interface.raw", "cisco_iosxe", nil,
			[]string{"interface GigabitEthernet2/0/4.223415"}, []string{"Current configuration"}},
		{"cisshgo_csr1000v_running_before.txt", "cisco_iosxe", nil,
			[]string{"interface GigabitEthernet0/0/2", " shutdown"}, []string{"Current configuration", "Building configuration"}},
		{"cisshgo_csr1000v_running_after.txt", "cisco_iosxe", nil,
			[]string{" description added-in-scenario"}, []string{"Current configuration", "Building configuration"}},
		{"scrapligo_v1_filetransport_send-command-simple.txt", "cisco_iosxe", nil,
			[]string{"interface Vlan1"}, []string{"Current configuration", "Building configuration"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw := readTestdata(t, c.file)
			got := DefaultSanitizer(c.platform).Clean(raw)
			for _, s := range c.secrets {
				if !strings.Contains(raw, s) {
					t.Fatalf("fixture lacks secret %q: test data wrong", s)
				}
				if strings.Contains(got, s) {
					t.Errorf("secret %q survived", s)
				}
			}
			for _, k := range c.kept {
				if !strings.Contains(got, k) {
					t.Errorf("%q was removed", k)
				}
			}
			for _, n := range c.noise {
				if strings.Contains(got, n) {
					t.Errorf("noise %q kept", n)
				}
			}
		})
	}
}

// The secrets in the Oxidized simulations, including the list Oxidized's
// own EOS test says must not appear.
func TestSanitizeSimulations(t *testing.T) {
	var eos, wlc struct{ Fail []string }
	if err := yaml.Unmarshal([]byte(readTestdata(t, "oxidized_eos_DCS-7050SX3_4.29.2F_secret.yaml")), &eos); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(readTestdata(t, "oxidized_ios_C9800-L-F-K9_17.06.05_secret.yaml")), &wlc); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sim, platform, command string
		secrets                []string
	}{
		{"oxidized_eos_DCS-7050SX3_4.29.2F_simulation.yaml", "arista_eos", "show running-config", eos.Fail},
		{"oxidized_nxos_C93180YC_10.4.5_simulation.yaml", "cisco_nxos", "show running-config", []string{"AAAAAAAAAABBBBBBBBBBCCCCCCCCCC"}},
		{"oxidized_junos_srx300_22.4_simulation.yaml", "juniper_junos", "show configuration", []string{"very-secret-encrypted-password", "CorrectHorseBattery", "$9$FAKEHASHDATAXXXXXXXXXXXXXXXXXXXX"}},
		{"oxidized_ios_C9200L_17.09.04a_simulation.yaml", "cisco_iosxe", "show running-config", []string{"SECRET_ENABLE", "SECRET_OXIDIZED", "AAAAAAAAAABBBBBBBBBB"}},
		{"oxidized_ios_C9800-L-F-K9_17.06.05_simulation.yaml", "cisco_iosxe", "show running-config", wlc.Fail},
	}
	for _, c := range cases {
		t.Run(c.sim, func(t *testing.T) {
			raw := simRunningConfig(t, c.platform, c.sim)
			got := DefaultSanitizer(c.platform).Clean(raw)
			for _, s := range c.secrets {
				if !strings.Contains(raw, s) {
					t.Fatalf("simulation lacks secret %q: test data wrong", s)
				}
				if strings.Contains(got, s) {
					t.Errorf("secret %q survived:\n%s", s, got)
				}
			}
		})
	}
}

func TestSanitizeRules(t *testing.T) {
	cases := []struct{ platform, in, want string }{
		{"cisco_iosxe", "username bob privilege 15 secret 9 $9$abc", "username bob privilege 15 secret 9 " + SecretMask},
		{"cisco_iosxe", " neighbor 10.0.0.1 password 7 0822455D0A16", " neighbor 10.0.0.1 password 7 " + SecretMask},
		{"cisco_iosxe", "tacacs-server host 10.1.1.1 key 7 1234ABCD", "tacacs-server host 10.1.1.1 key 7 " + SecretMask},
		{"cisco_iosxe", "tacacs server T1\n key 7 060506324F41", "tacacs server T1\n key 7 " + SecretMask},
		{"cisco_nxos", "radius-server host 10.1.1.2 key 7 \"abc\" authentication", "radius-server host 10.1.1.2 key 7 " + SecretMask + " authentication"},
		{"juniper_junos", "    secret \"$9$x\"; ## SECRET-DATA", "    secret \"" + SecretMask + "\"; ## SECRET-DATA"},
		{"juniper_junos", "    community public {", "    community " + SecretMask + " {"},
		{"cisco_iosxe", "interface Gi1\n description password is in the vault", "interface Gi1\n description password is in the vault"},
	}
	for _, c := range cases {
		if got := DefaultSanitizer(c.platform).Clean(c.in); got != c.want+"\n" {
			t.Errorf("%s %q:\n got %q\nwant %q", c.platform, c.in, got, c.want+"\n")
		}
	}
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	for _, dir := range []string{"testdata/", "devicetest/testdata/"} {
		if b, err := os.ReadFile(dir + name); err == nil {
			return string(b)
		}
	}
	t.Fatalf("testdata %s not found", name)
	return ""
}

// Any text: Clean does not panic, is idempotent, and never grows a secret
// back: cleaning again masks at least as much, and every line it keeps
// comes from the input (masks aside).
func FuzzSanitize(f *testing.F) {
	for _, name := range []string{"napalm_nxos_ssh_show_running_config.txt", "napalm_junos_config_committed_text.xml", "oxidized_ios_C9200L_17.09.04a_output.txt"} {
		c := readTestdata(f, name)
		f.Add(c[:min(len(c), 1500)], "cisco_nxos")
	}
	for _, p := range corpusPlatforms {
		secret, benign := corpus(f, p)
		f.Add(strings.Join(append(secret, benign...), "\n"), p)
	}
	f.Add("username a password 0 b\r\n  key 7 x", "cisco_iosxe")
	f.Add("key chain K\n key 1\ntacacs server T\n key 1", "cisco_iosxe")
	f.Fuzz(func(t *testing.T, config, platform string) {
		s := DefaultSanitizer(platform)
		once := s.Clean(config)
		twice := s.Clean(once)
		if twice != once {
			t.Fatalf("Clean is not idempotent:\n%q\n%q", once, twice)
		}
		if strings.Count(twice, SecretMask) < strings.Count(once, SecretMask) {
			t.Fatalf("cleaning again unmasked a secret:\n%q\n%q", once, twice)
		}
		in := strings.ReplaceAll(config, "\r\n", "\n")
		for _, l := range strings.Split(strings.TrimSuffix(once, "\n"), "\n") {
			for _, part := range strings.Split(l, SecretMask) {
				if !strings.Contains(in, part) {
					t.Fatalf("output line %q holds %q, which the input does not", l, part)
				}
			}
		}
	})
}

// Whatever a secret looks like, no form of the corpus lets it through: each
// secret line of testdata/secrets, its "LEAK..." values replaced by the
// fuzzed secret.
func FuzzSanitizeSecret(f *testing.F) {
	type tmpl struct{ platform, line string }
	var templates []tmpl
	for _, p := range corpusPlatforms {
		secret, _ := corpus(f, p)
		for _, l := range secret {
			templates = append(templates, tmpl{p, l})
		}
	}
	leak := regexp.MustCompile(`LEAK[^\s";@/]*`)
	plausible := regexp.MustCompile(`^[A-Za-z0-9$./+=_:!@#%^&*-]{6,64}$`)
	for i := range templates {
		f.Add(uint16(i), "Secr3t-Value")
	}
	f.Add(uint16(0), "123456789")
	f.Add(uint16(3), "$9$dGhpcyBpcw")
	f.Fuzz(func(t *testing.T, i uint16, secret string) {
		tp := templates[int(i)%len(templates)]
		rest := leak.ReplaceAllString(tp.line, "")
		if !plausible.MatchString(secret) || strings.Contains(SecretMask, secret) || strings.Contains(rest, secret) || strings.Contains(secret, "//") {
			return // not a secret value of this form, or one the line's other words contain
		}
		line := leak.ReplaceAllLiteralString(tp.line, secret)
		s := DefaultSanitizer(tp.platform)
		got := s.Clean(line)
		if strings.Contains(got, secret) {
			t.Fatalf("%s: secret %q kept:\n  in:  %q\n  out: %q", tp.platform, secret, line, got)
		}
		if s.Clean(got) != got {
			t.Fatalf("not idempotent on %q", got)
		}
	})
}

// Values that change between reads of an unchanged configuration make a
// backup commit on every run. Oxidized's ios model removes the values of
// SNMP expression MIB objects (" expression N" under "snmp mib expression
// ...", ytti/oxidized@687ed4262d9d lib/oxidized/model/ios.rb, as in the
// recorded C9200L configuration).
func TestSanitizeVolatileIOSValues(t *testing.T) {
	read := func(value string) string {
		return "snmp mib expression owner nat name 1\n  expression " + value + "\n!\nend\n"
	}
	san := DefaultSanitizer("cisco_iosxe")
	a, b := san.Clean(read("42")), san.Clean(read("43"))
	if a != b {
		t.Errorf("expression values kept:\n%s\n---\n%s", a, b)
	}
	if !strings.Contains(a, "snmp mib expression owner nat name 1") {
		t.Errorf("expression object dropped:\n%s", a)
	}
}
