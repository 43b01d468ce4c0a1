package devicetest

import (
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// Spec describes one fake device.
type Spec struct {
	// Name identifies the device in the lab; it defaults to Hostname.
	Name string
	// Platform is the scrapligo platform name: cisco_iosxe, cisco_nxos,
	// arista_eos or juniper_junos.
	Platform string
	// Hostname is shown in prompts.
	Hostname string
	// Username and Password are the credentials the device accepts
	// (default admin / admin).
	Username, Password string
	// EnableSecret, when set on a platform with an unprivileged exec level
	// (IOS-XE, EOS), makes sessions start at "host>" and "enable" ask for it.
	EnableSecret string
	// Auth lists the accepted SSH authentication methods; empty means
	// password and keyboard-interactive.
	Auth []AuthMethod
	// AuthorizedKeys are accepted for AuthPublicKey.
	AuthorizedKeys []ssh.PublicKey
	// Banner is printed before the first prompt.
	Banner string
	// RunningConfig is the initial running configuration, as printed by
	// "show running-config" ("show configuration" on Junos).
	RunningConfig string
	// Commands maps an exec command line to its output (without the echoed
	// command or the prompt).
	Commands map[string]string
	// LegacySSH limits the server to the old algorithms some devices still
	// only speak (diffie-hellman-group14-sha1 / group1, CBC ciphers,
	// hmac-sha1).
	LegacySSH bool
	// Latency delays every answer to a submitted line.
	Latency time.Duration
	// Faults inject failures.
	Faults []Fault
}

// AuthMethod is an SSH authentication method a fake device accepts.
type AuthMethod string

// Authentication methods.
const (
	AuthPassword            AuthMethod = "password"
	AuthKeyboardInteractive AuthMethod = "keyboard-interactive"
	AuthPublicKey           AuthMethod = "publickey"
)

// FaultKind names an injected failure.
type FaultKind string

// Fault kinds.
const (
	// FaultRejectAuth rejects every login, as a device whose password was
	// changed does.
	FaultRejectAuth FaultKind = "reject-auth"
	// FaultHangOnConnect accepts the TCP connection and never starts SSH.
	FaultHangOnConnect FaultKind = "hang-on-connect"
	// FaultHang echoes Command and then never answers, keeping the
	// connection open.
	FaultHang FaultKind = "hang"
	// FaultDisconnect prints the first half of Command's output and drops
	// the connection.
	FaultDisconnect FaultKind = "disconnect"
)

// Fault is one injected failure. Command (a command line, matched exactly
// after whitespace normalisation) is required for FaultHang and
// FaultDisconnect.
type Fault struct {
	Kind    FaultKind
	Command string
}

func (s *Spec) normalize() (*profile, error) {
	prof, err := profileFor(s.Platform)
	if err != nil {
		return nil, fmt.Errorf("device %q: %w", s.Name, err)
	}
	if s.Hostname == "" {
		s.Hostname = s.Name
	}
	if s.Hostname == "" {
		return nil, fmt.Errorf("device spec: Hostname or Name is required")
	}
	if s.Name == "" {
		s.Name = s.Hostname
	}
	if s.Username == "" {
		s.Username = "admin"
	}
	if s.Password == "" {
		s.Password = "admin"
	}
	if len(s.Auth) == 0 {
		s.Auth = []AuthMethod{AuthPassword, AuthKeyboardInteractive}
	}
	for i, f := range s.Faults {
		switch f.Kind {
		case FaultRejectAuth, FaultHangOnConnect:
		case FaultHang, FaultDisconnect:
			if f.Command == "" {
				return nil, fmt.Errorf("device %q: Faults[%d].Command is required for %s", s.Name, i, f.Kind)
			}
		default:
			return nil, fmt.Errorf("device %q: Faults[%d].Kind %q unknown", s.Name, i, f.Kind)
		}
	}
	return prof, nil
}

func (s *Spec) hasFault(k FaultKind) bool {
	for _, f := range s.Faults {
		if f.Kind == k {
			return true
		}
	}
	return false
}

func (s *Spec) faultFor(cmd string) FaultKind {
	for _, f := range s.Faults {
		if (f.Kind == FaultHang || f.Kind == FaultDisconnect) && normalizeSpace(f.Command) == cmd {
			return f.Kind
		}
	}
	return ""
}

// GeneratedSpec returns a Cisco IOS-XE device called name with a small,
// realistic running configuration (a few interfaces, an enable secret, an
// SNMP community), for labs that need many devices.
func GeneratedSpec(name string) Spec {
	return Spec{
		Name:     name,
		Platform: "cisco_iosxe",
		RunningConfig: "Building configuration...\n\nCurrent configuration : 0 bytes\n!\n" +
			"! Last configuration change at 10:00:00 UTC Mon Jan 5 2026 by admin\n!\n" +
			"version 17.9\nservice timestamps log datetime msec\n!\nhostname " + name + "\n!\n" +
			"enable secret 9 $9$" + name + "fakeSecretHash\n!\n" +
			"username admin privilege 15 secret 9 $9$" + name + "adminHash\n!\n" +
			"interface GigabitEthernet1\n ip address 192.0.2.1 255.255.255.0\n!\n" +
			"interface GigabitEthernet2\n description uplink\n no ip address\n shutdown\n!\n" +
			"snmp-server community c0mm-" + name + " RO\n!\nline vty 0 4\n transport input ssh\n!\nend",
		Commands: map[string]string{"show version": "Cisco IOS XE Software, Version 17.09.04a\n" + name + " uptime is 1 week"},
	}
}
