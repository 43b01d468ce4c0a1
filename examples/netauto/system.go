package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/events"
	"github.com/netauto-dev/netauto/examples/netauto/netsync/netsynctest"
	"github.com/netauto-dev/netauto/examples/netauto/orchestrator"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/f5/f5test"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/scheduler"
	"github.com/netauto-dev/netauto/runtime/store"
)

// SystemOptions configure a System.
type SystemOptions struct {
	// Dir holds the SQLite store, the backup repositories and the lab's
	// files (required; the demo uses a temporary directory).
	Dir string
	// Devices is the number of fake SSH devices (default 30).
	Devices int
	// Listen is the API's address (default 127.0.0.1:0, any free port).
	Listen string
	// SchedulerLoop runs the scheduler on the real clock; without it only
	// System.Scheduler.Pass creates scheduled runs (tests inject the time).
	SchedulerLoop bool
	// Logger receives the components' own logs (default: discarded).
	Logger *slog.Logger
	// FakesOnly starts the fakes and the notification receiver, no
	// orchestrator (what `sim` runs).
	FakesOnly bool
	// RecordKey keeps the API's admin key in Dir and records it for the
	// command line on this machine (the demo: `runs` then finds it).
	RecordKey bool
}

// System is the whole example on embedded defaults, in one process: the
// fake Infrahub (seeded), a fake BIG-IP, fake SSH devices, a notification
// receiver, and the orchestrator (SQLite store, API with Infrahub webhook
// intake, scheduler, in-process worker) running the example's flows,
// deployments and triggers.
type System struct {
	Dir                           string
	APIURL, InfrahubURL, BigIPURL string
	NotifyURL                     string
	WebhookKey, NotifyKey         []byte
	Infrahub                      *infrahubtest.Server
	BigIP                         *f5test.Server
	Lab                           *netsynctest.Lab
	Client                        *client.Client
	// Approver is a client with a second key, "approver" (role
	// approver), that answers approval gates; Client holds the admin key.
	Approver                          *client.Client
	Scheduler                         *scheduler.Scheduler
	BackupDir                         string
	Devices                           []netsynctest.Device
	RoutingConfigID, RoutingDevice    string
	AS3ArtifactID, LTMArtifactID      string
	CertArtifactID, RoutingArtifactID string
	// ValidatorID is a CoreArtifactValidator whose checks name every
	// device (their device-config artifacts).
	ValidatorID                          string
	AS3TargetID, LTMTargetID, CertTarget string

	st      store.Store
	srv     *runtime.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closers []func()

	mu    sync.Mutex
	notes []events.Message
	noted chan struct{}
}

// StartSystem starts everything; Close stops it.
func StartSystem(ctx context.Context, o SystemOptions) (_ *System, err error) {
	if o.Dir == "" {
		return nil, errors.New("system: Dir: empty")
	}
	if o.Devices <= 0 {
		o.Devices = 30
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &System{Dir: o.Dir, BackupDir: filepath.Join(o.Dir, "backups", "{environment}.git"), noted: make(chan struct{}, 64)}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.WebhookKey, s.NotifyKey = randomKey(), randomKey()

	// Fakes.
	if s.Infrahub, err = infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas(), Seed: seed.Infrahub(), Logger: log}); err != nil {
		return nil, fmt.Errorf("fake infrahub: %w", err)
	}
	if s.InfrahubURL, err = s.serve(s.Infrahub); err != nil {
		return nil, err
	}
	if s.BigIP, err = f5test.New(f5test.Options{}); err != nil {
		return nil, fmt.Errorf("fake big-ip: %w", err)
	}
	if s.BigIPURL, err = s.serve(s.BigIP); err != nil {
		return nil, err
	}
	if s.NotifyURL, err = s.serve(http.HandlerFunc(s.receiveNotification)); err != nil {
		return nil, err
	}
	s.Devices = netsynctest.Fleet("", o.Devices)
	for i, d := range s.Devices {
		if d.Platform == "arista_eos" {
			// The routing device: the neighbours the broken routing
			// changes of the demo and of the end-to-end test add never
			// come up.
			s.Devices[i].Down = []string{brokenPeer, "10.0.0.77"}
			break
		}
	}
	if s.Lab, err = netsynctest.Start(bg, s.Infrahub, s.Devices); err != nil {
		return nil, fmt.Errorf("fake devices: %w", err)
	}
	s.closers = append(s.closers, s.Lab.Close)
	if err := s.seedRuntime(ctx); err != nil {
		return nil, err
	}
	if o.FakesOnly {
		return s, nil
	}
	if err := s.startOrchestrator(ctx, o, log); err != nil {
		return nil, err
	}
	return s, nil
}

