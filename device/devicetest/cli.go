package devicetest

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

type mode int

const (
	modeExec mode = iota
	modePriv
	modeConfig
)

// cli is one interactive shell on a fake device.
type cli struct {
	d    *Device
	sc   *ssh.ServerConn
	ch   ssh.Channel
	gone <-chan struct{}
	user string

	mode      mode
	section   string
	suffix    string
	candidate []string // Junos uncommitted set/delete lines

	// password, when set, receives the next line unechoed ("enable").
	password func(line string) string
}

func newCLI(d *Device, sc *ssh.ServerConn, ch ssh.Channel, gone <-chan struct{}) *cli {
	c := &cli{d: d, sc: sc, ch: ch, gone: gone, user: sc.User(), mode: modePriv}
	if d.spec.EnableSecret != "" && !d.prof.juniper && d.prof.name != "cisco_nxos" {
		c.mode = modeExec
	}
	if d.prof.juniper {
		c.mode = modeExec
	}
	return c
}

func (c *cli) write(s string) bool {
	_, err := c.ch.Write([]byte(strings.ReplaceAll(s, "\n", "\r\n")))
	return err == nil
}

func (c *cli) prompt() string {
	h := c.d.spec.Hostname
	t := c.d.prof.promptTrailer
	if c.d.prof.juniper {
		if c.mode == modeConfig {
			return "\n[edit]\n" + c.user + "@" + h + "#" + t
		}
		return c.user + "@" + h + ">" + t
	}
	switch {
	case c.mode == modeExec:
		return h + ">" + t
	case c.mode == modeConfig && c.section != "":
		return h + "(config-" + c.suffix + ")#" + t
	case c.mode == modeConfig:
		return h + "(config)#" + t
	}
	return h + "#" + t
}

// promptLine is the last line of the prompt: what precedes typed input.
func (c *cli) promptLine() string {
	p := c.prompt()
	return p[strings.LastIndex(p, "\n")+1:]
}

// wait pauses for d, returning false when the connection or lab ends.
func (c *cli) wait(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.gone:
	case <-c.d.lab.ctx.Done():
	}
	return false
}

func (c *cli) run() {
	if b := c.d.spec.Banner; b != "" {
		c.write(b + "\n")
	}
	if !c.write(c.prompt()) {
		return
	}
	buf := make([]byte, 4096)
	var line, echo []byte
	lastCR := false
	// flush echoes what was typed since the last write, in one packet per
	// read like a terminal under load (not one packet per byte).
	flush := func() bool {
		if len(echo) == 0 {
			return true
		}
		_, err := c.ch.Write(echo)
		echo = echo[:0]
		return err == nil
	}
	for {
		n, err := c.ch.Read(buf)
		if err != nil {
			return
		}
		for _, b := range buf[:n] {
			if b == '\n' && lastCR {
				lastCR = false
				continue
			}
			lastCR = b == '\r'
			switch {
			case b == '\r' || b == '\n':
				echo = append(echo, '\r', '\n')
				if !flush() || !c.submit(string(line)) {
					return
				}
				line = line[:0]
			case b == 0x7f || b == 0x08:
				if len(line) > 0 {
					line = line[:len(line)-1]
					if c.password == nil {
						echo = append(echo, "\b \b"...)
					}
				}
			case b == 0x1a: // Ctrl-Z leaves configuration mode
				if c.mode == modeConfig && !c.d.prof.juniper {
					c.mode, c.section = modePriv, ""
					echo = append(echo, "\r\n"+c.prompt()...)
				}
			default:
				line = append(line, b)
				if c.password == nil {
					echo = append(echo, b)
				}
			}
		}
		if !flush() {
			return
		}
	}
}

