package devicetest_test

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device/devicetest"
	"golang.org/x/crypto/ssh"
)

// term is a raw interactive session on a fake device, typed into like a
// person would: it answers questions scrapligo's prompt patterns do not
// know, which these tests need.
type term struct {
	t   *testing.T
	in  io.Writer
	out chan []byte
	buf string
}

// prompts ends every answer: an operational or configuration prompt, or a
// "[yes,no]" question.
var prompts = regexp.MustCompile(`(?m)(^[\w.\-@()]+[>#] ?$|\[yes,no\] \(yes\) $)`)

func dial(t *testing.T, d *devicetest.Device) *term {
	t.Helper()
	c, err := ssh.Dial("tcp", d.Addr(), &ssh.ClientConfig{
		User: "admin", Auth: []ssh.AuthMethod{ssh.Password("admin")},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := s.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RequestPty("xterm", 80, 511, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	tm := &term{t: t, in: in, out: make(chan []byte, 64)}
	go func() {
		defer close(tm.out)
		for {
			b := make([]byte, 4096)
			n, err := stdout.Read(b)
			if n > 0 {
				tm.out <- b[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	tm.read()
	return tm
}

// read returns what the device printed up to the next prompt or question.
func (tm *term) read() string {
	tm.t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		if loc := prompts.FindStringIndex(tm.buf); loc != nil && strings.TrimSpace(tm.buf[loc[1]:]) == "" {
			out := strings.ReplaceAll(tm.buf, "\r\n", "\n")
			tm.buf = ""
			return out
		}
		select {
		case b, ok := <-tm.out:
			if !ok {
				tm.t.Fatalf("connection closed; output so far:\n%s", tm.buf)
			}
			tm.buf += string(b)
		case <-timeout:
			tm.t.Fatalf("no prompt; output so far:\n%s", tm.buf)
		}
	}
}

// send types line and returns the answer (echo, output and the next prompt).
func (tm *term) send(line string) string {
	tm.t.Helper()
	if _, err := io.WriteString(tm.in, line+"\r"); err != nil {
		tm.t.Fatal(err)
	}
	return tm.read()
}

func (tm *term) expect(line string, want ...string) string {
	tm.t.Helper()
	out := tm.send(line)
	for _, w := range want {
		if !strings.Contains(out, w) {
			tm.t.Fatalf("%q: answer lacks %q:\n%s", line, w, out)
		}
	}
	return out
}

func (tm *term) refuse(line string, unwanted ...string) string {
	tm.t.Helper()
	out := tm.send(line)
	for _, w := range unwanted {
		if strings.Contains(out, w) {
			tm.t.Fatalf("%q: answer has %q:\n%s", line, w, out)
		}
	}
	return out
}

// timeTick paces a bounded poll of a condition the fake settles
// asynchronously (a server noticing a closed connection).
func timeTick() <-chan time.Time { return time.After(20 * time.Millisecond) }
