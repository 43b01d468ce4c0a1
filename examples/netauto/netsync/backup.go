package netsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/task"
)

// DeviceError is a device the run could not work on.
type DeviceError struct {
	Device string       `json:"device"`
	Class  device.Class `json:"class"`
	Error  string       `json:"error"`
}

// BackupReport is the result of a configuration backup run.
type BackupReport struct {
	Environment string `json:"environment"`
	Skipped     string `json:"skipped,omitempty"`
	// Repository is the backup repository's directory.
	Repository string `json:"repository"`
	// Devices counts the devices backed up or attempted.
	Devices int `json:"devices"`
	// Commits is the number of commits made: one per changed device.
	Commits int `json:"commits"`
	// Changed lists the devices whose configuration changed (one commit
	// each, CommitIDs in the same order); Unchanged those that did not.
	Changed   []string `json:"changed,omitempty"`
	CommitIDs []string `json:"commit_ids,omitempty"`
	Unchanged []string `json:"unchanged,omitempty"`
	// Failed lists devices whose configuration could not be read; they
	// keep their previous backup.
	Failed []DeviceError `json:"failed,omitempty"`
	// Pushed is true when Deps.BackupPush's remote has every commit (it
	// was pushed, or was already up to date).
	Pushed bool `json:"pushed,omitempty"`
}

type backupInput struct {
	Environment string   `json:"environment"`
	Devices     []Device `json:"devices"`
	RunID       string   `json:"run_id"`
}

// BackupDirFor returns the backup repository directory of environment under
// d: Deps.BackupDir with "{environment}" replaced.
func (d Deps) BackupDirFor(environment string) string {
	return strings.ReplaceAll(d.BackupDir, "{environment}", environment)
}

// ConfigBackup returns the configuration backup flow ("config-backup"):
// it reads the active NetworkDevice nodes (narrowed by Params), fetches
// each device's running configuration over SSH, removes secrets and noise
// (timestamps) with the platform's sanitizer, and commits it to the Git
// repository at Deps.BackupDir (created when missing): one file per
// device ("<name>.cfg"), one commit per device whose configuration
// changed, nothing for unchanged ones. Runs of one repository take
// turns (an flock on "<repository>.lock" next to it). Commit trailers
// name the device, platform and flow run. With Deps.BackupPush the
// repository is pushed after every run, so commits a failed push left
// behind go out with the next run even when it has none of its own.
//
// A device that cannot be read, answers with an error message or nothing
// instead of its configuration, or whose name cannot be a file name, is
// reported in BackupReport.Failed and keeps its previous backup; the run
// still completes. The run fails when Infrahub cannot be read, the
// repository cannot be written, its context ends before every device was
// read, or the push fails. A failed push is not retried within the run:
// the commits stay in the local repository and go out with the next
// run's push, which sends the whole branch.
//
// opts are added to the flow's own options.
func ConfigBackup(d Deps, opts ...flow.Option) *flow.Flow[Params, BackupReport] {
	load := loadTask(d)
	backup := task.New("backup-configs", func(ctx context.Context, in backupInput) (BackupReport, error) {
		return runBackup(ctx, d, in)
	}, task.WithTimeout(time.Hour))

	options := append([]flow.Option{
		flow.WithDescription("Back up every active NetworkDevice's running configuration into Git, one commit per changed device"),
		flow.WithTags("sync", "backup"),
		flow.WithTimeout(2 * time.Hour),
		flow.WithRetries(1),
		flow.WithRunName("config-backup-{{.Environment}}"),
	}, opts...)
	return flow.New(FlowConfigBackup, func(ctx context.Context, p Params) (BackupReport, error) {
		sel, err := p.resolve()
		rep := BackupReport{Environment: sel.Environment}
		if err != nil {
			return rep, flow.NonRetryable(err)
		}
		if d.BackupDir == "" {
			return rep, flow.NonRetryable(errors.New("sync: Deps.BackupDir is empty"))
		}
		rep.Repository = d.BackupDirFor(sel.Environment)
		if sel.Skip {
			rep.Skipped = sel.SkipReason
			return rep, nil
		}
		devs, err := load.Run(ctx, loadInput{Selection: sel})
		if err != nil {
			return rep, err
		}
		if len(devs) == 0 {
			flow.Logger(ctx).Warn("config backup: no active devices selected")
			return rep, nil
		}
		return backup.Run(ctx, backupInput{Environment: sel.Environment, Devices: devs, RunID: flow.RunFrom(ctx).ID()})
	}, options...)
}

