package devicetest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// profile captures how one platform's CLI behaves: prompts, session setup
// commands, error texts and configuration layout.
type profile struct {
	name                 string
	runningConfigCommand string
	juniper              bool   // user@host> prompts, set/commit configuration
	promptTrailer        string // NX-OS and Junos print a space after the prompt
	indent               string // indentation of section children in the running config
	separator            string // line between sections ("!" on Cisco/Arista)
	configBanner         string // printed on entering configuration mode
	setup                []setupCommand
	// invalid renders the error for a command rejected at word index bad,
	// which starts at byte offset col of the line; prompt is what preceded
	// the typed line.
	invalid func(prompt string, words []string, bad, col int) string
}

// setupCommand is one of the commands scrapligo (and people) send when a
// session opens, with the argument range the platform accepts.
type setupCommand struct {
	re       *regexp.Regexp
	min, max int
	reply    func(arg string) string
}

func silent(string) string { return "" }

func caret(prompt string, col int) string {
	return strings.Repeat(" ", len(prompt)+col) + "^"
}

var profiles = map[string]*profile{
	"cisco_iosxe": {
		name:                 "cisco_iosxe",
		runningConfigCommand: "show running-config",
		indent:               " ",
		separator:            "!",
		configBanner:         "Enter configuration commands, one per line.  End with CNTL/Z.",
		setup: []setupCommand{
			{re: regexp.MustCompile(`^terminal length (\S+)$`), min: 0, max: 512, reply: silent},
			{re: regexp.MustCompile(`^terminal width (\S+)$`), min: 0, max: 512, reply: silent},
		},
		invalid: func(prompt string, words []string, bad, col int) string {
			if bad == 0 && len(words) == 1 && !strings.Contains(prompt, "(") {
				// A lone unknown word is taken for a host name to telnet to.
				return fmt.Sprintf("Translating %q\n\n%% Unknown command or computer name, or unable to find computer address", words[0])
			}
			return caret(prompt, col) + "\n% Invalid input detected at '^' marker.\n"
		},
	},
	"cisco_nxos": {
		name:                 "cisco_nxos",
		runningConfigCommand: "show running-config",
		promptTrailer:        " ",
		indent:               "  ",
		configBanner:         "Enter configuration commands, one per line. End with CNTL/Z.",
		setup: []setupCommand{
			{re: regexp.MustCompile(`^terminal length (\S+)$`), min: 0, max: 511, reply: silent},
			{re: regexp.MustCompile(`^terminal width (\S+)$`), min: 24, max: 511, reply: silent},
		},
		invalid: func(prompt string, _ []string, _, col int) string {
			return caret(prompt, col) + "\n% Invalid command at '^' marker.\n"
		},
	},
	"arista_eos": {
		name:                 "arista_eos",
		runningConfigCommand: "show running-config",
		indent:               "   ",
		separator:            "!",
		setup: []setupCommand{
			{re: regexp.MustCompile(`^terminal length (\S+)$`), min: 0, max: 32767, reply: func(a string) string {
				if a == "0" {
					return "Pagination disabled."
				}
				return "Pagination set to " + a + " lines."
			}},
			{re: regexp.MustCompile(`^terminal width (\S+)$`), min: 10, max: 32767, reply: func(a string) string {
				return "Width set to " + a + " columns."
			}},
		},
		invalid: func(_ string, words []string, bad, _ int) string {
			return fmt.Sprintf("%% Invalid input (at token %d: '%s')", bad, words[bad])
		},
	},
	"juniper_junos": {
		name:                 "juniper_junos",
		runningConfigCommand: "show configuration",
		juniper:              true,
		promptTrailer:        " ",
		indent:               "    ",
		setup: []setupCommand{
			{re: regexp.MustCompile(`^set cli screen-length (\S+)$`), min: 0, max: 100000, reply: func(a string) string {
				return "Screen length set to " + a
			}},
			{re: regexp.MustCompile(`^set cli screen-width (\S+)$`), min: 0, max: 1024, reply: func(a string) string {
				return "Screen width set to " + a
			}},
			{re: regexp.MustCompile(`^set cli complete-on-space (on|off)$`), reply: func(a string) string {
				if a == "off" {
					return "Disabling complete-on-space"
				}
				return "Enabling complete-on-space"
			}},
		},
		invalid: func(prompt string, _ []string, bad, col int) string {
			if bad == 0 {
				return caret(prompt, col) + "\nunknown command."
			}
			return caret(prompt, col) + "\nsyntax error, expecting <command>."
		},
	},
}

// Platforms lists the platform names (scrapligo's) the fake devices emulate.
func Platforms() []string {
	return []string{"arista_eos", "cisco_iosxe", "cisco_nxos", "juniper_junos"}
}

func profileFor(platform string) (*profile, error) {
	p, ok := profiles[platform]
	if !ok {
		return nil, fmt.Errorf("platform %q not emulated (have %s)", platform, strings.Join(Platforms(), ", "))
	}
	return p, nil
}

// builtin reports whether line is one of the platform's session setup
// commands (whatever its argument).
func (p *profile) builtin(line string) bool {
	for _, s := range p.setup {
		if s.re.MatchString(line) {
			return true
		}
	}
	return false
}

// runSetup answers a session setup command. ok is false when line is not
// one; errWord >= 0 names the rejected word when the argument is out of range.
func (p *profile) runSetup(line string) (reply string, errWord int, ok bool) {
	for _, s := range p.setup {
		m := s.re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if s.max > 0 {
			n, err := strconv.Atoi(m[1])
			if err != nil || n < s.min || n > s.max {
				return "", len(strings.Fields(line)) - 1, true
			}
		}
		return s.reply(m[1]), -1, true
	}
	return "", -1, false
}

func isRunningConfigCommand(p *profile, cmd string) bool {
	return cmd == p.runningConfigCommand || strings.HasPrefix(cmd, p.runningConfigCommand+" |")
}

// refusal renders the platform's answer to line refused as kind (see
// Refusal), typed after prompt. The caret goes under the last word, where
// a bad value usually is. Texts: FAILURES.md (../shared/fixtures/devices);
// NX-OS's ambiguity message follows its "at '^' marker" family.
func (p *profile) refusal(prompt, line string, kind Refusal) string {
	words := strings.Fields(line)
	if len(words) == 0 {
		words = []string{""}
	}
	last := len(words) - 1
	col := len(line) - len(words[last])
	switch kind {
	case RefuseIncomplete:
		switch {
		case p.juniper:
			return caret(prompt, len(line)+1) + "\nsyntax error, expecting <data>."
		case p.name == "arista_eos":
			return "% Incomplete command"
		}
		return "% Incomplete command."
	case RefuseAmbiguous:
		switch {
		case p.juniper:
			return caret(prompt, col) + "\n'" + words[last] + "' is ambiguous."
		case p.name == "arista_eos":
			return "% Ambiguous command"
		case p.name == "cisco_nxos":
			return caret(prompt, col) + "\n% Ambiguous command at '^' marker."
		}
		return fmt.Sprintf("%% Ambiguous command:  %q", line)
	case RefuseParameter:
		if p.name == "cisco_nxos" {
			return caret(prompt, col) + "\n% Invalid parameter detected at '^' marker."
		}
	}
	if p.juniper {
		return caret(prompt, col) + "\nsyntax error."
	}
	return p.invalid(prompt, words, last, col)
}
