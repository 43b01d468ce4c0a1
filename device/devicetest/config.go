package devicetest

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// runningConfig is a line-oriented Cisco/Arista style configuration that
// configuration-mode commands edit the way the device would: sections
// (interface, router, ...) hold indented children and may nest (NX-OS's
// "neighbor A" sub-mode under "router bgp", address families), single-valued
// settings are replaced, "no ..." removes (or, for "ip address", records "no
// ip address" as IOS shows it).
type runningConfig struct {
	prof  *profile
	lines []string
}

// sectionWords are the first words of commands that open a sub-mode.
var sectionWords = map[string]string{
	"interface":     "if",
	"router":        "router",
	"line":          "line",
	"vlan":          "vlan",
	"vrf":           "vrf",
	"policy-map":    "pmap",
	"class-map":     "cmap",
	"route-map":     "route-map",
	"ip":            "", // only "ip access-list ..." (checked below)
	"management":    "mgmt",
	"aaa":           "", // only "aaa server ..." (checked below)
	"key":           "keychain",
	"spanning-tree": "",
}

// singleValued are settings a device keeps once: setting them again replaces
// the previous value in place. Under "router bgp", "neighbor A <setting>"
// lines are keyed by address and setting, so a new description or remote AS
// of a neighbour replaces the old one, as IOS and EOS do.
var singleValued = []string{
	"hostname", "description", "ip address", "ip domain name", "ip domain-name",
	"ip default-gateway", "switchport mode", "switchport access vlan",
	"switchport trunk allowed vlan", "switchport trunk native vlan", "mtu", "speed",
	"duplex", "vrf forwarding", "ip vrf forwarding", "vrf member", "encapsulation",
	"name", "bandwidth", "shutdown", "spanning-tree mode", "clock timezone",
	"snmp-server location", "snmp-server contact", "logging buffered",
	"router-id", "bgp router-id", "remote-as", "password", "update-source", "peer-group",
	"ebgp-multihop", "local-as", "inherit peer",
}

// shownNegated are settings whose absence the device prints as "no ...".
var shownNegated = map[string]bool{"ip address": true}

func settingKey(body string) string {
	if rest, ok := strings.CutPrefix(body, "neighbor "); ok {
		if addr, attr, found := strings.Cut(rest, " "); found {
			return "neighbor " + addr + " " + settingKey(attr)
		}
		return body
	}
	best := ""
	for _, k := range singleValued {
		if (body == k || strings.HasPrefix(body, k+" ")) && len(k) > len(best) {
			best = k
		}
	}
	if best == "" {
		return body
	}
	return best
}

func newRunningConfig(prof *profile, text string) *runningConfig {
	return &runningConfig{prof: prof, lines: splitLines(strings.TrimRight(text, "\n"))}
}

// opensSection reports whether a top-level command enters a sub-mode and
// the prompt suffix for it.
func (c *runningConfig) opensSection(body string) (string, bool) {
	words := strings.Fields(body)
	if len(words) < 2 {
		return "", false
	}
	suffix, ok := sectionWords[words[0]]
	switch {
	case !ok:
		if i := c.find(0, len(c.lines), 0, body); i >= 0 && c.hasChildren(i, 0) {
			return "sub", true
		}
		return "", false
	case words[0] == "ip":
		if words[1] == "access-list" {
			return "acl", true
		}
		return "", false
	case words[0] == "aaa":
		if words[1] == "server" {
			return "locsvr", true
		}
		return "", false
	case words[0] == "spanning-tree":
		return "", false
	}
	if c.prof.name == "arista_eos" && words[0] == "interface" {
		return "if-" + shortIfName(words[1]), true
	}
	return suffix, true
}

// opensNested reports whether body, typed in the sub-mode path, enters a
// nested sub-mode, and its prompt suffix: an existing nested section, or
// the BGP sub-modes of the platform ("address-family ...", "vrf NAME" on
// NX-OS and EOS, NX-OS's "neighbor A" and "template peer NAME").
func (c *runningConfig) opensNested(path []string, body string) (string, bool) {
	words := strings.Fields(body)
	if len(words) == 0 {
		return "", false
	}
	if _, start, end, ok := c.locate(path); ok {
		if i := c.find(start, end, len(path), body); i >= 0 && c.hasChildren(i, len(path)) {
			return nestedSuffix(words[0]), true
		}
	}
	top := strings.Fields(path[0])
	if len(top) < 2 || top[0] != "router" || top[1] != "bgp" {
		return "", false
	}
	nxos := c.prof.name == "cisco_nxos"
	switch {
	case words[0] == "address-family":
		return "af", true
	case words[0] == "vrf" && len(words) == 2 && c.prof.name != "cisco_iosxe" && len(path) == 1:
		return "vrf", true
	case nxos && words[0] == "neighbor" && len(words) == 2:
		return "neighbor", true
	case nxos && words[0] == "template" && len(words) == 3 && len(path) == 1:
		return "ptmp", true
	}
	return "", false
}

func nestedSuffix(word string) string {
	switch word {
	case "address-family":
		return "af"
	case "template":
		return "ptmp"
	}
	return word
}

