package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"strings"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// step is one check of the demo scenario: it does something through the
// public API (or the fakes, standing in for the outside world) and
// returns a one-line account of what it saw, or why it is wrong.
type step struct {
	title string
	run   func(ctx context.Context, s *System) (string, error)
}

// scenario is the demo: every part of the original plan, working.
var scenario = []step{
	{"signed artifact.updated webhook deploys an AS3 application", stepAS3},
	{"LTM configuration from its artifact", stepLTM},
	{"certificate from its artifact, expiry checked before and after", stepCert},
	{"scheduler (clock set to 01:59:30) starts inventory sync and config backup", stepScheduled},
	{"validator event runs validation: device state matches Infrahub's intent", stepValidation},
	{"broken AS3 change fails, is rolled back, notifies", stepBrokenAS3},
	{"broken routing change fails, is rolled back over SSH, notifies", stepBrokenRouting},
	{"duplicate webhook delivery starts no second run", stepDuplicate},
	{"webhook with a bad signature is refused (401), no run", stepBadSignature},
	{"production requires approval: an AS3 change waits, a second key approves, it applies", stepApproved},
	{"production requires approval: an AS3 change rejected changes nothing", stepRejected},
}

// runScenario runs every step, printing live progress to out, and returns
// the number of steps that failed.
func runScenario(ctx context.Context, s *System, out io.Writer) int {
	failed := 0
	for i, st := range scenario {
		if ctx.Err() != nil {
			fmt.Fprintf(out, "[%d/%d] %s: not run (interrupted)\n", i+1, len(scenario), st.title)
			failed++
			continue
		}
		fmt.Fprintf(out, "[%d/%d] %s ...\n", i+1, len(scenario), st.title)
		t0 := time.Now()
		sctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		msg, err := st.run(sctx, s)
		cancel()
		if err != nil {
			failed++
			fmt.Fprintf(out, "      FAIL (%.1fs) %v\n", time.Since(t0).Seconds(), err)
			continue
		}
		fmt.Fprintf(out, "      ok   (%.1fs) %s\n", time.Since(t0).Seconds(), msg)
	}
	return failed
}

// webhookRun posts wh signed and waits for the one run it starts.
func webhookRun(ctx context.Context, s *System, wh Webhook) (wire.RunDetail, error) {
	status, acc, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, wh.Body())
	if err != nil {
		return wire.RunDetail{}, err
	}
	if status != 202 || len(acc.RunIDs) != 1 {
		return wire.RunDetail{}, fmt.Errorf("webhook answered %d with runs %v, want 202 and one run", status, acc.RunIDs)
	}
	return s.WaitRun(ctx, acc.RunIDs[0])
}

func taskStates(d wire.RunDetail) map[string]string {
	m := map[string]string{}
	for _, t := range d.TaskRuns {
		m[t.Name] = t.State.Name
	}
	return m
}

func wantState(d wire.RunDetail, typ flow.StateType) error {
	if d.Run.State.Type != typ {
		return fmt.Errorf("run %s (%s) ended %s: %s", d.Run.ID, d.Run.Deployment, d.Run.State.Name, d.Run.State.Message)
	}
	return nil
}

func poolMembers(tenant map[string]any) int {
	app, _ := tenant["web_shop"].(map[string]any)
	pool, _ := app["web_pool"].(map[string]any)
	ms, _ := pool["members"].([]any)
	n := 0
	for _, m := range ms {
		mm, _ := m.(map[string]any)
		addrs, _ := mm["serverAddresses"].([]any)
		n += len(addrs)
	}
	return n
}

func stepAS3(ctx context.Context, s *System) (string, error) {
	decl := seed.AS3("web-shop v2", "10.1.20.11", "10.1.20.12", "10.1.20.13")
	sid := s.Infrahub.PutObject(decl)
	d, err := webhookRun(ctx, s, ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid))
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeCompleted); err != nil {
		return "", err
	}
	t := s.BigIP.Tenant(seed.Tenant)
	if n := poolMembers(t); n != 3 {
		return "", fmt.Errorf("BIG-IP tenant %s has %d pool members, want 3", seed.Tenant, n)
	}
	return fmt.Sprintf("run %s (f5-as3-production) Completed; BIG-IP tenant %s: web_pool with 3 members", short(d.Run.ID), seed.Tenant), nil
}

