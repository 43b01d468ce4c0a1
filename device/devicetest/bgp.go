package devicetest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/device/confparse"
)

// BGP makes a device model the sessions of its global BGP instance and
// answer its platform's BGP summary commands from them (see
// BGPSummaryCommands), following the configuration in force.
//
// A session goes through the BGP finite state machine of RFC 4271 (section
// 8.2.2, https://www.rfc-editor.org/rfc/rfc4271#section-8.2.2): Idle, then
// Connect or Active while the TCP connection is tried (Active while
// waiting for the connect-retry timer, commonly 120 s on IOS, 30 s on
// Junos and EOS, before trying again), OpenSent and OpenConfirm while the
// OPEN messages and the first KEEPALIVE are exchanged, then Established.
// The Arista EOS manual describes the same states
// (https://www.arista.com/en/um-eos/eos-border-gateway-protocol-bgp,
// "BGP Conceptual overview"). A session starts from Idle when its
// neighbour is configured and restarts from Idle when a setting the
// session depends on changes: the remote AS, shutdown or enable (Junos:
// shutdown), the password (Junos authentication-key) or the update source
// (Junos local-address) of the neighbour or of its peer group, the local AS
// or the router id. A description changes nothing: the session stays up.
// Neighbours of the configuration the device starts with have been up for a
// week.
//
// How long a session takes is counted in reads of a summary listing it
// (EstablishPolls) and in time on the lab's clock (EstablishAfter, see
// WithClock), so tests drive it without sleeping; the intermediate states
// are spread over them. Peers describes the far end of a session: a peer
// that never answers, or one running another AS, keeps it from ever coming
// up.
type BGP struct {
	// EstablishPolls is how many reads of a summary show a new or
	// restarted session in an intermediate state before one shows it
	// Established. 0 means DefaultEstablishPolls; a negative value means
	// none (EstablishAfter alone decides).
	EstablishPolls int
	// EstablishAfter is how long, on the lab's clock, a new or restarted
	// session takes to come up; both conditions must hold. 0: reads alone
	// decide.
	EstablishAfter time.Duration
	// Peers describes the far ends of sessions by neighbour address; a
	// neighbour not listed has a peer that answers and agrees.
	// Device.SetBGPPeer changes one while the lab runs.
	Peers map[string]BGPPeer
}

// DefaultEstablishPolls is BGP.EstablishPolls when left 0.
const DefaultEstablishPolls = 3

// BGPPeer is the far end of a BGP session.
type BGPPeer struct {
	// Down: the peer never answers (unreachable, BGP not configured on its
	// side, a filter on TCP port 179). The session tries to connect and
	// waits for the connect-retry timer: Idle, Connect, then Active for
	// good, what the platforms' documentation says a configured but
	// unreachable peer shows.
	Down bool
	// AS is the AS the peer runs. When set and not the configured remote
	// AS, the peer's OPEN is refused with a NOTIFICATION (Bad Peer AS,
	// RFC 4271 section 6.2) and the session falls back to Idle each time:
	// Idle, Connect, OpenSent, then Idle for good.
	AS int64
	// Prefixes is the number of prefixes an Established session has
	// received (shown as the count in the state column).
	Prefixes int
}

// Clock tells a lab the time; see WithClock.
type Clock interface {
	Now() time.Time
}

// WithClock makes the lab tell time by c instead of the system clock: BGP
// sessions (Spec.BGP) come up by it, so a test that moves a fake clock
// (flowtest.Clock, whose Sleep moves it) does not wait for them.
func WithClock(c Clock) Option {
	return func(l *Lab) { l.clock = c }
}

func (l *Lab) now() time.Time {
	if l.clock != nil {
		return l.clock.Now()
	}
	return time.Now()
}

// bgpFamily says which sessions a summary command lists.
type bgpFamily int

const (
	familyIPv4 bgpFamily = iota
	familyIPv6
	familyAll // Junos: one summary for all address families
)

