package devicetest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
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

	mode   mode
	path   []string // configuration sub-mode headers ("router bgp 1", "neighbor A")
	suffix string   // prompt suffix of the innermost sub-mode

	// Junos: how configuration mode was entered, the private candidate
	// (configure private), and the session's identity in "Users currently
	// editing the configuration" and lock messages.
	jmode   junosMode
	private []string
	term    string
	pid     int
	since   time.Time

	// length is the screen length ("terminal length N"): outputs longer
	// than a screen stop at the pager prompt; 0 disables paging. pager
	// holds the lines not shown yet while the pager waits for a key.
	length int
	pager  []string

	// stamp is the session's "terminal [no] exec prompt timestamp"
	// (IOS), nil when it follows the line's configuration.
	stamp *bool

	// password, when set, receives the next line unechoed ("enable").
	password func(line string) string
	// question, when set, receives the next line (echoed) as the answer to
	// a question the CLI asked ("Exit with uncommitted changes?").
	question func(line string) string
}

func newCLI(d *Device, sc *ssh.ServerConn, ch ssh.Channel, gone <-chan struct{}) *cli {
	c := &cli{d: d, sc: sc, ch: ch, gone: gone, user: sc.User(), mode: modePriv, since: time.Now()}
	if !d.prof.juniper {
		c.length = defaultScreenLength
	}
	if d.spec.EnableSecret != "" && !d.prof.juniper && d.prof.name != "cisco_nxos" {
		c.mode = modeExec
	}
	if d.prof.juniper {
		c.mode = modeExec
		d.mu.Lock()
		c.term = "pts/" + strconv.Itoa(d.junos.terminals)
		c.pid = 31000 + d.junos.terminals
		d.junos.terminals++
		d.mu.Unlock()
	}
	return c
}

// closed releases what the session held when its connection ends: a Junos
// session in configuration mode leaves it, its exclusive lock and private
// copy discarded, while shared changes stay in the candidate (FAILURES.md).
func (c *cli) closed() {
	if !c.d.prof.juniper || c.mode != modeConfig {
		return
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	c.junosLeaveLocked(c.jmode == junosExclusive)
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
	case c.mode == modeConfig && len(c.path) > 0:
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
			if c.pager != nil {
				if !flush() || !c.page(b) {
					return
				}
				lastCR = b == '\r'
				continue
			}
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
					c.mode, c.path = modePriv, nil
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
		if c.password != nil {
			// Asked again: the device waits for the next attempt.
			return c.write("\n" + out)
		}
		if out != "" {
			out += "\n"
		}
		return c.write(out + c.prompt())
	}
	if c.question != nil {
		h := c.question
		c.question = nil
		if !c.wait(c.d.spec.Latency) {
			return false
		}
		out := h(normalizeSpace(raw))
		if c.question != nil {
			return c.write(out)
		}
		if out != "" {
			out += "\n"
		}
		return c.write(out + c.prompt())
	}
	cmd := normalizeSpace(raw)
	if f := c.d.spec.faultFor(cmd); f != nil {
		switch f.Kind {
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
		case FaultRefuse:
			if !c.wait(c.d.spec.Latency) {
				return false
			}
			out := f.Reply
			if out == "" {
				out = c.d.prof.refusal(c.promptLine(), cmd, f.Refusal)
			}
			return c.write(out + "\n" + c.prompt())
		}
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
		if c.execTimestamp(cmd) {
			out = c.timestampHeader() + out
		}
	}
	if !more {
		return false
	}
	if c.password != nil || c.question != nil {
		return c.write(out)
	}
	if c.mode != modeConfig && c.length > 0 {
		if lines := strings.Split(out, "\n"); len(lines) >= c.length {
			c.pager = lines[c.length-1:]
			return c.write(strings.Join(lines[:c.length-1], "\n") + "\n" + pagerPrompt)
		}
	}
	if out != "" {
		out += "\n"
	}
	return c.write(out + c.prompt())
}

