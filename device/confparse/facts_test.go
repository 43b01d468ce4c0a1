package confparse_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/device/devicetest"
)

// Facts from real recorded outputs (the Oxidized simulations of ../devicetest/testdata).
func TestParseFactsRecordedOutputs(t *testing.T) {
	for _, tc := range []struct {
		platform, file string
		want           confparse.Facts
	}{
		{"cisco_iosxe", "../devicetest/testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml",
			confparse.Facts{Hostname: "LAB-SW123_9200L", Model: "C9200L-24P-4G", Serial: "JAE24FFFFFF", OSVersion: "17.09.04a"}},
		{"cisco_nxos", "../devicetest/testdata/oxidized_nxos_C93180YC_10.4.5_simulation.yaml",
			confparse.Facts{Hostname: "TEST-12345", Model: "C93180YC-FX3H", Serial: "FDO20000000", OSVersion: "10.4(5)"}},
		{"juniper_junos", "../devicetest/testdata/oxidized_junos_srx300_22.4_simulation.yaml",
			confparse.Facts{Model: "srx300", Serial: "AA0000AA0000", OSVersion: "22.4R3-S2.11"}},
	} {
		spec, err := devicetest.LoadSimulation(tc.platform, tc.file)
		if err != nil {
			t.Fatal(err)
		}
		cmds, err := confparse.FactCommands(tc.platform)
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
		if got := confparse.ParseFacts(tc.platform, out.String()); got != tc.want {
			t.Errorf("%s: facts = %+v, want %+v", tc.platform, got, tc.want)
		}
	}
	if _, err := confparse.FactCommands("nokia_sros"); err == nil {
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
		want     confparse.Facts
	}{
		{"arista_eos", []string{"arista_eos_show_version.raw"}, confparse.Facts{Model: "vEOS", OSVersion: "4.14.7M"}},
		{"arista_eos", []string{"arista_eos_show_version_clab.raw"}, confparse.Facts{Model: "cEOSLab", OSVersion: "4.32.1F-37265360.4321F"}},
		{"arista_eos", []string{"arista_eos_show_version2.raw"}, confparse.Facts{Model: "CCS-720XP-24ZY4-F", Serial: "JPE11400249", OSVersion: "4.27.6M"}},
		{"cisco_iosxe", []string{"cisco_ios_show_version_01.raw"}, confparse.Facts{Hostname: "stud-adsl", Model: "1801", Serial: "FHK102KKKKK", OSVersion: "12.4(6)T2"}},
		{"cisco_iosxe", []string{"cisco_ios_show_version4.raw"}, confparse.Facts{Hostname: "AKBTESTW01", Model: "C9500-40X", Serial: "FCW2233FFG3", OSVersion: "16.09.03"}},
		{"cisco_nxos", []string{"cisco_nxos_show_version2.raw"}, confparse.Facts{Hostname: "IEDP02-N5K-SW01", Model: "5596", Serial: "FOC17153X08", OSVersion: "7.1(4)N1(1)"}},
		{"juniper_junos", []string{"juniper_junos_show_version_vmhost.raw"}, confparse.Facts{Hostname: "MyRouter", Model: "nfx250_att_s1_10_t"}},
		{"juniper_junos", []string{"juniper_junos_show_version_srx_cluster.raw"}, confparse.Facts{Hostname: "lab", Model: "srx1500", OSVersion: "19.4R3-S1.3"}},
		{"juniper_junos", []string{"juniper_junos_show_chassis_hardware4.raw"}, confparse.Facts{Serial: "JN1111111"}},
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
		if got := confparse.ParseFacts(tc.platform, out.String()); got != tc.want {
			t.Errorf("%s %v: facts = %+v, want %+v", tc.platform, tc.files, got, tc.want)
		}
	}
}

// Device output is outside input: any text gives facts of one trimmed
// line each.
func FuzzParseFacts(f *testing.F) {
	seedSimulations(f, func(p, text string) { f.Add(platformIndex(p), text) })
	ntc, err := filepath.Glob(filepath.Join("testdata", "ntc", "*.raw"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range ntc {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range fuzzPlatforms {
			f.Add(platformIndex(p), string(b))
		}
	}
	f.Fuzz(func(t *testing.T, pi uint8, out string) {
		facts := confparse.ParseFacts(fuzzPlatforms[int(pi)%len(fuzzPlatforms)], out)
		for _, v := range []string{facts.Hostname, facts.Model, facts.Serial, facts.OSVersion} {
			if v != strings.TrimSpace(v) || strings.ContainsAny(v, "\n\r") {
				t.Errorf("fact %q is not one trimmed line", v)
			}
		}
	})
}
