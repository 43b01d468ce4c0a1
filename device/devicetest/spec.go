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
	// DynamicCommands maps an exec command line to a function computing its
	// output from the running configuration at the time of the command, for
	// state that follows the configuration (a BGP summary listing the
	// neighbours configured now). It wins over Commands.
	DynamicCommands map[string]func(runningConfig string) string
	// BGP, when set, makes the device model its BGP sessions and answer
	// the platform's BGP summary commands (BGPSummaryCommands) from them
	// and the configuration in force; DynamicCommands and Commands for
	// the same command line win over it.
	BGP *BGP
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
	// FaultRefuse refuses Command (an exec command or a configuration line,
	// in whatever mode it is typed) the way the platform's parser refuses a
	// line: the device prints Reply, or the platform's rendering of Refusal,
	// and changes nothing. The lines typed before it stay applied, as on
	// the real running-configuration CLIs (FAILURES.md, "Each line is
	// applied as typed; a bad line is refused and the lines before it stay
	// applied"). On Junos a refused set/delete line stays out of the
	// candidate.
	FaultRefuse FaultKind = "refuse"
	// FaultCommitFail (Junos) makes every "commit" and "commit check" fail
	// with Reply (default: the policy check-out failure of FAILURES.md,
	// ending in "error: configuration check-out failed"); the candidate
	// stays as it was, as Junos keeps it after a failed commit.
	FaultCommitFail FaultKind = "commit-fail"
)

// Refusal names how a platform refuses a line, for Fault.Refusal. The texts
// are those of FAILURES.md (../shared/fixtures/devices), rendered per
// platform with the caret under the refused word where the platform prints
// one.
type Refusal string

// Refusals.
const (
	// RefuseInvalid: IOS-XE "% Invalid input detected at '^' marker.",
	// NX-OS "% Invalid command at '^' marker.", EOS "% Invalid input",
	// Junos "syntax error." (the default).
	RefuseInvalid Refusal = "invalid"
	// RefuseIncomplete: "% Incomplete command." (IOS-XE, NX-OS),
	// "% Incomplete command" (EOS); Junos "syntax error, expecting <data>.".
	RefuseIncomplete Refusal = "incomplete"
	// RefuseAmbiguous: `% Ambiguous command:  "<line>"` (IOS-XE, NX-OS),
	// "% Ambiguous command" (EOS); Junos "'<word>' is ambiguous.".
	RefuseAmbiguous Refusal = "ambiguous"
	// RefuseParameter: NX-OS "% Invalid parameter detected at '^' marker."
	// (a refusal scrapligo v1's cisco_nxos failure strings do not know);
	// other platforms print their RefuseInvalid text.
	RefuseParameter Refusal = "parameter"
)

// Fault is one injected failure. Command (a command line, matched exactly
// after whitespace normalisation) is required for FaultHang,
// FaultDisconnect and FaultRefuse.
type Fault struct {
	Kind    FaultKind
	Command string
	// Reply is the device's answer for FaultRefuse and FaultCommitFail, as
	// printed (for example IOS "Error: ..." lines of feature parsers or
	// NX-OS "ERROR: ..." messages, which carry no "%"). Empty means the
	// platform's rendering of Refusal (FaultRefuse) or the check-out
	// failure (FaultCommitFail).
	Reply string
	// Refusal picks the platform's refusal text for FaultRefuse when Reply
	// is empty (default RefuseInvalid).
	Refusal Refusal
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
		case FaultCommitFail:
			if !prof.juniper {
				return nil, fmt.Errorf("device %q: Faults[%d]: %s is a Junos fault (platform %s commits nothing)", s.Name, i, f.Kind, s.Platform)
			}
		case FaultHang, FaultDisconnect, FaultRefuse:
			if f.Command == "" {
				return nil, fmt.Errorf("device %q: Faults[%d].Command is required for %s", s.Name, i, f.Kind)
			}
		default:
			return nil, fmt.Errorf("device %q: Faults[%d].Kind %q unknown", s.Name, i, f.Kind)
		}
		switch f.Refusal {
		case "", RefuseInvalid, RefuseIncomplete, RefuseAmbiguous, RefuseParameter:
		default:
			return nil, fmt.Errorf("device %q: Faults[%d].Refusal %q unknown", s.Name, i, f.Refusal)
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

// faultFor returns the fault injected for the typed line cmd, if any.
func (s *Spec) faultFor(cmd string) *Fault {
	for i, f := range s.Faults {
		switch f.Kind {
		case FaultHang, FaultDisconnect, FaultRefuse:
			if normalizeSpace(f.Command) == cmd {
				return &s.Faults[i]
			}
		}
	}
	return nil
}

// commitFault returns the FaultCommitFail fault, if any.
func (s *Spec) commitFault() *Fault {
	for i, f := range s.Faults {
		if f.Kind == FaultCommitFail {
			return &s.Faults[i]
		}
	}
	return nil
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
