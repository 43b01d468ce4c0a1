package device

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/scrapli/scrapligo/driver/network"
	"github.com/scrapli/scrapligo/driver/options"
	"github.com/scrapli/scrapligo/platform"
	"github.com/scrapli/scrapligo/response"
	"github.com/scrapli/scrapligo/util"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

const (
	defaultConnectTimeout   = 10 * time.Second
	defaultOperationTimeout = 60 * time.Second
	// closeTimeout bounds the polite logout on Close.
	closeTimeout = 5 * time.Second
	// pollInterval is how often scrapligo polls the channel for output
	// (its default, 250µs, costs a lot of CPU with hundreds of sessions).
	pollInterval = time.Millisecond
)

// ErrSessionClosed is returned by operations on a closed session, or on one
// whose connection was torn down after a timeout or cancellation.
var ErrSessionClosed = errors.New("session closed")

// Session is an open CLI session on one device. Its methods are safe for
// concurrent use (operations run one at a time). Close it when done; With
// does so even on panic.
type Session struct {
	host      Host
	drv       *network.Driver
	tr        *sshTransport
	opTimeout time.Duration
	failures  failureRules

	mu     sync.Mutex
	dead   bool // connection torn down; only Close remains
	closed bool
}

// Result is the outcome of one command.
type Result struct {
	Command string
	Output  string
	// Err is a *CommandError when the device rejected the command (its
	// output matched the platform's failure strings, e.g. "% Invalid input").
	Err error
}

// ConfigChange is the outcome of Configure. Before and After are the
// running configuration as the device printed it (secrets included: keep
// them out of logs and persisted results, or clean them with
// DefaultSanitizer); Diff is the unified diff of their sanitized forms
// (secrets masked, noise dropped) and Changed whether Diff is not empty.
type ConfigChange struct {
	Before, After string
	Diff          string
	Changed       bool
	// Applied are the lines in force on the device after the change: every
	// line the device accepted, in order (on IOS-XE, NX-OS and EOS also
	// when a later line was refused); on Junos all of them when the commit
	// succeeded, none otherwise.
	Applied []string
	// ConfirmPending (Junos, WithCommitConfirmed) reports that the commit
	// rolls itself back unless ConfirmCommit confirms it in time.
	ConfirmPending bool
	// Results are the device's answers, one per line sent (on Junos also
	// "commit check" and "commit").
	Results []Result
}

