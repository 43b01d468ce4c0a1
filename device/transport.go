package device

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/scrapli/scrapligo/transport"
	"golang.org/x/crypto/ssh"
)

// sshTransport is a pure Go scrapligo transport (x/crypto/ssh, like
// scrapligo's "standard" transport) that can be stopped at any moment:
// dialing honours a context, the SSH handshake has a deadline, and kill
// closes the TCP connection under whatever read or write is blocked.
// scrapligo's own standard transport can do neither (its handshake has no
// deadline and its Close leaves the client open when closing the session
// fails), which is what lets a hung device pin a goroutine forever.
type sshTransport struct {
	ctx            context.Context
	addr           string
	config         *ssh.ClientConfig
	connectTimeout time.Duration
	// hostKeyAlgorithms, when set, returns the host key algorithms to
	// offer to the device at addr (those of its known keys), nil for the
	// defaults.
	hostKeyAlgorithms func(addr string, remote net.Addr) []string

	mu      sync.Mutex
	killed  bool
	conn    net.Conn
	client  *ssh.Client
	session *ssh.Session
	stdin   io.WriteCloser
	stdout  io.Reader
	pager   pager
}

var _ transport.Implementation = (*sshTransport)(nil)

// dialError is a failure to open the TCP connection: the host is
// unreachable (refused, no route, or no answer within the connect timeout).
type dialError struct {
	addr string
	err  error
}

func (e *dialError) Error() string { return fmt.Sprintf("dial %s: %v", e.addr, e.err) }
func (e *dialError) Unwrap() error { return e.err }

func newSSHTransport(ctx context.Context, host string, port int, cfg *ssh.ClientConfig, connectTimeout time.Duration) *sshTransport {
	return &sshTransport{ctx: ctx, addr: net.JoinHostPort(host, strconv.Itoa(port)), config: cfg, connectTimeout: connectTimeout}
}

// Open dials, authenticates and starts an interactive shell on a PTY.
func (t *sshTransport) Open(a *transport.Args) error {
	d := net.Dialer{Timeout: t.connectTimeout}
	conn, err := d.DialContext(t.ctx, "tcp", t.addr)
	if err != nil {
		return &dialError{addr: t.addr, err: err}
	}
	t.mu.Lock()
	t.conn = conn
	killed := t.killed
	t.mu.Unlock()
	if killed {
		_ = conn.Close()
		return fmt.Errorf("dial %s: %w", t.addr, context.Cause(t.ctx))
	}
	_ = conn.SetDeadline(time.Now().Add(t.connectTimeout))
	cfg := t.config
	if t.hostKeyAlgorithms != nil {
		if known := t.hostKeyAlgorithms(t.addr, conn.RemoteAddr()); known != nil {
			c := *cfg
			c.HostKeyAlgorithms = preferKnown(known, cfg.HostKeyAlgorithms)
			cfg = &c
		}
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, t.addr, cfg)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("ssh handshake with %s: %w", t.addr, err)
	}
	client := ssh.NewClient(c, chans, reqs)
	session, err := t.startShell(client, a)
	_ = conn.SetDeadline(time.Time{})
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("start shell on %s: %w", t.addr, err)
	}
	t.mu.Lock()
	t.client, t.session = client, session
	t.mu.Unlock()
	return nil
}

func (t *sshTransport) startShell(client *ssh.Client, a *transport.Args) (*ssh.Session, error) {
	s, err := client.NewSession()
	if err != nil {
		return nil, err
	}
	if t.stdin, err = s.StdinPipe(); err != nil {
		return nil, err
	}
	if t.stdout, err = s.StdoutPipe(); err != nil {
		return nil, err
	}
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 115200, ssh.TTY_OP_OSPEED: 115200}
	if err := s.RequestPty("xterm", a.TermHeight, a.TermWidth, modes); err != nil {
		return nil, err
	}
	if err := s.Shell(); err != nil {
		return nil, err
	}
	return s, nil
}

// kill closes the TCP connection, unblocking every pending read and write.
// It is safe to call at any time, from any goroutine, more than once.
func (t *sshTransport) kill() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.killed = true
	if t.conn != nil {
		_ = t.conn.Close()
	}
}

