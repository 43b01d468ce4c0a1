package routing

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/confparse"
)

// Step is one configuration line of a Plan with the steps that undo it.
type Step struct {
	// Path are the sub-mode headers the line is typed in, outermost first
	// ("router bgp 65000", then NX-OS's "neighbor 10.0.0.1"); empty at the
	// top level and on Junos.
	Path []string `json:"path,omitempty"`
	Line string   `json:"line"`
	// Opens says typing Line enters its sub-mode.
	Opens bool `json:"opens,omitempty"`
	// Creates says Line creates the section Path+Line: undoing it removes
	// the whole section, so steps inside it need no undo of their own.
	Creates bool `json:"creates,omitempty"`
	// Undo are the steps that reverse this one, in order.
	Undo []Step `json:"undo,omitempty"`
}

// Plan is what makes a device's BGP configuration match the intent: the
// steps to push, each with its undo, so a push refused part-way can be
// undone for exactly the lines applied.
type Plan struct {
	Device   string `json:"device"`
	Platform string `json:"platform"`
	Steps    []Step `json:"steps,omitempty"`
	// Added, Updated and Removed name the neighbours the plan adds,
	// changes and removes.
	Added   []string `json:"added,omitempty"`
	Updated []string `json:"updated,omitempty"`
	Removed []string `json:"removed,omitempty"`
	// Before is the device's BGP configuration as it was (the "router bgp"
	// section; Junos's BGP and routing-options statements), secrets
	// masked.
	Before []string `json:"before,omitempty"`
}

// MarshalJSON masks the secrets of every line: a plan is persisted as a
// task result, and the undo of a removed neighbour repeats the device's
// lines, neighbour passwords included. A plan read back from the store
// (a resumed run) can therefore not restore a secret: see undoLines.
func (p Plan) MarshalJSON() ([]byte, error) {
	type plain Plan
	c := plain(p)
	c.Steps = maskSteps(p.Platform, p.Steps)
	c.Before = make([]string, len(p.Before))
	for i, l := range p.Before {
		c.Before[i] = device.MaskLine(p.Platform, l)
	}
	return json.Marshal(c)
}

func maskSteps(platform string, steps []Step) []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		s.Line = device.MaskLine(platform, s.Line)
		s.Path = slices.Clone(s.Path)
		for j, h := range s.Path {
			s.Path[j] = device.MaskLine(platform, h)
		}
		s.Undo = maskSteps(platform, s.Undo)
		out[i] = s
	}
	return out
}

// Empty reports whether the device already matches the intent.
func (p Plan) Empty() bool { return len(p.Steps) == 0 }

// Lines returns the lines to type for the plan, with the navigation
// between sub-modes.
func (p Plan) Lines() []string {
	lines, _ := render(p.Steps)
	return lines
}

// UndoLines returns the lines that undo the first applied lines of Lines
// (all of them after a complete push): the undo of every applied step,
// newest first, a section the push created removed whole.
func (p Plan) UndoLines(applied int) []string {
	lines, _ := render(p.undo(applied))
	return lines
}

// render turns steps into lines: before each step, "exit" climbs out of
// the sub-modes it is not in and its Path's headers are typed; each line's
// owner is its step's index (-1 for navigation).
func render(steps []Step) (lines []string, owner []int) {
	var cur []string
	for i, st := range steps {
		c := 0
		for c < len(cur) && c < len(st.Path) && cur[c] == st.Path[c] {
			c++
		}
		for range len(cur) - c {
			lines, owner = append(lines, "exit"), append(owner, -1)
		}
		cur = slices.Clone(cur[:c])
		for _, h := range st.Path[c:] {
			lines, owner = append(lines, h), append(owner, -1)
			cur = append(cur, h)
		}
		lines, owner = append(lines, st.Line), append(owner, i)
		if st.Opens {
			cur = append(slices.Clone(st.Path), st.Line)
		}
	}
	return lines, owner
}