// startOrchestrator runs the example's App on a runtime.Server: a SQLite
// store holding the environments' configuration blocks, the API on
// o.Listen, an in-process worker on the example's pool, the deployments
// applied over the API as `deploy` applies them.
func (s *System) startOrchestrator(ctx context.Context, o SystemOptions, log *slog.Logger) error {
	key, err := store.NewKey([]byte(randomKey())[:32])
	if err != nil {
		return err
	}
	if s.st, err = runtime.OpenStore(ctx, filepath.Join(o.Dir, "netauto.db"), store.Options{Key: key}); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { s.st.Close() })
	for _, env := range []string{"production", "default"} {
		cfg := envconfig.NetAutoConfig{
			Environment: env, InfrahubURL: s.InfrahubURL, InfrahubToken: store.NewSecret(infrahubtest.DefaultAPIToken),
			F5URL: s.BigIPURL, F5Username: "admin", F5Password: store.NewSecret("admin"),
			Notify: envconfig.Notification{WebhookURL: s.NotifyURL, SigningKey: store.NewSecret(string(s.NotifyKey)), Channel: "#netauto-" + env},
		}
		if err := envconfig.Save(ctx, s.st, cfg, env == "default"); err != nil {
			return err
		}
	}
	app, err := orchestrator.App(orchestrator.Config{PauseNonProduction: true, WebhookKey: s.WebhookKey}, Flows(Wiring{
		Config: envconfig.StoreLoader(s.st), Secrets: s.Lab.Secrets(), DeviceDefaults: s.Lab.DeviceDefaults(),
		BackupDir: s.BackupDir, FanOut: device.FanOut{Concurrency: 16, HostTimeout: time.Minute},
		// The lab's sessions come up within a few reads of the summary;
		// the broken routing change's never does, and the demo should not
		// wait the 3 minutes a real router is given.
		RoutingPostCheckTimeout: time.Second, RoutingPostCheckInterval: 200 * time.Millisecond,
	}))
	if err != nil {
		return err
	}
	opts := runtime.ServerOptions{
		Store: s.st, Listen: o.Listen, Logger: log, ReapInterval: 5 * time.Second,
		// Without SchedulerLoop only System.Scheduler.Pass creates
		// scheduled runs, at the time the caller gives.
		NoScheduler: !o.SchedulerLoop,
		Workers: []runtime.WorkerOptions{{Pool: DockerPool, Launcher: "in-process", Concurrency: 6,
			Poll: 250 * time.Millisecond, Lease: 30 * time.Second, Grace: 10 * time.Second}},
	}
	// Two keys: the admin key the demo drives the API with and a second
	// one that may only answer approvals (the approval step's four eyes).
	adminKey, err := api.GenerateKey()
	if err != nil {
		return err
	}
	approverKey, err := api.GenerateKey()
	if err != nil {
		return err
	}
	opts.Keys = &api.KeySet{}
	if err := opts.Keys.Add(api.KeyInfo{Name: "local-admin", Role: api.RoleAdmin}, adminKey); err != nil {
		return err
	}
	if err := opts.Keys.Add(api.KeyInfo{Name: "approver", Role: api.RoleApprover}, approverKey); err != nil {
		return err
	}
	srv, err := runtime.NewServer(app, opts)
	if err != nil {
		return err
	}
	if err := srv.Start(ctx); err != nil {
		return err
	}
	s.srv = srv
	s.APIURL, s.Scheduler = srv.URL(), srv.Scheduler()
	if o.RecordKey {
		// As a server with no configured key records its own: client
		// commands on this machine find the admin key.
		path := filepath.Join(o.Dir, "local-admin.key")
		if err := os.WriteFile(path, []byte(adminKey+"\n"), 0o600); err != nil {
			return fmt.Errorf("record the admin key: %w", err)
		}
		unregister, err := client.RegisterLocalKey(srv.Addr().String(), path)
		if err != nil {
			return fmt.Errorf("record the admin key: %w", err)
		}
		s.closers = append(s.closers, unregister)
	}

	// Deploy through the API, as `netauto deploy` does.
	if s.Client, err = client.New(s.APIURL, client.Options{Token: adminKey}); err != nil {
		return err
	}
	if s.Approver, err = client.New(s.APIURL, client.Options{Token: approverKey}); err != nil {
		return err
	}
	for _, d := range app.Deployments {
		if _, err := s.Client.ApplyDeployment(ctx, d); err != nil {
			return fmt.Errorf("apply deployment %s: %w", d.Name, err)
		}
	}
	return nil
}

