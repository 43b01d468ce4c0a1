package infrahubtest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/netauto-dev/netauto/infrahub"
)

// Attribute values are checked and normalised as Infrahub does when a node
// is created or updated (opsmill/infrahub backend/infrahub/core/attribute.py:
// BaseAttribute.validate, validate_format and validate_content of each
// attribute class, _normalize_value; backend/infrahub/types.py maps
// attribute kinds to those classes). A ValidationError({name: reason}) is
// answered as "<reason> at <name>" (backend/infrahub/exceptions.py
// ValidationError; backend/infrahub/errors/validation.py keeps that text in
// 1.11).

// maxStringLength is MAX_STRING_LENGTH of core/attribute.py: a string value
// of an indexed attribute must satisfy 3 + len(utf-8 bytes) < 4096.
const maxStringLength = 4096

// largeKinds are LARGE_ATTRIBUTE_TYPES of backend/infrahub/types.py: their
// values are not indexed and have no length limit.
var largeKinds = map[string]bool{"TextArea": true, "JSON": true, "List": true}

// attrErrorf is a ValidationError({attr: reason}): "<reason> at <attr>".
func attrErrorf(attr, format string, a ...any) error {
	return inputErrorf("%s at %s", fmt.Sprintf(format, a...), attr)
}

// normalizeAttr checks value v (not nil) for attribute a and returns the
// value Infrahub stores.
func normalizeAttr(a *infrahub.AttributeSchema, v any) (any, error) {
	invalid := func() error { return attrErrorf(a.Name, "%s is not a valid %s", pyStr(v), a.Kind) }
	s, isString := v.(string)
	switch a.Kind {
	case "Number", "Bandwidth":
		// Integer.validate_format: the value's class must be int (a bool is
		// not). JSON variables arrive as float64; integral ones are ints.
		switch n := v.(type) {
		case int:
			v = int64(n)
		case int64:
		case float64:
			if n != math.Trunc(n) || math.Abs(n) > 1<<63 {
				return nil, invalid()
			}
			v = int64(n)
		default:
			return nil, invalid()
		}
	case "Boolean", "Checkbox":
		if _, ok := v.(bool); !ok {
			return nil, invalid()
		}
	case "List":
		// ListAttribute.validate_format: a list, or a string holding a JSON
		// list.
		if isString {
			var decoded any
			if err := json.Unmarshal([]byte(s), &decoded); err != nil {
				return nil, attrErrorf(a.Name, "%s is not a valid JSON list", s)
			}
			if _, ok := decoded.([]any); !ok {
				return nil, invalid()
			}
			v = decoded
		} else if _, ok := v.([]any); !ok {
			return nil, invalid()
		}
	case "JSON":
		// JSONAttribute: a dict or a list, or a string holding one.
		if isString {
			var decoded any
			if err := json.Unmarshal([]byte(s), &decoded); err != nil {
				return nil, attrErrorf(a.Name, "%s is not valid JSON", s)
			}
			v = decoded
		}
		switch v.(type) {
		case map[string]any, []any:
		default:
			return nil, invalid()
		}
	case "Any":
	default:
		// Every other kind stores a str (String, DateTime, Dropdown, URL,
		// IPHost, IPNetwork, MacAddress, HashedPassword).
		if !isString {
			return nil, invalid()
		}
		switch a.Kind {
		case "DateTime":
			// DateTime.validate_format: "" is allowed when optional, else
			// infrahub_sdk Timestamp must parse it.
			if s != "" || !a.Optional {
				if !validTimestamp(s) {
					return nil, invalid()
				}
			}
		case "URL":
			if !validURL(s) {
				return nil, invalid()
			}
		case "IPHost":
			// ipaddress.ip_interface, stored with_prefixlen.
			p, ok := parseInterface(s)
			if !ok {
				return nil, invalid()
			}
			v = p.String()
		case "IPNetwork":
			// ipaddress.ip_network (strict: no host bits), stored
			// with_prefixlen.
			p, ok := parseInterface(s)
			if !ok || p.Masked() != p {
				return nil, invalid()
			}
			v = p.String()
		case "MacAddress":
			// netaddr.valid_mac, stored as upper-case EUI with colons
			// (mac_unix_expanded).
			m, ok := parseMAC(s)
			if !ok {
				return nil, invalid()
			}
			v = m
		}
	}
	if err := checkContent(a, v); err != nil {
		return nil, err
	}
	return v, nil
}