// bgpSummaryCommands are the summary commands each platform answers from
// the model: "show ip bgp summary" lists IPv4 unicast sessions, the IPv6
// commands the IPv6 ones (Cisco IOS-XE and NX-OS command references, EOS
// manual); Junos's "show bgp summary" lists every peer.
var bgpSummaryCommands = map[string]map[string]bgpFamily{
	"cisco_iosxe": {
		"show ip bgp summary": familyIPv4, "show bgp ipv4 unicast summary": familyIPv4,
		"show ip bgp ipv4 unicast summary": familyIPv4, "show bgp ipv6 unicast summary": familyIPv6,
	},
	"cisco_nxos": {
		"show ip bgp summary": familyIPv4, "show bgp ipv4 unicast summary": familyIPv4,
		"show ip bgp ipv4 unicast summary": familyIPv4, "show bgp ipv6 unicast summary": familyIPv6,
	},
	"arista_eos": {
		"show ip bgp summary": familyIPv4, "show bgp ipv4 unicast summary": familyIPv4,
		"show ipv6 bgp summary": familyIPv6, "show bgp ipv6 unicast summary": familyIPv6,
	},
	"juniper_junos": {"show bgp summary": familyAll},
}

// BGPSummaryCommands returns the BGP summary commands a device of platform
// answers from its BGP model (Spec.BGP), sorted.
func BGPSummaryCommands(platform string) []string {
	var out []string
	for c := range bgpSummaryCommands[platform] {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// bgpState is a session state as the device shows it.
type bgpState int

const (
	stIdle bgpState = iota
	stConnect
	stActive
	stOpenSent
	stOpenConfirm
	stEstablished
	stAdminDown // configured shut down: Idle, shown with its reason
)

var stateNames = [...]string{"Idle", "Connect", "Active", "OpenSent", "OpenConfirm", "Established", "Idle"}

func (s bgpState) String() string { return stateNames[s] }

// The states a session shows on its way, over EstablishPolls reads and
// EstablishAfter, when its peer answers and agrees; when its peer never
// answers (Active for good); when its peer runs another AS (Idle for good).
var (
	stagesUp      = []bgpState{stIdle, stConnect, stActive, stOpenSent, stOpenConfirm}
	stagesDown    = []bgpState{stIdle, stConnect, stActive}
	stagesRefused = []bgpState{stIdle, stConnect, stOpenSent, stIdle}
)

// bgpModel is a device's BGP sessions (guarded by Device.mu).
type bgpModel struct {
	polls    int
	after    time.Duration
	peers    map[string]BGPPeer // by canonical address
	sessions map[string]*bgpSession
	// view is the configuration as of the last sync.
	view bgpView
}

// bgpSession is one neighbour's session.
type bgpSession struct {
	key    string    // the settings whose change restarts the session
	start  time.Time // when the current attempt started
	reads  int       // summary reads that listed it since start
	up     bool
	since  time.Time // last change into or out of Established; zero: never up
	flaps  int       // Junos's Flaps: times it went down after being up
	target BGPPeer
}

// bgpView is what the configuration in force says about BGP.
type bgpView struct {
	running   bool // a BGP instance is configured
	localAS   int64
	routerID  string
	neighbors []bgpNeighbor // sorted by address
	groups    int           // Junos: configured groups with a listed peer
}

type bgpNeighbor struct {
	addr     string // canonical
	remoteAS int64
	desc     string
	enabled  bool
	listed   bool   // Junos: not deactivated (an inactive neighbour is not in the summary)
	key      string // the settings whose change restarts its session
}

func newBGPModel(spec *BGP) (*bgpModel, error) {
	m := &bgpModel{polls: spec.EstablishPolls, after: spec.EstablishAfter, peers: map[string]BGPPeer{}, sessions: map[string]*bgpSession{}}
	switch {
	case m.polls == 0:
		m.polls = DefaultEstablishPolls
	case m.polls < 0:
		m.polls = 0
	}
	if m.after < 0 {
		return nil, fmt.Errorf("BGP.EstablishAfter %s is negative", m.after)
	}
	for addr, p := range spec.Peers {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("BGP.Peers[%q]: not an IP address", addr)
		}
		if err := p.check(); err != nil {
			return nil, fmt.Errorf("BGP.Peers[%q]: %w", addr, err)
		}
		m.peers[a.String()] = p
	}
	return m, nil
}

func (p BGPPeer) check() error {
	if p.AS < 0 || p.AS > 1<<32-1 {
		return fmt.Errorf("AS %d is not an AS number", p.AS)
	}
	if p.Prefixes < 0 {
		return fmt.Errorf("Prefixes %d is negative", p.Prefixes)
	}
	return nil
}

// bgpSyncLocked brings the sessions in line with the configuration in
// force: new neighbours start, changed ones restart, removed ones go.
// initial marks the configuration the device starts with, whose sessions
// have long been in their steady state.
func (d *Device) bgpSyncLocked(initial bool) {
	m := d.bgp
	if m == nil {
		return
	}
	now := d.lab.now()
	m.view = d.bgpViewLocked()
	seen := map[string]bool{}
	for _, n := range m.view.neighbors {
		seen[n.addr] = true
		s := m.sessions[n.addr]
		switch {
		case s == nil:
			s = &bgpSession{key: n.key, start: now, target: m.peers[n.addr]}
			m.sessions[n.addr] = s
			if initial {
				m.settle(s, n, now)
			}
		case s.key != n.key:
			s.key = n.key
			s.restart(now)
		}
	}
	for addr := range m.sessions {
		if !seen[addr] {
			delete(m.sessions, addr)
		}
	}
}

// settle puts a session of the starting configuration in its steady state:
// up for a week when its peer agrees, failing since then otherwise.
func (m *bgpModel) settle(s *bgpSession, n bgpNeighbor, now time.Time) {
	week := 7 * 24 * time.Hour
	s.start, s.reads = now.Add(-week-m.after), m.polls
	if n.enabled && m.agrees(s.target, n) {
		s.up, s.since = true, now.Add(-week)
	}
}

// restart begins a new attempt from Idle (a reset, or a changed peer).
func (s *bgpSession) restart(now time.Time) {
	if s.up {
		s.up, s.since, s.flaps = false, now, s.flaps+1
	}
	s.start, s.reads = now, 0
}

// agrees reports whether the far end accepts the session as configured.
func (m *bgpModel) agrees(p BGPPeer, n bgpNeighbor) bool {
	return !p.Down && (p.AS == 0 || p.AS == n.remoteAS)
}

// state evaluates a session now: its state, moving it to Established when
// its time and reads have come. read counts this evaluation as a summary
// read.
func (m *bgpModel) state(s *bgpSession, n bgpNeighbor, now time.Time, read bool) bgpState {
	if read {
		defer func() { s.reads++ }()
	}
	if !n.enabled {
		return stAdminDown
	}
	if s.up {
		return stEstablished
	}
	pf, tf := 1.0, 1.0
	if m.polls > 0 {
		pf = min(1, float64(s.reads)/float64(m.polls))
	}
	if m.after > 0 {
		tf = min(1, float64(now.Sub(s.start))/float64(m.after))
	}
	done := pf >= 1 && tf >= 1
	stages := stagesUp
	switch {
	case s.target.Down:
		stages = stagesDown
	case !m.agrees(s.target, n):
		stages = stagesRefused
	case done:
		s.up = true
		s.since = s.start.Add(m.after)
		if m.polls > 0 {
			s.since = now
		}
		return stEstablished
	}
	if done {
		return stages[len(stages)-1]
	}
	return stages[min(len(stages)-1, int(min(pf, tf)*float64(len(stages))))]
}

// SetBGPPeer changes the far end of the session with the neighbour addr
// while the lab runs (a peer configured later, one that goes away); the
// session restarts from Idle. It fails on a device without Spec.BGP and
// for a bad address or peer.
func (d *Device) SetBGPPeer(addr string, p BGPPeer) error {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return fmt.Errorf("device %s: %q is not an IP address", d.spec.Name, addr)
	}
	if err := p.check(); err != nil {
		return fmt.Errorf("device %s: peer %s: %w", d.spec.Name, addr, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bgp == nil {
		return fmt.Errorf("device %s: no BGP model (Spec.BGP is nil)", d.spec.Name)
	}
	d.bgp.peers[a.String()] = p
	if s := d.bgp.sessions[a.String()]; s != nil {
		s.target = p
		s.restart(d.lab.now())
	}
	return nil
}

// BGPState returns the state of the session with the neighbour addr as
// the device's summary would show it now ("Idle", "Connect", "Active",
// "OpenSent", "OpenConfirm", "Established"; a neighbour shut down is
// "Idle"), or "" when the device has no such neighbour (or, on Junos, it
// is deactivated) or no BGP model. It does not count as a read.
func (d *Device) BGPState(addr string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.bgp
	if m == nil {
		return ""
	}
	key := confparse.CanonAddr(addr)
	for _, n := range m.view.neighbors {
		if n.addr == key && n.listed {
			return m.state(m.sessions[key], n, d.lab.now(), false).String()
		}
	}
	return ""
}

// bgpViewLocked reads the configuration in force.
func (d *Device) bgpViewLocked() bgpView {
	text := d.renderLocked()
	cfg, err := confparse.Parse(d.prof.name, text)
	if err != nil {
		return bgpView{}
	}
	v := bgpView{localAS: cfg.LocalAS, routerID: cfg.RouterID}
	// A configured router id resets every session when it changes; one
	// picked from the interfaces is kept by the running process.
	configuredID := cfg.RouterID
	var keys map[string][]string
	var junos junosBGP
	if d.prof.juniper {
		junos = junosSessionLines(d.junos.active.renderSet())
		keys = junos.keys
		v.running = len(cfg.Neighbors) > 0 && !junos.inactive["bgp"]
	} else {
		keys = iosSessionLines(text, d.prof.indent)
		v.running = cfg.LocalAS != 0
	}
	if v.routerID == "" {
		v.routerID = routerID(cfg)
	}
	groups := map[string]bool{}
	for _, addr := range sortedAddrs(cfg.Neighbors) {
		c := cfg.Neighbors[addr]
		n := bgpNeighbor{addr: addr, remoteAS: c.RemoteAS, desc: c.Description, enabled: c.Enabled, listed: true}
		if d.prof.juniper {
			n.listed = !junos.inactive["bgp"] && !junos.inactive["group "+c.Group] && !junos.inactive["neighbor "+addr]
			// confparse reads a deactivated neighbour as disabled; the
			// summary shows the one with "shutdown" administratively down
			// and does not list the deactivated one.
			n.enabled = !junos.shutdown[addr] && !junos.shutdown["group "+c.Group]
			if n.listed {
				groups[c.Group] = true
			}
		}
		lines := slices.Concat(keys[addr], keys[c.Group], keys[""])
		n.key = fmt.Sprintf("%d|%d|%s|%v|%v|%s", v.localAS, n.remoteAS, configuredID, n.enabled, n.listed, strings.Join(lines, "\n"))
		v.neighbors = append(v.neighbors, n)
	}
	v.groups = len(groups)
	return v
}

func sortedAddrs(m map[string]*confparse.Neighbor) []string {
	out := make([]string, 0, len(m))
	for a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b string) int {
		x, _ := netip.ParseAddr(a)
		y, _ := netip.ParseAddr(b)
		return x.Compare(y)
	})
	return out
}