// seedRuntime creates what depends on the lab: the routing configuration
// of the first Arista device, the certificate artifact, and finds the
// seeded artifacts' ids.
func (s *System) seedRuntime(ctx context.Context) error {
	ih, err := infrahub.New(infrahub.Config{Address: s.InfrahubURL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		return err
	}
	find := func(def string) (string, string, error) {
		arts, err := ih.Artifacts(ctx, infrahub.ArtifactFilter{DefinitionName: def})
		if err != nil || len(arts) == 0 {
			return "", "", fmt.Errorf("seeded artifact of %s: %v", def, err)
		}
		return arts[0].ID, objID(arts[0].Object), nil
	}
	if s.AS3ArtifactID, s.AS3TargetID, err = find("f5-as3-app"); err != nil {
		return err
	}
	if s.LTMArtifactID, s.LTMTargetID, err = find("f5-ltm"); err != nil {
		return err
	}
	for _, d := range s.Devices {
		if d.Platform == "arista_eos" {
			s.RoutingDevice = d.Name
			break
		}
	}
	devID := s.Lab.IDs[s.RoutingDevice]
	if s.RoutingConfigID, err = seed.RoutingConfig(s.Infrahub, s.RoutingDevice+"-bgp", devID, 65000, ""); err != nil {
		return fmt.Errorf("seed routing config: %w", err)
	}
	if s.RoutingArtifactID, _, err = seed.Artifact(s.Infrahub, "routing-config", "routing-config", schema.KindNetautoRoutingConfig, s.RoutingConfigID, []byte("rendered by the flow\n")); err != nil {
		return fmt.Errorf("seed routing artifact: %w", err)
	}
	if _, err := s.Infrahub.Create("", "CoreArtifactDefinition", map[string]any{"name": "device-config", "artifact_name": "device-config", "content_type": "text/plain"}); err != nil {
		return fmt.Errorf("seed device-config definition: %w", err)
	}
	var arts []string
	for _, d := range s.Devices {
		id, _, err := seed.Artifact(s.Infrahub, "device-config", "device-config", schema.KindNetworkDevice, s.Lab.IDs[d.Name], []byte("rendered by Infrahub\n"))
		if err != nil {
			return fmt.Errorf("seed device-config artifact: %w", err)
		}
		arts = append(arts, id)
	}
	if s.ValidatorID, err = seed.ArtifactValidator(s.Infrahub, "device-config", arts); err != nil {
		return fmt.Errorf("seed validator: %w", err)
	}
	certs, err := infrahub.List[struct {
		ID string `json:"id"`
	}](ctx, ih, schema.KindNetautoCertificate, infrahub.ListOptions{})
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("seeded certificate: %v", err)
	}
	s.CertTarget = certs[0].ID
	return nil
}

func (s *System) serve(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Go(func() { _ = hs.Serve(ln) })
	s.closers = append(s.closers, func() { hs.Close() })
	return "http://" + ln.Addr().String(), nil
}

func randomKey() []byte {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return []byte(hex.EncodeToString(b))
}