// Open connects to host, authenticates, and prepares the CLI (privilege
// level, paging off) the way scrapligo's platform definition says. The
// connect timeout bounds TCP and SSH setup, the operation timeout the CLI
// preparation; ctx cancels both. Errors are *Error with class Unreachable,
// AuthFailed, TimedOut or Failed.
func Open(ctx context.Context, host Host, secrets SecretResolver) (*Session, error) {
	fail := func(class Class, err error) (*Session, error) {
		return nil, &Error{Host: host.Name, Op: "connect", Class: class, Err: err}
	}
	if err := host.validate(); err != nil {
		return fail(Failed, err)
	}
	password, err := resolve(ctx, secrets, "password_secret", host.PasswordSecret)
	if err != nil {
		return fail(Failed, err)
	}
	enable, err := resolve(ctx, secrets, "enable_secret", host.EnableSecret)
	if err != nil {
		return fail(Failed, err)
	}
	failures, err := failuresFor(host.Platform, host.ErrorPatterns)
	if err != nil {
		return fail(Failed, err)
	}
	auth, err := authMethods(ctx, host, secrets, password)
	if err != nil {
		return fail(Failed, err)
	}
	hostKey, knownAlgos, err := hostKeyCallback(host)
	if err != nil {
		return fail(Failed, err)
	}
	connectTimeout := orDefault(host.ConnectTimeout, defaultConnectTimeout)
	opTimeout := orDefault(host.OperationTimeout, defaultOperationTimeout)

	openCtx, cancel := context.WithTimeout(ctx, connectTimeout+opTimeout)
	defer cancel()
	cfg := &ssh.ClientConfig{User: host.Username, Auth: auth, HostKeyCallback: hostKey, Timeout: connectTimeout}
	if host.LegacyAlgorithms != nil && *host.LegacyAlgorithms {
		slog.Warn("SSH legacy algorithms enabled: SHA-1 key exchange and CBC ciphers are weak; upgrade the device",
			"host", host.Name, "address", host.Address)
		allowLegacy(cfg)
	}
	tr := newSSHTransport(openCtx, host.Address, host.Port, cfg, connectTimeout)
	tr.hostKeyAlgorithms = knownAlgos
	opts := []util.Option{
		options.WithCustomTransport(tr),
		options.WithPort(host.Port),
		options.WithAuthUsername(host.Username),
		options.WithTimeoutSocket(connectTimeout),
		options.WithTimeoutOps(opTimeout),
		options.WithReadDelay(pollInterval),
		// Log out with "exit" but do not first wait for a prompt round trip
		// (the platform default): Close drops the connection right after,
		// which ends the session from any mode, and a backup of hundreds of
		// devices would otherwise pay one device latency each.
		options.WithNetworkOnClose(func(d *network.Driver) error {
			return d.Channel.WriteAndReturn([]byte("exit"), false)
		}),
	}
	if enable != "" {
		opts = append(opts, options.WithAuthSecondary(enable))
	}
	p, err := platform.NewPlatform(host.Platform, host.Address, opts...)
	if err != nil {
		return fail(Failed, fmt.Errorf("platform %q: %w", host.Platform, err))
	}
	drv, err := p.GetNetworkDriver()
	if err != nil {
		return fail(Failed, fmt.Errorf("platform %q: %w", host.Platform, err))
	}
	drv.OnOpen = onOpen(host, p.NetworkOnOpen, enable, func(out string) bool {
		_, refused := failures.refusal(out, drv.FailedWhenContains, false)
		return refused
	})
	stop := context.AfterFunc(openCtx, tr.kill)
	err = drv.Open()
	interrupted := !stop()
	s := &Session{host: host, drv: drv, tr: tr, opTimeout: opTimeout, failures: failures}
	switch {
	case interrupted && err == nil:
		// Opened just as the deadline passed: stop the read loop too.
		s.dead = true
		_ = s.Close()
		return fail(TimedOut, fmt.Errorf("open: %w", context.Cause(openCtx)))
	case err != nil:
		// scrapligo closed its channel; make sure the connection is gone.
		tr.kill()
		_ = tr.Close()
		if interrupted {
			return fail(TimedOut, fmt.Errorf("open: %w", context.Cause(openCtx)))
		}
		return fail(classify("connect", err, nil), err)
	}
	return s, nil
}

// With opens a session on host, runs fn and closes the session, also when
// fn panics (the panic continues after the close) or ctx ends.
func With(ctx context.Context, host Host, secrets SecretResolver, fn func(*Session) error) error {
	s, err := Open(ctx, host, secrets)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

func orDefault(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func (h Host) validate() error {
	switch {
	case h.Address == "":
		return fmt.Errorf("address is empty")
	case h.Platform == "":
		return fmt.Errorf("platform is empty")
	case !slices.Contains(platform.GetPlatformNames(), h.Platform):
		return fmt.Errorf("platform %q unknown (scrapligo names: %s)", h.Platform, strings.Join(platform.GetPlatformNames(), ", "))
	case h.Username == "":
		return fmt.Errorf("username is empty")
	case h.PasswordSecret == "" && h.PrivateKeySecret == "":
		return fmt.Errorf("password_secret or private_key_secret is required")
	case h.Port < 0 || h.Port > 65535:
		return fmt.Errorf("port %d out of range", h.Port)
	}
	return nil
}

func authMethods(ctx context.Context, h Host, secrets SecretResolver, password string) ([]ssh.AuthMethod, error) {
	var methods []ssh.AuthMethod
	if h.PrivateKeySecret != "" {
		key, err := resolve(ctx, secrets, "private_key_secret", h.PrivateKeySecret)
		if err != nil {
			return nil, err
		}
		pass, err := resolve(ctx, secrets, "passphrase_secret", h.PassphraseSecret)
		if err != nil {
			return nil, err
		}
		var signer ssh.Signer
		if pass != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(key), []byte(pass))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(key))
		}
		if err != nil {
			// The parse error may quote key material: do not wrap it.
			return nil, fmt.Errorf("private_key_secret %q: not a usable private key", h.PrivateKeySecret)
		}
		methods = append(methods, ssh.PublicKeys(signer))
	}
	if password != "" {
		methods = append(methods,
			ssh.Password(password),
			ssh.KeyboardInteractive(func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = password
				}
				return answers, nil
			}))
	}
	return methods, nil
}