// checkContent is validate_content: the string length limit of indexed
// kinds, regex, min_length, max_length, enum and dropdown choices.
func checkContent(a *infrahub.AttributeSchema, v any) error {
	if s, ok := v.(string); ok && !largeKinds[a.Kind] && 3+len(s) >= maxStringLength {
		return inputErrorf("Text attribute length should be less than %d characters.", maxStringLength)
	}
	if a.Regex != "" {
		// re.match anchors at the start only. A pattern Go's RE2 cannot
		// compile (look-around) is not checked.
		if re := compileRegex(a.Regex); re != nil {
			values := []any{v}
			if list, ok := v.([]any); ok && a.Kind == "List" {
				values = list
			}
			for _, x := range values {
				if str := pyStr(x); !re.MatchString(str) {
					return attrErrorf(a.Name, "%s must conform with the regex: %s", str, pyRepr(a.Regex))
				}
			}
		}
	}
	if n, ok := pyLen(v); ok {
		if a.MinLength > 0 && n < a.MinLength {
			return attrErrorf(a.Name, "%s must have a minimum length of %d", pyStr(v), a.MinLength)
		}
		if a.MaxLength > 0 && n > a.MaxLength {
			return attrErrorf(a.Name, "%s must have a maximum length of %d", pyStr(v), a.MaxLength)
		}
	}
	if len(a.Enum) > 0 && !slices.ContainsFunc(a.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		return attrErrorf(a.Name, "%s must be one of %s", pyStr(v), pyStr(a.Enum))
	}
	if a.Kind == "Dropdown" {
		// Dropdown.validate_content: "<v> must be one of 'a, b, c'" (the
		// choice names sorted).
		names := make([]string, 0, len(a.Choices))
		for _, c := range a.Choices {
			names = append(names, fmt.Sprint(c["name"]))
		}
		if !slices.Contains(names, fmt.Sprint(v)) {
			sort.Strings(names)
			return attrErrorf(a.Name, "%s must be one of %s", pyStr(v), pyRepr(strings.Join(names, ", ")))
		}
	}
	return nil
}

var (
	regexMu    sync.Mutex
	regexCache = map[string]*regexp.Regexp{}
)

func compileRegex(p string) *regexp.Regexp {
	regexMu.Lock()
	defer regexMu.Unlock()
	re, ok := regexCache[p]
	if !ok {
		re, _ = regexp.Compile(`^(?:` + p + `)`) // nil when RE2 refuses it
		regexCache[p] = re
	}
	return re
}

// pyLen is Python's len() of a value with one (strings count characters).
func pyLen(v any) (int, bool) {
	switch t := v.(type) {
	case string:
		return utf8.RuneCountInString(t), true
	case []any:
		return len(t), true
	case map[string]any:
		return len(t), true
	}
	return 0, false
}

