package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// startSystem starts the example on embedded defaults for one test.
func startSystem(t *testing.T, devices int) *System {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := StartSystem(ctx, SystemOptions{Dir: t.TempDir(), Devices: devices})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestEndToEnd drives the demo's scenario through the public API only:
// webhooks into the intake, runs read back over HTTP, the scheduler with
// an injected clock, the fakes' state compared before and after.
func TestEndToEnd(t *testing.T) {
	s := startSystem(t, 8)
	ctx := testCtx(t)

	t.Run("webhook deploys AS3 to BIG-IP", func(t *testing.T) {
		if s.BigIP.Tenant(seed.Tenant) != nil {
			t.Fatalf("tenant %s exists before any run", seed.Tenant)
		}
		sid := s.Infrahub.PutObject(seed.AS3("v2", "10.1.20.21", "10.1.20.22"))
		wh := ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid)
		st, acc, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, wh.Body())
		if err != nil || st != 202 || len(acc.RunIDs) != 1 {
			t.Fatalf("webhook: %d %+v %v", st, acc, err)
		}
		d, err := s.WaitRun(ctx, acc.RunIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if d.Run.Deployment == "" || d.Run.State.Type != flow.TypeCompleted {
			t.Fatalf("run %s of %q ended %s: %s", d.Run.ID, d.Run.Deployment, d.Run.State.Name, d.Run.State.Message)
		}
		if dep, _ := s.Client.Deployment(ctx, "f5-as3-production"); dep.ID != d.Run.Deployment && dep.Name != d.Run.Deployment {
			t.Errorf("run belongs to deployment %q, want f5-as3-production", d.Run.Deployment)
		}
		var p struct {
			Environment string `json:"environment"`
			Event       struct {
				Type    string          `json:"type"`
				Payload json.RawMessage `json:"payload"`
			} `json:"event"`
		}
		if err := json.Unmarshal(d.Run.Parameters, &p); err != nil {
			t.Fatal(err)
		}
		if p.Environment != "production" || p.Event.Type != "infrahub.artifact.updated" || !bytes.Contains(p.Event.Payload, []byte(sid)) {
			t.Errorf("run parameters %s: want environment production and the whole event", d.Run.Parameters)
		}
		if n := poolMembers(s.BigIP.Tenant(seed.Tenant)); n != 2 {
			t.Errorf("BIG-IP pool members = %d, want 2", n)
		}
	})

	t.Run("scheduler fires the backup with an injected clock", func(t *testing.T) {
		now := injectedClock()
		res, err := s.Scheduler.Pass(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		_ = res
		page, err := s.Client.Runs(ctx, store.RunFilter{Deployment: "config-backup-production"})
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(now.Year(), now.Month(), now.Day(), 2, 0, 0, 0, time.UTC)
		if len(page.Runs) != 1 || !page.Runs[0].ScheduledAt.Equal(want) {
			t.Fatalf("backup runs after the pass: %+v, want one scheduled at %s", page.Runs, want)
		}
		d, err := s.WaitRun(ctx, page.Runs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Run.State.Type != flow.TypeCompleted {
			t.Fatalf("backup ended %s: %s", d.Run.State.Name, d.Run.State.Message)
		}
		if raw, err := s.Client.RunResult(ctx, d.Run.ID); err == nil {
			t.Logf("backup report: %s", raw)
		}
		dir := strings.ReplaceAll(s.BackupDir, "{environment}", "production")
		for _, dv := range s.Devices {
			h, err := backup.History(dir, dv.Name, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 1 || h[0].RunID != d.Run.ID {
				t.Errorf("%s: %d commits (%+v), want one by run %s", dv.Name, len(h), h, d.Run.ID)
			}
		}
		// A second pass at the same time creates nothing more.
		if _, err := s.Scheduler.Pass(ctx, now); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.runCount(ctx, "config-backup-production"); n != 1 {
			t.Errorf("%d backup runs after a repeated pass, want 1", n)
		}
	})

	t.Run("failure rolls back BIG-IP and device, notifies", func(t *testing.T) {
		tenantBefore, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant))
		dev := s.Lab.Devices.Device(s.RoutingDevice)
		cfgBefore := dev.RunningConfig()

		sid := s.Infrahub.PutObject(seed.AS3("broken"))
		st, acc, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid).Body())
		if err != nil || st != 202 || len(acc.RunIDs) != 1 {
			t.Fatalf("webhook: %d %+v %v", st, acc, err)
		}
		as3Run := acc.RunIDs[0]

		if _, err := s.Infrahub.Create("", schema.KindNetworkBGPNeighbor, map[string]any{
			"peer_address": "10.0.0.77", "remote_as": 65177, "enabled": true, "device": map[string]any{"id": s.Lab.IDs[s.RoutingDevice]},
		}); err != nil {
			t.Fatal(err)
		}
		st, acc, err = PostWebhook(ctx, s.APIURL, s.WebhookKey, ArtifactUpdated(s.RoutingArtifactID, "routing-config", schema.KindNetautoRoutingConfig, s.RoutingConfigID, "").Body())
		if err != nil || st != 202 || len(acc.RunIDs) != 1 {
			t.Fatalf("routing webhook: %d %+v %v", st, acc, err)
		}
		routingRun := acc.RunIDs[0]

		for run, task := range map[string]string{as3Run: "declare", routingRun: "push"} {
			d, err := s.WaitRun(ctx, run)
			if err != nil {
				t.Fatal(err)
			}
			if d.Run.State.Type != flow.TypeFailed {
				t.Errorf("run %s ended %s, want Failed", run, d.Run.State.Name)
			}
			if err := s.waitCompensated(ctx, run, task); err != nil {
				t.Error(err)
			}
			m, err := s.WaitNotification(ctx, run)
			if err != nil {
				t.Error(err)
			} else if m.State != "Failed" || m.Environment != "production" || m.Error == "" {
				t.Errorf("notification %+v", m)
			}
		}
		if after, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant)); !jsonSame(tenantBefore, after) {
			t.Errorf("BIG-IP tenant after rollback:\n%s\nbefore:\n%s", after, tenantBefore)
		}
		if after := dev.RunningConfig(); after != cfgBefore {
			t.Errorf("device config after rollback differs:\n%s", device.UnifiedDiff("before", "after", cfgBefore, after))
		}
	})

	t.Run("duplicate delivery starts one run", func(t *testing.T) {
		n0, _ := s.runCount(ctx, "f5-ltm-production")
		body := ArtifactUpdated(s.LTMArtifactID, "f5-ltm", schema.KindNetautoLTMConfig, s.LTMTargetID, "").Body()
		_, a1, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, body)
		if err != nil {
			t.Fatal(err)
		}
		st, a2, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, body)
		if err != nil {
			t.Fatal(err)
		}
		if st/100 != 2 || !a2.Duplicate || len(a1.RunIDs) != 1 || len(a2.RunIDs) != 1 || a1.RunIDs[0] != a2.RunIDs[0] {
			t.Fatalf("second delivery: %d %+v (first %+v)", st, a2, a1)
		}
		if n1, _ := s.runCount(ctx, "f5-ltm-production"); n1 != n0+1 {
			t.Errorf("runs %d → %d, want one more", n0, n1)
		}
		if _, err := s.WaitRun(ctx, a1.RunIDs[0]); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bad signature is 401 and starts no run", func(t *testing.T) {
		evs0, err := s.Client.Events(ctx, store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		n0, _ := s.runCount(ctx, "f5-as3-production")
		body := ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, "").Body()
		st, _, err := PostWebhook(ctx, s.APIURL, []byte("wrong-key-wrong-key"), body)
		if err != nil {
			t.Fatal(err)
		}
		if st != 401 {
			t.Errorf("status %d, want 401", st)
		}
		evs1, err := s.Client.Events(ctx, store.EventFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if n1, _ := s.runCount(ctx, "f5-as3-production"); n1 != n0 || len(evs1.Events) != len(evs0.Events) {
			t.Errorf("runs %d → %d, events %d → %d: want none added", n0, n1, len(evs0.Events), len(evs1.Events))
		}
	})
}

// TestDemoOnce runs `netauto demo --once` as a user would (in-process) and
// checks its exit status and summary.
func TestDemoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the demo starts 30 fake devices")
	}
	var out, errOut bytes.Buffer
	code := cmdDemo([]string{"--once", "--listen", "127.0.0.1:0", "--devices", "12"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("demo --once exited %d\n%s\n%s", code, out.String(), errOut.String())
	}
	want := fmt.Sprintf("%d of %d steps passed", len(scenario), len(scenario))
	if !strings.Contains(out.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, out.String())
	}
}