// routerID is the router id a device picks when none is configured: the
// highest loopback address, else the highest address of an interface
// (Cisco "BGP router identifier" selection; Junos picks a loopback
// first too), "0.0.0.0" when there is none.
func routerID(cfg *confparse.Config) string {
	var loop, other netip.Addr
	for name, i := range cfg.Interfaces {
		p, err := netip.ParsePrefix(i.IPAddress)
		if err != nil || !p.Addr().Is4() || !i.Enabled {
			continue
		}
		a := p.Addr()
		if strings.HasPrefix(name, "loopback") || strings.HasPrefix(name, "lo0") {
			if !loop.IsValid() || a.Compare(loop) > 0 {
				loop = a
			}
		} else if !other.IsValid() || a.Compare(other) > 0 {
			other = a
		}
	}
	switch {
	case loop.IsValid():
		return loop.String()
	case other.IsValid():
		return other.String()
	}
	return "0.0.0.0"
}

// sessionWords are the neighbour settings besides remote AS and shutdown
// whose change resets a session: the TCP MD5 password and the source
// address of the TCP connection.
var sessionWords = map[string]bool{"password": true, "update-source": true}

// iosSessionLines returns the session-affecting lines of the global BGP
// instance of an IOS-style configuration by neighbour address (canonical)
// or peer group / template name: "neighbor X password ..." and "neighbor X
// update-source ..." statements (IOS-XE, EOS) and the same settings in the
// NX-OS "neighbor A" and "template peer G" sub-modes. VRF and address
// family sections are not the global sessions' and are skipped.
func iosSessionLines(cfg, indent string) map[string][]string {
	out := map[string][]string{}
	inBGP := false
	header := "" // the depth-1 sub-mode the lines are in
	for _, raw := range strings.Split(cfg, "\n") {
		body := strings.TrimSpace(raw)
		if body == "" || strings.HasPrefix(body, "!") {
			continue
		}
		depth := indentLen(raw) / max(1, len(indent))
		f := strings.Fields(body)
		switch {
		case depth == 0:
			inBGP, header = len(f) == 3 && f[0] == "router" && f[1] == "bgp", ""
		case !inBGP:
		case depth == 1:
			header = body
			if len(f) >= 3 && f[0] == "neighbor" && sessionWords[f[2]] {
				key := confparse.CanonAddr(f[1])
				out[key] = append(out[key], strings.Join(f[2:], " "))
			}
		case depth == 2 && sessionWords[f[0]]:
			h := strings.Fields(header)
			switch {
			case len(h) == 2 && h[0] == "neighbor":
				key := confparse.CanonAddr(h[1])
				out[key] = append(out[key], body)
			case len(h) == 3 && h[0] == "template" && h[1] == "peer":
				out[h[2]] = append(out[h[2]], body)
			}
		}
	}
	return out
}