func stepLTM(ctx context.Context, s *System) (string, error) {
	d, err := webhookRun(ctx, s, ArtifactUpdated(s.LTMArtifactID, "f5-ltm", schema.KindNetautoLTMConfig, s.LTMTargetID, ""))
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeCompleted); err != nil {
		return "", err
	}
	var res struct {
		Created []string `json:"created"`
		Members int      `json:"members"`
	}
	raw, err := s.Client.RunResult(ctx, d.Run.ID)
	if err != nil {
		return "", err
	}
	_ = json.Unmarshal(raw, &res)
	if len(res.Created)+res.Members == 0 {
		return "", fmt.Errorf("LTM run changed nothing: %s", raw)
	}
	return fmt.Sprintf("pools %v, %d members added", res.Created, res.Members), nil
}

func stepCert(ctx context.Context, s *System) (string, error) {
	bundle, err := seed.Certificate(seed.CertificateName, time.Now().AddDate(1, 0, 0))
	if err != nil {
		return "", err
	}
	id, sid, err := seed.Artifact(s.Infrahub, "f5-certificate", "certificate-pem", schema.KindNetautoCertificate, s.CertTarget, bundle)
	if err != nil {
		return "", err
	}
	d, err := webhookRun(ctx, s, ArtifactUpdated(id, "f5-certificate", schema.KindNetautoCertificate, s.CertTarget, sid))
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeCompleted); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s installed, expires %s; expiry checked before and after", seed.CertificateName, time.Now().AddDate(1, 0, 0).Format(time.DateOnly)), nil
}

// injectedClock is 01:59:30 UTC yesterday: the scheduler pass plans the
// 02:00 backup and the 06:00 inventory sync, both already due.
func injectedClock() time.Time {
	y := time.Now().UTC().AddDate(0, 0, -1)
	return time.Date(y.Year(), y.Month(), y.Day(), 1, 59, 30, 0, time.UTC)
}

func stepScheduled(ctx context.Context, s *System) (string, error) {
	now := injectedClock()
	if _, err := s.Scheduler.Pass(ctx, now); err != nil {
		return "", fmt.Errorf("scheduler pass: %w", err)
	}
	backupRun, err := s.scheduledRun(ctx, "config-backup-production")
	if err != nil {
		return "", err
	}
	inv, err := s.scheduledRun(ctx, "inventory-sync-production")
	if err != nil {
		return "", err
	}
	var rep netsync.BackupReport
	if err := s.result(ctx, backupRun.Run.ID, &rep); err != nil {
		return "", err
	}
	dir := strings.ReplaceAll(s.BackupDir, "{environment}", "production")
	commits := 0
	for _, dv := range s.Devices {
		h, err := backup.History(dir, dv.Name, 0)
		if err != nil {
			return "", fmt.Errorf("backup history of %s: %w", dv.Name, err)
		}
		if len(h) != 1 {
			return "", fmt.Errorf("device %s has %d backup commits, want 1", dv.Name, len(h))
		}
		commits++
	}
	var irep netsync.InventoryReport
	_ = s.result(ctx, inv.Run.ID, &irep)
	return fmt.Sprintf("backup run (scheduled %s) Completed: %d devices, one commit each in %s; inventory sync Completed", backupRun.Run.ScheduledAt.Format("2006-01-02 15:04"), commits, dir), nil
}

// scheduledRun waits for the run the scheduler created for deployment.
func (s *System) scheduledRun(ctx context.Context, deployment string) (wire.RunDetail, error) {
	page, err := s.Client.Runs(ctx, store.RunFilter{Deployment: deployment})
	if err != nil {
		return wire.RunDetail{}, err
	}
	for _, r := range page.Runs {
		if !r.ScheduledAt.IsZero() && r.EventID == "" {
			d, err := s.WaitRun(ctx, r.ID)
			if err != nil {
				return d, err
			}
			return d, wantState(d, flow.TypeCompleted)
		}
	}
	return wire.RunDetail{}, fmt.Errorf("the scheduler created no run of %s", deployment)
}

func (s *System) result(ctx context.Context, id string, v any) error {
	raw, err := s.Client.RunResult(ctx, id)
	if err != nil {
		return fmt.Errorf("result of %s: %w", id, err)
	}
	return json.Unmarshal(raw, v)
}

