package devicetest

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParseSimulation reads an Oxidized-style simulation file (a YAML document
// with init_prompt and a commands map, or a list of one-entry maps, from
// command line to recorded output) and returns a Spec for platform.
//
// Recorded outputs carry the echoed command and the trailing prompt; both are
// removed because the fake device echoes input and renders prompts itself
// (so prompts follow the mode: exec, enable, configuration). The escape
// sequences used by these files (\r, \n, \t, \e, \", \\, \xHH) are decoded.
// The hostname comes from the last line of init_prompt when it is a prompt;
// otherwise Spec.Hostname must be set by the caller. The running configuration
// is taken from the recorded "show running-config" (or, for Junos,
// "show configuration") output.
func ParseSimulation(platform string, data []byte) (Spec, error) {
	prof, err := profileFor(platform)
	if err != nil {
		return Spec{}, err
	}
	var doc struct {
		InitPrompt string    `yaml:"init_prompt"`
		Commands   yaml.Node `yaml:"commands"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Spec{}, fmt.Errorf("parse simulation: %w", err)
	}
	raw := map[string]string{}
	switch doc.Commands.Kind {
	case yaml.MappingNode:
		if err := addPairs(raw, doc.Commands.Content); err != nil {
			return Spec{}, err
		}
	case yaml.SequenceNode:
		for i, item := range doc.Commands.Content {
			if item.Kind != yaml.MappingNode {
				return Spec{}, fmt.Errorf("parse simulation: commands[%d]: want a map, got YAML kind %d", i, item.Kind)
			}
			if err := addPairs(raw, item.Content); err != nil {
				return Spec{}, err
			}
		}
	case 0:
		return Spec{}, fmt.Errorf("parse simulation: commands: missing")
	default:
		return Spec{}, fmt.Errorf("parse simulation: commands: want a map or a list, got YAML kind %d", doc.Commands.Kind)
	}

	spec := Spec{Platform: platform, Banner: "", Commands: map[string]string{}}
	initLines := splitLines(unescape(doc.InitPrompt))
	if n := len(initLines); n > 0 && promptLine.MatchString(initLines[n-1]) {
		last := strings.TrimSpace(initLines[n-1])
		spec.Hostname = strings.TrimRight(last, "#>")
		initLines = initLines[:n-1]
	}
	spec.Banner = strings.Trim(strings.Join(initLines, "\n"), "\n")

	for cmd, out := range raw {
		cmd = strings.TrimSpace(unescape(cmd))
		if cmd == "" || cmd == "exit" {
			continue
		}
		body := cleanOutput(cmd, unescape(out), spec.Hostname)
		if isRunningConfigCommand(prof, cmd) {
			if spec.RunningConfig == "" || cmd == prof.runningConfigCommand {
				spec.RunningConfig = body
			}
			continue
		}
		if prof.builtin(cmd) {
			// Session setup commands are answered by the platform model,
			// which validates their arguments like the real CLI does.
			continue
		}
		spec.Commands[cmd] = body
	}
	return spec, nil
}

// LoadSimulation reads the simulation file at path; see ParseSimulation.
func LoadSimulation(platform, path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("load simulation: %w", err)
	}
	spec, err := ParseSimulation(platform, data)
	if err != nil {
		return Spec{}, fmt.Errorf("load simulation %s: %w", path, err)
	}
	return spec, nil
}

func addPairs(dst map[string]string, content []*yaml.Node) error {
	for i := 0; i+1 < len(content); i += 2 {
		k, v := content[i], content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return fmt.Errorf("parse simulation: line %d: command and output must be strings", k.Line)
		}
		dst[k.Value] = v.Value
	}
	return nil
}

var promptLine = regexp.MustCompile(`^\s*[\w.\-@/:()]{1,63}[#>]\s*$`)

// cleanOutput removes the echoed command line and the trailing prompt line.
func cleanOutput(cmd, out, hostname string) string {
	lines := splitLines(out)
	if len(lines) > 0 && strings.TrimSpace(lines[0]) == cmd {
		lines = lines[1:]
	}
	for len(lines) > 0 {
		last := strings.TrimSpace(lines[len(lines)-1])
		if last == "" || (promptLine.MatchString(last) && (hostname == "" || strings.Contains(last, hostname))) {
			lines = lines[:len(lines)-1]
			continue
		}
		break
	}
	return strings.Join(lines, "\n")
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// unescape decodes the backslash escapes found in Oxidized simulation files.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'e':
			b.WriteByte(0x1b)
		case '"', '\\', '\'':
			b.WriteByte(s[i])
		case 'x':
			if i+2 < len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 2
					continue
				}
			}
			b.WriteString(`\x`)
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
