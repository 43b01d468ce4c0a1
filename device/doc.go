// Package device drives network devices over SSH: CLI sessions with
// scrapligo v1, configuration changes that say exactly what was applied,
// an inventory with inheritance and filters, a bounded fan-out with
// per-host results, and the sanitizer that strips secrets from
// configurations. Configuration backup into Git is package device/backup
// (which links go-git; this package does not), reading configurations is
// package device/confparse, fake devices are package device/devicetest.
//
// # Sessions
//
// Open connects to a Host and prepares its CLI the way scrapligo's platform
// definition for Host.Platform says (cisco_iosxe, cisco_nxos, arista_eos,
// juniper_junos, cisco_iosxr, ... — scrapligo's names): privilege level,
// paging and width off. With opens, runs a function and closes, also on
// panic:
//
//	err := device.With(ctx, host, secrets, func(s *device.Session) error {
//		results, err := s.Send(ctx, "show version")      // []Result
//		cfg, err := s.RunningConfig(ctx)                 // string
//		change, err := s.Configure(ctx, []string{...})   // before, after, diff, applied lines
//		...
//	})
//
// # Configuration changes
//
// Configure types lines in configuration mode. On IOS-XE, NX-OS and EOS
// each line takes effect as it is typed: the first refused line stops the
// push and the *ChangeError (errors.As) names it and lists the lines
// already applied, which stay in force, so a compensation can undo exactly
// those. On Junos the lines go into a candidate ("configure private" by
// default, WithJunosMode for exclusive or shared), are validated with
// "commit check" and committed; on any failure the candidate is discarded
// ("rollback 0"), configuration mode left (answering Junos's "[yes,no]"
// question) and nothing is committed. WithCommitConfirmed commits with
// "commit confirmed N"; ConfirmCommit confirms it after the caller's
// checks. Refusals are recognised per platform: scrapligo's failure
// strings plus this package's patterns (messages without a "%" such as IOS
// "Error: ..." and NX-OS "ERROR: ...", Junos "error: ..." lines, NX-OS "%
// Invalid parameter") plus the host's Params.ErrorPatterns. Configure
// refuses cisco_iosxr: its commit/abort model is not implemented.
//
// Transport: scrapligo v1 with a pure Go SSH transport (x/crypto/ssh), so
// binaries need no ssh executable. It is this package's own
// implementation of scrapligo's transport interface rather than the stock
// "standard" transport, because that one cannot be interrupted: its SSH
// handshake has no deadline, and scrapligo v1 operations take no context.
// Here every operation runs under its context and OperationTimeout, and
// when either ends the TCP connection is closed under the blocked read, so
// a hung device releases its goroutine and connection at once. A session
// that timed out is dead; Close is always safe and always closes. The
// platform's session setup ("terminal length 0" and the like) runs as
// scrapligo's definition lists it; a refused setup command is logged, and
// when paging stays on the transport answers the device's pager (" --More--
// ", Junos "---(more)---") and removes it from the output, instead of
// waiting for a prompt until the operation timeout.
//
// Authentication: password and keyboard-interactive (PasswordSecret),
// public key (PrivateKeySecret, optional PassphraseSecret), enable secret
// (EnableSecret). A session that starts unprivileged ("host>") is raised
// with "enable" by this package, not scrapligo's escalation, so that a
// missing or refused secret is AuthFailed at once rather than a wait on
// "Password:" until the operation timeout (IOS asks three times). Host keys: KnownHostsFile for strict checking, or
// InsecureIgnoreHostKey, which logs a warning on every connection; with
// neither, Open refuses to connect. With known_hosts, the algorithms of the
// keys it lists for the host are offered first, as OpenSSH does: devices
// hold several host keys (Junos RSA, ECDSA and Ed25519) and known_hosts
// usually one, which Go's default preference would miss. LegacyAlgorithms additionally offers
// the weak SSH algorithms old devices may be limited to (also warned).
//
// Secrets: hosts and options hold secret references only; a SecretResolver
// (SecretFunc, StaticSecrets, or the runtime's secret store) resolves them
// when a session opens. Values never appear in errors, logs or String
// output; Configure's diff is sanitized.
//
// # Results and errors
//
// Every failure is an *Error carrying a Class: Unreachable (TCP, SSH
// handshake, host key), AuthFailed (login or enable refused), CommandFailed
// (device error output such as "% Invalid input", detected with the
// platform's failure strings; the *CommandError names the line), TimedOut
// (connect or operation deadline, cancelled context) or Failed. ClassOf
// extracts it. Successful work is Unchanged or Changed. Error strings never
// hold secrets: a refused line is masked with the platform's sanitizer.
//
// # Inventory
//
// An Inventory holds hosts, groups and defaults; each host's Params
// (platform, port, username, secret references, host key policy, timeouts)
// and Data are resolved host → groups (in listed order) → defaults.
// ParseInventory / LoadInventory read YAML, NewInventoryFromRecords builds
// one from plain records (the shape a source of truth such as Infrahub
// returns), and Filter with InGroup, FieldEquals or any func(Host) bool
// selects hosts.
//
// # Fan-out
//
// Run calls a function per host, at most FanOut.Concurrency at once, each
// under FanOut.HostTimeout and holding the Limiter tag "device:<name>" so
// no two tasks touch one device at once (the engine's task package
// provides a Limiter with tag limits; KeyLocks is an in-process one). Once
// more than MaxFailurePercent of the hosts failed, no new host starts
// (Skipped). A panic fails only its host. RunSessions, SendAll and
// ConfigureAll open the sessions for you. Results are per host, sorted by
// name, with Class, value, error and diff.
//
// # Secrets in configurations
//
// DefaultSanitizer returns a platform's rules: every secret Oxidized's
// model of the platform removes and more (a corpus per platform in
// testdata/secrets lists each form and benign look-alikes), masked with
// SecretMask, and the noise lines (timestamps, size headers) dropped.
// MaskLine masks one line as typed.
//
// # Testing
//
// Package devicetest runs fake devices (SSH servers emulating the CLIs,
// with faults) for tests and labs.
package device