// undo returns the steps undoing the first applied lines of render(Steps).
func (p Plan) undo(applied int) []Step {
	_, owner := render(p.Steps)
	var done []int
	for i := 0; i < applied && i < len(owner); i++ {
		if owner[i] >= 0 {
			done = append(done, owner[i])
		}
	}
	var created [][]string
	for _, i := range done {
		if st := p.Steps[i]; st.Creates {
			created = append(created, append(slices.Clone(st.Path), st.Line))
		}
	}
	inside := func(path []string) bool {
		for _, c := range created {
			if len(path) >= len(c) && slices.Equal(path[:len(c)], c) {
				return true
			}
		}
		return false
	}
	var out []Step
	for j := len(done) - 1; j >= 0; j-- {
		st := p.Steps[done[j]]
		if inside(st.Path) {
			continue
		}
		out = append(out, st.Undo...)
	}
	return out
}

// ConflictError is a device configuration the flow will not change by
// itself (another BGP AS, a remote AS inherited from a peer group); not
// retried.
type ConflictError struct{ Device, Reason string }

func (e *ConflictError) Error() string { return "device " + e.Device + ": " + e.Reason }

// validate refuses intent values that cannot be configuration words: a
// line break would push a command of its own.
func (in Intent) validate() error {
	switch in.Platform {
	case "arista_eos", "cisco_iosxe", "cisco_nxos", "juniper_junos":
	default:
		return &ParamsError{"platform", fmt.Sprintf("%q is not supported by routing-deploy (arista_eos, cisco_iosxe, cisco_nxos, juniper_junos)", in.Platform)}
	}
	if in.LocalAS <= 0 || in.LocalAS > 1<<32-1 {
		return &ParamsError{"local_as", fmt.Sprintf("%d is not an AS number", in.LocalAS)}
	}
	if in.RouterID != "" && !isToken(in.RouterID) {
		return &ParamsError{"router_id", fmt.Sprintf("%q is not one word", in.RouterID)}
	}
	seen := map[string]bool{}
	for i, n := range in.Neighbors {
		if !isToken(n.Address) {
			return &ParamsError{fmt.Sprintf("neighbors[%d].peer_address", i), fmt.Sprintf("%q is not one word", n.Address)}
		}
		if seen[confparse.CanonAddr(n.Address)] {
			return &ParamsError{fmt.Sprintf("neighbors[%d].peer_address", i), n.Address + " appears twice"}
		}
		seen[confparse.CanonAddr(n.Address)] = true
		if n.RemoteAS <= 0 || n.RemoteAS > 1<<32-1 {
			return &ParamsError{fmt.Sprintf("neighbors[%d].remote_as", i), fmt.Sprintf("%d is not an AS number", n.RemoteAS)}
		}
		if strings.ContainsFunc(n.Description, unicode.IsControl) {
			return &ParamsError{fmt.Sprintf("neighbors[%d].description", i), "holds a line break or control character"}
		}
		if in.Platform == "juniper_junos" && strings.ContainsAny(n.Description, `"\`) {
			return &ParamsError{fmt.Sprintf("neighbors[%d].description", i), `holds a quote or backslash, which a Junos string cannot`}
		}
	}
	return nil
}

// isToken reports whether s is one printable word.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) })
}

// NewPlan compares the intent with the device's configuration: running is
// its running configuration ("show configuration" on Junos), displaySet
// Junos's "show configuration | display set" (unused elsewhere). Intended
// neighbours missing on the device are added, differing ones changed, and
// the device's global neighbours Infrahub does not list are removed; the
// router id is set when the intent has one.
func NewPlan(in Intent, running, displaySet string) (Plan, error) {
	if err := in.validate(); err != nil {
		return Plan{}, err
	}
	cur, err := confparse.Parse(in.Platform, running)
	if err != nil {
		return Plan{}, err
	}
	if cur.LocalAS != 0 && cur.LocalAS != in.LocalAS {
		return Plan{}, &ConflictError{in.Device, fmt.Sprintf("runs BGP AS %d but Infrahub intends AS %d: changing the AS of a BGP instance is not automated", cur.LocalAS, in.LocalAS)}
	}
	p := Plan{Device: in.Device, Platform: in.Platform}
	if in.Platform == "juniper_junos" {
		err = p.junos(in, cur, displaySet)
	} else {
		err = p.iosLike(in, cur, running)
	}
	return p, err
}

// node is a line of an indented configuration with its children.
type node struct {
	text     string
	children []*node
}

// tree reads an indented configuration into nodes ("!" and "exit-..."
// lines skipped).
func tree(cfg string) []*node {
	root := &node{}
	type open struct {
		n      *node
		indent int
	}
	stack := []open{{root, -1}}
	for _, raw := range strings.Split(strings.ReplaceAll(cfg, "\r", ""), "\n") {
		l := strings.TrimRight(raw, " ")
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "!") || strings.HasPrefix(t, "exit-") || t == "end" {
			continue
		}
		ind := len(l) - len(strings.TrimLeft(l, " "))
		for len(stack) > 1 && stack[len(stack)-1].indent >= ind {
			stack = stack[:len(stack)-1]
		}
		n := &node{text: t}
		parent := stack[len(stack)-1].n
		parent.children = append(parent.children, n)
		stack = append(stack, open{n, ind})
	}
	return root.children
}

// lines returns n's subtree as text lines (n itself first).
func (n *node) lines() []string {
	out := []string{n.text}
	for _, c := range n.children {
		out = append(out, c.lines()...)
	}
	return out
}

// steps returns the steps that type n's subtree again at path.
func (n *node) steps(path []string) []Step {
	out := []Step{{Path: slices.Clone(path), Line: n.text, Opens: len(n.children) > 0}}
	for _, c := range n.children {
		out = append(out, c.steps(append(slices.Clone(path), n.text))...)
	}
	return out
}

// neighborOf returns the neighbour address a "neighbor A ..." line names,
// canonical, or "".
func neighborOf(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] != "neighbor" {
		return ""
	}
	return confparse.CanonAddr(f[1])
}

// iosLike plans IOS-XE, EOS (one-line "neighbor A ..." statements under
// "router bgp") and NX-OS ("neighbor A" sub-mode) changes.
func (p *Plan) iosLike(in Intent, cur *confparse.Config, running string) error {
	nxos := in.Platform == "cisco_nxos"
	var rbNode *node
	for _, n := range tree(running) {
		if f := strings.Fields(n.text); len(f) == 3 && f[0] == "router" && f[1] == "bgp" {
			rbNode = n
			break
		}
	}
	rb := fmt.Sprintf("router bgp %d", in.LocalAS)
	if rbNode == nil {
		p.Steps = append(p.Steps, Step{Line: rb, Opens: true, Creates: true, Undo: []Step{{Line: "no " + rb}}})
		rbNode = &node{text: rb}
	} else {
		rb = rbNode.text
		p.Before = rbNode.lines()
	}
	at := []string{rb}
	// Router id: "bgp router-id" on IOS-XE, "router-id" on EOS and NX-OS.
	ridWord := "router-id"
	if in.Platform == "cisco_iosxe" {
		ridWord = "bgp router-id"
	}
	if in.RouterID != "" && cur.RouterID != in.RouterID {
		st := Step{Path: at, Line: ridWord + " " + in.RouterID, Undo: []Step{{Path: at, Line: "no " + ridWord + " " + in.RouterID}}}
		if cur.RouterID != "" {
			st.Undo = []Step{{Path: at, Line: ridWord + " " + cur.RouterID}}
		}
		p.Steps = append(p.Steps, st)
	}
	// The device's lines of each neighbour: one-line statements (and
	// address-family lines) on IOS-XE and EOS, the sub-mode on NX-OS.
	own := func(addr string) (direct []*node, af map[string][]*node, block *node) {
		af = map[string][]*node{}
		for _, c := range rbNode.children {
			f := strings.Fields(c.text)
			switch {
			case neighborOf(c.text) == addr && nxos && (len(f) == 2 || len(c.children) > 0):
				block = c
			case neighborOf(c.text) == addr:
				direct = append(direct, c)
			case f[0] == "address-family" && !slices.Contains(f, "vrf"):
				for _, g := range c.children {
					if neighborOf(g.text) == addr {
						af[c.text] = append(af[c.text], g)
					}
				}
			}
		}
		return direct, af, block
	}
	intended := map[string]bool{}
	for _, n := range in.Neighbors {
		addr := confparse.CanonAddr(n.Address)
		intended[addr] = true
		have := cur.Neighbors[addr]
		direct, _, block := own(addr)
		if have == nil {
			p.Added = append(p.Added, n.Address)
			if nxos {
				hdr := "neighbor " + n.Address
				p.Steps = append(p.Steps, Step{Path: at, Line: hdr, Opens: true, Creates: true, Undo: []Step{{Path: at, Line: "no " + hdr}}})
				in := append(slices.Clone(at), hdr)
				p.Steps = append(p.Steps, Step{Path: in, Line: fmt.Sprintf("remote-as %d", n.RemoteAS)})
				if n.Description != "" {
					p.Steps = append(p.Steps, Step{Path: in, Line: "description " + n.Description})
				}
				if !n.Enabled {
					p.Steps = append(p.Steps, Step{Path: in, Line: "shutdown"})
				}
				continue
			}
			pre := "neighbor " + n.Address + " "
			// "no neighbor A" removes the neighbour with all its lines.
			p.Steps = append(p.Steps, Step{Path: at, Line: pre + fmt.Sprintf("remote-as %d", n.RemoteAS), Undo: []Step{{Path: at, Line: "no neighbor " + n.Address}}})
			if n.Description != "" {
				p.Steps = append(p.Steps, Step{Path: at, Line: pre + "description " + n.Description})
			}
			if !n.Enabled {
				p.Steps = append(p.Steps, Step{Path: at, Line: pre + "shutdown"})
			}
			continue
		}
		// A neighbour to change: lines relative to its own context.
		path, pre := at, ""
		var lines []string
		if nxos && block != nil {
			path = append(slices.Clone(at), block.text)
			for _, c := range block.children {
				lines = append(lines, c.text)
			}
		} else {
			pre = strings.Join(strings.Fields(direct0(direct))[:2], " ") + " "
			for _, c := range direct {
				lines = append(lines, strings.TrimPrefix(c.text, pre))
			}
		}
		hasLine := func(prefix string) (string, bool) {
			for _, l := range lines {
				if l == prefix || strings.HasPrefix(l, prefix+" ") {
					return l, true
				}
			}
			return "", false
		}
		// neg negates a setting: "no description" in a sub-mode, "no
		// neighbor A description" for a one-line statement.
		neg := func(setting string) string { return "no " + pre + setting }
		before := len(p.Steps)
		if have.RemoteAS != n.RemoteAS {
			old, ok := hasLine("remote-as")
			if !ok {
				return &ConflictError{in.Device, fmt.Sprintf("neighbour %s inherits remote AS %d from %q; Infrahub intends %d: change it on the group", n.Address, have.RemoteAS, have.Group, n.RemoteAS)}
			}
			p.Steps = append(p.Steps, Step{Path: path, Line: pre + fmt.Sprintf("remote-as %d", n.RemoteAS), Undo: []Step{{Path: path, Line: pre + old}}})
		}
		if have.Description != n.Description {
			old, had := hasLine("description")
			switch {
			case n.Description == "":
				p.Steps = append(p.Steps, Step{Path: path, Line: neg(old), Undo: []Step{{Path: path, Line: pre + old}}})
			case had:
				p.Steps = append(p.Steps, Step{Path: path, Line: pre + "description " + n.Description, Undo: []Step{{Path: path, Line: pre + old}}})
			default:
				p.Steps = append(p.Steps, Step{Path: path, Line: pre + "description " + n.Description, Undo: []Step{{Path: path, Line: neg("description " + n.Description)}}})
			}
		}
		if have.Enabled != n.Enabled {
			on, off := neg("shutdown"), pre+"shutdown"
			if n.Enabled {
				p.Steps = append(p.Steps, Step{Path: path, Line: on, Undo: []Step{{Path: path, Line: off}}})
			} else {
				p.Steps = append(p.Steps, Step{Path: path, Line: off, Undo: []Step{{Path: path, Line: on}}})
			}
		}
		if len(p.Steps) > before {
			p.Updated = append(p.Updated, n.Address)
		}
	}
	// Neighbours Infrahub no longer lists: removed, restored line by line.
	for _, addr := range sortedKeys(cur.Neighbors) {
		if intended[addr] {
			continue
		}
		direct, af, block := own(addr)
		var undo []Step
		var name string
		switch {
		case block != nil:
			name = strings.Fields(block.text)[1]
			undo = block.steps(at)
		case len(direct) > 0:
			name = strings.Fields(direct[0].text)[1]
			for _, c := range direct {
				undo = append(undo, c.steps(at)...)
			}
		default:
			continue // listed only in an address family: nothing of its own to remove
		}
		for _, hdr := range sortedKeys(af) {
			for _, c := range af[hdr] {
				undo = append(undo, c.steps(append(slices.Clone(at), hdr))...)
			}
		}
		p.Removed = append(p.Removed, name)
		p.Steps = append(p.Steps, Step{Path: at, Line: "no neighbor " + name, Undo: undo})
	}
	return nil
}

func direct0(direct []*node) string {
	if len(direct) == 0 {
		return "neighbor ?"
	}
	return direct[0].text
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// junosGroup is the BGP group new neighbours join when the device has none.
const junosGroup = "netauto"

// junos plans set/delete/activate/deactivate statements. displaySet is
// "show configuration | display set", whose lines restore a removed
// neighbour exactly.
func (p *Plan) junos(in Intent, cur *confparse.Config, displaySet string) error {
	var set []string
	for _, l := range strings.Split(strings.ReplaceAll(displaySet, "\r", ""), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "set ") || strings.HasPrefix(l, "deactivate ") {
			set = append(set, l)
		}
	}
	for _, l := range set {
		if strings.Contains(l, " protocols bgp") || strings.Contains(l, " routing-options ") {
			p.Before = append(p.Before, l)
		}
	}
	if len(cur.Neighbors) > 0 && !slices.ContainsFunc(set, func(l string) bool { return strings.HasPrefix(l, "set protocols bgp ") }) {
		// Without the set statements a removal could not be undone.
		return fmt.Errorf("device %s: \"show configuration | display set\" lists no BGP statement, but the configuration has %d neighbours", in.Device, len(cur.Neighbors))
	}
	find := func(prefix string) (string, bool) {
		for _, l := range set {
			if l == prefix || strings.HasPrefix(l, prefix+" ") {
				return l, true
			}
		}
		return "", false
	}
	if cur.LocalAS == 0 {
		p.Steps = append(p.Steps, Step{Line: fmt.Sprintf("set routing-options autonomous-system %d", in.LocalAS), Undo: []Step{{Line: "delete routing-options autonomous-system"}}})
	}
	if in.RouterID != "" && cur.RouterID != in.RouterID {
		st := Step{Line: "set routing-options router-id " + in.RouterID, Undo: []Step{{Line: "delete routing-options router-id"}}}
		if old, ok := find("set routing-options router-id"); ok {
			st.Undo = []Step{{Line: old}}
		}
		p.Steps = append(p.Steps, st)
	}
	// New neighbours join the group of the existing ones, else a new
	// external group.
	group := ""
	for _, addr := range sortedKeys(cur.Neighbors) {
		if g := cur.Neighbors[addr].Group; g != "" {
			group = g
			break
		}
	}
	neighborPath := func(g, addr string) string { return "protocols bgp group " + g + " neighbor " + addr }
	intended := map[string]bool{}
	for _, n := range in.Neighbors {
		addr := confparse.CanonAddr(n.Address)
		intended[addr] = true
		have := cur.Neighbors[addr]
		if have == nil {
			if group == "" {
				group = junosGroup
				p.Steps = append(p.Steps, Step{Line: "set protocols bgp group " + group + " type external", Undo: []Step{{Line: "delete protocols bgp group " + group}}})
			}
			np := neighborPath(group, n.Address)
			p.Added = append(p.Added, n.Address)
			p.Steps = append(p.Steps, Step{Line: fmt.Sprintf("set %s peer-as %d", np, n.RemoteAS), Undo: []Step{{Line: "delete " + np}}})
			if n.Description != "" {
				p.Steps = append(p.Steps, Step{Line: fmt.Sprintf("set %s description %q", np, n.Description)})
			}
			if !n.Enabled {
				p.Steps = append(p.Steps, Step{Line: "deactivate " + np})
			}
			continue
		}
		np := neighborPath(have.Group, junosAddr(set, have.Group, addr))
		before := len(p.Steps)
		if have.RemoteAS != n.RemoteAS {
			old, ok := find("set " + np + " peer-as")
			if !ok {
				return &ConflictError{in.Device, fmt.Sprintf("neighbour %s inherits peer-as %d from group %q; Infrahub intends %d: change it on the group", n.Address, have.RemoteAS, have.Group, n.RemoteAS)}
			}
			p.Steps = append(p.Steps, Step{Line: fmt.Sprintf("set %s peer-as %d", np, n.RemoteAS), Undo: []Step{{Line: old}}})
		}
		if have.Description != n.Description {
			old, had := find("set " + np + " description")
			undo := []Step{{Line: "delete " + np + " description"}}
			if had {
				undo = []Step{{Line: old}}
			}
			if n.Description == "" {
				p.Steps = append(p.Steps, Step{Line: "delete " + np + " description", Undo: undo})
			} else {
				p.Steps = append(p.Steps, Step{Line: fmt.Sprintf("set %s description %q", np, n.Description), Undo: undo})
			}
		}
		if have.Enabled != n.Enabled {
			switch {
			case !n.Enabled:
				p.Steps = append(p.Steps, Step{Line: "deactivate " + np, Undo: []Step{{Line: "activate " + np}}})
			default:
				if _, shut := find("set " + np + " shutdown"); shut {
					p.Steps = append(p.Steps, Step{Line: "delete " + np + " shutdown", Undo: []Step{{Line: "set " + np + " shutdown"}}})
				}
				if _, inactive := find("deactivate " + np); inactive {
					p.Steps = append(p.Steps, Step{Line: "activate " + np, Undo: []Step{{Line: "deactivate " + np}}})
				}
			}
		}
		if len(p.Steps) > before {
			p.Updated = append(p.Updated, n.Address)
		}
	}
	for _, addr := range sortedKeys(cur.Neighbors) {
		if intended[addr] {
			continue
		}
		have := cur.Neighbors[addr]
		name := junosAddr(set, have.Group, addr)
		np := neighborPath(have.Group, name)
		var undo []Step
		for _, l := range set {
			if rest, ok := strings.CutPrefix(l, "set "+np); ok && (rest == "" || rest[0] == ' ') {
				undo = append(undo, Step{Line: l})
			}
			if l == "deactivate "+np {
				undo = append(undo, Step{Line: l})
			}
		}
		p.Removed = append(p.Removed, name)
		p.Steps = append(p.Steps, Step{Line: "delete " + np, Undo: undo})
	}
	return nil
}

// junosAddr returns the neighbour address as the configuration spells it
// (display set keeps the device's spelling of an IPv6 address).
func junosAddr(set []string, group, addr string) string {
	prefix := "set protocols bgp group " + group + " neighbor "
	for _, l := range set {
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			a, _, _ := strings.Cut(rest, " ")
			if confparse.CanonAddr(a) == addr {
				return a
			}
		}
	}
	return addr
}

// hasSecretMask reports whether a line lost its secret to masking (a
// plan read back from the store).
func hasSecretMask(lines []string) (string, bool) {
	for _, l := range lines {
		if strings.Contains(l, device.SecretMask) {
			return l, true
		}
	}
	return "", false
}