// Close ends the session and the connection; it always closes both.
func (t *sshTransport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.session != nil {
		_ = t.session.Close()
	}
	var err error
	if t.client != nil {
		err = t.client.Close()
	}
	if t.conn != nil {
		_ = t.conn.Close()
	}
	t.killed = true
	return err
}

// IsAlive reports whether the shell is open and the connection not killed.
func (t *sshTransport) IsAlive() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.session != nil && !t.killed
}

// Read reads up to n bytes of shell output, answering a pager on the way
// (see pager).
func (t *sshTransport) Read(n int) ([]byte, error) {
	b := make([]byte, n)
	n, err := t.stdout.Read(b)
	if err != nil {
		return nil, err
	}
	out, answer := t.pager.filter(b[:n])
	if answer {
		if err := t.Write([]byte(" ")); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pagerPrompt is a pager waiting for a key at the end of what the device
// sent, alone on its line: " --More-- " (IOS, IOS-XR, NX-OS, EOS) or
// Junos's "---(more)---" / "---(more 45%)---".
var pagerPrompt = regexp.MustCompile(`(?:^|\n)(?: ?--More-- ?|---\(more(?: \d{1,3}%)?\)---)$`)

// pagerErasure is what the device prints to erase the pager prompt once
// answered: IOS backspaces, blanks and backspaces again (ytti/oxidized
// lib/oxidized/model/ios.rb removes "\cH+\s{8}" and "\cH+" after a
// "--More--"); a carriage return, blanks and a carriage return, or
// ANSI "erase line", elsewhere.
var pagerErasure = regexp.MustCompile(`^(?:\x08+ *\x08*|\r *\r|\x1b\[K)`)

// pager answers the pagers of devices on which paging could not be turned
// off: scrapligo v1 sends "terminal length 0" (Junos "set cli
// screen-length 0") when a session opens but ignores a refusal ("%
// Authorization failed." under command authorization), and then waits for
// a prompt that never comes while the device waits at " --More-- " for a
// key, until the operation timeout. The transport sees the pager prompt
// end a read, removes it, answers it with a space (next screen) and removes
// the erasure that follows. Only the transport's read goroutine uses it.
type pager struct {
	answered bool // a pager was answered: its erasure comes next
	lineEnd  bool // the last byte returned ended a line
}

// filter returns b without a trailing pager prompt or a leading erasure,
// and whether a pager prompt must be answered.
func (p *pager) filter(b []byte) ([]byte, bool) {
	if len(b) == 0 {
		return b, false
	}
	if p.answered {
		p.answered = false
		if loc := pagerErasure.FindIndex(b); loc != nil {
			b = b[loc[1]:]
		}
	}
	answer := false
	// The pattern is only tried on a read that ends like a pager prompt,
	// and on its last bytes: reads of long outputs stay cheap.
	if end := bytes.TrimRight(b, " "); bytes.HasSuffix(end, []byte("--More--")) || bytes.HasSuffix(end, []byte(")---")) {
		from := max(0, len(b)-32)
		if loc := pagerPrompt.FindIndex(b[from:]); loc != nil {
			at := from + loc[0]
			// Alone on its line: after a line end here, or at the start of
			// a read that follows one.
			if b[at] == '\n' {
				at++ // keep the line end
			}
			if (at == 0 && p.lineEnd) || (at > 0 && b[at-1] == '\n') {
				b, answer = b[:at], true
				p.answered = true
			}
		}
	}
	if len(b) > 0 {
		p.lineEnd = b[len(b)-1] == '\n'
	}
	return b, answer
}

// Write sends b to the shell.
func (t *sshTransport) Write(b []byte) error {
	_, err := t.stdin.Write(b)
	return err
}

// preferKnown returns the host key algorithms to offer: those of the known
// keys first, then the others of base (x/crypto's defaults when nil), as
// OpenSSH orders them. The others stay offered so that a device which lost
// its known key type still negotiates a key, and is refused with a key
// mismatch (the alarming, true message) rather than a failed negotiation.
func preferKnown(known, base []string) []string {
	if base == nil {
		// x/crypto's default client list: the supported algorithms plus
		// SHA-1 RSA and DSA (ssh/common.go defaultHostKeyAlgos).
		base = append(ssh.SupportedAlgorithms().HostKeys, ssh.KeyAlgoRSA, ssh.InsecureKeyAlgoDSA)
	}
	out := slices.Clone(known)
	for _, a := range base {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}
