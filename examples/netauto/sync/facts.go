package sync

import (
	"fmt"
	"regexp"
	"strings"
)

// Facts are what inventory sync learns from a device and writes back to
// its NetworkDevice node. Empty fields were not found in the output.
type Facts struct {
	Hostname  string `json:"hostname,omitempty"`
	Model     string `json:"model,omitempty"`
	Serial    string `json:"serial,omitempty"`
	OSVersion string `json:"os_version,omitempty"`
}

// FactCommands returns the commands inventory sync sends to a device of
// platform to learn its facts (fake devices must answer them).
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
// (Oxidized simulations of a Catalyst 9200L, a Nexus 93180YC, an SRX300)
// and the documented EOS layout.
var factRules = map[string][]factRule{
	"cisco_iosxe": rules(
		versionF, []string{`(?m)^Cisco IOS XE Software, Version (\S+)`, `(?m)^Cisco IOS Software.*, Version ([^\s,]+)`},
		serialF, []string{`(?m)^System Serial Number\s*:\s*(\S+)`, `(?m)^Processor board ID (\S+)`},
		modelF, []string{`(?m)^Model Number\s*:\s*(\S+)`, `(?m)^[Cc]isco (\S+) \(.*\) processor`},
		hostnameF, []string{`(?m)^(\S+) uptime is `},
	),
	"cisco_iosxr": rules(
		versionF, []string{`(?m)^Cisco IOS XR Software, Version (\S+)`},
		modelF, []string{`(?m)^cisco (\S+) .*(?:[Cc]hassis|processor)`},
		hostnameF, []string{`(?m)^(\S+) uptime is `},
	),
	"cisco_nxos": rules(
		versionF, []string{`(?m)^\s*NXOS: version (\S+)`, `(?m)^\s*system:\s+version (\S+)`},
		serialF, []string{`(?m)^\s*Processor Board ID (\S+)`},
		modelF, []string{`(?m)^\s*cisco Nexus\S* (\S+) [Cc]hassis`, `(?m)^\s*cisco (\S+) [Cc]hassis`},
		hostnameF, []string{`(?m)^\s*Device name: (\S+)`},
	),
	"arista_eos": rules(
		versionF, []string{`(?m)^Software image version:\s*(\S+)`},
		serialF, []string{`(?m)^Serial number:\s*(\S+)`},
		modelF, []string{`(?m)^Arista (\S+)`},
	),
	"juniper_junos": rules(
		versionF, []string{`(?m)^Junos: (\S+)`, `(?m)^JUNOS .*\[(\S+)\]`},
		modelF, []string{`(?m)^Model: (\S+)`},
		hostnameF, []string{`(?m)^Hostname: (\S+)`},
		serialF, []string{`(?m)^Chassis\s+(\S+)\s`},
	),
}

// ParseFacts extracts facts from the outputs of FactCommands(platform),
// concatenated.
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
