// Package envconfig holds what every flow of the netauto example shares: the
// typed environment configuration block (NetAutoConfig) and the clients
// built from it.
//
// The original orchestrator kept one "netauto-config-<environment>" block
// per environment and fell back to the default block. Here the block is a
// Go struct saved with [store.SaveConfig]; its [store.Secret] fields (the
// Infrahub token, the F5 password, the notification key) are encrypted at
// rest and never printed. [Load] reads the environment's block and falls
// back to "netauto-config-default" only when the environment's block does
// not exist: a block that exists but cannot be read is an error, never a
// silent switch to other credentials.
package envconfig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/f5"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

// BlockPrefix is the name prefix of the configuration blocks: the block of
// environment "production" is "netauto-config-production".
const BlockPrefix = "netauto-config-"

// DefaultBlock is the block loaded when an environment has none of its own.
const DefaultBlock = BlockPrefix + "default"

// NetAutoConfig is the configuration of one environment.
type NetAutoConfig struct {
	// Environment is the environment's name: production, staging, dev.
	Environment string `json:"environment"`
	// InfrahubURL is Infrahub's base URL; InfrahubToken its API token.
	InfrahubURL   string       `json:"infrahub_url"`
	InfrahubToken store.Secret `json:"infrahub_token"`
	// InfrahubBranch is the branch read by default (empty: Infrahub's default).
	InfrahubBranch string `json:"infrahub_branch,omitempty"`
	// F5URL is the BIG-IP management URL; F5Username and F5Password log in.
	F5URL      string       `json:"f5_url"`
	F5Username string       `json:"f5_username"`
	F5Password store.Secret `json:"f5_password"`
	// F5InsecureSkipVerify turns TLS verification off, for labs only.
	F5InsecureSkipVerify bool `json:"f5_insecure_skip_verify,omitempty"`
	// Notify says where run notifications go.
	Notify Notification `json:"notify"`
	// Approval says whether the flows' changes wait for a human's
	// approval before they apply.
	Approval Approval `json:"approval,omitzero"`
	// ChangeCalendar holds the environment's change windows and freezes,
	// as data: a deployment whose calendar names this block
	// (window.Calendar{Block: BlockName(env)}) starts its runs only
	// inside these windows and outside these freezes, and editing the
	// block (`netauto blocks set`) changes that without a redeploy. The
	// member name is store.CalendarMember.
	ChangeCalendar window.Calendar `json:"change_calendar,omitzero"`
}

// Approval is the approval gate of an environment's changes: when
// Required, the AS3 and routing flows compute their change, show it
// (flow.WaitForInput) and apply it only once approved; a rejection ends
// the run Cancelled with nothing applied.
type Approval struct {
	// Required turns the gate on (configure sets it for production
	// unless NETAUTO_APPROVAL_REQUIRED says otherwise).
	Required bool `json:"required,omitempty"`
	// Roles, when set, are the roles one of which the answering key must
	// hold; Keys the API keys that may answer.
	Roles []string `json:"roles,omitempty"`
	Keys  []string `json:"keys,omitempty"`
	// FourEyes refuses the answer of the key that started the run.
	FourEyes bool `json:"four_eyes,omitempty"`
	// Timeout ("4h", Go duration syntax) cancels a change nobody answered
	// in time; empty waits without limit.
	Timeout string `json:"timeout,omitempty"`
	// Window, when set, lets an approval take effect only inside the
	// environment's change_calendar (flow.InputWindow): "wait" goes on
	// when the calendar next opens, "fail" fails the run.
	Window string `json:"window,omitempty"`
}

// Options returns the flow.WaitForInput options of a, or an error naming
// the bad field.
func (a Approval) Options() ([]flow.InputOption, error) {
	var opts []flow.InputOption
	if len(a.Roles) > 0 {
		opts = append(opts, flow.AnsweredBy(a.Roles...))
	}
	if len(a.Keys) > 0 {
		opts = append(opts, flow.AnsweredByKeys(a.Keys...))
	}
	if a.FourEyes {
		opts = append(opts, flow.FourEyes())
	}
	if a.Timeout != "" {
		d, err := time.ParseDuration(a.Timeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("approval.timeout: %q is not a positive duration such as 4h", a.Timeout)
		}
		opts = append(opts, flow.InputTimeout(d, flow.TimeoutCancel))
	}
	return opts, nil
}

// Notification settings: a webhook that receives a JSON message when a
// run fails (and, with OnCompletion, when it completes).
type Notification struct {
	// WebhookURL receives the notifications; empty disables them.
	WebhookURL string `json:"webhook_url,omitempty"`
	// SigningKey, when set, signs each body: header X-Netauto-Signature
	// "sha256=<hex HMAC-SHA256 of the body>".
	SigningKey store.Secret `json:"signing_key,omitzero"`
	// OnCompletion also notifies completed runs.
	OnCompletion bool `json:"on_completion,omitempty"`
	// Channel is a free label passed along (a chat channel, a team).
	Channel string `json:"channel,omitempty"`
}