// junosBGP is what Junos "display set" statements say about the sessions
// beyond confparse's reading.
type junosBGP struct {
	// keys are the session-affecting settings (authentication-key and its
	// algorithm or key chain, local-address) by neighbour address
	// (canonical), group name and "" (all of protocols bgp).
	keys map[string][]string
	// shutdown holds the neighbours (by address) and groups ("group G")
	// with a "shutdown" statement: listed, administratively down.
	shutdown map[string]bool
	// inactive holds what is deactivated ("bgp", "group G", "neighbor A"):
	// not running, not listed.
	inactive map[string]bool
}

func junosSessionLines(set string) junosBGP {
	j := junosBGP{keys: map[string][]string{}, shutdown: map[string]bool{}, inactive: map[string]bool{}}
	for _, l := range strings.Split(set, "\n") {
		w := strings.Fields(l)
		if len(w) < 3 || w[1] != "protocols" || w[2] != "bgp" {
			continue
		}
		scope, kind, rest := "", "bgp", w[3:]
		if len(rest) >= 2 && rest[0] == "group" {
			scope, kind, rest = rest[1], "group "+rest[1], rest[2:]
			if len(rest) >= 2 && rest[0] == "neighbor" {
				scope, rest = confparse.CanonAddr(rest[1]), rest[2:]
				kind = "neighbor " + scope
			}
		}
		switch {
		case w[0] == "deactivate" && len(rest) == 0:
			j.inactive[kind] = true
		case w[0] != "set" || len(rest) == 0:
		case rest[0] == "shutdown" && kind != "bgp":
			j.shutdown[strings.TrimPrefix(kind, "neighbor ")] = true
		case rest[0] == "authentication-key", rest[0] == "authentication-algorithm", rest[0] == "authentication-key-chain", rest[0] == "local-address":
			j.keys[scope] = append(j.keys[scope], strings.Join(rest, " "))
		}
	}
	return j
}

