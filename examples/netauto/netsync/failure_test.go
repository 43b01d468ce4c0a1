package netsync_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// unreachable, and backup must not list them as unchanged.
func TestSkippedDevicesAreFailuresNotSuccesses(t *testing.T) {
	e := newEnv(t, labDevices()[:2]) // atl1-edge1, atl1-edge2
	// Sorted first, so with one worker it fails before the others start.
	if _, err := netsynctest.Seed(e.fake, netsync.Device{Name: "atl1-a-gone", Platform: "arista_eos"}, "127.0.0.1", closedPort(t)); err != nil {
		t.Fatal(err)
	}
	e.deps.FanOut = device.FanOut{Concurrency: 1, MaxFailurePercent: 10}

	inv, err := netsync.InventorySync(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Unreachable != 1 || len(inv.Failed) != 3 {
		t.Errorf("inventory report: unreachable %d, failed %v; want 1 unreachable and all 3 failed", inv.Unreachable, inv.Failed)
	}
	got := e.nodes(t)
	for _, name := range []string{"atl1-edge1", "atl1-edge2"} {
		n := got[name]
		if !n.LastSeen.Null || !n.Reachable.Null || !strings.Contains(n.SyncError.Value, "not started") {
			t.Errorf("%s (never contacted) written back as last_seen=%q reachable=%v/null=%v sync_error=%q",
				name, n.LastSeen.Value, n.Reachable.Value, n.Reachable.Null, n.SyncError.Value)
		}
	}

	rep, err := netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Unchanged) != 0 || len(rep.Failed) != 3 {
		t.Errorf("backup report: unchanged %v, failed %+v; want all 3 failed", rep.Unchanged, rep.Failed)
	}
}

// A run whose context ends while devices are being worked on has not done
// its job: it must not complete as a success.
func TestCancelledRunsDoNotComplete(t *testing.T) {
	devs := labDevices()[:2]
	devs[0].Faults = []devicetest.Fault{
		{Kind: devicetest.FaultHang, Command: "show running-config"},
		{Kind: devicetest.FaultHang, Command: "show version"},
	}
	e := newEnv(t, devs)
	e.deps.FanOut = device.FanOut{Concurrency: 1}
	for name, run := range map[string]func(context.Context) error{
		"inventory": func(ctx context.Context) error {
			_, err := netsync.InventorySync(e.deps).Run(ctx, netsync.Params{Environment: "test"})
			return err
		},
		"backup": func(ctx context.Context) error {
			_, err := netsync.ConfigBackup(e.deps).Run(ctx, netsync.Params{Environment: "test"})
			return err
		},
		"validation": func(ctx context.Context) error {
			_, err := netsync.Validation(e.deps).Run(ctx, netsync.Params{Environment: "test"})
			return err
		},
	} {
		ctx, cancel := context.WithTimeout(e.ctx, time.Second)
		err := run(ctx)
		cancel()
		if err == nil {
			t.Errorf("%s: run cut short by its context completed without error", name)
		}
	}
}

// One device whose Infrahub name cannot be a file name must not stop the
// backup of every other device.
func TestBackupBadDeviceNameFailsThatDeviceOnly(t *testing.T) {
	e := newEnv(t, labDevices()[:2])
	if _, err := netsynctest.Seed(e.fake, netsync.Device{Name: "atl1 core/1", Platform: "arista_eos"}, "127.0.0.1", closedPort(t)); err != nil {
		t.Fatal(err)
	}
	rep, err := netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if rep.Commits != 2 || len(rep.Failed) != 1 || rep.Failed[0].Device != "atl1 core/1" || !strings.Contains(rep.Failed[0].Error, "name") {
		t.Errorf("report = %+v", rep)
	}
}

// The environment names a directory (Deps.BackupDir's "{environment}"):
// it must not be able to point anywhere else.
func TestEnvironmentMustBeAPlainName(t *testing.T) {
	e := newEnv(t, labDevices()[:1])
	for _, env := range []string{"../escape", "prod/../../x", "a b", "/abs", "..", "."} {
		_, err := netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: env})
		var pe *netsync.ParamsError
		if !errors.As(err, &pe) || pe.Field != "environment" {
			t.Errorf("environment %q: %v, want a ParamsError naming environment", env, err)
		}
	}
	if _, err := os.Stat(filepath.Clean(e.deps.BackupDirFor("../escape"))); err == nil {
		t.Error("a repository was created outside BackupDir")
	}
}

// A push that failed is made up for by the next run, even when that run
// has no new commits (configurations rarely change day to day).
func TestFailedPushIsCaughtUpByNextRun(t *testing.T) {
	e := newEnv(t, labDevices()[:2])
	remote := filepath.Join(t.TempDir(), "remote.git") // not there yet: the push fails
	e.deps.BackupPush = &backup.Push{URL: remote}
	backupFlow := netsync.ConfigBackup(e.deps)
	rep, err := backupFlow.Run(e.ctx, netsync.Params{Environment: "test"})
	if err == nil || rep.Commits != 2 || rep.Pushed {
		t.Fatalf("first run: %+v, %v; want 2 commits and a push error", rep, err)
	}
	if _, err := git.PlainInit(remote, true); err != nil {
		t.Fatal(err)
	}
	rep, err = backupFlow.Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil || rep.Commits != 0 || !rep.Pushed {
		t.Fatalf("second run: %+v, %v", rep, err)
	}
	if got := commits(t, remote); len(got) != 2 {
		t.Errorf("remote has %d commits after the catch-up run, want 2", len(got))
	}
}

