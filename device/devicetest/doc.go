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
//     Spec.EnableSecret) and configuration modes with sub-mode prompts
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
//     "!Time:" line shows the time of each read (noise a backup must drop).
//   - output filters "| include", "| exclude", "| begin", "| no-more".
//
// Authentication: password and keyboard-interactive by default, public
// keys with Spec.AuthorizedKeys; Spec.LegacySSH limits a device to the
// SHA-1/CBC algorithms of old firmware. Faults (Spec.Faults, Spec.Latency):
// per-answer latency, rejected logins, a TCP accept that never starts SSH,
// a command that never answers, and a disconnect half-way through output.
//
// Junos: set and delete statements are collected as the candidate and
// merged into the hierarchical configuration on commit. Without Junos's
// schema the fake decides which words name containers with a small keyword
// table (see junosConfig), which covers common statements, not all.
package devicetest