// bgpSummaryLocked answers cmd when it is one of the platform's BGP
// summary commands and the device has a BGP model; each answer counts as a
// read of the sessions it lists. invalid reports a command the platform
// does not know in the device's state (NX-OS without BGP).
func (d *Device) bgpSummaryLocked(cmd string) (out string, ok, invalid bool) {
	fam, ok := bgpSummaryCommands[d.prof.name][cmd]
	if !ok || d.bgp == nil {
		return "", false, false
	}
	d.bgpSyncLocked(false)
	m, now := d.bgp, d.lab.now()
	v := m.view
	if !v.running {
		switch d.prof.name {
		case "cisco_iosxe":
			return "% BGP not active", true, false
		case "arista_eos":
			return "% BGP inactive", true, false
		case "juniper_junos":
			return "BGP is not running", true, false
		}
		// NX-OS has the BGP commands only with "feature bgp", which comes
		// with a BGP instance in these fakes.
		return "", true, true
	}
	var rows []bgpRow
	for _, n := range v.neighbors {
		v6 := confparse.IsIPv6(n.addr)
		if !n.listed || (fam == familyIPv4 && v6) || (fam == familyIPv6 && !v6) {
			continue
		}
		s := m.sessions[n.addr]
		st := m.state(s, n, now, true)
		r := bgpRow{addr: n.addr, as: n.remoteAS, desc: n.desc, state: st, v6: v6, flaps: s.flaps}
		if s.up {
			r.prefixes = s.target.Prefixes
		}
		switch {
		case s.since.IsZero():
			r.never, r.updown = true, now.Sub(s.start)
		default:
			r.updown = now.Sub(s.since)
		}
		if s.up || !s.since.IsZero() {
			// Keepalives every 60 s (the default hold time of 180 s / 3)
			// and the OPEN and first UPDATE.
			up := r.updown
			if !s.up {
				up = 0
			}
			r.msgs = 3 + int(up/time.Minute)
		}
		rows = append(rows, r)
	}
	switch d.prof.name {
	case "cisco_iosxe":
		return iosSummary(v, rows), true, false
	case "cisco_nxos":
		return nxosSummary(v, rows, fam), true, false
	case "arista_eos":
		return eosSummary(v, rows), true, false
	}
	return junosSummary(v, rows), true, false
}