func shortIfName(name string) string {
	if len(name) > 2 {
		i := strings.IndexAny(name, "0123456789")
		if i > 2 {
			return name[:2] + name[i:]
		}
	}
	return name
}

// indentLen is the number of leading spaces of l.
func indentLen(l string) int { return len(l) - len(strings.TrimLeft(l, " ")) }

// ind is the indentation of lines at depth d.
func (c *runningConfig) ind(d int) string { return strings.Repeat(c.prof.indent, d) }

// atDepth reports whether line l sits exactly at depth d.
func (c *runningConfig) atDepth(l string, d int) bool {
	return indentLen(l) == d*len(c.prof.indent) && strings.TrimSpace(l) != ""
}

// find returns the index of the line text at depth among lines[start:end],
// or -1.
func (c *runningConfig) find(start, end, depth int, text string) int {
	for i := start; i < end; i++ {
		if c.atDepth(c.lines[i], depth) && strings.TrimRight(strings.TrimSpace(c.lines[i]), " ") == text {
			return i
		}
	}
	return -1
}

// children returns the [start, end) indices of the lines nested under the
// header at i, at depth: the following lines indented deeper.
func (c *runningConfig) children(i, depth int) (int, int) {
	j := i + 1
	for j < len(c.lines) && strings.TrimSpace(c.lines[j]) != "" && indentLen(c.lines[j]) > depth*len(c.prof.indent) {
		j++
	}
	return i + 1, j
}

func (c *runningConfig) hasChildren(i, depth int) bool {
	s, e := c.children(i, depth)
	return e > s
}

// locate finds the sub-mode path: the index of its innermost header and the
// range of that header's children. The empty path is the whole
// configuration (hdr -1). ok is false when a header is missing (another
// session removed the section).
func (c *runningConfig) locate(path []string) (hdr, start, end int, ok bool) {
	hdr, start, end = -1, 0, len(c.lines)
	for d, h := range path {
		i := c.find(start, end, d, h)
		if i < 0 {
			return -1, 0, 0, false
		}
		hdr = i
		start, end = c.children(i, d)
	}
	return hdr, start, end, true
}

// insertPoint is where new top-level content goes: before the trailing
// separator and "end" when the configuration has them.
func (c *runningConfig) insertPoint() int {
	n := len(c.lines)
	for n > 0 {
		l := strings.TrimSpace(c.lines[n-1])
		if l == "end" || l == "" || (c.prof.separator != "" && l == c.prof.separator) {
			n--
			continue
		}
		break
	}
	return n
}

// childInsertPoint is where a new plain setting goes among the children
// [start, end) at depth: after the last plain setting (not a separator, not
// a nested section), so neighbour statements stay before address families.
func (c *runningConfig) childInsertPoint(start, end, depth int) int {
	at := start
	for i := start; i < end; i++ {
		l := c.lines[i]
		if t := strings.TrimSpace(l); !c.atDepth(l, depth) || t == "!" || strings.HasPrefix(t, "exit-") {
			continue
		}
		if c.hasChildren(i, depth) {
			continue
		}
		at = i + 1
	}
	return at
}

func (c *runningConfig) insert(at int, lines ...string) {
	c.lines = append(c.lines[:at], append(append([]string(nil), lines...), c.lines[at:]...)...)
}

func (c *runningConfig) remove(from, to int) {
	c.lines = append(c.lines[:from], c.lines[to:]...)
}

// apply edits the configuration for one configuration-mode line typed in
// the sub-mode path (empty at the top level) and returns the sub-mode path
// the CLI is in afterwards and the prompt suffix of its innermost level.
func (c *runningConfig) apply(path []string, line string) ([]string, string) {
	negated := strings.HasPrefix(line, "no ")
	body := strings.TrimPrefix(line, "no ")
	if len(path) > 0 {
		if _, _, _, ok := c.locate(path); !ok {
			path = nil // the section is gone (removed by another session)
		}
	}
	if len(path) > 0 {
		if suffix, opens := c.opensNested(path, body); opens {
			_, start, end, _ := c.locate(path)
			d := len(path)
			i := c.find(start, end, d, body)
			if negated {
				if i >= 0 {
					_, e := c.children(i, d)
					c.remove(i, e)
				}
				return path, ""
			}
			if i < 0 {
				c.insert(end, c.ind(d)+body)
			}
			return append(slices.Clone(path), body), suffix
		}
		if _, opens := c.opensSection(body); !opens {
			_, start, end, _ := c.locate(path)
			c.setIn(start, end, len(path), body, negated)
			return path, ""
		}
		// A top-level command typed in a sub-mode: the IOS-style parsers
		// leave the sub-mode and run it at the top level.
		path = nil
	}
	if suffix, opens := c.opensSection(body); opens {
		i := c.find(0, len(c.lines), 0, body)
		if negated {
			if i >= 0 {
				_, end := c.children(i, 0)
				if c.prof.separator != "" && end < len(c.lines) && c.lines[end] == c.prof.separator && i > 0 && c.lines[i-1] == c.prof.separator {
					end++
				}
				if c.prof.name == "cisco_nxos" && i > 0 && c.lines[i-1] == "" {
					i-- // the blank line before the section
				}
				c.remove(i, end)
			}
			return nil, ""
		}
		if i < 0 {
			at := c.insertPoint()
			switch {
			case c.prof.separator != "":
				c.insert(at, c.prof.separator, body)
			case c.prof.name == "cisco_nxos":
				c.insert(at, "", body) // NX-OS separates sections by a blank line
			default:
				c.insert(at, body)
			}
		}
		return []string{body}, suffix
	}
	c.setIn(0, len(c.lines), 0, body, negated)
	return nil, ""
}

