package devicetest

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// junosDB is a Junos device's configuration database as every session sees
// it: the committed (active) configuration, the one shared candidate, the
// exclusive lock, who is in configuration mode, the commit history and a
// pending "commit confirmed". Private candidates belong to their sessions
// (cli.private). Device.mu guards it.
//
// The semantics, with their sources:
//
//   - configure: everyone edits the one shared candidate; a commit by anyone
//     commits everyone's changes; uncommitted changes survive the session
//     ("Forms of the configure Command", Junos CLI User Guide,
//     https://www.juniper.net/documentation/us/en/software/junos/cli/topics/topic-map/configure-command.html;
//     FAILURES.md).
//   - configure exclusive: locks the shared candidate while in configuration
//     mode; others may enter configuration mode but not change or commit
//     it; uncommitted changes are discarded on exit after "Discard
//     uncommitted changes? [yes,no] (yes)" ("Using the configure exclusive
//     Command", https://juniper.net/documentation/en_US/junos12.3/topics/task/configuration/junos-cli-configure-exclusive-command-using.html).
//     It is refused while another session holds uncommitted shared edits
//     ("error: configuration database modified").
//   - configure private: a private copy of the committed configuration;
//     refused while the shared candidate is modified ("error: shared
//     configuration database modified", FAILURES.md); a commit merges only
//     the session's changes, and is refused while another session holds
//     the exclusive lock or the shared candidate is modified; "commit
//     confirmed" is not allowed ("Using the configure private Command",
//     Junos 8.5 CLI guide, http://www.juniper.net/techpubs/software/junos/junos85/swconfig85-cli/id-10668534.html).
//   - commit confirmed N rolls back to the previous configuration after N
//     minutes unless a commit or "commit check" confirms it ("Commit the
//     Candidate Configuration Only After Confirmation", Junos XML protocol
//     guide, https://juniper.net/documentation/us/en/software/junos/junos-xml-protocol/topics/task/junos-xml-protocol-configuration-committing-with-confirmation.html).
//
// The transcripts of "Users currently editing the configuration", "error:
// configuration database modified" and "commit check" confirming a pending
// commit follow a public lab report of cJunosEvolved 26.2 (live sessions).
type junosDB struct {
	active    *junosConfig
	shared    []string // uncommitted statements of the shared candidate
	exclusive *cli     // the session in configure exclusive
	editors   []*cli   // sessions in configuration mode, in order of entry
	commits   []junosCommit
	confirm   *junosConfirm
	terminals int // sessions opened so far (terminal pts/N)
}

type junosMode int

const (
	junosShared junosMode = iota
	junosPrivate
	junosExclusive
)

type junosCommit struct {
	when    time.Time
	user    string
	via     string
	comment string
}

type junosConfirm struct {
	previous *junosConfig
	minutes  int
	timer    *time.Timer
}

func newJunosDB(text string) *junosDB { return &junosDB{active: parseJunos(text)} }

// candidate returns the committed configuration with stmts applied.
func (db *junosDB) candidate(stmts []string) *junosConfig {
	c := db.active.clone()
	for _, s := range stmts {
		c.apply(s)
	}
	return c
}

// modified reports whether stmts change the committed configuration.
func (db *junosDB) modified(stmts []string) bool {
	if len(stmts) == 0 {
		return false
	}
	return db.candidate(stmts).renderBody() != db.active.renderBody()
}

func (db *junosDB) sharedModified() bool { return db.modified(db.shared) }

// userLine describes a session in configuration mode, as "status" and the
// lock messages print it.
func (c *cli) userLine() string {
	where := "[edit]"
	if c.d.junos.exclusive == c {
		where = "exclusive [edit]"
	}
	return fmt.Sprintf("  %s terminal %s (pid %d) on since %s\n      %s",
		c.user, c.term, c.pid, c.since.UTC().Format("2006-01-02 15:04:05 UTC"), where)
}

