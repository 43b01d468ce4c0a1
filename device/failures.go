package device

import (
	"fmt"
	"regexp"
	"strings"
)

// failureRules are the device messages, per platform, that mean a command
// or configuration line was refused, on top of scrapligo's
// failed_when_contains strings (which stay in force). scrapligo matches
// substrings anywhere in the output; these are regular expressions matched
// against each line, so a word such as "error" inside ordinary output does
// not fail a command.
type failureRules struct {
	// any applies to every command, in exec and configuration mode.
	any []*regexp.Regexp
	// config applies to configuration lines only: messages feature parsers
	// print when they refuse a line, some without a "%" (FAILURES.md, "Some
	// refusals carry no % at all, for example IOS Error: ... lines from
	// feature parsers and NX-OS ERROR: ... messages").
	config []*regexp.Regexp
}

func res(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}

// ciscoRefusals are the "%" refusals the IOS-family parsers print (IOS,
// IOS-XE, NX-OS): the scrapligo v1 cisco_iosxe and cisco_nxos
// failed_when_contains strings anchored to the start of a line, plus the
// ones FAILURES.md lists that scrapligo misses (NX-OS "% Invalid parameter
// detected at '^' marker.") and other refusals of the same family.
var ciscoRefusals = res(
	`^% ?Invalid (input|command|parameter|number|IP address|address|range|value)\b`,
	`^% ?Incomplete command`,
	`^% ?Ambiguous command`,
	`^% ?Unknown command`,
	`^% ?Unrecognized command`,
	`^% ?(Authorization failed|Permission denied|Access denied)`,
)

// platformFailures holds the rules per scrapligo platform name. Sources:
// scrapligo v1.4.3 assets/platforms/<platform>.yaml (failed-when-contains)
// and ../shared/fixtures/devices/FAILURES.md.
var platformFailures = map[string]failureRules{
	"cisco_iosxe": {
		any: ciscoRefusals,
		// IOS feature parsers: "Error: ...", "% Error ...", and refusals such
		// as "% BGP is already running; AS is 65000", "% Specify remote-as
		// or peer-group commands first", "% Cannot ...".
		config: res(`^%? ?(Error|ERROR)\b`, `^% ?BGP is already running`, `^% ?Specify `, `^% ?Cannot `, `^% ?Not allowed`, `^% ?Bad `),
	},
	"cisco_iosxr": {
		any:    ciscoRefusals,
		config: res(`^%? ?(Error|ERROR)\b`, `^% ?Failed to commit`),
	},
	"cisco_nxos": {
		any: ciscoRefusals,
		// NX-OS: "ERROR: ..." (scrapligo knows it as a substring), "Error:
		// ...", "% Cannot ...".
		config: res(`^%? ?(Error|ERROR)\b`, `^% ?Cannot `, `^% ?Not allowed`),
	},
	"arista_eos": {
		// scrapligo arista_eos: "% Ambiguous command", "% Error",
		// "% Incomplete command", "% Invalid input", "% Cannot commit",
		// "% Unavailable command"; plus EOS's authorization refusals.
		any:    res(`^% ?(Invalid input|Incomplete command|Ambiguous command|Unavailable command|Unrecognized command)`, `^% ?(Authorization denied|Permission denied)`),
		config: res(`^%? ?(Error|ERROR)\b`, `^% ?Cannot `, `^% ?Not supported`),
	},
	"juniper_junos": {
		// scrapligo juniper_junos: "is ambiguous", "No valid completions",
		// "unknown command", "syntax error". Junos prints every failure of an
		// operational or configuration command as "error: ..." (commit
		// failures end with "error: configuration check-out failed", "error:
		// commit failed: ...", "error: configuration database locked by:"),
		// which none of scrapligo's strings matches (FAILURES.md).
		any:    res(`^error: `, `^\s*syntax error\b`, `^\s*unknown command\b`, `is ambiguous\.?$`, `^\s*missing argument\.?$`, `^\s*invalid value\b`),
		config: res(`^error: `),
	},
}

// failuresFor returns the rules of platform with the host's extra patterns
// (Params.ErrorPatterns) added to both sets.
func failuresFor(platform string, extra []string) (failureRules, error) {
	r := platformFailures[platform]
	if len(extra) == 0 {
		return r, nil
	}
	out := failureRules{any: append([]*regexp.Regexp(nil), r.any...), config: append([]*regexp.Regexp(nil), r.config...)}
	for i, p := range extra {
		re, err := regexp.Compile(p)
		if err != nil {
			return failureRules{}, fmt.Errorf("error_patterns[%d]: %w", i, err)
		}
		out.any = append(out.any, re)
	}
	return out, nil
}

// refusal returns the device's error message when output says the command
// was refused: a scrapligo failure string (substrings, as scrapligo
// matches them) or a rule of the platform; config selects the
// configuration-mode rules too. The message is the first matching line.
func (r failureRules) refusal(output string, scrapli []string, config bool) (string, bool) {
	for _, l := range strings.Split(strings.ReplaceAll(output, "\r", ""), "\n") {
		t := strings.TrimRight(l, " ")
		for _, m := range scrapli {
			if strings.Contains(t, m) {
				return strings.TrimSpace(t), true
			}
		}
		for _, re := range r.any {
			if re.MatchString(t) {
				return strings.TrimSpace(t), true
			}
		}
		if config {
			for _, re := range r.config {
				if re.MatchString(t) {
					return strings.TrimSpace(t), true
				}
			}
		}
	}
	return "", false
}