// submit handles one typed line and prints the answer and the next
// prompt. It returns false when the session ends.
func (c *cli) submit(raw string) bool {
	if c.password != nil {
		h := c.password
		c.password = nil
		if !c.wait(c.d.spec.Latency) {
			return false
		}
		out := h(raw)
		if out != "" {
			out += "\n"
		}
		return c.write(out + c.prompt())
	}
	cmd := normalizeSpace(raw)
	switch c.d.spec.faultFor(cmd) {
	case FaultHang:
		select {
		case <-c.gone:
		case <-c.d.lab.ctx.Done():
		}
		return false
	case FaultDisconnect:
		out, _ := c.exec(cmd)
		c.wait(c.d.spec.Latency)
		c.write(out[:len(out)/2])
		_ = c.sc.Close()
		return false
	}
	if !c.wait(c.d.spec.Latency) {
		return false
	}
	var out string
	var more bool
	if c.mode == modeConfig {
		out, more = c.configure(cmd)
	} else {
		out, more = c.exec(cmd)
	}
	if !more {
		return false
	}
	if c.password != nil {
		return c.write(out)
	}
	if out != "" {
		out += "\n"
	}
	return c.write(out + c.prompt())
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// exec runs an exec-mode command line. more is false when the session ends.
func (c *cli) exec(cmd string) (out string, more bool) {
	p := c.d.prof
	switch {
	case cmd == "":
		return "", true
	case cmd == "exit" || cmd == "logout" || cmd == "quit":
		return "", false
	case !p.juniper && cmd == "enable":
		if c.mode == modeExec {
			c.password = func(line string) string {
				if line == c.d.spec.EnableSecret {
					c.mode = modePriv
					return ""
				}
				return "% Access denied"
			}
			return "Password: ", true
		}
		return "", true
	case !p.juniper && cmd == "disable":
		if c.d.spec.EnableSecret != "" {
			c.mode = modeExec
		}
		return "", true
	case !p.juniper && (cmd == "configure terminal" || cmd == "conf t" || cmd == "configure") && c.mode == modePriv:
		c.mode, c.section = modeConfig, ""
		return p.configBanner, true
	case p.juniper && (cmd == "configure" || cmd == "configure private" || cmd == "configure exclusive"):
		c.mode, c.candidate = modeConfig, nil
		return "Entering configuration mode", true
	}
	if reply, bad, ok := p.runSetup(cmd); ok {
		if bad >= 0 {
			return c.invalid(cmd, bad), true
		}
		return reply, true
	}
	if out, ok := c.d.spec.Commands[cmd]; ok {
		return out, true
	}
	parts := strings.Split(cmd, " | ")
	base := parts[0]
	var text string
	switch {
	case base == p.runningConfigCommand:
		if c.mode == modeExec && !p.juniper {
			return c.invalid(cmd, 1), true
		}
		c.d.mu.Lock()
		text = c.d.renderLocked()
		c.d.mu.Unlock()
	case hasKey(c.d.spec.Commands, base):
		text = c.d.spec.Commands[base]
	default:
		return c.invalid(cmd, c.firstUnknownWord(base)), true
	}
	word := len(strings.Fields(base)) // index of the first "|"
	for _, pipe := range parts[1:] {
		var ok bool
		if text, ok = applyPipe(text, pipe); !ok {
			return c.invalid(cmd, word+1), true
		}
		word += 1 + len(strings.Fields(pipe))
	}
	return text, true
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// applyPipe filters command output like the CLI's "| include" family.
func applyPipe(text, pipe string) (string, bool) {
	verb, arg, _ := strings.Cut(pipe, " ")
	switch verb {
	case "no-more":
		return text, arg == ""
	case "display":
		return text, arg == "omit" || arg == "set"
	case "include", "exclude", "begin":
		re, err := regexp.Compile(arg)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(arg))
		}
		var out []string
		started := false
		for _, l := range splitLines(text) {
			m := re.MatchString(l)
			switch verb {
			case "include":
				if m {
					out = append(out, l)
				}
			case "exclude":
				if !m {
					out = append(out, l)
				}
			case "begin":
				started = started || m
				if started {
					out = append(out, l)
				}
			}
		}
		return strings.Join(out, "\n"), arg != ""
	}
	return "", false
}

