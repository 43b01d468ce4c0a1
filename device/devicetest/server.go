package devicetest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Lab is a set of running fake devices sharing their SSH host keys.
type Lab struct {
	hostKeys []ssh.Signer
	// legacyKey is the RSA host key of Spec.LegacySSH devices, offered
	// for "ssh-rsa" signatures only, as old IOS does.
	legacyKey ssh.Signer
	devices   []*Device
	byName    map[string]*Device

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}

	clock Clock // nil: the system clock
}

// Device is one running fake device.
type Device struct {
	lab  *Lab
	spec Spec
	prof *profile
	ln   net.Listener
	cfg  *ssh.ServerConfig

	mu      sync.Mutex
	running *runningConfig // Cisco and Arista
	junos   *junosDB       // Junos
	reads   int            // show commands answered with IOS's timestamp header
	bgp     *bgpModel      // Spec.BGP's sessions, nil without
}

// Option configures Start.
type Option func(*Lab)

// WithHostKey makes the lab use signer as the host key of every device
// instead of a freshly generated ed25519 key.
func WithHostKey(signer ssh.Signer) Option {
	return func(l *Lab) { l.hostKeys = []ssh.Signer{signer} }
}

// WithHostKeys gives every device several host keys, one per type, as
// real devices have: Junos generates RSA, ECDSA and Ed25519 keys (Junos
// "system services ssh hostkey-algorithm", all allowed by default), EOS
// and NX-OS can hold RSA and ECDSA keys. The server offers them all and
// the client picks the first type of its own preference list that the
// server has; KnownHosts lists the first key only, as an OpenSSH client
// records only the key of the type it negotiated.
func WithHostKeys(signers ...ssh.Signer) Option {
	return func(l *Lab) { l.hostKeys = signers }
}

// Start starts one SSH server per spec on 127.0.0.1 (ephemeral ports) and
// returns when all listen. The devices stop when ctx ends or Close is called.
func Start(ctx context.Context, specs []Spec, opts ...Option) (*Lab, error) {
	l := &Lab{byName: map[string]*Device{}, conns: map[net.Conn]struct{}{}}
	for _, o := range opts {
		o(l)
	}
	if len(l.hostKeys) == 0 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("generate host key: %w", err)
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			return nil, fmt.Errorf("host key signer: %w", err)
		}
		l.hostKeys = []ssh.Signer{signer}
	}
	if slices.ContainsFunc(specs, func(s Spec) bool { return s.LegacySSH }) {
		// Old IOS has one RSA host key ("crypto key generate rsa") and
		// signs with SHA-1 ("ssh-rsa") only: Cisco IOS 15 Secure Shell
		// Configuration Guide, "Secure Shell Version 2 Support"
		// (cisco.com/en/US/docs/ios-xml/ios/sec_usr_ssh/configuration/15-e/sec-secure-shell-v2.html);
		// rsa-sha2-* (RFC 8332) came with IOS-XE 16.x/17.x.
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate legacy host key: %w", err)
		}
		signer, err := ssh.NewSignerFromKey(priv)
		if err != nil {
			return nil, fmt.Errorf("legacy host key signer: %w", err)
		}
		if l.legacyKey, err = ssh.NewSignerWithAlgorithms(signer.(ssh.AlgorithmSigner), []string{ssh.KeyAlgoRSA}); err != nil {
			return nil, fmt.Errorf("legacy host key signer: %w", err)
		}
	}
	l.ctx, l.cancel = context.WithCancel(ctx)
	for i := range specs {
		spec := specs[i]
		prof, err := spec.normalize()
		if err != nil {
			l.Close()
			return nil, err
		}
		if _, dup := l.byName[spec.Name]; dup {
			l.Close()
			return nil, fmt.Errorf("device %q: duplicate name", spec.Name)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("device %q: listen: %w", spec.Name, err)
		}
		d := &Device{lab: l, spec: spec, prof: prof, ln: ln}
		if spec.BGP != nil {
			if d.bgp, err = newBGPModel(spec.BGP); err != nil {
				_ = ln.Close()
				l.Close()
				return nil, fmt.Errorf("device %q: %w", spec.Name, err)
			}
		}
		d.setConfig(spec.RunningConfig)
		d.bgpSyncLocked(true)
		d.cfg = d.serverConfig()
		l.devices = append(l.devices, d)
		l.byName[spec.Name] = d
		l.wg.Add(1)
		go d.acceptLoop()
	}
	go func() {
		<-l.ctx.Done()
		l.shutdown()
	}()
	return l, nil
}

