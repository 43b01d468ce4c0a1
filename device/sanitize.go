package device

import (
	"regexp"
	"slices"
	"strings"
)

// SecretMask replaces every secret value a Sanitizer removes.
const SecretMask = "<secret-removed>"

// Replacement rewrites the part of a line its pattern matches; the
// replacement may use $1-style references to the pattern's groups.
type Replacement struct {
	Pattern     *regexp.Regexp
	Replacement string
	// Keep, when set, leaves a match alone whose second group (the secret,
	// by this package's convention) matches it: a keyword standing where a
	// secret could ("snmp-server host H version 3 ...": "version" is not a
	// community).
	Keep *regexp.Regexp
	// NotIn, when set, skips the rule on the lines of a section (the lines
	// indented under a top-level line) whose header matches it: " key 1"
	// under "key chain KC" is an index, under "tacacs server T" a key.
	NotIn *regexp.Regexp

	// need lists words one of which every match contains (the built-in
	// rules'): a line holding none is skipped without running the
	// pattern, which keeps cleaning fast on the many lines without
	// secrets.
	need []string
}

// apply rewrites l.
func (r Replacement) apply(l string) string {
	if len(r.need) > 0 && !slices.ContainsFunc(r.need, func(w string) bool { return strings.Contains(l, w) }) {
		return l
	}
	if r.Keep == nil {
		return r.Pattern.ReplaceAllString(l, r.Replacement)
	}
	var out []byte
	last := 0
	for _, m := range r.Pattern.FindAllStringSubmatchIndex(l, -1) {
		if len(m) >= 6 && m[4] >= 0 && r.Keep.MatchString(l[m[4]:m[5]]) {
			continue
		}
		out = append(out, l[last:m[0]]...)
		out = r.Pattern.ExpandString(out, r.Replacement, l, m)
		last = m[1]
	}
	if last == 0 && out == nil {
		return l
	}
	return string(append(out, l[last:]...))
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
	section := "" // the top-level line the current line is indented under
next:
	for _, l := range lines {
		l = strings.TrimRight(l, " \t\r")
		for _, n := range s.Noise {
			if n.MatchString(l) {
				continue next
			}
		}
		if l != "" && l[0] != ' ' && l[0] != '\t' {
			section = l
		}
		out = append(out, s.mask(l, section))
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// mask builds a rule whose pattern has three groups: what precedes the
// secret (kept), the secret (masked), and what follows it (kept).
func mask(pattern string) Replacement {
	return Replacement{Pattern: regexp.MustCompile(pattern), Replacement: "${1}" + SecretMask + "${3}", need: needFor(pattern)}
}

// keywords are the words the built-in rules' patterns require: each
// pattern holds one literally (TestRulesNeedKeywords), so any match holds
// one of those the pattern mentions.
var keywords = []string{"snmp-server", "SECRET-DATA", "unsupported-transceiver", "authentication", "password",
	"secret", "key", "psk", "://", "ascii-text", "hexadecimal", "ssh-", "community"}

func needFor(pattern string) []string {
	var need []string
	for _, k := range keywords {
		if strings.Contains(pattern, k) {
			need = append(need, k)
		}
	}
	return need
}

// maskNotIn is mask skipping the sections whose header matches notIn.
func maskNotIn(pattern, notIn string) Replacement {
	r := mask(pattern)
	r.NotIn = regexp.MustCompile(notIn)
	return r
}

// maskKeep is mask leaving secrets that match keep (keywords) alone.
func maskKeep(pattern, keep string) Replacement {
	r := mask(pattern)
	r.Keep = regexp.MustCompile(keep)
	return r
}

// Secret rules: each has the three groups of mask. Their sources are
// Oxidized's "cmd :secret" rules of its ios, nxos, eos and junos models
// (ytti/oxidized@687ed4262d9d lib/oxidized/model/{ios,nxos,eos,junos}.rb),
// read as facts about where each platform prints secrets, and the forms
// the vendors document; every form has a line in testdata/secrets/*.txt
// and benign look-alikes that must stay as they are.
var (
	urlSecrets = []Replacement{
		// user:password@ in URLs (archive sites, transfer targets; Junos
		// does not mark those "## SECRET-DATA").
		// The password runs to the last "@" of the URL: devices store what
		// was typed, unencoded "@" and "/" included.
		mask(`(\b[a-z][a-z0-9+.-]*://[^:/\s"@]+:)([^\s"]+)(@[^@\s"]+)`),
	}
	ciscoSecrets = []Replacement{
		// SNMP: communities (IOS, NX-OS, EOS), NX-OS community maps, the
		// community of a trap host with or without "version 1|2c" (not a
		// v3 user, not a keyword), SNMPv3 keys and EOS's localized engine.
		mask(`^(\s*snmp-server community )(\S+)()`),
		mask(`^(\s*snmp-server mib community-map )(\S+)()`),
		maskKeep(`^(\s*snmp-server host \S+(?: vrf \S+)?(?: (?:informs?|traps?))?(?: version (?:1|2c))? )(\S+)()`,
			`^(version|informs?|traps?|vrf|use-vrf|source-interface|filter-vrf|udp-port)$`),
		mask(`^(\s*snmp-server user \S+ .*?\bauth (?:md5|sha\S*) )(\S+)()`),
		mask(`^(\s*snmp-server user \S+ .*?\bpriv (?:(?:aes(?: \d+|-\d+|\d+)?|des|3des) )?)(\S+)()`),
		mask(`^(\s*snmp-server user \S+ .*?\blocalized )(\S+)()`),
		// Local users and enable.
		mask(`^(\s*enable (?:secret|password)(?: level \d+)?(?: (?:\d|sha512|md5))? )(\S+)()`),
		mask(`^(\s*username \S+ .*?\b(?:secret|password)(?: (?:10|\d|sha512|md5|encrypted))? )(\S+)()`),
		mask(`^(\s*aaa root secret(?: (?:\d|sha512))? )(\S+)()`),
		// A password or secret alone on a sub-mode line: line con/vty,
		// IOS-XR users and neighbours, NX-OS neighbours, trustpoints. The
		// value is the last word ("password minimum length 8" is left).
		mask(`^(\s+(?:password|secret)(?: (?:10|\d|encrypted|clear|sha512|md5))? )(\S+)(\s*)$`),
		// "password <type> <value>" and "secret <type> <value>" anywhere
		// (Oxidized's nxos and eos rules). An encryption type is one digit
		// (IOS-XR: 10), so a numeric secret is not taken for one.
		mask(`^(.*\bpassword (?:10|\d) )(\S+)()`),
		mask(`^(.*\bsecret (?:10|\d|sha512|md5) )(\S+)()`),
		// AAA servers: tacacs-server/radius-server lines (NX-OS quotes
		// the key), "tacacs server"/"radius server" blocks' key lines, RADIUS
		// dynamic-author clients' server keys.
		mask(`^(\s*(?:tacacs-server|radius-server)\b.*?\bkey(?: \d)? )("[^"]*"|\S+)()`),
		mask(`^(\s+key \d )(\S+)(\s*)$`),
		maskNotIn(`^(\s+key )(\S+)(\s*)$`, `^key chain `), // " key 1" of a key chain is an index
		mask(`^(\s+key \S+ \d )(\S+)(\s*)$`),              // EOS "key <id> 7 <key>"
		mask(`^(.*\bserver-key(?: \d)? )(\S+)()`),
		// Key chains, HSRP md5, IOS-XR "key-string password".
		mask(`^(.*\bkey-string(?: (?:\d|password|clear))? )(\S+)()`),
		// IKE/IKEv2 keys.
		mask(`^(\s*crypto isakmp key(?: \d)? )(\S+)()`),
		mask(`^(\s*pre-shared-key (?:(?:local|remote) )?(?:\d )?)(\S+)(\s*)$`),
		mask(`^(\s*pre-shared-key address \S+(?: \S+)? key(?: \d)? )(\S+)()`),
		// Routing protocol authentication: OSPF, BGP, HSRP, VRRP, IS-IS.
		mask(`^(\s*ip ospf authentication-key(?: \d)? )(\S+)()`),
		mask(`^(\s*ip ospf message-digest-key \d+ (?:md5|sha\d*)(?: \d)? )(\S+)()`),
		mask(`^(\s*neighbor \S+ password(?: \d)? )(\S+)()`),
		mask(`^(.*\bauthentication (?:text|key)(?: \d)? )(\S+)()`),
		mask(`^(\s*standby \d+ authentication )(\S+)(\s*)$`),
		mask(`^(\s*(?:isis password|domain-password|area-password)(?: \d)? )(\S+)()`),
		mask(`^(\s*ntp authentication-key \d+ (?:md5|sha\d*|cmac-aes-128) )(\S+)( [078])$`),
		mask(`^(\s*ntp authentication-key \d+ (?:md5|sha\d*|cmac-aes-128)(?: [078])? )(\S+)()`),
		// PPP, wireless (the PSK may hold spaces: the rest of the line),
		// dot1x and AP management users of wireless controllers.
		mask(`^(.*\bppp (?:chap|pap)\b.*?\bpassword(?: \d)? )(\S+)()`),
		mask(`^(.*\bwpa-psk (?:ascii|hex)(?: \d)? )(.+?)(\s*)$`),
		mask(`^(\s*security wpa psk set-key (?:ascii|hex) \d )(.+?)(\s*)$`),
		mask(`^(\s*dot1x username \S+ password \d )(.+?)(\s*)$`),
		mask(`^(\s*mgmtuser username \S+ password \d )(.+?)( secret \d .*)$`),
		mask(`^(\s*mgmtuser username .* secret \d )(.+?)(\s*)$`),
		// Clear-text transfer passwords, the config key, EOS licence keys.
		mask(`^(\s*ip (?:ftp|http client) password(?: \d)? )(\S+)()`),
		mask(`^(\s*key config-key password-encrypt )(\S+)()`),
		mask(`^(\s*service unsupported-transceiver \S+ )(\S+)()`),
	}
	junosSecrets = []Replacement{
		// Junos marks every secret it prints "## SECRET-DATA": the last
		// quoted string of such a line, else the word before ";" (brace
		// and set formats).
		mask(`^(.*")([^"]*)("\s*;?\s*## SECRET-DATA.*)$`),
		mask(`^(.*\s)([^\s";{}]+)(\s*;?\s*## SECRET-DATA.*)$`),
		// The same values without the marker (set format, cleartext input
		// forms, older releases), quoted or not.
		mask(`^(.*\b(?:encrypted-password|secret|authentication-key|simple-password|hello-authentication-key|ascii-text|hexadecimal|password|key|authentication-password|privacy-password|ssh-rsa|ssh-dsa|ssh-dss|ssh-ecdsa|ssh-ecdsa-sk|ssh-ed25519|ssh-ed25519-sk) ")([^"]*)(".*)$`),
		mask(`^(.*\b(?:encrypted-password|secret|authentication-key|simple-password|hello-authentication-key|ascii-text|hexadecimal|password|key|authentication-password|privacy-password) )([^"\s;{}]+)(;.*|\s*)$`),
		// SNMP communities (a policy-options community has "members"
		// after its name and is left alone).
		mask(`^(\s*community )(\S+)( \{.*|;.*)$`),
		mask(`^(\s*set snmp community )(\S+)()`),
	}
)

func noise(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}

// DefaultSanitizer returns the rules for a platform (scrapligo name): at
// least every secret Oxidized's model of the platform removes (its "cmd
// :secret" rules), the forms of testdata/secrets/<platform>.txt, and the
// noise lines that change on every read. Platforms without specific rules
// get all secret rules and no noise rules. Backups, Configure's diff and
// this package's error strings use it.
func DefaultSanitizer(platform string) Sanitizer {
	cisco := append(append([]Replacement{}, ciscoSecrets...), urlSecrets...)
	junos := append(append([]Replacement{}, junosSecrets...), urlSecrets...)
	switch platform {
	case "cisco_iosxe", "cisco_iosxr":
		return Sanitizer{Secrets: cisco, Noise: noise(
			// "exec prompt timestamp" (IOS line configuration) heads every
			// show output with the CPU load and the clock: recorded in
			// networktocode/ntc-templates@d0bc5a480fe9 tests/cisco_ios
			// (show_ip_eigrp_neighbors1.raw); "No time source, *..." is
			// the clock's form when nothing set it (IOS "show clock").
			`^Load for five secs: \d+%/\d+%; one minute: \d+%; five minutes: \d+%$`,
			`^Time source is [^,]+, [*.]?\d{1,2}:\d{2}:\d{2}\.\d{3} `,
			`^No time source, [*.]?\d{1,2}:\d{2}:\d{2}\.\d{3} `,
			`^Building configuration\.\.\.$`,
			`^Current configuration : \d+ bytes$`,
			`^! Last configuration change at `,
			`^! NVRAM config last updated at `,
			`^! No configuration change since last restart`,
			`^!Time: `, // IOS-XR
			`^ntp clock-period `,
			// Values of SNMP expression MIB objects, which move between
			// reads (Oxidized's ios model removes them).
			`^\s+expression \d+$`,
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

// maskSecrets applies the secret rules to one line out of context (a
// line as typed).
func (s Sanitizer) maskSecrets(l string) string { return s.mask(l, "") }

// mask applies the secret rules to line l of section.
func (s Sanitizer) mask(l, section string) string {
	for _, r := range s.Secrets {
		if r.NotIn != nil && section != "" && section != l && r.NotIn.MatchString(section) {
			continue
		}
		l = r.apply(l)
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