// waitCompensated waits until the compensation of task in run id has
// ended (compensations run after the run's final state is recorded) and
// checks that it completed.
func (s *System) waitCompensated(ctx context.Context, id, task string) error {
	for {
		d, err := s.Client.Run(ctx, id)
		if err != nil {
			return err
		}
		st := taskStates(d)
		name := st[task+".compensate"]
		if typ, ok := flow.NameType(name); ok && (flow.State{Type: typ}).Final() {
			if name != "Completed" {
				return fmt.Errorf("compensation %s.compensate ended %s", task, name)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("compensation %s.compensate: %q, want Completed (tasks %v): %w", task, name, st, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func stepValidation(ctx context.Context, s *System) (string, error) {
	wh := Webhook{ID: newEventID(), Type: "infrahub.validator.passed", Branch: "main", Data: map[string]any{
		"node_id": s.ValidatorID, "kind": "CoreArtifactValidator", "proposed_change_id": "demo-change",
	}}
	d, err := webhookRun(ctx, s, wh)
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeCompleted); err != nil {
		return "", err
	}
	var rep netsync.ValidationReport
	if err := s.result(ctx, d.Run.ID, &rep); err != nil {
		return "", err
	}
	if rep.Passed != len(s.Devices) || rep.Failed+rep.Errors != 0 {
		return "", fmt.Errorf("validation: %d passed, %d failed, %d errors of %d devices", rep.Passed, rep.Failed, rep.Errors, len(s.Devices))
	}
	return fmt.Sprintf("run %s (validation-processor-production) Completed: %d devices passed, results written to Infrahub", short(d.Run.ID), rep.Passed), nil
}

func stepBrokenAS3(ctx context.Context, s *System) (string, error) {
	before, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant))
	sid := s.Infrahub.PutObject(seed.AS3("web-shop broken: empty pool"))
	d, err := webhookRun(ctx, s, ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid))
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeFailed); err != nil {
		return "", fmt.Errorf("broken change did not fail: %w", err)
	}
	if err := s.waitCompensated(ctx, d.Run.ID, "declare"); err != nil {
		return "", err
	}
	after, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant))
	if !jsonSame(before, after) {
		return "", fmt.Errorf("BIG-IP tenant after rollback differs:\nbefore %s\nafter  %s", before, after)
	}
	m, err := s.WaitNotification(ctx, d.Run.ID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("run %s Failed (%s); declare.compensate Completed; tenant %s as before; notification %q to %s", short(d.Run.ID), firstLine(d.Run.State.Message), seed.Tenant, m.State, m.Channel), nil
}

// requireApproval turns production's approval gate on (answered by the
// approver role) or off, as NETAUTO_APPROVAL_REQUIRED and configure would.
func (s *System) requireApproval(ctx context.Context, on bool) error {
	cfg, _, err := envconfig.Load(ctx, s.st, "production")
	if err != nil {
		return err
	}
	cfg.Approval = envconfig.Approval{}
	if on {
		cfg.Approval = envconfig.Approval{Required: true, Roles: []string{"approver"}}
	}
	return envconfig.Save(ctx, s.st, cfg, false)
}