// Close stops the orchestrator (its worker drains while the fakes still
// answer) and the fakes.
func (s *System) Close() {
	if s.srv != nil {
		sctx, c := context.WithTimeout(context.Background(), 15*time.Second)
		_ = s.srv.Shutdown(sctx)
		c()
	}
	if s.cancel != nil {
		s.cancel()
	}
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.wg.Wait()
}

func (s *System) receiveNotification(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || !events.Verify(s.NotifyKey, body, r.Header.Get(events.SignatureHeader)) {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var m events.Message
	if err := json.Unmarshal(body, &m); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.notes = append(s.notes, m)
	s.mu.Unlock()
	select {
	case s.noted <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// Notifications returns the notifications received so far.
func (s *System) Notifications() []events.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]events.Message(nil), s.notes...)
}

// WaitNotification waits for a notification about run.
func (s *System) WaitNotification(ctx context.Context, runID string) (events.Message, error) {
	return s.WaitNotificationState(ctx, runID, "")
}

// WaitNotificationState waits for a notification of the run in state (a
// state name such as "Failed" or "AwaitingInput"; "" any) and returns the
// first one.
func (s *System) WaitNotificationState(ctx context.Context, runID, state string) (events.Message, error) {
	for {
		for _, m := range s.Notifications() {
			if m.RunID == runID && (state == "" || m.State == state) {
				return m, nil
			}
		}
		select {
		case <-ctx.Done():
			return events.Message{}, fmt.Errorf("no notification for run %s: %w", runID, ctx.Err())
		case <-s.noted:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Webhook is a signed Infrahub delivery.
type Webhook struct {
	ID, Type, Branch string
	Data             map[string]any
}

// Body returns the delivery's JSON body (Infrahub's 1.2+ envelope).
func (wh Webhook) Body() []byte {
	b, _ := json.Marshal(map[string]any{
		"id": wh.ID, "event": wh.Type, "branch": wh.Branch, "account_id": "demo-account",
		"occured_at": time.Now().UTC().Format(time.RFC3339Nano), "data": wh.Data,
	})
	return b
}

// PostWebhook delivers body to the API's Infrahub intake signed with key,
// as Infrahub does, and returns the HTTP status and the answer.
func PostWebhook(ctx context.Context, apiURL string, key, body []byte) (int, wire.EventAccepted, error) {
	var acc wire.EventAccepted
	id := "msg_" + hex.EncodeToString(randomKey()[:8])
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+"/api/v1/events/infrahub", bytes.NewReader(body))
	if err != nil {
		return 0, acc, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", infrahub.Sign(key, id, ts, infrahub.EscapeNonASCII(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, acc, fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, &acc); err != nil {
			return resp.StatusCode, acc, fmt.Errorf("webhook answer: %w", err)
		}
	}
	return resp.StatusCode, acc, nil
}

// ArtifactUpdated returns the webhook Infrahub sends when the artifact id
// of target (kind, id) was regenerated with content stored under storageID.
func ArtifactUpdated(artifactID, definition, targetKind, targetID, storageID string) Webhook {
	return Webhook{
		ID: newEventID(), Type: "infrahub.artifact.updated", Branch: "main",
		Data: map[string]any{
			"node_id": artifactID, "artifact_definition_id": definition, "artifact_definition_name": definition,
			"target_id": targetID, "target_kind": targetKind, "checksum": storageID, "checksum_previous": "",
			"storage_id": storageID, "storage_id_previous": "",
		},
	}
}

func newEventID() string {
	b := randomKey()
	return fmt.Sprintf("%s-%s-%s-%s-%s", b[0:8], b[8:12], b[12:16], b[16:20], b[20:32])
}

// WaitRun waits until run id is final and returns its detail.
func (s *System) WaitRun(ctx context.Context, id string) (wire.RunDetail, error) {
	for {
		d, err := s.Client.Run(ctx, id)
		if err != nil {
			return d, err
		}
		if d.Run.State.Final() {
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("run %s still %s: %w", id, d.Run.State.Name, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func objID(r infrahub.Rel) string {
	if r.Node == nil {
		return ""
	}
	return r.Node.ID
}
