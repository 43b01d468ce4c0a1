// Package devicetest runs fake network devices for tests and labs: SSH
// servers on 127.0.0.1 that emulate the command line of Cisco IOS-XE,
// Cisco NX-OS, Arista EOS and Juniper Junos closely enough for scrapligo
// (and people) to drive them.
//
// A device is described by a Spec, usually built from an Oxidized-style
// simulation file (init prompt plus a map from command to recorded output)
// with LoadSimulation or ParseSimulation. Start runs any number of them in
// one process, all sharing one SSH host key:
//
//	spec, err := devicetest.LoadSimulation("cisco_iosxe", "testdata/ios.yaml")
//	lab, err := devicetest.Start(ctx, []devicetest.Spec{spec})
//	defer lab.Close()
//	addr := lab.Devices()[0].Addr() // 127.0.0.1:port
//
// What the fake devices do like the real ones:
//
//   - exec (host>), privileged (host#, reached with "enable" and
//     Spec.EnableSecret; IOS asks "Password:" three times, then "% Bad
//     secrets"; EOS answers "% Access denied") and configuration modes with sub-mode prompts
//     (host(config-if)#); Junos uses user@host> and [edit] user@host#.
//   - the session setup commands scrapligo sends on open (terminal width
//     and length, Junos "set cli ...") are answered with the platform's text
//     and their arguments are range-checked, not wildcarded.
//   - unknown or malformed commands get the platform's error text
//     ("% Invalid input detected at '^' marker." with the caret under the
//     offending word on IOS-XE, "% Invalid command at '^' marker." on NX-OS,
//     "% Invalid input (at token N: 'word')" on EOS, "unknown command." and
//     "syntax error" on Junos).
//   - configuration lines change the running configuration: sections are
//     created and removed, single-valued settings are replaced in place,
//     "no ..." removes; the IOS "Current configuration : N bytes" header is
//     recomputed and "! Last configuration change at" is updated, NX-OS's
//     "!Time:" line shows the time of each read (noise a backup must drop);
//     IOS with "exec prompt timestamp" on its vty lines (or a session's
//     "terminal exec prompt timestamp") heads every show output with
//     "Load for five secs: ..." and "Time source is NTP, <clock>" lines
//     that differ on each read.
//   - output filters "| include", "| exclude", "| begin", "| no-more".
//   - paging (IOS-XE, NX-OS, EOS): until "terminal length 0", an output
//     longer than 24 lines stops at " --More-- " and waits for a key
//     (space: next screen, Return: next line, q: stop), erased with
//     backspaces when answered (see cli.page for sources); refuse "terminal
//     length 0" with a FaultRefuse to see a client meet it.
//
// Authentication: password and keyboard-interactive by default, public
// keys with Spec.AuthorizedKeys; Spec.LegacySSH limits a device to the
// SHA-1/CBC algorithms and the single "ssh-rsa" RSA host key of old IOS.
// WithHostKeys gives devices several host keys, as Junos has (KnownHosts
// lists the first, as an OpenSSH client records one). Faults (Spec.Faults, Spec.Latency):
// per-answer latency, rejected logins, a TCP accept that never starts SSH,
// a command that never answers, a disconnect half-way through output, a
// refused line (FaultRefuse) and a failing Junos commit (FaultCommitFail).
//
// # Failed changes
//
// Every failure shape of ../shared/fixtures/devices/FAILURES.md can be
// injected per command or configuration line (Fault.Command): FaultRefuse
// prints the platform's refusal (Fault.Refusal: invalid input with the
// caret, incomplete, ambiguous, NX-OS's invalid parameter) or any text
// (Fault.Reply: IOS "Error: ...", NX-OS "ERROR: ...", messages without a
// "%"), applies nothing of that line and keeps the lines typed before it,
// as the running-configuration CLIs do. On NX-OS, "router bgp" holds
// nested sub-modes ("neighbor A", "template peer", "vrf", address
// families); "exit" climbs one level and a top-level command typed in a
// sub-mode leaves it.
//
// # Junos configuration database
//
// Junos devices keep one committed configuration, one shared candidate and
// per-session private copies, across all sessions of the device (see
// junosDB for each rule's source): "configure" edits the shared candidate,
// whose uncommitted changes survive the session and are committed by
// anyone's next "commit"; "configure exclusive" locks it (others get
// "error: configuration database locked by:" with the holder's terminal,
// pid and time) and is refused while the shared candidate is modified
// ("error: configuration database modified"); "configure private" is
// refused then too ("error: shared configuration database modified"),
// commits only its own changes and refuses "commit confirmed". Leaving with
// uncommitted changes asks "Exit with uncommitted changes? [yes,no] (yes)"
// (shared) or "Discard uncommitted changes? [yes,no] (yes)" (exclusive,
// private) and waits for the answer. "commit check" answers "configuration
// check succeeds", "rollback 0" "load complete", "commit confirmed N" rolls
// back after N minutes unless a commit or "commit check" confirms it
// (Device.ExpireConfirmedCommit runs the timer out at once for tests; "show
// system commit" shows "rollback pending"). "show configuration | display
// set" prints set statements; "delete" of a missing statement answers
// "warning: statement not found".
//
// Spec.DynamicCommands compute a command's output from the configuration in
// force, for state that follows it.
//
// # BGP sessions
//
// With Spec.BGP a device models the sessions of its global BGP instance
// and answers its platform's summary commands (BGPSummaryCommands: "show ip
// bgp summary" and the IPv6 ones, Junos "show bgp summary") as the
// platform prints them: IOS-XE's State/PfxRcd column ("Idle", "Active",
// "Idle (Admin)", the prefix count once Established, Up/Down "never"),
// NX-OS's ("Shut (Admin)", a 4-byte AS wrapping the line), EOS's ("Estab",
// "Idle(Admin)", a Description column), Junos's ("Active", "Connect",
// "Establ" with per-RIB counts, "Down peers"); see BGP for the sources. A
// neighbour configured, or whose remote AS, shutdown, password or update
// source changes, is not Established at once: it goes Idle, Connect,
// Active, OpenSent, OpenConfirm over BGP.EstablishPolls reads of a summary
// and BGP.EstablishAfter on the lab's clock (WithClock: a test moves a fake
// clock instead of sleeping), then Established; a description change
// leaves it up. BGP.Peers (and Device.SetBGPPeer while the lab runs) make a
// peer never answer (Active for good) or run another AS (Idle for good).
// Device.BGPState reads a session's state without counting as a read.
//
// # What the fakes do not model
//
// They know no command grammar: a configuration line is accepted when its
// first word is a common keyword or one the configuration already uses, and
// refused only by that rule or by an injected fault (no value validation,
// no "% BGP is already running", no "% Incomplete command" of their own).
// IOS-XR and EOS configuration sessions ("configure session") are not
// emulated. Junos: without Junos's schema, the words naming containers
// come from a small keyword table (see junosConfig), which covers common
// statements, not all; "edit", "update", "load", hierarchical "show |
// compare" output (the statements are listed instead), commit scripts and
// commit checks of their own (only FaultCommitFail fails a commit) are not
// modelled, and the text of two messages is ours: the refusal of "commit
// confirmed" in private mode (the Junos guide only says it is not
// possible) and the question on leaving private mode with changes
// (modelled on the exclusive one). BGP: no TCP, timers or messages (the
// state sequence is spread over reads and time, not driven by
// connect-retry or hold timers), no hold-timer expiry taking an up session
// down, no VRF sessions, address-family activation, prefix limits or
// graceful restart, and no "show bgp neighbors"; a password change
// restarts a session without the far end's password being compared; NX-OS
// without BGP refuses the summary command as when "feature bgp" is off.
package devicetest
