package orchestrator_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/orchestrator"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// configure saves the settings of the environment as the blocks runs in
// containers read, through the API, and prints names, never values.
func TestConfigure(t *testing.T) {
	ctx := context.Background()
	key, _ := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := api.New(st, api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := client.New(hs.URL, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"NETAUTO_ENVIRONMENT": "staging", "NETAUTO_INFRAHUB_URL": "https://infrahub.example.net", "NETAUTO_INFRAHUB_TOKEN": "ih-secret-token",
		"NETAUTO_F5_URL": "https://bigip.example.net", "NETAUTO_F5_USERNAME": "admin", "NETAUTO_F5_PASSWORD": "f5-secret-pw",
		"NETAUTO_DEVICE_USERNAME": "netops", "NETAUTO_DEVICE_PASSWORD": "dev-secret-pw",
	}
	var out bytes.Buffer
	if err := orchestrator.Configure(ctx, c, env(vars), false, &out); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"ih-secret-token", "f5-secret-pw", "dev-secret-pw"} {
		if strings.Contains(out.String(), v) {
			t.Errorf("configure printed a secret:\n%s", out.String())
		}
	}
	if !strings.Contains(out.String(), "block netauto-config-staging: saved from NETAUTO_INFRAHUB_URL, NETAUTO_INFRAHUB_TOKEN, NETAUTO_F5_URL") ||
		!strings.Contains(out.String(), "block netauto-device-login: saved from NETAUTO_DEVICE_USERNAME, NETAUTO_DEVICE_PASSWORD") {
		t.Errorf("output:\n%s", out.String())
	}
	cfg, from, err := envconfig.Load(ctx, st, "staging")
	if err != nil || from != "netauto-config-staging" || cfg.InfrahubToken.Reveal() != "ih-secret-token" || cfg.F5Password.Reveal() != "f5-secret-pw" {
		t.Errorf("stored config %+v from %s: %v", cfg, from, err)
	}
	if cfg.Approval.Required || !strings.Contains(out.String(), "(approval required: false)") {
		t.Errorf("staging's changes must not need approval by default: %+v\n%s", cfg.Approval, out.String())
	}
	// Production's do, unless NETAUTO_APPROVAL_REQUIRED says otherwise.
	prod := map[string]string{"NETAUTO_ENVIRONMENT": "production", "NETAUTO_INFRAHUB_URL": "https://infrahub.example.net", "NETAUTO_INFRAHUB_TOKEN": "t",
		"NETAUTO_APPROVAL_ROLES": "approver"}
	if err := orchestrator.Configure(ctx, c, env(prod), false, &out); err != nil {
		t.Fatal(err)
	}
	if p, _, err := envconfig.Load(ctx, st, "production"); err != nil || !p.Approval.Required || len(p.Approval.Roles) != 1 {
		t.Errorf("production's approval %+v: %v, want required, answered by approver", p.Approval, err)
	}
	prod["NETAUTO_APPROVAL_REQUIRED"] = "false"
	if err := orchestrator.Configure(ctx, c, env(prod), false, &out); err != nil {
		t.Fatal(err)
	}
	if p, _, err := envconfig.Load(ctx, st, "production"); err != nil || p.Approval.Required {
		t.Errorf("production with %s=false: %+v %v", "NETAUTO_APPROVAL_REQUIRED", p.Approval, err)
	}
	prod["NETAUTO_APPROVAL_REQUIRED"] = "perhaps"
	if err := orchestrator.Configure(ctx, c, env(prod), false, &out); err == nil || !strings.Contains(err.Error(), "NETAUTO_APPROVAL_REQUIRED") {
		t.Errorf("bad NETAUTO_APPROVAL_REQUIRED: %v", err)
	}
	login, _, err := store.LoadConfig[orchestrator.DeviceLogin](ctx, st, orchestrator.DeviceLoginBlock, "")
	if err != nil || login.Username != "netops" || login.Password.Reveal() != "dev-secret-pw" {
		t.Errorf("device login %+v: %v", login, err)
	}
	if b, err := st.GetBlock(ctx, orchestrator.DeviceLoginBlock); err != nil || strings.Contains(string(b.Data), "dev-secret-pw") {
		t.Errorf("the password is in the block's clear data: %s %v", b.Data, err)
	}
	if err := orchestrator.Configure(ctx, c, env(nil), false, &out); err == nil || !strings.Contains(err.Error(), "nothing to configure") {
		t.Errorf("empty environment: %v", err)
	}
}
