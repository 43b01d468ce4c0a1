package envconfig_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	key, err := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func cfg(env, url string) envconfig.NetAutoConfig {
	return envconfig.NetAutoConfig{Environment: env, InfrahubURL: url, InfrahubToken: store.NewSecret("tok-" + env), F5Password: store.NewSecret("pw-" + env)}
}

func TestLoadFallsBackOnlyWhenMissing(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if err := envconfig.Save(ctx, st, cfg("default", "http://default"), true); err != nil {
		t.Fatal(err)
	}
	if err := envconfig.Save(ctx, st, cfg("production", "http://prod"), false); err != nil {
		t.Fatal(err)
	}
	got, from, err := envconfig.Load(ctx, st, "production")
	if err != nil || from != "netauto-config-production" || got.InfrahubURL != "http://prod" || got.InfrahubToken.Reveal() != "tok-production" {
		t.Fatalf("production: %+v from %q, %v", got, from, err)
	}
	got, from, err = envconfig.Load(ctx, st, "staging")
	if err != nil || from != envconfig.DefaultBlock || got.InfrahubURL != "http://default" || got.Environment != "staging" {
		t.Fatalf("staging: %+v from %q, %v", got, from, err)
	}
	// A block that exists but does not decode is an error, never the default's credentials.
	if err := st.SaveBlock(ctx, store.Block{Name: "netauto-config-dev", Data: []byte(`{"environment":"dev","unknown_field":1}`)}); err != nil {
		t.Fatal(err)
	}
	if _, from, err := envconfig.Load(ctx, st, "dev"); err == nil || from == envconfig.DefaultBlock {
		t.Fatalf("dev with a broken block: from %q, err %v; want an error", from, err)
	}
}

func TestLoadErrors(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if _, _, err := envconfig.Load(ctx, st, "Prod/../x"); err == nil || !strings.Contains(err.Error(), "environment") {
		t.Errorf("bad name: %v", err)
	}
	_, _, err := envconfig.Load(ctx, st, "production")
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("no blocks: %v, want not found", err)
	}
	if err := envconfig.Save(ctx, st, envconfig.NetAutoConfig{Environment: "x"}, false); err == nil || !strings.Contains(err.Error(), "infrahub_url") {
		t.Errorf("save without infrahub_url: %v", err)
	}
}

func TestSecretsStayOutOfPrints(t *testing.T) {
	c := cfg("production", "http://prod")
	for _, s := range []string{c.InfrahubToken.String(), c.F5Password.String()} {
		if strings.Contains(s, "tok-") || strings.Contains(s, "pw-") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func TestEnvLoader(t *testing.T) {
	vars := map[string]string{envconfig.EnvInfrahubURL: "http://ih", envconfig.EnvInfrahubToken: "t0k", envconfig.EnvEnvironment: "dev"}
	load := envconfig.EnvLoader(func(k string) string { return vars[k] })
	c, err := load(context.Background(), "dev")
	if err != nil || c.Environment != "dev" || c.InfrahubURL != "http://ih" || c.InfrahubToken.Reveal() != "t0k" {
		t.Fatalf("%+v %v", c, err)
	}
	delete(vars, envconfig.EnvInfrahubToken)
	if _, err := load(context.Background(), "dev"); err == nil || !strings.Contains(err.Error(), "infrahub_token") {
		t.Errorf("without a token: %v", err)
	}
}

// The process environment holds one environment's settings: a staging run
// in a container given production's NETAUTO_* must fail, never deploy
// with production's Infrahub, BIG-IP and credentials.
func TestEnvLoaderServesItsEnvironmentOnly(t *testing.T) {
	vars := map[string]string{envconfig.EnvInfrahubURL: "http://ih", envconfig.EnvInfrahubToken: "t0k", envconfig.EnvEnvironment: "production"}
	load := envconfig.EnvLoader(func(k string) string { return vars[k] })
	if c, err := load(context.Background(), "production"); err != nil || c.Environment != "production" {
		t.Fatalf("production: %+v %v", c, err)
	}
	if c, err := load(context.Background(), "staging"); err == nil {
		t.Fatalf("staging got production's settings: %+v", c)
	} else if !strings.Contains(err.Error(), envconfig.EnvEnvironment) {
		t.Errorf("staging: %v, want an error naming %s", err, envconfig.EnvEnvironment)
	}
	delete(vars, envconfig.EnvEnvironment)
	if _, err := load(context.Background(), "production"); err == nil || !strings.Contains(err.Error(), envconfig.EnvEnvironment) {
		t.Errorf("without %s: %v, want an error naming it", envconfig.EnvEnvironment, err)
	}
}

// Production's changes wait for approval unless told otherwise; staging's
// and dev's do not unless told to.
func TestApprovalFromEnv(t *testing.T) {
	none := func(string) string { return "" }
	if a, err := envconfig.ApprovalFromEnv("production", none); err != nil || !a.Required {
		t.Fatalf("production by default: %+v %v, want required", a, err)
	}
	for _, env := range []string{"staging", "dev"} {
		if a, err := envconfig.ApprovalFromEnv(env, none); err != nil || a.Required {
			t.Fatalf("%s by default: %+v %v, want not required", env, a, err)
		}
	}
	vars := map[string]string{envconfig.EnvApprovalRequired: "false", envconfig.EnvApprovalRoles: "operator, admin,", envconfig.EnvApprovalFourEyes: "true", envconfig.EnvApprovalTimeout: "4h"}
	get := func(k string) string { return vars[k] }
	a, err := envconfig.ApprovalFromEnv("production", get)
	if err != nil || a.Required || !a.FourEyes || a.Timeout != "4h" || len(a.Roles) != 2 || a.Roles[1] != "admin" {
		t.Fatalf("%+v %v", a, err)
	}
	if opts, err := a.Options(); err != nil || len(opts) != 3 {
		t.Fatalf("options %d %v, want roles, four-eyes and the timeout", len(opts), err)
	}
	vars[envconfig.EnvApprovalRequired] = "maybe"
	if _, err := envconfig.ApprovalFromEnv("staging", get); err == nil || !strings.Contains(err.Error(), envconfig.EnvApprovalRequired) {
		t.Errorf("bad boolean: %v, want an error naming %s", err, envconfig.EnvApprovalRequired)
	}
	vars[envconfig.EnvApprovalRequired] = "true"
	vars[envconfig.EnvApprovalTimeout] = "soon"
	if _, err := envconfig.ApprovalFromEnv("staging", get); err == nil || !strings.Contains(err.Error(), "approval.timeout") {
		t.Errorf("bad timeout: %v, want an error naming the field", err)
	}
	// A block with a bad timeout is refused when loaded.
	cfg := envconfig.NetAutoConfig{Environment: "staging", InfrahubURL: "http://ih", InfrahubToken: store.NewSecret("t"), Approval: envconfig.Approval{Required: true, Timeout: "-1h"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "approval.timeout") {
		t.Errorf("validate: %v", err)
	}
	// EnvLoader carries the gate.
	vars = map[string]string{envconfig.EnvInfrahubURL: "http://ih", envconfig.EnvInfrahubToken: "t0k", envconfig.EnvEnvironment: "production"}
	if c, err := envconfig.EnvLoader(get)(context.Background(), "production"); err != nil || !c.Approval.Required {
		t.Errorf("EnvLoader production: %+v %v, want approval required", c.Approval, err)
	}
}