// gatedAS3 turns the gate on, posts an AS3 change of members and waits
// until its run waits for approval; it returns the run's id and the
// request as the approvers see it. The caller turns the gate off.
func gatedAS3(ctx context.Context, s *System, label string, members ...string) (string, store.InputInfo, error) {
	if err := s.requireApproval(ctx, true); err != nil {
		return "", store.InputInfo{}, err
	}
	sid := s.Infrahub.PutObject(seed.AS3(label, members...))
	wh := ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid)
	status, acc, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, wh.Body())
	if err != nil {
		return "", store.InputInfo{}, err
	}
	if status != 202 || len(acc.RunIDs) != 1 {
		return "", store.InputInfo{}, fmt.Errorf("webhook answered %d with runs %v, want 202 and one run", status, acc.RunIDs)
	}
	id := acc.RunIDs[0]
	for {
		in, err := s.Approver.RunInput(ctx, id, "")
		if err == nil && in.Answer == nil {
			return id, in, nil
		}
		if d, derr := s.Client.Run(ctx, id); derr == nil && d.Run.State.Final() {
			return id, in, fmt.Errorf("run %s ended %s without waiting for approval: %s", id, d.Run.State.Name, d.Run.State.Message)
		}
		select {
		case <-ctx.Done():
			return id, in, fmt.Errorf("run %s: no approval request: %w (last: %v)", id, ctx.Err(), err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func stepApproved(ctx context.Context, s *System) (string, error) {
	defer s.requireApproval(context.WithoutCancel(ctx), false)
	before := poolMembers(s.BigIP.Tenant(seed.Tenant))
	id, in, err := gatedAS3(ctx, s, "web-shop v3", "10.1.20.11", "10.1.20.12", "10.1.20.13", "10.1.20.14")
	if err != nil {
		return "", err
	}
	if n := poolMembers(s.BigIP.Tenant(seed.Tenant)); n != before {
		return "", fmt.Errorf("waiting run %s already changed the tenant: %d members, had %d", short(id), n, before)
	}
	if !strings.Contains(in.Prompt.Diff, "10.1.20.14") {
		return "", fmt.Errorf("approval request of run %s shows no new member: %q", short(id), in.Prompt.Diff)
	}
	if _, err := s.Approver.Approve(ctx, id, in.Key, json.RawMessage(`{}`)); err != nil {
		return "", fmt.Errorf("approve with the approver key: %w", err)
	}
	d, err := s.WaitRun(ctx, id)
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeCompleted); err != nil {
		return "", err
	}
	if n := poolMembers(s.BigIP.Tenant(seed.Tenant)); n != 4 {
		return "", fmt.Errorf("approved, but tenant %s has %d pool members, want 4", seed.Tenant, n)
	}
	return fmt.Sprintf("run %s waited (%s: %d diff lines), approved by key \"approver\", Completed; web_pool has 4 members", short(id), in.Key, strings.Count(in.Prompt.Diff, "\n")), nil
}

func stepRejected(ctx context.Context, s *System) (string, error) {
	defer s.requireApproval(context.WithoutCancel(ctx), false)
	before, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant))
	id, in, err := gatedAS3(ctx, s, "web-shop v4", "10.1.20.11")
	if err != nil {
		return "", err
	}
	if _, err := s.Approver.Reject(ctx, id, in.Key, "outside the change window"); err != nil {
		return "", fmt.Errorf("reject with the approver key: %w", err)
	}
	d, err := s.WaitRun(ctx, id)
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeCancelled); err != nil {
		return "", err
	}
	after, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant))
	if !jsonSame(before, after) {
		return "", fmt.Errorf("rejected, but the BIG-IP tenant changed:\nbefore %s\nafter  %s", before, after)
	}
	return fmt.Sprintf("run %s waited, rejected by key \"approver\", Cancelled (%s); tenant %s unchanged", short(id), firstLine(d.Run.State.Message), seed.Tenant), nil
}

// brokenPeer is the BGP neighbour the broken routing change adds: its
// session never comes up on the routing device.
const brokenPeer = "10.0.0.99"

func stepBrokenRouting(ctx context.Context, s *System) (string, error) {
	dev := s.Lab.Devices.Device(s.RoutingDevice)
	if dev == nil {
		return "", fmt.Errorf("no lab device %s", s.RoutingDevice)
	}
	before := dev.RunningConfig()
	if _, err := s.Infrahub.Create("", schema.KindNetworkBGPNeighbor, map[string]any{
		"peer_address": brokenPeer, "remote_as": 65199, "enabled": true, "description": "new-peer-never-up",
		"device": map[string]any{"id": s.Lab.IDs[s.RoutingDevice]},
	}); err != nil {
		return "", fmt.Errorf("add intended neighbour: %w", err)
	}
	d, err := webhookRun(ctx, s, ArtifactUpdated(s.RoutingArtifactID, "routing-config", schema.KindNetautoRoutingConfig, s.RoutingConfigID, ""))
	if err != nil {
		return "", err
	}
	if err := wantState(d, flow.TypeFailed); err != nil {
		return "", fmt.Errorf("broken change did not fail: %w", err)
	}
	if err := s.waitCompensated(ctx, d.Run.ID, "push"); err != nil {
		return "", err
	}
	if after := dev.RunningConfig(); after != before {
		return "", fmt.Errorf("%s configuration after rollback differs from before:\n%s", s.RoutingDevice, device.UnifiedDiff("before", "after", before, after))
	}
	m, err := s.WaitNotification(ctx, d.Run.ID)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("run %s Failed (%s); push.compensate Completed; %s configuration as before; notification %q", short(d.Run.ID), firstLine(d.Run.State.Message), s.RoutingDevice, m.State), nil
}

func (s *System) runCount(ctx context.Context, deployment string) (int, error) {
	page, err := s.Client.Runs(ctx, store.RunFilter{Deployment: deployment, Limit: 1000})
	if err != nil {
		return 0, err
	}
	return len(page.Runs), nil
}