// firstUnknownWord returns the index of the first word of cmd that no known
// command continues with.
func (c *cli) firstUnknownWord(cmd string) int {
	words := strings.Fields(cmd)
	known := []string{c.d.prof.runningConfigCommand}
	for k := range c.d.spec.Commands {
		known = append(known, k)
	}
	best := 0
	for _, k := range known {
		kw := strings.Fields(k)
		n := 0
		for n < len(words) && n < len(kw) && kw[n] == words[n] {
			n++
		}
		if n > best {
			best = n
		}
	}
	if best >= len(words) {
		best = len(words) - 1
	}
	return best
}

// invalid renders the platform's error for cmd rejected at word bad.
func (c *cli) invalid(cmd string, bad int) string {
	words := strings.Fields(cmd)
	if bad >= len(words) {
		bad = len(words) - 1
	}
	col := 0
	for i := 0; i < bad; i++ {
		col += len(words[i]) + 1
	}
	return c.d.prof.invalid(c.promptLine(), words, bad, col)
}

// configure handles a line in configuration mode.
func (c *cli) configure(cmd string) (string, bool) {
	if c.d.prof.juniper {
		return c.configureJunos(cmd), true
	}
	switch {
	case cmd == "":
		return "", true
	case cmd == "end":
		c.mode, c.section = modePriv, ""
		return "", true
	case cmd == "exit":
		if c.section != "" {
			c.section = ""
		} else {
			c.mode = modePriv
		}
		return "", true
	case strings.HasPrefix(cmd, "do "):
		saved := c.mode
		c.mode = modePriv
		out, more := c.exec(strings.TrimPrefix(cmd, "do "))
		c.mode = saved
		return out, more
	}
	words := strings.Fields(cmd)
	first := 0
	if words[0] == "no" && len(words) > 1 {
		first = 1
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	if !c.d.running.knownWord(words[first]) {
		return c.invalid(cmd, first), true
	}
	before := strings.Join(c.d.running.lines, "\n")
	section, suffix := c.d.running.apply(c.section, cmd)
	if section != c.section || suffix != "" {
		c.section, c.suffix = section, suffix
	}
	if strings.Join(c.d.running.lines, "\n") != before {
		c.d.running.touch(time.Now(), c.user)
	}
	return "", true
}

// configureJunos handles configuration mode on Junos: set/delete lines are
// collected as the candidate configuration and "commit" accepts them.
func (c *cli) configureJunos(cmd string) string {
	words := strings.Fields(cmd)
	switch {
	case cmd == "":
		return ""
	case cmd == "exit" || cmd == "quit" || cmd == "exit configuration-mode":
		c.mode = modeExec
		if len(c.candidate) > 0 {
			c.candidate = nil
			return "Exiting configuration mode, uncommitted changes discarded"
		}
		return "Exiting configuration mode"
	case cmd == "commit" || cmd == "commit and-quit":
		c.d.mu.Lock()
		c.d.junos.commit(c.candidate, time.Now(), c.user)
		c.d.mu.Unlock()
		c.candidate = nil
		if cmd == "commit and-quit" {
			c.mode = modeExec
			return "commit complete\nExiting configuration mode"
		}
		return "commit complete"
	case cmd == "rollback" || cmd == "rollback 0":
		c.candidate = nil
		return "load complete"
	case cmd == "show | compare":
		lines := append([]string(nil), c.candidate...)
		sort.Strings(lines)
		return strings.Join(lines, "\n")
	case strings.HasPrefix(cmd, "run "):
		c.mode = modeExec
		out, _ := c.exec(strings.TrimPrefix(cmd, "run "))
		c.mode = modeConfig
		return out
	case (words[0] == "set" || words[0] == "delete") && len(words) > 1:
		c.candidate = append(c.candidate, cmd)
		return ""
	case words[0] == "set" || words[0] == "delete":
		return c.d.prof.invalid(c.promptLine(), words, 1, len(cmd)+1)
	}
	return c.d.prof.invalid(c.promptLine(), words, 0, 0)
}