// hostKeyCallback returns the host's host key policy and, with a
// known_hosts file, the function choosing the host key algorithms to
// offer (see knownKeyAlgorithms).
func hostKeyCallback(h Host) (ssh.HostKeyCallback, func(addr string, remote net.Addr) []string, error) {
	switch {
	case h.KnownHostsFile != "":
		cb, err := knownHosts.load(h.KnownHostsFile)
		if err != nil {
			return nil, nil, fmt.Errorf("known_hosts_file: %w", err)
		}
		return cb, func(addr string, remote net.Addr) []string { return knownKeyAlgorithms(cb, addr, remote) }, nil
	case h.InsecureIgnoreHostKey != nil && *h.InsecureIgnoreHostKey:
		slog.Warn("SSH HOST KEY CHECKING DISABLED: this connection can be intercepted; set known_hosts_file",
			"host", h.Name, "address", h.Address)
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	return nil, nil, fmt.Errorf("known_hosts_file is empty and insecure_ignore_host_key is not set: refusing to connect without a host key policy")
}

// probeKey is a key no known_hosts file lists: checking it makes the
// knownhosts callback name the keys it does list for a host.
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil
	}
	k, _ := ssh.NewPublicKey(pub)
	return k
})

// knownKeyAlgorithms returns the host key algorithms of the keys cb knows
// for addr, in the file's order, or nil (x/crypto's defaults) when it
// knows none. Devices hold several host keys (Junos generates RSA, ECDSA
// and Ed25519 keys; EOS and NX-OS RSA and ECDSA) while known_hosts usually
// holds the one an OpenSSH client negotiated (it prefers Ed25519, then
// ECDSA, then RSA: ssh_config(5) HostKeyAlgorithms). Go's default order
// prefers ECDSA and ends with Ed25519, so without this the handshake picks
// a key known_hosts does not list and refuses the device as if its key had
// changed. OpenSSH does the same ordering (sshconnect2.c
// order_hostkeyalgs: algorithms of known keys first).
func knownKeyAlgorithms(cb ssh.HostKeyCallback, addr string, remote net.Addr) []string {
	probe := probeKey()
	if probe == nil || remote == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if err := cb(addr, remote, probe); !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	for _, k := range ke.Want {
		for _, a := range algorithmsForKeyType(k.Key.Type()) {
			if !slices.Contains(algos, a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// algorithmsForKeyType lists the signature algorithms a host key of type t
// can sign the handshake with: an RSA key with SHA-2 (RFC 8332) or, on old
// devices, SHA-1 ("ssh-rsa", all IOS 15 offers).
func algorithmsForKeyType(t string) []string {
	if t == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{t}
}

// knownHostsCache parses each known_hosts file once per modification, not
// once per connection (a fan-out over hundreds of hosts would otherwise
// parse the whole file for every host).
type knownHostsCache struct {
	mu      sync.Mutex
	entries map[string]knownHostsEntry
}

type knownHostsEntry struct {
	mod  time.Time
	size int64
	cb   ssh.HostKeyCallback
}

var knownHosts = &knownHostsCache{entries: map[string]knownHostsEntry{}}

func (c *knownHostsCache) load(path string) (ssh.HostKeyCallback, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[path]; ok && e.mod.Equal(fi.ModTime()) && e.size == fi.Size() {
		return e.cb, nil
	}
	cb, err := knownhosts.New(path)
	if err != nil {
		return nil, err
	}
	c.entries[path] = knownHostsEntry{mod: fi.ModTime(), size: fi.Size(), cb: cb}
	return cb, nil
}

// allowLegacy offers the insecure algorithms after the default ones.
func allowLegacy(cfg *ssh.ClientConfig) {
	sup, insecure := ssh.SupportedAlgorithms(), ssh.InsecureAlgorithms()
	cfg.KeyExchanges = append(sup.KeyExchanges, insecure.KeyExchanges...)
	cfg.Ciphers = append(sup.Ciphers, insecure.Ciphers...)
	cfg.MACs = append(sup.MACs, insecure.MACs...)
	cfg.HostKeyAlgorithms = append(sup.HostKeys, insecure.HostKeys...)
}

// Host returns the host this session is connected to.
func (s *Session) Host() Host { return s.host }

// do runs one scrapligo operation under the session lock with ctx and the
// operation timeout enforced by closing the connection when either ends.
func (s *Session) do(ctx context.Context, op string, fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dead || s.closed {
		return &Error{Host: s.host.Name, Op: op, Class: Failed, Err: ErrSessionClosed}
	}
	opCtx, cancel := context.WithTimeout(ctx, s.opTimeout)
	defer cancel()
	stop := context.AfterFunc(opCtx, s.tr.kill)
	err := fn()
	if !stop() {
		s.dead = true
		return &Error{Host: s.host.Name, Op: op, Class: TimedOut, Err: context.Cause(opCtx)}
	}
	if err == nil {
		return nil
	}
	class := classify(op, err, nil)
	if class != CommandFailed {
		// The CLI state is unknown (partial output, broken connection).
		s.dead = true
		s.tr.kill()
	}
	return &Error{Host: s.host.Name, Op: op, Class: class, Err: err}
}

// result turns a scrapligo response into a Result, detecting a refusal
// with scrapligo's failure strings and the platform's rules (config: the
// configuration-mode rules too).
func (s *Session) result(r *response.Response, config bool) Result {
	res := Result{Command: r.Input, Output: r.Result}
	if msg, refused := s.failures.refusal(r.Result, s.drv.FailedWhenContains, config); refused || r.Failed != nil {
		if msg == "" {
			msg = strings.TrimSpace(r.Result)
		}
		res.Err = &CommandError{Command: r.Input, Message: msg, platform: s.host.Platform}
	}
	return res
}

// Send runs commands in the platform's default privilege level and returns
// one Result per command. When the device rejects any command, the error is
// an *Error of class CommandFailed wrapping the first *CommandError, and all
// results are still returned.
func (s *Session) Send(ctx context.Context, commands ...string) ([]Result, error) {
	var results []Result
	err := s.do(ctx, "send", func() error {
		var first error
		for _, c := range commands {
			r, err := s.drv.SendCommand(c)
			if err != nil {
				return fmt.Errorf("command %q: %w", c, err)
			}
			res := s.result(r, false)
			if res.Err != nil && first == nil {
				first = res.Err
			}
			results = append(results, res)
		}
		return first
	})
	return results, err
}

// runningConfigCommand is the command printing the configuration in a
// form that can be backed up and diffed.
func runningConfigCommand(platform string) string {
	if platform == "juniper_junos" {
		return "show configuration"
	}
	return "show running-config"
}

// RunningConfig returns the running configuration as the device prints it.
func (s *Session) RunningConfig(ctx context.Context) (string, error) {
	var out string
	err := s.do(ctx, "running-config", func() error {
		var err error
		out, err = s.runningConfig()
		return err
	})
	return out, err
}

func (s *Session) runningConfig() (string, error) {
	r, err := s.drv.SendCommand(runningConfigCommand(s.host.Platform))
	if err != nil {
		return "", err
	}
	if res := s.result(r, false); res.Err != nil {
		return "", res.Err
	}
	return r.Result, nil
}

// Close logs out politely (bounded by a short timeout) and always closes
// the connection. An operation running concurrently is interrupted.
// Calling Close more than once is safe.
func (s *Session) Close() error {
	if !s.mu.TryLock() {
		s.tr.kill()
		s.mu.Lock()
	}
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.dead {
		s.tr.kill()
	}
	t := time.AfterFunc(closeTimeout, s.tr.kill)
	_ = s.drv.Close() // the logout's errors say nothing useful
	t.Stop()
	_ = s.tr.Close()
	return nil
}
