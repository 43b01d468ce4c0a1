// Package events holds the netauto example's notifications: a webhook
// notification target and the flow hooks that use it, so a failed run (a
// rollback included) tells someone.
//
// A [Notifier] posts a [Message] as JSON to the environment's
// Notification.WebhookURL (package envconfig), signed with its SigningKey when
// one is set. [Hook] is a flow.OnFailure/OnCrashed hook: it reads the
// run's "environment" parameter, loads that environment's configuration and
// notifies (through the default environment's when the run's is missing or
// cannot be loaded). A notification that cannot be sent is logged and returned as the
// hook's error; it never changes the run's state.
//
// The webhook dispatcher of the original system (Infrahub event × kind →
// deployment) is the runtime's trigger table; the example's table is in
// package main (Triggers).
package events

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/flow"
)

// SignatureHeader carries "sha256=<hex>" of a signed notification body.
const SignatureHeader = "X-Netauto-Signature"

// Message is one notification.
type Message struct {
	Environment string    `json:"environment"`
	Flow        string    `json:"flow"`
	RunID       string    `json:"run_id"`
	RunName     string    `json:"run_name,omitempty"`
	State       string    `json:"state"`
	Error       string    `json:"error,omitempty"`
	Channel     string    `json:"channel,omitempty"`
	Time        time.Time `json:"time"`
	// Prompt is what a run waiting for approval asks (State
	// AwaitingInput), with the devices it touches.
	Prompt  string   `json:"prompt,omitempty"`
	Devices []string `json:"devices,omitempty"`
}

// Notifier sends messages to a notification webhook.
type Notifier struct {
	// Client sends the requests (default envconfig.HTTPClient).
	Client *http.Client
}

// Send posts m to n's webhook; nothing is sent when the URL is empty.
func (nt Notifier) Send(ctx context.Context, n envconfig.Notification, m Message) error {
	if n.WebhookURL == "" {
		return nil
	}
	m.Channel = n.Channel
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("notification: %w", err)
	}
	// Chat webhook URLs carry their credential in the path or query: errors
	// name the host only, never the URL (the hook logs them).
	u, err := url.Parse(n.WebhookURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return errors.New("notification webhook_url: not an http(s) URL with a host")
	}
	host := u.Host
	if u.User != nil {
		host = u.Hostname()
		if u.Port() != "" {
			host = net.JoinHostPort(host, u.Port())
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notification webhook_url (host %s): %w", host, stripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	if !n.SigningKey.IsZero() {
		req.Header.Set(SignatureHeader, Sign([]byte(n.SigningKey.Reveal()), body))
	}
	c := nt.Client
	if c == nil {
		c = envconfig.HTTPClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("notification to webhook at %s: %w", host, stripURL(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("notification to webhook at %s: HTTP %d", host, resp.StatusCode)
	}
	return nil
}

// stripURL drops the URL a *url.Error carries, keeping the operation's
// error (a timeout, a refused connection).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// Sign returns the signature header value of body under key.
func Sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature under key.
func Verify(key, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(key, body)), []byte(sig))
}

// environmentOf reads the "environment" parameter of a run.
func environmentOf(params json.RawMessage) string {
	var p struct {
		Environment string `json:"environment"`
	}
	_ = json.Unmarshal(params, &p)
	return p.Environment
}

// DefaultEnvironment is the environment whose configuration (the default
// block, "netauto-config-default") notifies the failures of runs whose own
// environment is missing or has no configuration.
const DefaultEnvironment = "default"

// Hook returns a flow hook that notifies the run's environment about the
// state it reached. Use it with flow.OnFailure and flow.OnCrashed (and
// flow.OnCompletion: it then notifies only when the environment's
// Notification.OnCompletion is set).
func Hook(load envconfig.Loader, nt Notifier) flow.Hook {
	return func(ctx context.Context, ev flow.HookEvent) error {
		env := environmentOf(ev.Run.Parameters)
		var cfg envconfig.NetAutoConfig
		err := fmt.Errorf("no environment parameter")
		if env != "" {
			cfg, err = load(ctx, env)
		}
		if err != nil {
			if ev.State.Type == flow.TypeCompleted {
				return fmt.Errorf("notify run %s: %w", ev.Run.ID, err)
			}
			// A run whose environment is missing or wrong (often why it
			// failed) has no settings of its own: its failure goes to
			// the default block's webhook rather than unnoticed.
			var derr error
			if cfg, derr = load(ctx, DefaultEnvironment); derr != nil {
				return fmt.Errorf("notify run %s: %w; default: %w", ev.Run.ID, err, derr)
			}
		}
		if ev.State.Type == flow.TypeCompleted && !cfg.Notify.OnCompletion {
			return nil
		}
		m := Message{
			Environment: env, Flow: ev.Run.Name, RunID: ev.Run.ID, RunName: ev.Run.RunName,
			State: ev.State.Name, Time: time.Now().UTC(),
		}
		if ev.Err != nil {
			m.Error = ev.Err.Error()
		}
		if ev.Input != nil {
			m.Prompt, m.Devices = ev.Input.Prompt.Text, ev.Input.Prompt.Devices
		}
		if err := nt.Send(ctx, cfg.Notify, m); err != nil {
			flow.Logger(ctx).Warn("notification not sent", "error", err.Error())
			return err
		}
		flow.Logger(ctx).Info("notification sent", "state", m.State)
		return nil
	}
}

// FailureHooks returns the options that notify on failure and crash, when
// a run starts waiting for approval (flow.OnAwaitingInput; an approval
// that times out fails or cancels the run, notified as such), and on
// completion when the environment asks for it.
func FailureHooks(load envconfig.Loader, nt Notifier) []flow.Option {
	h := Hook(load, nt)
	return []flow.Option{flow.OnFailure(h), flow.OnCrashed(h), flow.OnCompletion(h), flow.OnAwaitingInput(h), flow.OnCancellation(cancelledByTimeout(h))}
}

// cancelledByTimeout passes on to h the cancellations of approvals that
// timed out (flow.TimeoutCancel); other cancellations were asked for.
func cancelledByTimeout(h flow.Hook) flow.Hook {
	return func(ctx context.Context, ev flow.HookEvent) error {
		var te *flow.InputTimeoutError
		if !errors.As(ev.Err, &te) {
			return nil
		}
		return h(ctx, ev)
	}
}