// Devices returns the devices in the order of the specs.
func (l *Lab) Devices() []*Device { return slices.Clone(l.devices) }

// Device returns the device called name, or nil.
func (l *Lab) Device(name string) *Device { return l.byName[name] }

// HostKey returns the public host key shared by all devices (the first
// one, with WithHostKeys).
func (l *Lab) HostKey() ssh.PublicKey { return l.hostKeys[0].PublicKey() }

// KnownHosts returns known_hosts lines naming every device's address with
// its host key (the first one), for strict host key checking.
func (l *Lab) KnownHosts() string {
	var out []byte
	for _, d := range l.devices {
		out = append(out, knownHostsLine(d.Addr(), d.HostKey())...)
		out = append(out, '\n')
	}
	return string(out)
}

func knownHostsLine(addr string, key ssh.PublicKey) string {
	host, port, _ := net.SplitHostPort(addr)
	return "[" + host + "]:" + port + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

// OpenConns returns the number of client connections currently open on
// all devices.
func (l *Lab) OpenConns() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// Close stops every device, drops all connections (also those hanging on
// purpose) and waits for the server goroutines to finish.
func (l *Lab) Close() {
	if l.cancel != nil {
		l.cancel()
	}
	l.shutdown()
	l.wg.Wait()
}

func (l *Lab) shutdown() {
	for _, d := range l.devices {
		_ = d.ln.Close()
		if d.junos != nil {
			d.mu.Lock()
			d.junos.confirmPending()
			d.mu.Unlock()
		}
	}
	l.mu.Lock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
}

func (l *Lab) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx.Err() != nil {
		return false
	}
	l.conns[c] = struct{}{}
	return true
}

func (l *Lab) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	_ = c.Close()
}

// Name returns the device name.
func (d *Device) Name() string { return d.spec.Name }

// Platform returns the emulated platform.
func (d *Device) Platform() string { return d.spec.Platform }

// Addr returns the host:port the device listens on.
func (d *Device) Addr() string { return d.ln.Addr().String() }

// HostKey returns the device's public host key: the lab's first one, or
// the RSA key of a LegacySSH device.
func (d *Device) HostKey() ssh.PublicKey { return d.hostKeys()[0].PublicKey() }

func (d *Device) hostKeys() []ssh.Signer {
	if d.spec.LegacySSH {
		return []ssh.Signer{d.lab.legacyKey}
	}
	return d.lab.hostKeys
}

// Port returns the TCP port the device listens on.
func (d *Device) Port() int {
	_, p, _ := net.SplitHostPort(d.Addr())
	n, _ := strconv.Atoi(p)
	return n
}

// RunningConfig returns the running configuration as "show running-config"
// would print it now.
func (d *Device) RunningConfig() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.renderLocked()
}

func (d *Device) renderLocked() string {
	if d.prof.juniper {
		return d.junos.active.render()
	}
	return d.running.render(time.Now())
}

func (d *Device) setConfig(text string) {
	if d.prof.juniper {
		if d.junos == nil {
			d.junos = newJunosDB(text)
		} else {
			d.junos.active = parseJunos(text)
		}
	} else {
		d.running = newRunningConfig(d.prof, text)
	}
}

// SetRunningConfig replaces the running configuration (on Junos the
// committed one), as a change made by someone else would.
func (d *Device) SetRunningConfig(text string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setConfig(text)
	d.bgpSyncLocked(false)
}

