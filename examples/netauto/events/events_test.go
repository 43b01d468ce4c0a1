package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/events"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowtest"
	"github.com/netauto-dev/netauto/runtime/store"
)

type receiver struct {
	mu   sync.Mutex
	msgs []events.Message
	sigs []string
	raw  []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	var m events.Message
	_ = json.Unmarshal(b, &m)
	r.mu.Lock()
	r.msgs, r.sigs, r.raw = append(r.msgs, m), append(r.sigs, req.Header.Get(events.SignatureHeader)), append(r.raw, string(b))
	r.mu.Unlock()
}

func TestFailureHookNotifiesSigned(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	key := "notify-key"
	load := func(_ context.Context, env string) (envconfig.NetAutoConfig, error) {
		return envconfig.NetAutoConfig{Environment: env, Notify: envconfig.Notification{WebhookURL: srv.URL, SigningKey: store.NewSecret(key), Channel: "#ops"}}, nil
	}
	type P struct {
		Environment string `json:"environment"`
	}
	ok := flow.New("ok", func(context.Context, P) (int, error) { return 1, nil }, events.FailureHooks(load, events.Notifier{})...)
	bad := flow.New("bad", func(context.Context, P) (int, error) { return 0, flow.NonRetryable(errors.New("device on fire")) }, events.FailureHooks(load, events.Notifier{})...)
	h := flowtest.New(t)
	if _, err := ok.Run(h.Context(), P{"staging"}); err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Run(h.Context(), P{"staging"}); err == nil {
		t.Fatal("bad flow completed")
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.msgs) != 1 {
		t.Fatalf("%d notifications (%v), want 1: completions are not notified unless asked", len(rcv.msgs), rcv.raw)
	}
	m := rcv.msgs[0]
	if m.Flow != "bad" || m.State != "Failed" || m.Environment != "staging" || m.Channel != "#ops" || !strings.Contains(m.Error, "device on fire") {
		t.Errorf("message %+v", m)
	}
	if !events.Verify([]byte(key), []byte(rcv.raw[0]), rcv.sigs[0]) {
		t.Errorf("signature %q does not verify", rcv.sigs[0])
	}
	if events.Verify([]byte("other"), []byte(rcv.raw[0]), rcv.sigs[0]) {
		t.Error("signature verifies under another key")
	}
}

func TestSendReportsHTTPErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	err := events.Notifier{}.Send(context.Background(), envconfig.Notification{WebhookURL: srv.URL}, events.Message{})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("err %v, want HTTP 500", err)
	}
	if err := (events.Notifier{}).Send(context.Background(), envconfig.Notification{}, events.Message{}); err != nil {
		t.Errorf("no URL: %v", err)
	}
}

// Chat webhook URLs carry their credential in the path or query (Slack,
// Teams, Mattermost): a failed notification is logged by the hook, so its
// error must name the host only.
func TestSendErrorsHideTheWebhookURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close() // nothing listens there any more: the request fails
	for _, u := range []string{
		"http://" + addr + "/services/T000/B000/XXXXSECRETXXXX?token=XXXXSECRETXXXX",
		"http://user:XXXXSECRETXXXX@" + addr + "/hook",
		"http://[::1/services/XXXXSECRETXXXX", // does not parse
	} {
		err := events.Notifier{}.Send(context.Background(), envconfig.Notification{WebhookURL: u}, events.Message{})
		if err == nil {
			t.Fatalf("%s: no error", u)
		}
		if strings.Contains(err.Error(), "XXXXSECRETXXXX") {
			t.Errorf("error reveals the webhook URL's secret: %v", err)
		}
	}
}

// A run that fails because its environment parameter is wrong (mistyped,
// missing) has no configuration of its own to notify through: its failure
// must still reach the default block's webhook, not go unnoticed.
func TestFailureWithABadEnvironmentStillNotifies(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	load := func(_ context.Context, env string) (envconfig.NetAutoConfig, error) {
		if err := envconfig.CheckEnvironment(env); err != nil {
			return envconfig.NetAutoConfig{}, err
		}
		if env != "default" {
			return envconfig.NetAutoConfig{}, errors.New("no block netauto-config-" + env + " and no default")
		}
		return envconfig.NetAutoConfig{Environment: env, Notify: envconfig.Notification{WebhookURL: srv.URL}}, nil
	}
	type P struct {
		Environment string `json:"environment"`
	}
	bad := flow.New("bad", func(context.Context, P) (int, error) {
		return 0, flow.NonRetryable(errors.New("environment: not a plain environment name"))
	}, events.FailureHooks(load, events.Notifier{})...)
	h := flowtest.New(t)
	for _, env := range []string{"Production ", ""} {
		if _, err := bad.Run(h.Context(), P{env}); err == nil {
			t.Fatal("bad flow completed")
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.msgs) != 2 {
		t.Fatalf("%d notifications (%v), want 2: failures of runs with a bad environment go unnoticed", len(rcv.msgs), rcv.raw)
	}
	for _, m := range rcv.msgs {
		if m.State != "Failed" || m.Flow != "bad" {
			t.Errorf("message %+v", m)
		}
	}
}

// The failure hooks' target hears that a run awaits approval (with the
// prompt), and that an approval timed out, whether the run then fails or
// is cancelled.
func TestApprovalNotifications(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	load := func(_ context.Context, env string) (envconfig.NetAutoConfig, error) {
		return envconfig.NetAutoConfig{Environment: env, Notify: envconfig.Notification{WebhookURL: srv.URL}}, nil
	}
	type P struct {
		Environment string `json:"environment"`
	}
	for _, then := range []flow.OnTimeout{flow.TimeoutFail, flow.TimeoutCancel} {
		f := flow.New("gated", func(ctx context.Context, _ P) (int, error) {
			_, err := flow.WaitForInput[struct{}](ctx, flow.Prompt{Text: "push vlan 10", Devices: []string{"sw1"}}, flow.InputTimeout(1, then))
			return 0, err
		}, events.FailureHooks(load, events.Notifier{})...)
		ctx := flow.WithEngine(context.Background(), &flow.Engine{Inputs: flow.NewMemoryInputs()})
		if _, err := f.Run(ctx, P{"production"}); err == nil {
			t.Fatal("a timed-out approval completed")
		}
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.msgs) != 4 {
		t.Fatalf("%d notifications (%v), want 4", len(rcv.msgs), rcv.raw)
	}
	for i, want := range []string{"AwaitingInput", "Failed", "AwaitingInput", "Cancelled"} {
		m := rcv.msgs[i]
		if m.State != want || m.Environment != "production" {
			t.Errorf("message %d: %+v, want state %s", i, m, want)
		}
		if want == "AwaitingInput" && (m.Prompt != "push vlan 10" || len(m.Devices) != 1) {
			t.Errorf("awaiting message %+v: want the prompt and devices", m)
		}
		if want != "AwaitingInput" && !strings.Contains(m.Error, "nobody answered") {
			t.Errorf("timeout message %+v: want the timeout named", m)
		}
	}
}