var envName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// CheckEnvironment returns an error naming the field when env is not a plain
// environment name (lower-case letters, digits, '-' and '_').
func CheckEnvironment(env string) error {
	if !envName.MatchString(env) {
		return fmt.Errorf("environment: %q is not a plain environment name", env)
	}
	return nil
}

// Validate checks the fields every flow needs, naming the first bad one.
func (c NetAutoConfig) Validate() error {
	switch {
	case c.Environment == "":
		return errors.New("environment: empty")
	case c.InfrahubURL == "":
		return errors.New("infrahub_url: empty")
	case c.InfrahubToken.IsZero():
		return errors.New("infrahub_token: empty")
	}
	if _, err := c.Approval.Options(); err != nil {
		return err
	}
	if c.ChangeCalendar.Block != "" {
		return errors.New("change_calendar.block: a block's calendar cannot name another block")
	}
	if _, err := window.Compile(c.ChangeCalendar); err != nil {
		return fielderr.Under("change_calendar", err)
	}
	switch flow.OutsideWindow(c.Approval.Window) {
	case "", flow.WindowWait, flow.WindowFail:
	default:
		return fmt.Errorf("approval.window: %q: want wait or fail", c.Approval.Window)
	}
	return nil
}

// BlockName returns the block name of an environment.
func BlockName(env string) string { return BlockPrefix + env }

// Save stores cfg as its environment's block (or as the default block when
// asDefault is true).
func Save(ctx context.Context, s store.Configs, cfg NetAutoConfig, asDefault bool) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	name := BlockName(cfg.Environment)
	if asDefault {
		name = DefaultBlock
	}
	if err := store.SaveConfig(ctx, s, name, cfg); err != nil {
		return fmt.Errorf("save %s: %w", name, err)
	}
	return nil
}

// Load returns the configuration of env: the block "netauto-config-<env>",
// or the default block only when that block does not exist. from names the
// block read. The returned config's Environment is env.
func Load(ctx context.Context, s store.Configs, env string) (cfg NetAutoConfig, from string, err error) {
	if err := CheckEnvironment(env); err != nil {
		return cfg, "", flow.NonRetryable(err)
	}
	cfg, from, err = store.LoadConfig[NetAutoConfig](ctx, s, BlockName(env), DefaultBlock)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = flow.NonRetryable(fmt.Errorf("environment %q: no block %s and no %s: %w", env, BlockName(env), DefaultBlock, err))
		}
		return cfg, from, err
	}
	cfg.Environment = env
	if err := cfg.Validate(); err != nil {
		return cfg, from, flow.NonRetryable(fmt.Errorf("block %s: %w", from, err))
	}
	return cfg, from, nil
}

// Loader returns an environment's configuration; flows take one so that
// tests and programs decide where configuration comes from.
type Loader func(ctx context.Context, env string) (NetAutoConfig, error)

// StoreLoader loads configurations with [Load] from s.
func StoreLoader(s store.Configs) Loader {
	return func(ctx context.Context, env string) (NetAutoConfig, error) {
		cfg, _, err := Load(ctx, s, env)
		return cfg, err
	}
}

// Infrahub returns a client for cfg's Infrahub.
func Infrahub(cfg NetAutoConfig) (*infrahub.Client, error) {
	c, err := infrahub.New(infrahub.Config{Address: cfg.InfrahubURL, APIToken: cfg.InfrahubToken.Reveal()})
	if err != nil {
		return nil, fmt.Errorf("infrahub client for %s: %w", cfg.Environment, err)
	}
	return c, nil
}

