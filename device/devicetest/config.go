package devicetest

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// runningConfig is a line-oriented Cisco/Arista style configuration that
// configuration-mode commands edit the way the device would: sections
// (interface, router, ...) hold indented children, single-valued settings
// are replaced, "no ..." removes (or, for "ip address", records "no ip
// address" as IOS shows it).
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
// the previous value in place.
var singleValued = []string{
	"hostname", "description", "ip address", "ip domain name", "ip domain-name",
	"ip default-gateway", "switchport mode", "switchport access vlan",
	"switchport trunk allowed vlan", "switchport trunk native vlan", "mtu", "speed",
	"duplex", "vrf forwarding", "ip vrf forwarding", "vrf member", "encapsulation",
	"name", "bandwidth", "shutdown", "spanning-tree mode", "clock timezone",
	"snmp-server location", "snmp-server contact", "logging buffered",
}

// shownNegated are settings whose absence the device prints as "no ...".
var shownNegated = map[string]bool{"ip address": true}

func settingKey(body string) string {
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
		if c.findTop(body) >= 0 && c.hasChildren(c.findTop(body)) {
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

func shortIfName(name string) string {
	if len(name) > 2 {
		i := strings.IndexAny(name, "0123456789")
		if i > 2 {
			return name[:2] + name[i:]
		}
	}
	return name
}

func (c *runningConfig) isChild(i int) bool {
	return i < len(c.lines) && strings.HasPrefix(c.lines[i], " ")
}

func (c *runningConfig) hasChildren(i int) bool { return c.isChild(i + 1) }

func (c *runningConfig) findTop(line string) int {
	for i, l := range c.lines {
		if !strings.HasPrefix(l, " ") && strings.TrimRight(l, " ") == line {
			return i
		}
	}
	return -1
}

// childRange returns the [start, end) indices of the children of header i.
func (c *runningConfig) childRange(i int) (int, int) {
	j := i + 1
	for c.isChild(j) {
		j++
	}
	return i + 1, j
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

func (c *runningConfig) insert(at int, lines ...string) {
	c.lines = append(c.lines[:at], append(append([]string(nil), lines...), c.lines[at:]...)...)
}

func (c *runningConfig) remove(from, to int) {
	c.lines = append(c.lines[:from], c.lines[to:]...)
}

// apply edits the configuration for one configuration-mode line typed in
// section (empty at the top level) and returns the section the CLI is in
// afterwards and its prompt suffix.
func (c *runningConfig) apply(section, line string) (string, string) {
	negated := strings.HasPrefix(line, "no ")
	body := strings.TrimPrefix(line, "no ")
	if section != "" {
		if _, opens := c.opensSection(body); !opens {
			if i := c.findTop(section); i >= 0 {
				start, end := c.childRange(i)
				c.setIn(start, end, c.prof.indent, body, negated, true)
			}
			return section, ""
		}
	}
	if suffix, opens := c.opensSection(body); opens {
		i := c.findTop(body)
		if negated {
			if i >= 0 {
				_, end := c.childRange(i)
				if c.prof.separator != "" && end < len(c.lines) && c.lines[end] == c.prof.separator && i > 0 && c.lines[i-1] == c.prof.separator {
					end++
				}
				c.remove(i, end)
			}
			return "", ""
		}
		if i < 0 {
			at := c.insertPoint()
			if c.prof.separator != "" {
				c.insert(at, c.prof.separator, body)
			} else {
				c.insert(at, body)
			}
		}
		return body, suffix
	}
	c.setIn(0, len(c.lines), "", body, negated, false)
	return "", ""
}

// setIn sets or removes a setting among lines[start:end] at one indentation.
func (c *runningConfig) setIn(start, end int, indent, body string, negated, child bool) {
	key := settingKey(body)
	found := -1
	for i := start; i < end; i++ {
		l := c.lines[i]
		if !strings.HasPrefix(l, indent) || (indent == "" && strings.HasPrefix(l, " ")) {
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
	case child && key == "description":
		c.insert(start, indent+body)
	case child:
		c.insert(end, indent+body)
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
}
