package devicetest

import (
	"fmt"
	"strings"
	"time"
)

// junosConfig is a Junos hierarchical configuration ("show configuration"
// format) that committed set/delete statements edit.
//
// Junos knows from its schema which words of a set statement name
// containers and which form the final statement; the fake uses a small
// approximation: existing containers are followed first, a few keywords
// take their argument into the container name (unit 0, family inet, ...),
// known statement keywords end the path, and otherwise every word but the
// last two names a container.
type junosConfig struct {
	header []string // "## Last commit: ..." lines
	root   *junosNode
}

type junosNode struct {
	text     string // statement without ";" or " {"
	comment  string // trailing " ## ..." of a statement
	children []*junosNode
	leaf     bool
}

// junosArgContainers take their first argument into the container name.
var junosArgContainers = map[string]bool{
	"unit": true, "family": true, "user": true, "group": true, "security-zone": true,
	"policy": true, "rule-set": true, "rule": true, "pool": true, "term": true,
	"neighbor": true, "file": true, "range": true, "vlan": true, "community": true,
	"area": true,
}

// junosStatements end a path: the rest of the words is one statement.
var junosStatements = map[string]bool{
	"host-name": true, "description": true, "vlan-id": true, "domain-name": true,
	"time-zone": true, "location": true, "contact": true, "l3-interface": true,
	"encrypted-password": true, "uid": true, "class": true, "address": true,
	"members": true, "mtu": true, "interface": true, "archive": true,
}

// junosSingle are statements a container holds once (set replaces them).
var junosSingle = map[string]bool{
	"host-name": true, "description": true, "vlan-id": true, "domain-name": true,
	"time-zone": true, "location": true, "contact": true, "l3-interface": true,
	"encrypted-password": true, "uid": true, "class": true, "mtu": true,
	"peer-as": true, "local-as": true, "type": true, "autonomous-system": true,
	"router-id": true, "local-address": true, "authentication-key": true,
}

func parseJunos(text string) *junosConfig {
	c := &junosConfig{root: &junosNode{}}
	stack := []*junosNode{c.root}
	for _, raw := range splitLines(text) {
		l := strings.TrimSpace(raw)
		top := stack[len(stack)-1]
		switch {
		case l == "":
		case strings.HasPrefix(l, "#") && len(stack) == 1 && len(c.root.children) == 0:
			c.header = append(c.header, l)
		case l == "}":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case strings.HasSuffix(l, "{"):
			n := &junosNode{text: strings.TrimSpace(strings.TrimSuffix(l, "{"))}
			top.children = append(top.children, n)
			stack = append(stack, n)
		default:
			stmt, comment, _ := strings.Cut(l, ";")
			top.children = append(top.children, &junosNode{text: stmt, comment: strings.TrimSpace(comment), leaf: true})
		}
	}
	return c
}

func (c *junosConfig) render() string {
	var b strings.Builder
	for _, h := range c.header {
		b.WriteString(h + "\n")
	}
	b.WriteString(c.renderBody())
	return strings.TrimRight(b.String(), "\n")
}

// renderBody is render without the header comments.
func (c *junosConfig) renderBody() string {
	var b strings.Builder
	var walk func(n *junosNode, depth int)
	walk = func(n *junosNode, depth int) {
		ind := strings.Repeat("    ", depth)
		for _, ch := range n.children {
			switch {
			case ch.leaf && ch.comment != "":
				fmt.Fprintf(&b, "%s%s; %s\n", ind, ch.text, ch.comment)
			case ch.leaf:
				fmt.Fprintf(&b, "%s%s;\n", ind, ch.text)
			default:
				fmt.Fprintf(&b, "%s%s {\n", ind, ch.text)
				walk(ch, depth+1)
				fmt.Fprintf(&b, "%s}\n", ind)
			}
		}
	}
	walk(c.root, 0)
	return strings.TrimRight(b.String(), "\n")
}