// editorsExcept lists the other sessions in configuration mode, under the
// "Users currently editing the configuration:" header ("" when none).
func (db *junosDB) editorsExcept(me *cli) string {
	var lines []string
	for _, e := range db.editors {
		if e != me {
			lines = append(lines, e.userLine())
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "Users currently editing the configuration:\n" + strings.Join(lines, "\n")
}

func (db *junosDB) lockedBy() string {
	return "error: configuration database locked by:\n" + db.exclusive.userLine()
}

func (db *junosDB) removeEditor(c *cli) {
	for i, e := range db.editors {
		if e == c {
			db.editors = append(db.editors[:i], db.editors[i+1:]...)
			break
		}
	}
	if db.exclusive == c {
		db.exclusive = nil
	}
}

// confirmPending ends a pending commit confirmed (a commit or "commit
// check" confirms it).
func (db *junosDB) confirmPending() {
	if db.confirm != nil {
		db.confirm.timer.Stop()
		db.confirm = nil
	}
}

// checkoutFailure is the answer of a commit whose checks fail (FAILURES.md).
const checkoutFailure = "[edit policy-options policy-statement x term t]\n  'then'\n    Policy error: Policy p1 referenced but not defined\nerror: configuration check-out failed"

// junosEnter handles "configure", "configure private" and "configure
// exclusive" in operational mode.
func (c *cli) junosEnter(mode junosMode) string {
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	db := d.junos
	others := db.editorsExcept(c)
	withOthers := func(s string) string {
		if others == "" {
			return s
		}
		return others + "\n" + s
	}
	var out string
	switch mode {
	case junosExclusive:
		if db.exclusive != nil {
			return db.lockedBy()
		}
		if db.sharedModified() {
			return withOthers("error: configuration database modified")
		}
		db.exclusive = c
		out = "warning: uncommitted changes will be discarded on exit\nEntering configuration mode"
	case junosPrivate:
		if db.sharedModified() {
			return "error: shared configuration database modified"
		}
		out = "warning: uncommitted changes will be discarded on exit\nEntering configuration mode"
	default:
		out = "Entering configuration mode"
	}
	if others != "" {
		out += "\n" + others
	}
	if mode == junosShared && db.sharedModified() {
		out += "\nThe configuration has been changed but not committed"
	}
	c.mode, c.jmode, c.private = modeConfig, mode, nil
	db.editors = append(db.editors, c)
	return out
}

// junosModifiedLocked reports whether the session's candidate differs from
// the committed configuration.
func (c *cli) junosModifiedLocked() bool {
	if c.jmode == junosPrivate {
		return c.d.junos.modified(c.private)
	}
	return c.d.junos.sharedModified()
}

// junosLeaveLocked ends configuration mode; discard drops the session's
// uncommitted changes (private copy, or the shared candidate of an
// exclusive session).
func (c *cli) junosLeaveLocked(discard bool) {
	db := c.d.junos
	if discard {
		if c.jmode == junosPrivate {
			c.private = nil
		} else {
			db.shared = nil
		}
	}
	if c.jmode == junosPrivate {
		c.private = nil // a private copy never outlives its session
	}
	db.removeEditor(c)
	c.mode = modeExec
}

// junosExit handles "exit" / "quit" / "exit configuration-mode" at the top
// of the hierarchy. With uncommitted changes it asks, as Junos does (the
// question and the answers' effects: see junosDB); the answer arrives as the
// next line.
func (c *cli) junosExit() (string, bool) {
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if !c.junosModifiedLocked() {
		c.junosLeaveLocked(false)
		return "Exiting configuration mode", false
	}
	var question, onYes string
	switch c.jmode {
	case junosShared:
		question = "The configuration has been changed but not committed\nExit with uncommitted changes? [yes,no] (yes) "
		onYes = "Exiting configuration mode"
	case junosExclusive:
		question = "The configuration has been changed but not committed\nwarning: Auto rollback on exiting 'configure exclusive'\nDiscard uncommitted changes? [yes,no] (yes) "
		onYes = "warning: discarding uncommitted changes\nload complete\nExiting configuration mode"
	default:
		// Private copies are discarded on exit (Junos 8.5 CLI guide, "You
		// cannot save a configure private session; uncommitted changes are
		// discarded"); the question is modelled on the exclusive one.
		question = "The configuration has been changed but not committed\nDiscard uncommitted changes? [yes,no] (yes) "
		onYes = "warning: discarding uncommitted changes\nExiting configuration mode"
	}
	var ask func(answer string) string
	ask = func(answer string) string {
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "", "yes", "y":
			d.mu.Lock()
			defer d.mu.Unlock()
			c.junosLeaveLocked(c.jmode != junosShared)
			return onYes
		case "no", "n":
			return ""
		}
		c.question = ask
		return question
	}
	c.question = ask
	return question, true
}

// junosCommitLocked handles "commit check" (check) and "commit" with its
// confirmed minutes (0: plain commit).
func (c *cli) junosCommit(check bool, confirmed int) string {
	d := c.d
	d.mu.Lock()
	defer d.mu.Unlock()
	db := d.junos
	if db.exclusive != nil && db.exclusive != c {
		return db.lockedBy()
	}
	if c.jmode == junosPrivate {
		if confirmed > 0 {
			// The guide only says it is not possible; the text is ours.
			return "error: 'commit confirmed' is not supported in configure private mode"
		}
		if db.sharedModified() {
			return "error: shared configuration database modified"
		}
	}
	if f := d.spec.commitFault(); f != nil {
		if f.Reply != "" {
			return f.Reply
		}
		return checkoutFailure
	}
	// A commit check or commit inside the window confirms a pending commit
	// confirmed (Junos XML protocol guide, "commit check" confirming was
	// seen live on cJunosEvolved).
	db.confirmPending()
	if check {
		return "configuration check succeeds"
	}
	stmts := db.shared
	if c.jmode == junosPrivate {
		stmts = c.private
	}
	previous := db.active
	now := time.Now()
	db.active = db.candidate(stmts)
	db.active.stamp(now, c.user)
	d.bgpSyncLocked(false)
	if c.jmode == junosPrivate {
		c.private = nil
	} else {
		db.shared = nil
	}
	entry := junosCommit{when: now, user: c.user, via: "cli"}
	out := "commit complete"
	if confirmed > 0 {
		entry.comment = fmt.Sprintf("commit confirmed, rollback in %dmins", confirmed)
		cf := &junosConfirm{previous: previous, minutes: confirmed}
		cf.timer = time.AfterFunc(time.Duration(confirmed)*time.Minute, func() { d.expireConfirmed(cf) })
		db.confirm = cf
		out = fmt.Sprintf("commit confirmed will be automatically rolled back in %d minutes unless confirmed\ncommit complete\n\n# commit confirmed will be rolled back in %d minutes", confirmed, confirmed)
	}
	db.commits = append([]junosCommit{entry}, db.commits...)
	return out
}

// expireConfirmed rolls a commit confirmed back: the previous configuration
// is committed again, "by root via other" as the live device logs it.
func (d *Device) expireConfirmed(cf *junosConfirm) {
	d.mu.Lock()
	defer d.mu.Unlock()
	db := d.junos
	if db.confirm != cf {
		return // confirmed meanwhile
	}
	db.confirm = nil
	now := time.Now()
	db.active = cf.previous.clone()
	db.active.stamp(now, "root")
	d.bgpSyncLocked(false)
	db.commits = append([]junosCommit{{when: now, user: "root", via: "other"}}, db.commits...)
}

// ExpireConfirmedCommit makes a pending "commit confirmed" on a Junos
// device roll back now, as it does when its minutes pass unconfirmed, and
// reports whether one was pending. Tests use it instead of waiting.
func (d *Device) ExpireConfirmedCommit() bool {
	d.mu.Lock()
	cf := d.junos.confirm
	d.mu.Unlock()
	if cf == nil {
		return false
	}
	cf.timer.Stop()
	d.expireConfirmed(cf)
	return true
}

// ConfirmPending reports whether a Junos device has a commit confirmed
// waiting for its confirmation.
func (d *Device) ConfirmPending() bool {
	if d.junos == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.junos.confirm != nil
}

// CandidateModified reports whether a Junos device's shared candidate holds
// uncommitted changes (what the next plain "commit" of anyone would
// activate).
func (d *Device) CandidateModified() bool {
	if d.junos == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.junos.sharedModified()
}

// showSystemCommit renders "show system commit": newest first, a pending
// confirmation marked "rollback pending".
func (db *junosDB) showSystemCommit() string {
	var b strings.Builder
	for i, e := range db.commits {
		fmt.Fprintf(&b, "%-3s %s by %s via %s", strconv.Itoa(i), e.when.UTC().Format("2006-01-02 15:04:05 UTC"), e.user, e.via)
		if e.comment != "" {
			b.WriteString(" " + e.comment)
		}
		b.WriteString("\n")
		if i == 0 && db.confirm != nil {
			b.WriteString("    rollback pending\n")
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// compare renders "show | compare" for a session: the statements of its
// candidate, sorted (Junos prints a hierarchical diff; the statements carry
// the same information).
func (c *cli) compareLocked() string {
	stmts := c.d.junos.shared
	if c.jmode == junosPrivate {
		stmts = c.private
	}
	lines := append([]string(nil), stmts...)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
