// Package netsync holds the netauto example's device flows, ported from the
// original orchestrator's sync flows: inventory sync, configuration
// backup and validation. Each is a real flow ([flow.Flow]) built from
// tasks, reading its devices from Infrahub (the NetworkDevice kind of
// package examples/netauto/schema) and reaching them over SSH with package
// device.
//
// # Wiring
//
// The flows take their dependencies as a [Deps] value, so the program that
// registers them decides where Infrahub is and how devices are logged in
// to:
//
//	deps := sync.Deps{
//		Infrahub: func(ctx context.Context, env string) (*infrahub.Client, error) {
//			cfg, err := loadNetAutoConfig(ctx, env) // the environment's config block
//			...
//			return infrahub.New(infrahub.Config{Address: cfg.InfrahubURL, APIToken: cfg.InfrahubToken})
//		},
//		Secrets:        secretStore,  // device.SecretResolver
//		DeviceDefaults: device.Params{Username: "netauto", PasswordSecret: "device-password", KnownHostsFile: "/etc/netauto/known_hosts"},
//		FanOut:         device.FanOut{Concurrency: 20, HostTimeout: 2 * time.Minute},
//		BackupDir:      "/var/lib/netauto/backups/{environment}.git",
//	}
//	registry.Register(sync.InventorySync(deps), sync.ConfigBackup(deps), sync.Validation(deps, flow.OnFailure(notify)))
//
// [InventorySync], [ConfigBackup] and [Validation] return *flow.Flow
// values (so flow.Definition values for the runtime) named
// [FlowInventorySync] ("inventory-sync"), [FlowConfigBackup]
// ("config-backup") and [FlowValidation] ("validation-processor"). Extra
// flow options (hooks, tags) are appended to each flow's own.
//
// # Parameters
//
// All three take [Params]: the environment (required; it selects the
// configuration through Deps.Infrahub), an optional Infrahub branch, an
// optional device filter (names, role, site short name) and, when a
// trigger started the run, the webhook event (*trigger.Event, whose
// payload is decoded with infrahub.DecodeEvent). An
// "infrahub.node.created"/"updated" event about a NetworkDevice narrows
// the run to that device; a "deleted" one makes it a no-op; the event's
// branch is used when Params.Branch is empty. An
// "infrahub.validator.*" event narrows the run to the devices the
// validator's checks name (the targets of its artifact checks'
// artifacts, a routing config standing for its device); a validator
// naming none (data, schema or user checks) makes the run a no-op. Only
// devices with status "active" are selected. Bad parameters fail the run at once with a
// *[ParamsError] naming the field; they are not retried.
//
// # The flows
//
// Inventory sync: tasks load-devices → collect-facts → write-facts.
// Facts come from [confparse.FactCommands] ("show version", plus "show
// chassis hardware" on Junos), parsed by [confparse.ParseFacts] (package
// device/confparse) into serial, os_version, model and hostname, and are
// written back with reachable, last_seen and
// sync_error. Unreachable devices are reported and written back as
// reachable=false; they do not fail the run. Devices the fan-out never
// started count as failed, not as unreachable or synced.
//
// Configuration backup: tasks load-devices → backup-configs, which runs
// backup.Backup (package device/backup): running configurations,
// sanitized by device.DefaultSanitizer (secrets and timestamps removed),
// go into a bare Git repository at
// Deps.BackupDir (created when missing), one "<device>.cfg" file per
// device and one commit per device whose configuration changed; runs of
// one repository take turns; the repository is pushed to
// Deps.BackupPush after every run when set. An answer that is not a
// configuration (empty, or an error message such as "% Authorization
// failed.") fails that device and is never committed.
//
// Validation: tasks load-devices → validate-devices → write-validation.
// The running configuration gives each device's interfaces (enabled,
// description, address, MTU) and BGP neighbours (remote AS, enabled);
// "show ip bgp summary" (Junos "show bgp summary", IOS-XR "show bgp ipv4
// unicast summary") gives session states
// when Infrahub lists neighbours for the device. Differences with the
// NetworkInterface and NetworkBGPNeighbor nodes are [Mismatch] values;
// each device gets validation_status, validation_summary and validated_at
// in Infrahub, and a run with mismatches or unreadable devices fails with
// a *[ValidationError] that lists them.
//
// Platforms: cisco_iosxe, cisco_nxos, arista_eos, juniper_junos and
// cisco_iosxr (which the fake devices do not emulate), named as scrapligo
// names them.
//
// # Testing
//
// Package netsynctest starts fake devices whose configuration matches the
// intended state it seeds into a fake Infrahub, so the flows pass on a
// fresh lab and a test breaks what it wants to see detected.
package netsync