// lockRepository takes the exclusive lock of the backup repository at dir,
// an flock on the file "<dir>.lock", so backup runs of one repository (in
// this process, or in other workers on the same host or file system) write
// one after the other. Without it, two runs on a repository that has no
// commit yet both "succeed" and the branch keeps only one run's commits
// (the other's reported commits are lost), and on a repository with
// commits the second writer fails. It waits for the lock until ctx ends.
func lockRepository(ctx context.Context, dir string) (release func(), err error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("backup repository lock: %w", err)
	}
	f, err := osfs.New(parent).OpenFile(filepath.Base(dir)+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("backup repository lock: %w", err)
	}
	locked := make(chan error, 1)
	go func() { locked <- f.Lock() }()
	select {
	case err := <-locked:
		if err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("backup repository lock %s.lock: %w", dir, err)
		}
		return func() { _ = f.Unlock(); _ = f.Close() }, nil
	case <-ctx.Done():
		go func() {
			if <-locked == nil {
				_ = f.Unlock()
			}
			_ = f.Close()
		}()
		return nil, fmt.Errorf("waiting for backup repository %s (another run holds it): %w", dir, context.Cause(ctx))
	}
}

// checkConfig refuses output that is not a configuration: empty output,
// or an error message the CLI driver does not know as one (command
// authorization refusing "show running-config" answers "% Authorization
// failed.", Junos "error: permission denied"), which would otherwise be
// committed as the device's configuration.
func checkConfig(_ string, cfg string) error {
	seen := 0
	for line := range strings.Lines(cfg) {
		l := strings.TrimSpace(line)
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "% ") || strings.HasPrefix(strings.ToLower(l), "error:") {
			if len(l) > 200 {
				l = l[:200] + "..."
			}
			return fmt.Errorf("the device answered with an error, not its configuration: %q", l)
		}
		if seen++; seen == 5 { // the error would be at the top
			return nil
		}
	}
	if seen == 0 {
		return errors.New("the device returned an empty configuration")
	}
	return nil
}

// backupName applies backup.Backup's rules for a device name (the file
// "<name>.cfg" and the name in commit trailers).
func backupName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return errors.New("unusable as a file name")
	case strings.ContainsAny(name, "/\\ \t\n:~^?*[") || strings.Contains(name, ".."):
		return errors.New("contains a character not allowed in file or ref names")
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, ".lock"):
		return errors.New("not allowed as a ref name")
	}
	return nil
}

func runBackup(ctx context.Context, d Deps, in backupInput) (BackupReport, error) {
	rep := BackupReport{Environment: in.Environment, Repository: d.BackupDirFor(in.Environment), Devices: len(in.Devices)}
	log := flow.Logger(ctx)
	// backup.Backup refuses the whole run when one name cannot be a file
	// name: fail those devices alone.
	devs := make([]Device, 0, len(in.Devices))
	for _, dev := range in.Devices {
		if err := backupName(dev.Name); err != nil {
			msg := fmt.Sprintf("device name %q cannot be a backup file name: %v", dev.Name, err)
			rep.Failed = append(rep.Failed, DeviceError{Device: dev.Name, Class: device.Failed, Error: msg})
			log.Warn("config backup: device failed", "device", dev.Name, "class", string(device.Failed), "error", msg)
			continue
		}
		devs = append(devs, dev)
	}
	if len(devs) == 0 {
		return rep, nil
	}
	inv, err := inventory(devs, d.DeviceDefaults)
	if err != nil {
		return rep, flow.NonRetryable(err)
	}
	unlock, err := lockRepository(ctx, rep.Repository)
	if err != nil {
		return rep, err
	}
	defer unlock()
	b := &backup.Backup{
		Dir:     rep.Repository,
		Secrets: d.Secrets,
		FanOut:  d.FanOut,
		Author:  object.Signature{Name: d.BackupAuthor, Email: d.BackupEmail},
		Push:    d.BackupPush,
		Check:   checkConfig,
	}
	run, err := b.Run(ctx, inv, in.RunID)
	if run == nil {
		return rep, err
	}
	rep.Commits = run.Commits
	for _, r := range run.Results {
		switch {
		case r.Class == device.Changed:
			rep.Changed = append(rep.Changed, r.Host)
			rep.CommitIDs = append(rep.CommitIDs, r.Value.Commit)
			log.Info("config backup: committed", "device", r.Host, "commit", r.Value.Commit)
		case failed(r.Class):
			msg := ""
			if r.Err != nil {
				msg = r.Err.Error()
			}
			rep.Failed = append(rep.Failed, DeviceError{Device: r.Host, Class: r.Class, Error: msg})
			log.Warn("config backup: device failed", "device", r.Host, "class", string(r.Class), "error", msg)
		default:
			rep.Unchanged = append(rep.Unchanged, r.Host)
		}
	}
	if err != nil {
		return rep, fmt.Errorf("config backup: %w", err)
	}
	if err := ctx.Err(); err != nil {
		// The commits of the devices read are stored; the others were
		// skipped, so the run did not do its job.
		return rep, fmt.Errorf("config backup interrupted after %d commits: %w", rep.Commits, context.Cause(ctx))
	}
	if run.PushErr != nil {
		return rep, flow.NonRetryable(fmt.Errorf("config backup: %d commits made and kept locally, %w", rep.Commits, run.PushErr))
	}
	rep.Pushed = d.BackupPush != nil
	log.Info("config backup done", "devices", rep.Devices, "commits", rep.Commits, "failed", len(rep.Failed), "repository", rep.Repository)
	return rep, nil
}
