package runtime_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/scheduler"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/trigger"
)

// Every run says what created it, over the API and on the command line:
// the schedule of a planned run, the trigger and event of an event's run,
// the API key of a requested one (never the key).
func TestRunOrigins(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const key = "origin-test-key-0123456789"
	keys := &api.KeySet{}
	if err := keys.Add(api.KeyInfo{Name: "ci-deployer", Role: api.RoleAdmin}, key); err != nil {
		t.Fatal(err)
	}
	tab, err := trigger.New(trigger.Trigger{Name: "node-created", Event: "node.created", Deployment: "echo-prod"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process"}); err != nil {
		t.Fatal(err)
	}
	dep := store.Deployment{Name: "echo-prod", Flow: "echo", Pool: "default", Parameters: json.RawMessage(`{"msg":"hi"}`),
		Schedules: []store.Schedule{{Cron: "0 2 * * *", Timezone: "UTC"}}}
	if _, err := st.ApplyDeployment(ctx, dep); err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterFlow(ctx, store.FlowOf(echo)); err != nil {
		t.Fatal(err)
	}
	secret := []byte("webhook-secret")
	srv, err := api.New(st, api.Options{Keys: keys, Sources: map[string]api.Verifier{"hooks": &api.HMACVerifier{Secret: secret}},
		Match: tab.Matcher([]store.Deployment{dep})})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := client.New(hs.URL, client.Options{Token: key})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := scheduler.New(st, scheduler.Options{}).Pass(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	manual, _, err := c.CreateRun(ctx, "echo-prod", wire.CreateRun{})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"ev-42","event":"node.created"}`)
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/v1/events/hooks", bytes.NewReader(body))
	req.Header.Set("X-Netauto-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var acc wire.EventAccepted
	if err := json.NewDecoder(resp.Body).Decode(&acc); err != nil || resp.StatusCode != http.StatusAccepted || len(acc.RunIDs) != 1 {
		t.Fatalf("event: %d %+v %v", resp.StatusCode, acc, err)
	}
	resp.Body.Close()

	// The key's name, never the key nor its hash.
	const keyID = "ci-deployer"
	if manual.Origin.Kind != store.OriginAPI || manual.Origin.APIKey != keyID {
		t.Errorf("run created over the API: origin %+v, want api with key %s", manual.Origin, keyID)
	}
	ev, err := c.Run(ctx, acc.RunIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if o := ev.Run.Origin; o.Kind != store.OriginTrigger || o.Trigger != "node-created" || ev.Run.EventID != "ev-42" {
		t.Errorf("event's run: origin %+v, event %q", o, ev.Run.EventID)
	}
	planned, err := c.Runs(ctx, store.RunFilter{Origin: store.OriginSchedule})
	if err != nil {
		t.Fatal(err)
	}
	if len(planned.Runs) != 1 || planned.Runs[0].Origin.Schedules[0] != "cron 0 2 * * * in UTC" {
		t.Fatalf("planned runs %+v, want one of cron 0 2 * * * in UTC", planned.Runs)
	}
	if _, err := c.Runs(ctx, store.RunFilter{Origin: "robot"}); err == nil {
		t.Error("origin=robot accepted")
	}

	app := &runtime.App{Flows: []flow.Definition{echo}}
	cli := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args = append(args, "--api", hs.URL, "--api-key", key)
		if code := app.Run(ctx, args, &out, &errOut); code != runtime.ExitOK {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
		if strings.Contains(out.String(), key) {
			t.Fatalf("%v printed the API key", args)
		}
		return out.String()
	}
	out := cli("runs")
	for _, want := range []string{"CREATED BY", "schedule cron 0 2 * * * in UTC", "trigger node-created (event ev-42)", "api key " + keyID} {
		if !strings.Contains(out, want) {
			t.Errorf("runs lacks %q:\n%s", want, out)
		}
	}
	// runs shows each run's unique tail.
	if out := cli("runs", "--origin", "api"); strings.Contains(out, "trigger") || !strings.Contains(out, manual.ID[len(manual.ID)-8:]) {
		t.Errorf("runs --origin api:\n%s", out)
	}
	out = cli("show", acc.RunIDs[0])
	for _, want := range []string{"created by", "trigger node-created", "event", "ev-42", "history:", "Scheduled"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}