// Push credentials never appear in the run's error.
func TestPushErrorDoesNotLeakCredentials(t *testing.T) {
	e := newEnv(t, labDevices()[:1])
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	e.deps.Secrets = mergeSecrets{e.deps.Secrets, device.StaticSecrets{"push-token": "tok-SECRET-2"}}
	for _, push := range []*backup.Push{
		{URL: strings.Replace(srv.URL, "http://", "http://backup:pw-SECRET-1@", 1) + "/repo.git"},
		{URL: srv.URL + "/repo.git", Username: "backup", PasswordSecret: "push-token"},
	} {
		e.deps.BackupPush = push
		e.deps.BackupDir = filepath.Join(t.TempDir(), "backup.git")
		_, err := netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
		if err == nil {
			t.Fatal("push to a failing server: no error")
		}
		if msg := err.Error(); strings.Contains(msg, "SECRET") {
			t.Errorf("error leaks a credential: %s", msg)
		}
		for _, r := range e.store.Runs() {
			for _, st := range e.store.History(r.ID) {
				if strings.Contains(st.Message, "SECRET") {
					t.Errorf("run state message leaks a credential: %s", st.Message)
				}
			}
		}
	}
}

type mergeSecrets []device.SecretResolver

func (m mergeSecrets) Resolve(ctx context.Context, name string) (string, error) {
	var errs []error
	for _, s := range m {
		v, err := s.Resolve(ctx, name)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
	}
	return "", errors.Join(errs...)
}

