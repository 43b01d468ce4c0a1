package confparse

import (
	"fmt"
	"regexp"
	"strings"
)

// Facts identify a device: what "show version" (and on Junos "show
// chassis hardware") print. Empty fields were not found in the output.
type Facts struct {
	Hostname  string `json:"hostname,omitempty"`
	Model     string `json:"model,omitempty"`
	Serial    string `json:"serial,omitempty"`
	OSVersion string `json:"os_version,omitempty"`
}

// FactCommands returns the commands whose outputs [ParseFacts] reads on a
// device of platform, or an error for a platform it does not know.
func FactCommands(platform string) ([]string, error) {
	switch platform {
	case "cisco_iosxe", "cisco_iosxr", "cisco_nxos", "arista_eos":
		return []string{"show version"}, nil
	case "juniper_junos":
		return []string{"show version", "show chassis hardware"}, nil
	}
	return nil, fmt.Errorf("platform %q: no fact commands known", platform)
}

// factRule extracts one fact with the first submatch of the first pattern
// that matches.
type factRule struct {
	field    func(*Facts) *string
	patterns []*regexp.Regexp
}

func rules(pairs ...any) []factRule {
	var out []factRule
	for i := 0; i < len(pairs); i += 2 {
		r := factRule{field: pairs[i].(func(*Facts) *string)}
		for _, p := range pairs[i+1].([]string) {
			r.patterns = append(r.patterns, regexp.MustCompile(p))
		}
		out = append(out, r)
	}
	return out
}

var (
	hostnameF = func(f *Facts) *string { return &f.Hostname }
	modelF    = func(f *Facts) *string { return &f.Model }
	serialF   = func(f *Facts) *string { return &f.Serial }
	versionF  = func(f *Facts) *string { return &f.OSVersion }
)

// factRules per platform, written against recorded "show version" outputs
// (Oxidized simulations of a Catalyst 9200L, a Nexus 93180YC, an SRX300;
// networktocode/ntc-templates@d0bc5a480fe9 tests/{arista_eos,cisco_ios,
// cisco_nxos,juniper_junos}/show_version/*.raw and their parsed samples).
// A label's value is read on its own line only ("[ \t]*", never "\s*"):
// vEOS and cEOS print "Serial number:" with nothing after it, and "\s*"
// would take the first word of the next line ("System", "Hardware") for
// a serial number.
var factRules = map[string][]factRule{
	"cisco_iosxe": rules(
		versionF, []string{`(?m)^Cisco IOS XE Software, Version (\S+)`, `(?m)^Cisco IOS Software.*, Version ([^\s,]+)`},
		// "Processor board ID FHK102KKKKK, with hardware revision 0000"
		// (IOS 12.4 on an 1801, ntc-templates cisco_ios_show_version_01).
		serialF, []string{`(?m)^System Serial Number[ \t]*:[ \t]*(\S+)`, `(?m)^Processor board ID ([^\s,]+)`},
		modelF, []string{`(?m)^Model Number[ \t]*:[ \t]*(\S+)`, `(?m)^[Cc]isco (\S+) \(.*\) processor`},
		hostnameF, []string{`(?m)^(\S+) uptime is `},
	),
	"cisco_iosxr": rules(
		versionF, []string{`(?m)^Cisco IOS XR Software, Version (\S+)`},
		modelF, []string{`(?m)^cisco (\S+) .*(?:[Cc]hassis|processor)`},
		hostnameF, []string{`(?m)^(\S+) uptime is `},
	),
	"cisco_nxos": rules(
		versionF, []string{`(?m)^[ \t]*NXOS: version (\S+)`, `(?m)^[ \t]*system:[ \t]+version (\S+)`},
		serialF, []string{`(?m)^[ \t]*Processor Board ID (\S+)`},
		modelF, []string{`(?m)^[ \t]*cisco Nexus\S* (\S+) [Cc]hassis`, `(?m)^[ \t]*cisco (\S+) [Cc]hassis`},
		hostnameF, []string{`(?m)^[ \t]*Device name: (\S+)`},
	),
	"arista_eos": rules(
		versionF, []string{`(?m)^Software image version:[ \t]*(\S+)`},
		serialF, []string{`(?m)^Serial number:[ \t]*(\S+)`},
		modelF, []string{`(?m)^Arista (\S+)`},
	),
	"juniper_junos": rules(
		// Junos 15+ prints "Junos: 22.4R3-S2.11"; older releases only
		// "JUNOS Software Release [12.3R12.4]" or "JUNOS Base OS boot
		// [13.3R1.4]". Other bracketed strings are package builds
		// ("JUNOS OS Kernel 64-bit [20220419.9889e6f_builder_stable_11]"
		// on a VM host, whose output has no release: none is read).
		versionF, []string{`(?m)^Junos: (\S+)`, `(?m)^JUNOS Software Release \[(\S+)\]`, `(?m)^JUNOS Base OS boot \[(\S+)\]`},
		modelF, []string{`(?m)^Model: (\S+)`},
		hostnameF, []string{`(?m)^Hostname: (\S+)`},
		serialF, []string{`(?m)^Chassis[ \t]+(\S+)[ \t]`},
	),
}

// ParseFacts extracts facts from the outputs of FactCommands(platform),
// concatenated. Any text is accepted: what is not found stays empty, and
// every fact is one trimmed line.
func ParseFacts(platform, output string) Facts {
	var f Facts
	for _, r := range factRules[platform] {
		for _, p := range r.patterns {
			if m := p.FindStringSubmatch(output); m != nil {
				*r.field(&f) = strings.TrimSpace(m[1])
				break
			}
		}
	}
	return f
}
