package sync

import (
	"regexp"

	"github.com/netauto-dev/netauto/device"
)

// BackupSanitizer returns the rules config backup applies to a platform's
// configuration before committing it: device.DefaultSanitizer, preceded
// by rules for secrets it leaves in place (line and sub-mode passwords,
// IOS-XR and NX-OS neighbour passwords, HSRP/VRRP/IS-IS authentication,
// IKEv2 keyring keys, SNMPv3 "priv aes 128" keys, PPP passwords, and every
// Junos value marked "## SECRET-DATA").
func BackupSanitizer(platform string) device.Sanitizer {
	s := device.DefaultSanitizer(platform)
	extra := ciscoExtraSecrets
	switch platform {
	case "juniper_junos":
		extra = junosExtraSecrets
	case "cisco_iosxe", "cisco_iosxr", "cisco_nxos", "arista_eos":
	default:
		extra = append(append([]device.Replacement{}, ciscoExtraSecrets...), junosExtraSecrets...)
	}
	s.Secrets = append(append([]device.Replacement{}, extra...), s.Secrets...)
	return s
}

// maskRule masks the second of the pattern's three groups.
func maskRule(pattern string) device.Replacement {
	return device.Replacement{Pattern: regexp.MustCompile(pattern), Replacement: "${1}" + device.SecretMask + "${3}"}
}

var (
	ciscoExtraSecrets = []device.Replacement{
		// "password 7 X" / "secret 10 X" alone on an indented line: line
		// con/vty, IOS-XR username and neighbour sub-modes, NX-OS
		// neighbour sub-mode. The secret is the last word, so settings
		// such as "password minimum length 8" are left alone.
		maskRule(`^(\s+(?:password|secret)(?: (?:\d+|encrypted|sha512|md5))? )(\S+)(\s*)$`),
		// HSRP, VRRP, IS-IS: "authentication text X", "authentication
		// md5 key-string 7 X", "isis authentication key 7 X".
		maskRule(`^(.*\bauthentication (?:text|key|(?:md5 )?key-string)(?: \d+)? )(\S+)()`),
		maskRule(`^(.*\bppp (?:chap|pap)\b.*?\bpassword(?: \d+)? )(\S+)()`),
		// IKEv2 keyrings.
		maskRule(`^(\s+pre-shared-key (?:local |remote )?(?:\d+ )?)(\S+)(\s*)$`),
		maskRule(`^(\s+pre-shared-key address \S+(?: \S+)? key(?: \d+)? )(\S+)()`),
		// IOS writes the privacy protocol as "aes 128".
		maskRule(`^(\s*snmp-server user \S+ .*?\bpriv (?:aes \d+|aes-\d+|des|3des) )(\S+)()`),
	}
	junosExtraSecrets = []device.Replacement{
		// Junos marks every secret it prints.
		maskRule(`^(.*")([^"]*)(";\s*## SECRET-DATA.*)$`),
	}
)