// A device that drops the connection half-way through its configuration
// keeps its previous backup: a truncated configuration is never committed.
func TestBackupNeverCommitsATruncatedConfig(t *testing.T) {
	devs := labDevices()[:1]
	e := newEnv(t, devs)
	backupFlow := netsync.ConfigBackup(e.deps)
	if _, err := backupFlow.Run(e.ctx, netsync.Params{Environment: "test"}); err != nil {
		t.Fatal(err)
	}
	dir := e.deps.BackupDirFor("test")
	// The device now drops the connection half-way through its output: a
	// second fake of it, which Infrahub now points to.
	devs[0].Faults = []devicetest.Fault{{Kind: devicetest.FaultDisconnect, Command: "show running-config"}}
	spec, err := netsynctest.Spec(devs[0])
	if err != nil {
		t.Fatal(err)
	}
	spec.RunningConfig = strings.Replace(spec.RunningConfig, "description uplink", "description changed", 1)
	faulty, err := devicetest.Start(t.Context(), []devicetest.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	defer faulty.Close()
	if _, err := e.client.Update(t.Context(), schema.KindNetworkDevice, e.lab.IDs["atl1-edge1"], infrahub.Data{"ssh_port": infrahub.Value(faulty.Device("atl1-edge1").Port())}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	insecure := true
	e.deps.DeviceDefaults.KnownHostsFile, e.deps.DeviceDefaults.InsecureIgnoreHostKey = "", &insecure
	rep, err := backupFlow.Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Commits != 0 || len(rep.Failed) != 1 {
		t.Errorf("report = %+v, want the device failed and no commit", rep)
	}
	if h, err := backup.History(dir, "atl1-edge1", 0); err != nil || len(h) != 1 {
		t.Errorf("history after the truncated read: %+v, %v", h, err)
	}
}

// A device that answers "show running-config" with an error message the
// driver does not know as one (TACACS command authorization refusing it,
// Junos "error: ...") has not given its configuration: that text must not
// replace the stored backup.
func TestBackupRejectsErrorTextAsConfig(t *testing.T) {
	for platform, answer := range map[string]string{
		"cisco_iosxe":   "% Authorization failed.",
		"arista_eos":    "% Authorization denied for command 'show running-config'",
		"juniper_junos": "error: permission denied",
		"cisco_nxos":    "% Permission denied for the role",
		"cisco_iosxe ":  "",
	} {
		platform = strings.TrimSpace(platform)
		t.Run(platform, func(t *testing.T) {
			devs := []netsynctest.Device{edge("r1", platform, "Ethernet1", "10.0.0.1", 65002)}
			e := newEnv(t, devs)
			backupFlow := netsync.ConfigBackup(e.deps)
			if _, err := backupFlow.Run(e.ctx, netsync.Params{Environment: "test"}); err != nil {
				t.Fatal(err)
			}
			e.lab.Devices.Device("r1").SetRunningConfig(answer)
			rep, err := backupFlow.Run(e.ctx, netsync.Params{Environment: "test"})
			if err != nil {
				t.Fatal(err)
			}
			want := "empty"
			if answer != "" {
				want = strings.Fields(answer)[0]
			}
			if rep.Commits != 0 || len(rep.Failed) != 1 || !strings.Contains(rep.Failed[0].Error, want) {
				t.Errorf("report = %+v, want r1 failed with the device's message and nothing committed", rep)
			}
		})
	}
}

// Validation of a device that answers with an error instead of its
// configuration is an unread device (status error), not a device whose
// every interface and neighbour is missing.
func TestValidationErrorTextIsNotAnEmptyConfig(t *testing.T) {
	e := newEnv(t, labDevices()[:1])
	e.lab.Devices.Device("atl1-edge1").SetRunningConfig("% Authorization failed.")
	_, err := netsync.Validation(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	var ve *netsync.ValidationError
	if !errors.As(err, &ve) || ve.Report.Errors != 1 || len(ve.Report.Mismatches()) != 0 {
		t.Fatalf("err = %v, want one unread device and no mismatches", err)
	}
	if n := e.nodes(t)["atl1-edge1"]; n.ValidationStatus.Value != netsync.StatusError || !strings.Contains(n.ValidationSummary.Value, "Authorization failed") {
		t.Errorf("written back as %+v", n)
	}
}

// A device whose "show version" holds none of the facts (an error message
// the driver does not flag, such as a refused command authorization) was
// not synced: it gets a sync_error, not a fresh last_seen with no error.
func TestInventoryNoFactsIsAnError(t *testing.T) {
	devs := labDevices()[:1]
	e := newEnv(t, devs)
	spec, err := netsynctest.Spec(devs[0])
	if err != nil {
		t.Fatal(err)
	}
	spec.Commands["show version"] = "% Authorization failed."
	refusing, err := devicetest.Start(t.Context(), []devicetest.Spec{spec})
	if err != nil {
		t.Fatal(err)
	}
	defer refusing.Close()
	if _, err := e.client.Update(t.Context(), schema.KindNetworkDevice, e.lab.IDs["atl1-edge1"], infrahub.Data{"ssh_port": infrahub.Value(refusing.Device("atl1-edge1").Port())}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	insecure := true
	e.deps.DeviceDefaults.KnownHostsFile, e.deps.DeviceDefaults.InsecureIgnoreHostKey = "", &insecure
	rep, err := netsync.InventorySync(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failed) != 1 || rep.Reachable != 1 {
		t.Errorf("report = %+v, want the device reachable but failed", rep)
	}
	n := e.nodes(t)["atl1-edge1"]
	if !n.LastSeen.Null || !strings.Contains(n.SyncError.Value, "Authorization failed") || !n.Reachable.Value {
		t.Errorf("written back as %+v", n)
	}
}

// mutationCounter counts the GraphQL mutations a client sends.
type mutationCounter struct {
	next http.RoundTripper
	n    atomic.Int32
}

func (m *mutationCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			body, _ := io.ReadAll(b)
			if bytes.Contains(body, []byte("mutation")) {
				m.n.Add(1)
			}
		}
	}
	return m.next.RoundTrip(r)
}

// Infrahub refusing a write for a missing permission (403, "You are not
// allowed to change data in the default branch") answers the same on
// every retry: the write task sends it once, the run fails at once with
// the reason instead of repeating it task retries × flow retries times.
func TestPermissionRefusalIsNotRetried(t *testing.T) {
	fake, srv := infrahubtest.NewTestServer(t, infrahubtest.Options{
		Schemas:  schema.FakeSchemas(),
		Accounts: []infrahubtest.Account{{APIToken: "read-only-token"}},
	})
	if _, err := fake.Create("", "LocationSite", map[string]any{"name": "Atlanta", "shortname": "atl1"}); err != nil {
		t.Fatal(err)
	}
	lab, err := netsynctest.Start(t.Context(), fake, labDevices()[:1])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	counter := &mutationCounter{next: http.DefaultTransport}
	ro, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: "read-only-token", HTTPClient: &http.Client{Transport: counter}})
	if err != nil {
		t.Fatal(err)
	}
	deps := netsync.Deps{
		Infrahub:       func(context.Context, string) (*infrahub.Client, error) { return ro, nil },
		Secrets:        lab.Secrets(),
		DeviceDefaults: lab.DeviceDefaults(),
		FanOut:         device.FanOut{Concurrency: 2, HostTimeout: 20 * time.Second},
		Now:            func() time.Time { return seenAt },
	}
	ctx := flow.WithEngine(t.Context(), &flow.Engine{Recorder: flow.NewMemoryStore()})
	_, err = netsync.InventorySync(deps).Run(ctx, netsync.Params{Environment: "test"})
	if !errors.Is(err, infrahub.ErrPermissionDenied) {
		t.Fatalf("inventory sync with a read-only token: %v, want infrahub.ErrPermissionDenied", err)
	}
	if n := counter.n.Load(); n != 1 {
		t.Fatalf("%d mutations sent for a refused write, want 1 (no retries of a permission refusal)", n)
	}
}