// bgpRow is one session line of a summary.
type bgpRow struct {
	addr     string
	as       int64
	desc     string
	state    bgpState
	prefixes int
	updown   time.Duration // since the last change into or out of Established (or since configured)
	never    bool          // never Established
	msgs     int
	flaps    int
	v6       bool
}

// ciscoDuration is the Up/Down column of IOS and NX-OS: hh:mm:ss under a
// day, then 1d04h, 2w0d, 1y10w (ntc-templates' cisco_ios and cisco_nxos
// "show ip bgp summary" recordings).
func ciscoDuration(d time.Duration) string {
	s := int64(d / time.Second)
	const day, week, year = 86400, 7 * 86400, 365 * 86400
	switch {
	case s < day:
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	case s < week:
		return fmt.Sprintf("%dd%02dh", s/day, s%day/3600)
	case s < year:
		return fmt.Sprintf("%dw%dd", s/week, s%week/day)
	}
	return fmt.Sprintf("%dy%dw", s/year, s%year/week)
}

// eosDuration is EOS's Up/Down column: hh:mm:ss under a day, then 79d05h
// (ntc-templates' arista_eos "show ip bgp summary" recordings).
func eosDuration(d time.Duration) string {
	s := int64(d / time.Second)
	if s < 86400 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// junosDuration is Junos's "Last Up/Dwn" column: seconds, m:ss, h:mm:ss,
// then "3w2d 4:19:15" (genieparser's Junos ShowBgpSummary golden outputs,
// ntc-templates' juniper_junos show_bgp_summary.raw).
func junosDuration(d time.Duration) string {
	s := int64(d / time.Second)
	hms := fmt.Sprintf("%d:%02d:%02d", s%86400/3600, s/60%60, s%60)
	switch days := s / 86400; {
	case s < 60:
		return fmt.Sprint(s)
	case s < 3600:
		return fmt.Sprintf("%d:%02d", s/60, s%60)
	case days == 0:
		return hms
	case days < 7:
		return fmt.Sprintf("%dd %s", days, hms)
	default:
		return fmt.Sprintf("%dw%dd %s", days/7, days%7, hms)
	}
}

func established(rows []bgpRow) (n, prefixes int) {
	for _, r := range rows {
		if r.state == stEstablished {
			n++
			prefixes += r.prefixes
		}
	}
	return n, prefixes
}

// iosSummary renders IOS-XE's summary: the state word in State/PfxRcd
// until Established, then the prefix count; "Idle (Admin)" for a neighbour
// shut down; Up/Down "never" until the session was first up; an address
// longer than its column alone on its line (ntc-templates'
// cisco_ios_show_ip_bgp_summary{,_all}.raw).
func iosSummary(v bgpView, rows []bgpRow) string {
	var b strings.Builder
	_, pfx := established(rows)
	fmt.Fprintf(&b, "BGP router identifier %s, local AS number %d\n", v.routerID, v.localAS)
	fmt.Fprintf(&b, "BGP table version is %d, main routing table version %d\n", pfx+1, pfx+1)
	if pfx > 0 {
		fmt.Fprintf(&b, "%d network entries using %d bytes of memory\n%d path entries using %d bytes of memory\n", pfx, pfx*248, pfx, pfx*136)
	}
	if len(rows) == 0 {
		return b.String()
	}
	b.WriteString("\nNeighbor        V           AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n")
	for _, r := range rows {
		addr := r.addr
		if len(addr) > 15 {
			b.WriteString(addr + "\n")
			addr = ""
		}
		updown := ciscoDuration(r.updown)
		if r.never {
			updown = "never"
		}
		last := r.state.String()
		switch r.state {
		case stEstablished:
			last = fmt.Sprintf("%8d", r.prefixes)
		case stAdminDown:
			last = "Idle (Admin)"
		}
		fmt.Fprintf(&b, "%-15s 4 %12d %7d %7d %8d    0    0 %-8s %s\n", addr, r.as, r.msgs, r.msgs, pfx+1, updown, last)
	}
	return b.String()
}

// nxosSummary renders NX-OS's summary: its VRF and address family header,
// "Shut (Admin)" for a neighbour shut down, the Up/Down column counting
// also while never up, and a 4-byte AS too wide for its column ending the
// line (genieparser's NX-OS ShowBgpVrfAllAllSummary golden outputs,
// ntc-templates' cisco_nxos_show_ip_bgp_summary_vrf.raw).
func nxosSummary(v bgpView, rows []bgpRow, fam bgpFamily) string {
	var b strings.Builder
	af := "IPv4 Unicast"
	if fam == familyIPv6 {
		af = "IPv6 Unicast"
	}
	up, pfx := established(rows)
	fmt.Fprintf(&b, "BGP summary information for VRF default, address family %s\n", af)
	if len(rows) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, "BGP router identifier %s, local AS number %d\n", v.routerID, v.localAS)
	fmt.Fprintf(&b, "BGP table version is %d, %s config peers %d, capable peers %d\n", pfx+1, af, len(rows), up)
	fmt.Fprintf(&b, "%d network entries and %d paths using %d bytes of memory\n", pfx, pfx, pfx*152)
	b.WriteString("BGP attribute entries [1/164], BGP AS path entries [0/0]\nBGP community entries [0/0], BGP clusterlist entries [0/0]\n\n")
	b.WriteString("Neighbor        V    AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n")
	for _, r := range rows {
		last := r.state.String()
		switch r.state {
		case stEstablished:
			last = fmt.Sprint(r.prefixes)
		case stAdminDown:
			last = "Shut (Admin)"
		}
		counters := fmt.Sprintf("%7d %7d %8d    0    0 %8s %s", r.msgs, r.msgs, pfx+1, ciscoDuration(r.updown), last)
		as := fmt.Sprint(r.as)
		switch {
		case len(r.addr) > 15:
			fmt.Fprintf(&b, "%s\n%15s 4 %5s %s\n", r.addr, "", as, counters)
		case len(as) > 5:
			fmt.Fprintf(&b, "%-15s 4 %s\n%23s %s\n", r.addr, as, "", counters)
		default:
			fmt.Fprintf(&b, "%-15s 4 %5s %s\n", r.addr, as, counters)
		}
	}
	return b.String()
}

