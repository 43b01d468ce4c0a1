package f5

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// MemberName is BIG-IP's name of a pool member at address and port:
// "192.0.2.10:80" for IPv4 and node names, "2001:db8::10.80" for IPv6
// (tmsh and iControl REST separate an IPv6 address from its port with a
// period, since the colon belongs to the address). A route domain suffix
// ("%2") stays with the address.
func MemberName(address string, port int) string {
	if isIPv6(address) {
		return address + "." + strconv.Itoa(port)
	}
	return address + ":" + strconv.Itoa(port)
}

// ParseMember reads a pool member written as "192.0.2.10:80",
// "192.0.2.10%2:80", "node-name:80", "[2001:db8::10]:80" or BIG-IP's own
// "2001:db8::10.80", and returns its address (or node name) and port.
// An IPv6 address with a colon before the port ("2001:db8::10:80") is
// refused: it is itself a valid IPv6 address, so the port cannot be told
// apart.
func ParseMember(s string) (address string, port int, err error) {
	bad := func(why string) (string, int, error) {
		return "", 0, fmt.Errorf("pool member %q: %s", s, why)
	}
	var portText string
	switch {
	case strings.HasPrefix(s, "["):
		host, rest, ok := strings.Cut(s[1:], "]")
		if !ok || !strings.HasPrefix(rest, ":") {
			return bad(`want "[IPv6]:port"`)
		}
		address, portText = host, rest[1:]
		if !isIPv6(address) {
			return bad("brackets hold no IPv6 address")
		}
	case strings.Count(s, ":") > 1:
		i := strings.LastIndex(s, ".")
		if i < 0 {
			return bad(`an IPv6 member is written "address.port" (or "[address]:port")`)
		}
		address, portText = s[:i], s[i+1:]
		if !isIPv6(address) {
			return bad(`an IPv6 member is written "address.port" (or "[address]:port")`)
		}
	default:
		i := strings.LastIndex(s, ":")
		if i <= 0 {
			return bad(`want "address:port"`)
		}
		address, portText = s[:i], s[i+1:]
	}
	port, err = strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 || portText == "" || portText[0] == '+' {
		return bad(fmt.Sprintf("port %q is not a number from 0 to 65535", portText))
	}
	return address, port, nil
}

// isIPv6 reports whether address (with an optional "%N" route domain) is
// an IPv6 address.
func isIPv6(address string) bool {
	host, rd, hasRD := strings.Cut(address, "%")
	if hasRD {
		if _, err := strconv.ParseUint(rd, 10, 16); err != nil {
			return false
		}
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Is6() && !a.Is4In6() && a.Zone() == ""
}