// setIn sets or removes a setting among lines[start:end] at depth.
func (c *runningConfig) setIn(start, end, depth int, body string, negated bool) {
	indent := c.ind(depth)
	key := settingKey(body)
	if negated && depth > 0 {
		// "no neighbor A" (and IOS's "no neighbor A remote-as N") removes
		// the neighbour with all its statements.
		f := strings.Fields(body)
		if len(f) >= 2 && f[0] == "neighbor" && (len(f) == 2 || f[2] == "remote-as") {
			for i := end - 1; i >= start; i-- {
				if c.atDepth(c.lines[i], depth) && strings.HasPrefix(strings.TrimSpace(c.lines[i]), "neighbor "+f[1]+" ") {
					c.remove(i, i+1)
				}
			}
			return
		}
	}
	found := -1
	for i := start; i < end; i++ {
		l := c.lines[i]
		if !c.atDepth(l, depth) {
			continue
		}
		cur := strings.TrimSpace(l)
		if strings.HasPrefix(cur, "no ") && shownNegated[settingKey(strings.TrimPrefix(cur, "no "))] {
			cur = strings.TrimPrefix(cur, "no ")
		}
		if settingKey(cur) == key {
			found = i
			break
		}
	}
	switch {
	case negated && shownNegated[key]:
		if found >= 0 {
			c.lines[found] = indent + "no " + key
		} else {
			c.insert(end, indent+"no "+key)
		}
	case negated:
		if found >= 0 {
			c.remove(found, found+1)
		}
	case found >= 0:
		c.lines[found] = indent + body
	case depth == 1 && key == "description" && start > 0 && strings.HasPrefix(c.lines[start-1], "interface "):
		// Interfaces print their description first.
		c.insert(start, indent+body)
	case depth > 0:
		c.insert(c.childInsertPoint(start, end, depth), indent+body)
	default:
		c.insert(c.insertPoint(), body)
	}
}

var (
	currentConfigLine = regexp.MustCompile(`^Current configuration : \d+ bytes$`)
	lastChangeLine    = regexp.MustCompile(`^! Last configuration change at .*$`)
	nxosTimeLine      = regexp.MustCompile(`^!Time: .*$`)
)

// touch records a change the way IOS does in its header comment.
func (c *runningConfig) touch(now time.Time, user string) {
	for i, l := range c.lines {
		if lastChangeLine.MatchString(l) {
			c.lines[i] = "! Last configuration change at " + now.Format("15:04:05 MST Mon Jan 2 2006") + " by " + user
			return
		}
	}
}

// render returns the configuration text as the device prints it, with the
// size header recomputed and NX-OS's read timestamp refreshed.
func (c *runningConfig) render(now time.Time) string {
	out := make([]string, len(c.lines))
	copy(out, c.lines)
	for i, l := range out {
		switch {
		case currentConfigLine.MatchString(l):
			size := 0
			for _, rest := range out[i+1:] {
				size += len(rest) + 1
			}
			out[i] = "Current configuration : " + strconv.Itoa(size) + " bytes"
		case c.prof.name == "cisco_nxos" && nxosTimeLine.MatchString(l):
			out[i] = "!Time: " + now.Format("Mon Jan _2 15:04:05 2006")
		}
	}
	return strings.Join(out, "\n")
}

// knownWord reports whether w can start a configuration line: either a word
// the configuration already uses or a common configuration keyword.
func (c *runningConfig) knownWord(w string) bool {
	if commonConfigWords[w] {
		return true
	}
	for _, l := range c.lines {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == w {
			return true
		}
	}
	return false
}

var commonConfigWords = map[string]bool{
	"interface": true, "hostname": true, "ip": true, "ipv6": true, "description": true,
	"shutdown": true, "vlan": true, "router": true, "username": true, "snmp-server": true,
	"ntp": true, "logging": true, "banner": true, "line": true, "switchport": true,
	"mtu": true, "speed": true, "duplex": true, "vrf": true, "feature": true, "name": true,
	"aaa": true, "spanning-tree": true, "service": true, "clock": true, "network": true,
	"neighbor": true, "encapsulation": true, "bandwidth": true, "management": true,
	"remote-as": true, "router-id": true, "bgp": true, "template": true, "inherit": true,
	"address-family": true, "exit-address-family": true, "update-source": true,
	"password": true, "timers": true, "activate": true,
}