func stepDuplicate(ctx context.Context, s *System) (string, error) {
	wh := ArtifactUpdated(s.LTMArtifactID, "f5-ltm", schema.KindNetautoLTMConfig, s.LTMTargetID, "")
	n0, err := s.runCount(ctx, "f5-ltm-production")
	if err != nil {
		return "", err
	}
	st1, a1, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, wh.Body())
	if err != nil {
		return "", err
	}
	st2, a2, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, wh.Body())
	if err != nil {
		return "", err
	}
	if st1 != 202 || st2/100 != 2 || !a2.Duplicate || !reflect.DeepEqual(a1.RunIDs, a2.RunIDs) {
		return "", fmt.Errorf("deliveries answered %d %+v and %d %+v", st1, a1, st2, a2)
	}
	if len(a1.RunIDs) == 1 {
		if _, err := s.WaitRun(ctx, a1.RunIDs[0]); err != nil {
			return "", err
		}
	}
	n1, err := s.runCount(ctx, "f5-ltm-production")
	if err != nil {
		return "", err
	}
	if n1 != n0+1 {
		return "", fmt.Errorf("%d runs of f5-ltm-production after two deliveries, want %d", n1, n0+1)
	}
	return fmt.Sprintf("event %s delivered twice: one run (%s), second answer marked duplicate", short(a1.EventID), short(a1.RunIDs[0])), nil
}

func stepBadSignature(ctx context.Context, s *System) (string, error) {
	wh := ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, "")
	n0, err := s.runCount(ctx, "f5-as3-production")
	if err != nil {
		return "", err
	}
	st, _, err := PostWebhook(ctx, s.APIURL, []byte("not-the-shared-key"), wh.Body())
	if err != nil {
		return "", err
	}
	n1, err := s.runCount(ctx, "f5-as3-production")
	if err != nil {
		return "", err
	}
	if st != 401 || n1 != n0 {
		return "", fmt.Errorf("bad signature answered %d, runs %d → %d; want 401 and no run", st, n0, n1)
	}
	return "401 Unauthorized, no run created", nil
}

func jsonSame(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// short is the tail of an ID: run IDs are UUIDv7, whose first
// characters are a time prefix that runs made together share. The CLI
// takes any unique prefix or suffix of a run ID.
func short(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return s
}

// cmdDemo runs `netauto demo [--once] [--devices N] [--listen ADDR]`.
func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	once := fs.Bool("once", false, "run the scenario and exit: 0 when every step did what it should")
	devices := fs.Int("devices", 30, "number of fake SSH devices")
	listen := fs.String("listen", "127.0.0.1:4200", "API listen address (loopback)")
	keep := fs.Bool("keep", false, "keep the demo's temporary directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "netauto-demo-")
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}
	t0 := time.Now()
	fmt.Fprintf(stdout, "netauto demo: starting fake Infrahub, fake BIG-IP, %d fake SSH devices and the orchestrator (SQLite in %s)\n", *devices, dir)
	var logger *slog.Logger
	if os.Getenv("NETAUTO_DEMO_DEBUG") != "" {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	so := SystemOptions{Dir: dir, Devices: *devices, Listen: *listen, Logger: logger, RecordKey: true}
	s, err := StartSystem(ctx, so)
	if err != nil && *listen != "127.0.0.1:0" && errors.Is(err, syscall.EADDRINUSE) {
		so.Listen = "127.0.0.1:0"
		s, err = StartSystem(ctx, so)
	}
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintf(stdout, "  API          %s   (webhooks: POST %s/api/v1/events/infrahub)\n", s.APIURL, s.APIURL)
	fmt.Fprintf(stdout, "  Infrahub     %s   (token %s)\n", s.InfrahubURL, "infrahubtest-api-token")
	fmt.Fprintf(stdout, "  BIG-IP       %s   (admin/admin)\n", s.BigIPURL)
	fmt.Fprintf(stdout, "  devices      %d on 127.0.0.1 (%s ... %s)\n", len(s.Devices), s.Devices[0].Name, s.Devices[len(s.Devices)-1].Name)
	fmt.Fprintf(stdout, "  deployments  %d (production, staging, dev) on pool %s (in-process here; docker in production)\n", len(Deployments(DockerPool, true)), DockerPool)
	fmt.Fprintf(stdout, "  ready in %.1fs\n\n", time.Since(t0).Seconds())
	failed := runScenario(ctx, s, stdout)
	fmt.Fprintf(stdout, "\n%d of %d steps passed in %.1fs; %d notifications received\n", len(scenario)-failed, len(scenario), time.Since(t0).Seconds(), len(s.Notifications()))
	if *once || ctx.Err() != nil {
		if failed > 0 {
			return 1
		}
		return 0
	}
	fmt.Fprintf(stdout, "\nThe API stays up at %s (try: NETAUTO_API_URL=%s go run ./examples/netauto runs). Ctrl-C to stop.\n", s.APIURL, s.APIURL)
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping")
	if failed > 0 {
		return 1
	}
	return 0
}