func (d *Device) serverConfig() *ssh.ServerConfig {
	cfg := &ssh.ServerConfig{ServerVersion: "SSH-2.0-Cisco-1.25"}
	reject := d.spec.hasFault(FaultRejectAuth)
	check := func(user, pass string) bool {
		ok := subtle.ConstantTimeCompare([]byte(user), []byte(d.spec.Username)) == 1
		ok = subtle.ConstantTimeCompare([]byte(pass), []byte(d.spec.Password)) == 1 && ok
		return ok && !reject
	}
	errAuth := errors.New("authentication failed")
	for _, m := range d.spec.Auth {
		switch m {
		case AuthPassword:
			cfg.PasswordCallback = func(c ssh.ConnMetadata, pass []byte) (*ssh.Permissions, error) {
				if check(c.User(), string(pass)) {
					return nil, nil
				}
				return nil, errAuth
			}
		case AuthKeyboardInteractive:
			cfg.KeyboardInteractiveCallback = func(c ssh.ConnMetadata, ch ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
				ans, err := ch(c.User(), "", []string{"Password: "}, []bool{false})
				if err != nil {
					return nil, err
				}
				if len(ans) == 1 && check(c.User(), ans[0]) {
					return nil, nil
				}
				return nil, errAuth
			}
		case AuthPublicKey:
			cfg.PublicKeyCallback = func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
				if reject || c.User() != d.spec.Username {
					return nil, errAuth
				}
				for _, k := range d.spec.AuthorizedKeys {
					if subtle.ConstantTimeCompare(k.Marshal(), key.Marshal()) == 1 {
						return nil, nil
					}
				}
				return nil, errAuth
			}
		}
	}
	if d.spec.LegacySSH {
		// IOS 12.x/15.x SSHv2: Diffie-Hellman group 1/14 with SHA-1,
		// CBC ciphers, HMAC-SHA1 (same guide; OpenSSH 7+ needs
		// "KexAlgorithms +diffie-hellman-group1-sha1" to reach them).
		cfg.KeyExchanges = []string{"diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"}
		cfg.Ciphers = []string{"aes128-cbc", "3des-cbc"}
		cfg.MACs = []string{"hmac-sha1"}
	}
	for _, k := range d.hostKeys() {
		cfg.AddHostKey(k)
	}
	return cfg
}

func (d *Device) acceptLoop() {
	defer d.lab.wg.Done()
	for {
		c, err := d.ln.Accept()
		if err != nil {
			return
		}
		if !d.lab.track(c) {
			_ = c.Close()
			return
		}
		d.lab.wg.Add(1)
		go func() {
			defer d.lab.wg.Done()
			defer d.lab.untrack(c)
			d.serveConn(c)
		}()
	}
}

func (d *Device) serveConn(c net.Conn) {
	if d.spec.hasFault(FaultHangOnConnect) {
		<-d.lab.ctx.Done()
		return
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(c, d.cfg)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer sc.Close()
	gone := make(chan struct{})
	d.lab.wg.Add(2)
	go func() {
		defer d.lab.wg.Done()
		_ = sc.Wait()
		close(gone)
	}()
	go func() {
		defer d.lab.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.serveSession(sc, ch, creqs, gone)
		}()
	}
}

func (d *Device) serveSession(sc *ssh.ServerConn, ch ssh.Channel, reqs <-chan *ssh.Request, gone <-chan struct{}) {
	defer ch.Close()
	shell := make(chan struct{})
	go func() {
		started := false
		for r := range reqs {
			ok := false
			switch r.Type {
			case "pty-req", "env", "window-change":
				ok = true
			case "shell":
				ok = !started
				if ok {
					started = true
					close(shell)
				}
			}
			if r.WantReply {
				_ = r.Reply(ok, nil)
			}
		}
		if !started {
			close(shell)
		}
	}()
	select {
	case <-shell:
	case <-d.lab.ctx.Done():
		return
	}
	c := newCLI(d, sc, ch, gone)
	defer c.closed()
	c.run()
}