// junosWords splits a statement into words, keeping quoted strings whole.
func junosWords(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// clone returns a deep copy.
func (c *junosConfig) clone() *junosConfig {
	var cp func(n *junosNode) *junosNode
	cp = func(n *junosNode) *junosNode {
		m := *n
		m.children = make([]*junosNode, len(n.children))
		for i, ch := range n.children {
			m.children[i] = cp(ch)
		}
		return &m
	}
	return &junosConfig{header: append([]string(nil), c.header...), root: cp(c.root)}
}

// renderSet returns the configuration as "show configuration | display
// set" prints it: one set statement per leaf (and per empty container),
// "deactivate" after the statements of an inactive one, comments kept.
func (c *junosConfig) renderSet() string {
	var out []string
	var walk func(n *junosNode, path []string)
	walk = func(n *junosNode, path []string) {
		for _, ch := range n.children {
			text, inactive := strings.CutPrefix(ch.text, "inactive: ")
			p := append(append([]string(nil), path...), text)
			stmt := strings.Join(p, " ")
			switch {
			case ch.leaf && ch.comment != "":
				out = append(out, "set "+stmt+" "+ch.comment)
			case ch.leaf || len(ch.children) == 0:
				out = append(out, "set "+stmt)
			default:
				walk(ch, p)
			}
			if inactive {
				out = append(out, "deactivate "+stmt)
			}
		}
	}
	walk(c.root, nil)
	return strings.Join(out, "\n")
}

// has reports whether the statement path (a delete statement's words after
// "delete") names something in the configuration.
func (c *junosConfig) has(path []string) bool {
	node := c.root
	for len(path) > 0 {
		child, used := node.container(path)
		if child == nil {
			break
		}
		node, path = child, path[used:]
	}
	if len(path) == 0 {
		return true
	}
	text := strings.Join(path, " ")
	for _, ch := range node.children {
		if t := strings.TrimPrefix(ch.text, "inactive: "); ch.leaf && (t == text || strings.HasPrefix(t, text+" ")) {
			return true
		}
	}
	return false
}

// apply runs one set or delete statement (without the verb's validation).
func (c *junosConfig) apply(stmt string) {
	words := junosWords(stmt)
	if len(words) < 2 {
		return
	}
	verb, path := words[0], words[1:]
	if verb == "activate" || verb == "deactivate" {
		c.setActive(path, verb == "activate")
		return
	}
	node := c.root
	for len(path) > 0 {
		child, used := node.container(path)
		if child == nil {
			break
		}
		if verb == "delete" && used == len(path) {
			node.remove(child)
			return
		}
		node, path = child, path[used:]
	}
	if len(path) == 0 {
		return
	}
	if verb == "delete" {
		text := strings.Join(path, " ")
		for _, ch := range node.children {
			if ch.leaf && (ch.text == text || strings.HasPrefix(ch.text, text+" ")) {
				node.remove(ch)
				return
			}
		}
		return
	}
	// Create the missing containers, then set the statement.
	for len(path) > 1 && !junosStatements[path[0]] && !(len(path) == 2 && !junosArgContainers[path[0]]) {
		n := 1
		if junosArgContainers[path[0]] && len(path) > 2 {
			n = 2
		}
		child := &junosNode{text: strings.Join(path[:n], " ")}
		node.children = append(node.children, child)
		node, path = child, path[n:]
	}
	text := strings.Join(path, " ")
	for _, ch := range node.children {
		if ch.leaf && (ch.text == text || junosSingle[path[0]] && strings.HasPrefix(ch.text, path[0]+" ")) {
			ch.text, ch.comment = text, ""
			return
		}
	}
	node.children = append(node.children, &junosNode{text: text, leaf: true})
}

// setActive marks the container or statement path inactive ("deactivate":
// Junos then shows it as "inactive: ...") or active again.
func (c *junosConfig) setActive(path []string, active bool) {
	node := c.root
	for len(path) > 0 {
		child, used := node.container(path)
		if child == nil {
			break
		}
		if used == len(path) {
			child.text = activeText(child.text, active)
			return
		}
		node, path = child, path[used:]
	}
	text := strings.Join(path, " ")
	for _, ch := range node.children {
		if t := strings.TrimPrefix(ch.text, "inactive: "); ch.leaf && (t == text || strings.HasPrefix(t, text+" ")) {
			ch.text = activeText(ch.text, active)
			return
		}
	}
}

func activeText(text string, active bool) string {
	text = strings.TrimPrefix(text, "inactive: ")
	if active {
		return text
	}
	return "inactive: " + text
}

// container finds the child container named by the first words of path and
// how many words its name uses.
func (n *junosNode) container(path []string) (*junosNode, int) {
	var best *junosNode
	used := 0
	for _, ch := range n.children {
		if ch.leaf {
			continue
		}
		text := strings.TrimPrefix(ch.text, "inactive: ")
		name := junosWords(text)
		if len(name) <= len(path) && len(name) > used && strings.Join(path[:len(name)], " ") == text {
			best, used = ch, len(name)
		}
	}
	return best, used
}

func (n *junosNode) remove(child *junosNode) {
	for i, ch := range n.children {
		if ch == child {
			n.children = append(n.children[:i], n.children[i+1:]...)
			return
		}
	}
}

// commit applies the candidate statements and records the commit header.
func (c *junosConfig) commit(candidate []string, now time.Time, user string) {
	for _, s := range candidate {
		c.apply(s)
	}
	c.stamp(now, user)
}

// stamp records a commit in the "## Last commit" header.
func (c *junosConfig) stamp(now time.Time, user string) {
	line := "## Last commit: " + now.UTC().Format("2006-01-02 15:04:05 UTC") + " by " + user
	for i, h := range c.header {
		if strings.HasPrefix(h, "## Last commit: ") {
			c.header[i] = line
			return
		}
	}
	c.header = append([]string{line}, c.header...)
}