// BigIP returns a client for cfg's BIG-IP.
func BigIP(cfg NetAutoConfig) (*f5.Client, error) {
	if cfg.F5URL == "" {
		return nil, flow.NonRetryable(fmt.Errorf("environment %s: f5_url: empty", cfg.Environment))
	}
	c, err := f5.New(f5.Config{
		BaseURL: cfg.F5URL, Username: cfg.F5Username, Password: cfg.F5Password.Reveal(),
		InsecureSkipVerify: cfg.F5InsecureSkipVerify, RequestTimeout: 60 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("f5 client for %s: %w", cfg.Environment, err)
	}
	return c, nil
}

// HTTPClient is the client notifications are sent with.
var HTTPClient = &http.Client{Timeout: 15 * time.Second}

// Environment variables of [EnvLoader].
const (
	EnvInfrahubURL   = "NETAUTO_INFRAHUB_URL"
	EnvInfrahubToken = "NETAUTO_INFRAHUB_TOKEN"
	EnvF5URL         = "NETAUTO_F5_URL"
	EnvF5Username    = "NETAUTO_F5_USERNAME"
	EnvF5Password    = "NETAUTO_F5_PASSWORD"
	EnvNotifyURL     = "NETAUTO_NOTIFY_URL"
	EnvNotifyKey     = "NETAUTO_NOTIFY_KEY"
	// EnvApprovalRequired is "true" or "false" (default: true for
	// production, false elsewhere); EnvApprovalRoles and EnvApprovalKeys
	// are comma-separated lists; EnvApprovalFourEyes is "true" or
	// "false"; EnvApprovalTimeout a duration such as 4h. See [Approval].
	EnvApprovalRequired = "NETAUTO_APPROVAL_REQUIRED"
	EnvApprovalRoles    = "NETAUTO_APPROVAL_ROLES"
	EnvApprovalKeys     = "NETAUTO_APPROVAL_KEYS"
	EnvApprovalFourEyes = "NETAUTO_APPROVAL_FOUR_EYES"
	EnvApprovalTimeout  = "NETAUTO_APPROVAL_TIMEOUT"
	// EnvEnvironment names the one environment the variables above are
	// the settings of (required by EnvLoader).
	EnvEnvironment = "NETAUTO_ENVIRONMENT"
)

// EnvLoader builds the configuration of one environment, the one
// NETAUTO_ENVIRONMENT names, from the process environment (getenv,
// os.Getenv in programs): for processes that have no store to read blocks
// from, such as a flow run in a container. A run of any other environment
// fails: one set of variables never serves production and staging alike.
func EnvLoader(getenv func(string) string) Loader {
	return func(_ context.Context, env string) (NetAutoConfig, error) {
		if err := CheckEnvironment(env); err != nil {
			return NetAutoConfig{}, flow.NonRetryable(err)
		}
		switch own := getenv(EnvEnvironment); {
		case own == "":
			return NetAutoConfig{}, flow.NonRetryable(fmt.Errorf("environment %s: %s is empty: set it to the environment whose settings %s and friends are", env, EnvEnvironment, EnvInfrahubURL))
		case own != env:
			return NetAutoConfig{}, flow.NonRetryable(fmt.Errorf("environment %s: this process holds the settings of %s=%s only", env, EnvEnvironment, own))
		}
		appr, err := ApprovalFromEnv(env, getenv)
		if err != nil {
			return NetAutoConfig{}, flow.NonRetryable(err)
		}
		cfg := NetAutoConfig{
			Environment: env, InfrahubURL: getenv(EnvInfrahubURL), InfrahubToken: store.NewSecret(getenv(EnvInfrahubToken)),
			F5URL: getenv(EnvF5URL), F5Username: getenv(EnvF5Username), F5Password: store.NewSecret(getenv(EnvF5Password)),
			Notify:   Notification{WebhookURL: getenv(EnvNotifyURL), SigningKey: store.NewSecret(getenv(EnvNotifyKey))},
			Approval: appr,
		}
		if err := cfg.Validate(); err != nil {
			return cfg, flow.NonRetryable(fmt.Errorf("configuration from the environment (%s, %s): %w", EnvInfrahubURL, EnvInfrahubToken, err))
		}
		return cfg, nil
	}
}

// ApprovalFromEnv reads the approval gate of environment env from the
// NETAUTO_APPROVAL_* variables (getenv): required by default in
// production, off elsewhere, unless NETAUTO_APPROVAL_REQUIRED says
// otherwise. A bad value is an error naming its variable.
func ApprovalFromEnv(env string, getenv func(string) string) (Approval, error) {
	a := Approval{Required: env == "production", Roles: list(getenv(EnvApprovalRoles)), Keys: list(getenv(EnvApprovalKeys)), Timeout: strings.TrimSpace(getenv(EnvApprovalTimeout))}
	for _, v := range []struct {
		name string
		dst  *bool
	}{{EnvApprovalRequired, &a.Required}, {EnvApprovalFourEyes, &a.FourEyes}} {
		if s := strings.TrimSpace(getenv(v.name)); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return a, fmt.Errorf("%s: %q is not true or false", v.name, s)
			}
			*v.dst = b
		}
	}
	if _, err := a.Options(); err != nil {
		return a, fmt.Errorf("%s: %w", EnvApprovalTimeout, err)
	}
	return a, nil
}

// list splits a comma-separated list, dropping blanks.
func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Gate waits for a human to approve the change prompt shows when cfg's
// environment requires approval, and returns at once otherwise. It must
// be called from the top-level flow's function, before anything changes.
// A rejection is a *flow.RejectedError (the run ends Cancelled), a timeout
// a *flow.InputTimeoutError, an approval outside the change window with
// approval.window "fail" a *flow.OutsideWindowError; the caller returns
// each as it comes.
func Gate(ctx context.Context, cfg NetAutoConfig, prompt flow.Prompt) error {
	if !cfg.Approval.Required {
		return nil
	}
	opts, err := cfg.Approval.Options()
	if err != nil {
		return flow.NonRetryable(fmt.Errorf("environment %s: %w", cfg.Environment, err))
	}
	if w := cfg.Approval.Window; w != "" {
		cal, err := window.Compile(cfg.ChangeCalendar)
		if err != nil {
			return flow.NonRetryable(fmt.Errorf("environment %s: %w", cfg.Environment, fielderr.Under("change_calendar", err)))
		}
		opts = append(opts, flow.InputWindow(cal, flow.OutsideWindow(w)))
	}
	if _, err := flow.WaitForInput[struct{}](ctx, prompt, opts...); err != nil {
		return fmt.Errorf("environment %s: approval: %w", cfg.Environment, err)
	}
	return nil
}