// eosSummary renders EOS's summary: "Estab" and the PfxRcd and PfxAcc
// columns once Established (blank before), "Idle(Admin)" for a neighbour
// shut down, a Description column first when a listed neighbour has a
// description, and columns as wide as their widest value (ntc-templates'
// arista_eos_show_ip_bgp_summary{2,3,_pfxadv2}.raw).
func eosSummary(v bgpView, rows []bgpRow) string {
	var b strings.Builder
	b.WriteString("BGP summary information for VRF default\n")
	fmt.Fprintf(&b, "Router identifier %s, local AS number %d\n", v.routerID, v.localAS)
	b.WriteString("Neighbor Status Codes: m - Under maintenance\n")
	if len(rows) == 0 {
		return b.String()
	}
	nw, dw := len("Neighbor")+8, 0
	for _, r := range rows {
		nw = max(nw, len(r.addr))
		if r.desc != "" {
			dw = max(dw, 24, len([]rune(r.desc)))
		}
	}
	pad := func(s string, w int) string { return s + strings.Repeat(" ", max(0, w-len([]rune(s)))) }
	b.WriteString("  ")
	if dw > 0 {
		b.WriteString(pad("Description", dw) + " ")
	}
	b.WriteString(pad("Neighbor", nw) + " V AS           MsgRcvd   MsgSent  InQ OutQ  Up/Down State   PfxRcd PfxAcc\n")
	for _, r := range rows {
		b.WriteString("  ")
		if dw > 0 {
			b.WriteString(pad(r.desc, dw) + " ")
		}
		state, pfx := r.state.String(), ""
		switch r.state {
		case stEstablished:
			state, pfx = "Estab", fmt.Sprintf("%-6d %d", r.prefixes, r.prefixes)
		case stAdminDown:
			state = "Idle(Admin)"
		}
		fmt.Fprintf(&b, "%s 4 %-12d %9d %9d    0    0 %8s %-7s %s\n", pad(r.addr, nw), r.as, r.msgs, r.msgs, eosDuration(r.updown), state, pfx)
	}
	return b.String()
}