// validTimestamp reports whether infrahub_sdk's Timestamp parses s
// (opsmill/infrahub-sdk-python infrahub_sdk/timestamp.py _parse_string): an
// ISO 8601 date-time with or without offset, a date, or a relative time
// such as "10m" or "2h" found anywhere in the string.
func validTimestamp(s string) bool {
	if _, err := infrahub.ParseTime(s); err == nil {
		return true
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return relativeTime.MatchString(s)
}

var relativeTime = regexp.MustCompile(`\d+(s|sec|second|seconds|m|min|minute|minutes|h|hour|hours)`)

// validURL follows infrahub_sdk.utils.is_valid_url: a path starting with
// "/", or a URL with a scheme and a host.
func validURL(s string) bool {
	if strings.HasPrefix(s, "/") {
		return true
	}
	if !strings.Contains(s, "://") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

// parseInterface parses an address with an optional prefix length or
// netmask, as ipaddress.ip_interface does; a bare address is a host route.
func parseInterface(s string) (netip.Prefix, bool) {
	addr, mask, hasMask := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	bits := a.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(mask); err == nil && strconv.Itoa(n) == mask {
			bits = n
		} else if m, err := netip.ParseAddr(mask); err == nil && a.Is4() && m.Is4() {
			ones, total := net.IPMask(m.AsSlice()).Size()
			if total == 0 {
				return netip.Prefix{}, false
			}
			bits = ones
		} else {
			return netip.Prefix{}, false
		}
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, bits), p.IsValid()
}

// parseMAC accepts the MAC forms netaddr accepts for EUI-48 and EUI-64
// (colons, hyphens, Cisco dots, bare hex) and returns the upper-case
// colon form.
func parseMAC(s string) (string, bool) {
	var raw []byte
	if hw, err := net.ParseMAC(s); err == nil && (len(hw) == 6 || len(hw) == 8) {
		raw = hw
	} else if len(s) == 12 || len(s) == 16 {
		b, err := hex.DecodeString(s)
		if err != nil {
			return "", false
		}
		raw = b
	} else {
		return "", false
	}
	parts := make([]string, len(raw))
	for i, b := range raw {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":"), true
}

// pyStr renders a value as Python's str() does, for error messages.
func pyStr(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case string:
		return t
	case bool:
		if t {
			return "True"
		}
		return "False"
	case float64:
		// JSON numbers arrive as float64; an integral one was (almost
		// always) a JSON integer, which Python reads as an int.
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatFloat(t, 'f', 0, 64)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = pyReprValue(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyReprValue(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func pyReprValue(v any) string {
	if s, ok := v.(string); ok {
		return pyRepr(s)
	}
	return pyStr(v)
}

// pyRepr renders a string as Python's repr() does.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// attrExtras computes the derived fields of an attribute's GraphQL type
// (see derivedFields): Dropdown's label, color and description of the
// chosen choice ("" when none, as Dropdown.label in opsmill/infrahub
// backend/infrahub/core/attribute.py answers), and what Python's
// ipaddress gives for IPHost (ip_interface) and IPNetwork (ip_network);
// null when the value is null. num_addresses beyond a 32-bit GraphQL Int
// is graphql-core's serialisation error.
func attrExtras(a *infrahub.AttributeSchema, v any) (map[string]any, error) {
	out := map[string]any{}
	switch a.Kind {
	case "Dropdown":
		out["label"], out["color"], out["description"] = "", "", ""
		for _, c := range a.Choices {
			if v != nil && fmt.Sprint(c["name"]) == fmt.Sprint(v) {
				for _, f := range []string{"label", "color", "description"} {
					if x, ok := c[f].(string); ok {
						out[f] = x
					}
				}
			}
		}
	case "IPHost", "IPNetwork":
		s, _ := v.(string)
		p, ok := parseInterface(s)
		if !ok {
			return out, nil
		}
		bits := p.Addr().BitLen()
		netmask := maskAddr(p.Bits(), bits, false)
		hostmask := maskAddr(p.Bits(), bits, true)
		addr := p.Addr()
		if a.Kind == "IPNetwork" {
			addr = p.Masked().Addr()
			last := addr.AsSlice()
			hm := hostmask.AsSlice()
			for i := range last {
				last[i] |= hm[i]
			}
			broadcast, _ := netip.AddrFromSlice(last)
			out["broadcast_address"] = broadcast.String()
			if bits-p.Bits() > 30 {
				return nil, inputErrorf("Int cannot represent non 32-bit signed integer value: %s", new(big.Int).Lsh(big.NewInt(1), uint(bits-p.Bits())))
			}
			out["num_addresses"] = 1 << (bits - p.Bits())
		} else {
			out["ip"] = addr.String()
		}
		out["netmask"], out["hostmask"] = netmask.String(), hostmask.String()
		out["prefixlen"] = p.Bits()
		out["version"] = 4
		if addr.Is6() {
			out["version"] = 6
		}
		out["with_netmask"] = addr.String() + "/" + netmask.String()
		out["with_hostmask"] = addr.String() + "/" + hostmask.String()
	}
	return out, nil
}

// maskAddr is the netmask (or, with host, the hostmask) of a prefix length
// as an address.
func maskAddr(ones, bits int, host bool) netip.Addr {
	m := net.CIDRMask(ones, bits)
	if host {
		for i := range m {
			m[i] = ^m[i]
		}
	}
	a, _ := netip.AddrFromSlice(m)
	return a
}