// Paging. The Cisco and Arista CLIs stop a long output after a screen
// ("terminal length", 24 lines unless set: Cisco IOS Configuration
// Fundamentals Command Reference, "terminal length") at " --More-- " and
// wait for a key, not a line: space shows the next screen, Return the
// next line, q ends the output. Continuing, IOS erases the pager prompt
// with backspaces, spaces and backspaces (the handling sketched in
// ytti/oxidized lib/oxidized/model/ios.rb: "--More--" then "\cH+\s{8}" and
// "\cH+" removed). A client that could not turn paging off ("terminal
// length 0" refused by command authorization) meets it on every long
// output. Junos's pager ("---(more)---") is not modelled.
const (
	defaultScreenLength = 24
	pagerPrompt         = " --More-- "
	pagerErase          = "\b\b\b\b\b\b\b\b\b        \b\b\b\b\b\b\b\b\b"
)

// page handles a key typed at the pager prompt. It returns false when the
// connection is gone.
func (c *cli) page(key byte) bool {
	var show []string
	switch key {
	case ' ':
		show = c.pager[:min(len(c.pager), c.length-1)]
	case '\r', '\n':
		show = c.pager[:1]
	case 'q', 'Q', 0x03:
		c.pager = nil
		return c.write(pagerErase + "\n" + c.prompt())
	default:
		return true // other keys are ignored
	}
	c.pager = c.pager[len(show):]
	text := pagerErase + strings.Join(show, "\n") + "\n"
	if len(c.pager) == 0 {
		c.pager = nil
		return c.write(text + c.prompt())
	}
	return c.write(text + pagerPrompt)
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
			c.askEnable(1)
			return "Password: ", true
		}
		return "", true
	case p.name == "cisco_iosxe" && (cmd == "terminal exec prompt timestamp" || cmd == "terminal no exec prompt timestamp"):
		on := !strings.Contains(cmd, " no ")
		c.stamp = &on
		return "", true
	case !p.juniper && cmd == "disable":
		if c.d.spec.EnableSecret != "" {
			c.mode = modeExec
		}
		return "", true
	case !p.juniper && (cmd == "configure terminal" || cmd == "conf t" || cmd == "configure") && c.mode == modePriv:
		c.mode, c.path = modeConfig, nil
		return p.configBanner, true
	case p.juniper && cmd == "configure":
		return c.junosEnter(junosShared), true
	case p.juniper && cmd == "configure private":
		return c.junosEnter(junosPrivate), true
	case p.juniper && cmd == "configure exclusive":
		return c.junosEnter(junosExclusive), true
	case p.juniper && cmd == "show system commit":
		c.d.mu.Lock()
		defer c.d.mu.Unlock()
		return c.d.junos.showSystemCommit(), true
	}
	if reply, bad, ok := p.runSetup(cmd); ok {
		if bad >= 0 {
			return c.invalid(cmd, bad), true
		}
		if n, found := strings.CutPrefix(cmd, "terminal length "); found && !p.juniper {
			c.length, _ = strconv.Atoi(n)
		}
		return reply, true
	}
	if f, ok := c.d.spec.DynamicCommands[cmd]; ok {
		return f(c.d.RunningConfig()), true
	}
	if out, ok := c.d.spec.Commands[cmd]; ok {
		return out, true
	}
	parts := strings.Split(cmd, " | ")
	base := parts[0]
	var text, bgpOut string
	var bgpOK bool
	if c.d.spec.DynamicCommands[base] == nil && !hasKey(c.d.spec.Commands, base) {
		var invalid bool
		c.d.mu.Lock()
		bgpOut, bgpOK, invalid = c.d.bgpSummaryLocked(base)
		c.d.mu.Unlock()
		if invalid {
			return c.invalid(cmd, slices.Index(strings.Fields(base), "bgp")), true
		}
	}
	switch {
	case base == p.runningConfigCommand:
		if c.mode == modeExec && !p.juniper {
			return c.invalid(cmd, 1), true
		}
		c.d.mu.Lock()
		text = c.d.renderLocked()
		if p.juniper && slices.Contains(parts[1:], "display set") {
			text = c.d.junos.active.renderSet()
		}
		c.d.mu.Unlock()
	case c.d.spec.DynamicCommands[base] != nil:
		text = c.d.spec.DynamicCommands[base](c.d.RunningConfig())
	case hasKey(c.d.spec.Commands, base):
		text = c.d.spec.Commands[base]
	case bgpOK:
		text = bgpOut
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
		out, _ := c.configureJunos(cmd)
		return out, true
	}
	switch {
	case cmd == "":
		return "", true
	case cmd == "end":
		c.mode, c.path = modePriv, nil
		return "", true
	case cmd == "exit":
		if len(c.path) > 0 {
			c.path = c.path[:len(c.path)-1]
			c.suffix = c.suffixFor(c.path)
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
	path, _ := c.d.running.apply(c.path, cmd)
	c.path = path
	c.suffix = c.suffixFor(path)
	if strings.Join(c.d.running.lines, "\n") != before {
		c.d.running.touch(time.Now(), c.user)
		c.d.bgpSyncLocked(false) // a line takes effect as typed
	}
	return "", true
}

// suffixFor is the prompt suffix of a sub-mode path: the top section's
// ("router", "if-Et1", ...) followed by one word per nested level
// ("router-neighbor", "router-af").
func (c *cli) suffixFor(path []string) string {
	if len(path) == 0 {
		return ""
	}
	suffix, ok := c.d.running.opensSection(path[0])
	if !ok {
		suffix = "sub"
	}
	for _, h := range path[1:] {
		suffix += "-" + nestedSuffix(strings.Fields(h)[0])
	}
	return suffix
}

// configureJunos handles configuration mode on Junos: set and delete lines
// edit the session's candidate (the shared one, or its private copy),
// "commit check", "commit [confirmed N]", "rollback 0" and "exit" follow the
// database model of junosDB. more is true when the answer is a question
// waiting for the next line.
func (c *cli) configureJunos(cmd string) (string, bool) {
	words := strings.Fields(cmd)
	d := c.d
	switch {
	case cmd == "":
		return "", false
	case cmd == "exit" || cmd == "quit" || cmd == "exit configuration-mode":
		return c.junosExit()
	case cmd == "commit check":
		return c.junosCommit(true, 0), false
	case cmd == "commit" || cmd == "commit and-quit":
		out := c.junosCommit(false, 0)
		if cmd == "commit and-quit" && strings.HasSuffix(out, "commit complete") {
			d.mu.Lock()
			c.junosLeaveLocked(false)
			d.mu.Unlock()
			out += "\nExiting configuration mode"
		}
		return out, false
	case words[0] == "commit" && len(words) >= 2 && words[1] == "confirmed":
		minutes := 10 // the default rollback deadline
		if len(words) == 3 {
			n, err := strconv.Atoi(words[2])
			if err != nil || n < 1 || n > 65535 {
				return c.d.prof.invalid(c.promptLine(), words, 2, len("commit confirmed ")), false
			}
			minutes = n
		} else if len(words) > 3 {
			return c.d.prof.invalid(c.promptLine(), words, 3, len(strings.Join(words[:3], " "))+1), false
		}
		return c.junosCommit(false, minutes), false
	case cmd == "rollback" || cmd == "rollback 0":
		d.mu.Lock()
		defer d.mu.Unlock()
		if c.jmode == junosPrivate {
			c.private = nil
		} else if ex := d.junos.exclusive; ex != nil && ex != c {
			return d.junos.lockedBy(), false
		} else {
			d.junos.shared = nil
		}
		return "load complete", false
	case cmd == "show | compare" || cmd == "show|compare":
		d.mu.Lock()
		defer d.mu.Unlock()
		return c.compareLocked(), false
	case cmd == "status":
		d.mu.Lock()
		defer d.mu.Unlock()
		var lines []string
		for _, e := range d.junos.editors {
			lines = append(lines, e.userLine())
		}
		return "Users currently editing the configuration:\n" + strings.Join(lines, "\n"), false
	case strings.HasPrefix(cmd, "run "):
		c.mode = modeExec
		out, _ := c.exec(strings.TrimPrefix(cmd, "run "))
		c.mode = modeConfig
		return out, false
	case (words[0] == "set" || words[0] == "delete" || words[0] == "activate" || words[0] == "deactivate") && len(words) > 1:
		d.mu.Lock()
		defer d.mu.Unlock()
		db := d.junos
		if c.jmode != junosPrivate && db.exclusive != nil && db.exclusive != c {
			return db.lockedBy(), false
		}
		stmts := &db.shared
		if c.jmode == junosPrivate {
			stmts = &c.private
		}
		if words[0] != "set" && !db.candidate(*stmts).has(junosWords(cmd)[1:]) {
			return "warning: statement not found", false
		}
		*stmts = append(*stmts, cmd)
		return "", false
	case words[0] == "set" || words[0] == "delete" || words[0] == "activate" || words[0] == "deactivate":
		return c.d.prof.invalid(c.promptLine(), words, 1, len(cmd)+1), false
	}
	return c.d.prof.invalid(c.promptLine(), words, 0, 0), false
}

// execTimestamp reports whether IOS prints its load and time header before
// the output of cmd: "exec prompt timestamp" under the vty lines (or the
// session's "terminal exec prompt timestamp") makes every show command
// start with "Load for five secs: ..." and "Time source is ..." and a
// blank line, as recorded in networktocode/ntc-templates@d0bc5a480fe9
// tests/cisco_ios (show_ip_eigrp_neighbors1.raw, show_cts_pacs_3.raw).
// Both change on every read: a backup that keeps them commits every day.
func (c *cli) execTimestamp(cmd string) bool {
	if c.d.prof.name != "cisco_iosxe" || !strings.HasPrefix(cmd, "show ") {
		return false
	}
	if c.stamp != nil {
		return *c.stamp
	}
	c.d.mu.Lock()
	defer c.d.mu.Unlock()
	inVty := false
	for _, l := range c.d.running.lines {
		switch {
		case strings.HasPrefix(l, "line vty "):
			inVty = true
		case l == "" || l[0] != ' ':
			inVty = false
		case inVty && strings.TrimSpace(l) == "exec prompt timestamp":
			return true
		}
	}
	return false
}

// timestampHeader renders the header: the CPU load (which moves between
// reads) and the clock with milliseconds, "Time source is NTP" when NTP is
// configured and "No time source" with IOS's "*" (clock not authoritative)
// otherwise.
func (c *cli) timestampHeader() string {
	c.d.mu.Lock()
	c.d.reads++
	n := c.d.reads
	ntp := slices.ContainsFunc(c.d.running.lines, func(l string) bool { return strings.HasPrefix(l, "ntp server ") })
	c.d.mu.Unlock()
	now := time.Now().UTC().Format("15:04:05.000 MST Mon Jan 2 2006")
	source := "No time source, *" + now
	if ntp {
		source = "Time source is NTP, " + now
	}
	return fmt.Sprintf("Load for five secs: %d%%/%d%%; one minute: %d%%; five minutes: %d%%\n%s\n\n", 2+n%7, n%3, 1+n%5, 1+n%4, source)
}

// askEnable waits for the enable secret (attempt n). IOS asks three times
// and then gives up with "% Bad secrets" ("% Bad passwords" for an
// "enable password"), back at the exec prompt: "Password: ****" three
// times then "% Bad passwords" (Cisco Press, CCIE Security Exam
// Certification Guide, Example 4-17, "Incorrect Password Error Message").
// EOS refuses at once with "% Access denied".
func (c *cli) askEnable(n int) {
	c.password = func(line string) string {
		if line == c.d.spec.EnableSecret {
			c.mode = modePriv
			return ""
		}
		if c.d.prof.name != "cisco_iosxe" {
			return "% Access denied"
		}
		if n < 3 {
			c.askEnable(n + 1)
			return "Password: "
		}
		return "% Bad secrets"
	}
}
