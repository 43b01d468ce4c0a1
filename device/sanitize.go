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