// junosSummary renders Junos's "show bgp summary": the peer counts, the
// RIB table, a state word until Established, then "Establ" with the
// peer's prefixes per RIB on the next line ("inet.0: active/received/
// accepted/damped"); a neighbour with "shutdown" is Idle, a deactivated
// one is not listed (genieparser's Junos ShowBgpSummary golden outputs,
// ntc-templates' show_bgp_summary.raw).
func junosSummary(v bgpView, rows []bgpRow) string {
	var b strings.Builder
	up, _ := established(rows)
	b.WriteString("Threading mode: BGP I/O\n")
	fmt.Fprintf(&b, "Groups: %d Peers: %d Down peers: %d\n", v.groups, len(rows), len(rows)-up)
	b.WriteString("Table          Tot Paths  Act Paths Suppressed    History Damp State    Pending\n")
	rib := func(v6 bool) string {
		if v6 {
			return "inet6.0"
		}
		return "inet.0"
	}
	for _, v6 := range []bool{false, true} {
		n, has := 0, !v6
		for _, r := range rows {
			if r.v6 == v6 {
				has = true
				if r.state == stEstablished {
					n += r.prefixes
				}
			}
		}
		if has {
			fmt.Fprintf(&b, "%s\n%24d %10d %10d %10d %10d %10d\n", rib(v6), n, n, 0, 0, 0, 0)
		}
	}
	b.WriteString("Peer                     AS      InPkt     OutPkt    OutQ   Flaps Last Up/Dwn State|#Active/Received/Accepted/Damped...\n")
	for _, r := range rows {
		state := r.state.String()
		switch r.state {
		case stEstablished:
			state = "Establ"
		case stAdminDown:
			state = "Idle"
		}
		fmt.Fprintf(&b, "%-20s %8d %10d %10d %7d %7d %11s %s\n", r.addr, r.as, r.msgs, r.msgs, 0, r.flaps, junosDuration(r.updown), state)
		if r.state == stEstablished {
			fmt.Fprintf(&b, "  %s: %d/%d/%d/0\n", rib(r.v6), r.prefixes, r.prefixes, r.prefixes)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
