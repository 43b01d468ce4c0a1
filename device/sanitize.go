package device

import (
	"regexp"
	"strings"
)

// SecretMask replaces every secret value a Sanitizer removes.
const SecretMask = "<secret-removed>"

// Replacement rewrites the part of a line its pattern matches; the
// replacement may use $1-style references to the pattern's groups.
type Replacement struct {
	Pattern     *regexp.Regexp
	Replacement string
}

// Sanitizer removes secrets from a configuration and drops the noise lines
// that change on every read (timestamps, size headers), so a backup only
// changes when the configuration does and never stores a secret.
type Sanitizer struct {
	// Secrets are applied to every line, in order.
	Secrets []Replacement
	// Noise drops every line matching one of the patterns.
	Noise []*regexp.Regexp
}

// Clean returns config with secrets masked and noise lines dropped. Line
// endings are normalised to "\n" and trailing blanks removed.
func (s Sanitizer) Clean(config string) string {
	lines := strings.Split(strings.ReplaceAll(config, "\r\n", "\n"), "\n")
	out := lines[:0]
next:
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		for _, n := range s.Noise {
			if n.MatchString(l) {
				continue next
			}
		}
		for _, r := range s.Secrets {
			l = r.Pattern.ReplaceAllString(l, r.Replacement)
		}
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

func mask(pattern string) Replacement {
	return Replacement{Pattern: regexp.MustCompile(pattern), Replacement: "${1}" + SecretMask + "${3}"}
}

// Secret rules. Each pattern has three groups: what precedes the secret
// (kept), the secret (masked), and what follows it (kept).
var (
	urlSecrets = []Replacement{
		// user:password@ in URLs (archive sites, transfer targets).
		mask(`(\b[a-z][a-z0-9+.-]*://[^:/\s"@]+:)([^@\s"]+)(@)`),
	}
	ciscoSecrets = []Replacement{
		mask(`^(\s*(?:enable|aaa root|username \S+.*?) (?:secret|password)(?: (?:\d+|sha512|md5))? )(\S+)()`),
		mask(`^(\s*snmp-server community )(\S+)()`),
		mask(`^(\s*snmp-server host \S+ .*?version (?:1|2c) )(\S+)()`),
		mask(`^(\s*snmp-server user \S+ .*?\bauth (?:md5|sha\S*) )(\S+)()`),
		mask(`^(\s*snmp-server user \S+ .*?\bpriv (?:(?:aes-\d+|des|3des) )?)(\S+)()`),
		mask(`^(\s*(?:tacacs-server|radius-server|tacacs server|radius server)\b.*?\bkey(?: \d+)? )(\S+)()`),
		mask(`^(\s+(?:key|server-key|key-string|pre-shared-key)(?: \d+)? )(\S+)()`),
		mask(`^(\s*client \S+ .*?server-key(?: \d+)? )(\S+)()`),
		mask(`^(\s*(?:crypto isakmp key|ip ospf authentication-key|ip ospf message-digest-key \d+ md5|ntp authentication-key \d+ md5)(?: \d)? )(\S+)()`),
		mask(`^(\s*neighbor \S+ password(?: \d)? )(\S+)()`),
		mask(`^(\s*(?:wpa-psk ascii|wpa-psk hex|mka pre-shared-key key-chain|tunnel key)(?: \d)? )(\S+)()`),
	}
	junosSecrets = []Replacement{
		mask(`^(\s*(?:encrypted-password|secret|authentication-key|simple-password|hello-authentication-key|ascii-text|hexadecimal|pre-shared-key ascii-text|password) ")([^"]*)(".*)$`),
		mask(`^(\s*(?:encrypted-password|secret|authentication-key|simple-password|ascii-text|password) )([^"\s;]+)(;.*)$`),
		mask(`^(\s*community )(\S+)( \{.*|;.*)$`),
		mask(`^(\s*"[^"]*" password ")([^"]*)(".*)$`),
	}
)

func noise(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}

// DefaultSanitizer returns the rules for a platform (scrapligo name).
// Platforms without specific rules get all secret rules and no noise rules.
func DefaultSanitizer(platform string) Sanitizer {
	cisco := append(append([]Replacement{}, ciscoSecrets...), urlSecrets...)
	junos := append(append([]Replacement{}, junosSecrets...), urlSecrets...)
	switch platform {
	case "cisco_iosxe", "cisco_iosxr":
		return Sanitizer{Secrets: cisco, Noise: noise(
			`^Building configuration\.\.\.$`,
			`^Current configuration : \d+ bytes$`,
			`^! Last configuration change at `,
			`^! NVRAM config last updated at `,
			`^! No configuration change since last restart`,
			`^!Time: `, // IOS-XR
			`^ntp clock-period `,
		)}
	case "cisco_nxos":
		return Sanitizer{Secrets: cisco, Noise: noise(
			`^!Time: `,
			`^!Running configuration last done at: `,
		)}
	case "arista_eos":
		return Sanitizer{Secrets: cisco, Noise: noise(
			`^! Time: `,
			`^! Startup-config last modified at `,
		)}
	case "juniper_junos":
		return Sanitizer{Secrets: junos, Noise: noise(
			`^## Last commit: `,
			`^## Last changed: `,
		)}
	}
	return Sanitizer{Secrets: append(cisco, junosSecrets...)}
}

// maskSecrets applies the secret rules to one line.
func (s Sanitizer) maskSecrets(l string) string {
	for _, r := range s.Secrets {
		l = r.Pattern.ReplaceAllString(l, r.Replacement)
	}
	return l
}

// maskLine masks the secrets of one configuration line as typed, without
// the indentation it has in the configuration (rules for sub-mode lines
// expect it).
func maskLine(platform, l string) string {
	san := DefaultSanitizer(platform)
	if m := san.maskSecrets(l); m != l {
		return m
	}
	if m := san.maskSecrets(" " + l); m != " "+l {
		return strings.TrimPrefix(m, " ")
	}
	return l
}

// maskText masks the secrets of every line of s.
func maskText(platform, s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = maskLine(platform, l)
	}
	return strings.Join(lines, "\n")
}

// removedSecrets returns the values masking removed from raw (masked is
// raw with its secrets replaced by SecretMask), so text quoting them can be
// masked too.
func removedSecrets(raw, masked string) []string {
	if raw == masked {
		return nil
	}
	var out []string
	rest := raw
	parts := strings.Split(masked, SecretMask)
	for i, p := range parts {
		j := strings.Index(rest, p)
		if p == "" && i > 0 {
			j = len(rest)
		}
		if j < 0 {
			return out
		}
		if i > 0 {
			if v := strings.Trim(rest[:j], `"`); len(v) >= 3 {
				out = append(out, v)
			}
		}
		rest = rest[j+len(p):]
	}
	return out
}

// MaskLine returns a configuration line as typed (without the indentation
// it has in the configuration) with the secrets the platform's
// DefaultSanitizer knows masked: for logs, errors and records of what was
// pushed.
func MaskLine(platform, line string) string { return maskLine(platform, line) }
