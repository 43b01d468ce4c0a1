package wiring_test

import (
	"context"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/wiring"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// A run in a container reads its environment's block from NETAUTO_CONFIG
// (the Docker launcher's {{ blocks.netauto-config-ENV }}): secrets in
// place, for the environment NETAUTO_ENVIRONMENT names only.
func TestEnvConfigLoaderBlock(t *testing.T) {
	doc := `{"environment":"production","infrahub_url":"https://infrahub.example.net","infrahub_token":"ih-t0ken-value",
		"f5_url":"https://bigip.example.net","f5_username":"admin","f5_password":"f5-pa55word",
		"notify":{"webhook_url":"https://chat.example.net/hook","signing_key":"n0tify-key","channel":"#ops"}}`
	load := wiring.EnvConfigLoader(env(map[string]string{"NETAUTO_CONFIG": doc, "NETAUTO_ENVIRONMENT": "production"}))
	cfg, err := load(context.Background(), "production")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.InfrahubToken.Reveal() != "ih-t0ken-value" || cfg.F5Password.Reveal() != "f5-pa55word" || cfg.Notify.SigningKey.Reveal() != "n0tify-key" ||
		cfg.F5URL != "https://bigip.example.net" || cfg.Notify.Channel != "#ops" {
		t.Errorf("config %+v", cfg)
	}
	if _, err := load(context.Background(), "staging"); err == nil || !strings.Contains(err.Error(), "NETAUTO_ENVIRONMENT=production") {
		t.Errorf("another environment: %v", err)
	}
	for name, bad := range map[string]string{
		"truncated":     `{"infrahub_url":"https://i","infrahub_token":"ih-t0ken-val`,
		"unknown field": `{"infrahub_url":"https://i","infrahub_token":"ih-t0ken-value","password_hint":"ih-t0ken"}`,
		"wrong type":    `{"infrahub_url":"https://i","infrahub_token":42}`,
		"no token":      `{"infrahub_url":"https://i"}`,
	} {
		_, err := wiring.EnvConfigLoader(env(map[string]string{"NETAUTO_CONFIG": bad, "NETAUTO_ENVIRONMENT": "production"}))(context.Background(), "production")
		if err == nil || strings.Contains(err.Error(), "t0ken") {
			t.Errorf("%s: %v, want an error that shows no value", name, err)
		}
	}
	// Without NETAUTO_CONFIG: the separate variables.
	cfg, err = wiring.EnvConfigLoader(env(map[string]string{"NETAUTO_ENVIRONMENT": "dev", "NETAUTO_INFRAHUB_URL": "https://ih", "NETAUTO_INFRAHUB_TOKEN": "t"}))(context.Background(), "dev")
	if err != nil || cfg.InfrahubURL != "https://ih" {
		t.Errorf("from separate variables: %+v %v", cfg, err)
	}
}

func TestFromEnvDevices(t *testing.T) {
	w := wiring.FromEnv(env(map[string]string{"NETAUTO_DEVICE_USERNAME": "netops", "NETAUTO_DEVICE_PASSWORD": "pw", "NETAUTO_BACKUP_DIR": "/b/{environment}.git"}))
	if w.DeviceDefaults.Username != "netops" || w.DeviceDefaults.PasswordSecret != "NETAUTO_DEVICE_PASSWORD" || w.BackupDir != "/b/{environment}.git" {
		t.Errorf("wiring %+v", w)
	}
	if pw, err := w.Secrets.Resolve(context.Background(), w.DeviceDefaults.PasswordSecret); err != nil || pw != "pw" {
		t.Errorf("password %q %v", pw, err)
	}
	if len(wiring.Flows(w)) != 7 {
		t.Errorf("flows %d, want 7", len(wiring.Flows(w)))
	}
}

// The flows are wired before `execute` reads the run's secret environment
// from its standard input: the loader reads NETAUTO_CONFIG when it loads.
func TestEnvConfigLoaderReadsAtLoad(t *testing.T) {
	vars := map[string]string{"NETAUTO_ENVIRONMENT": "production"}
	load := wiring.FromEnv(func(k string) string { return vars[k] }).Config
	vars["NETAUTO_CONFIG"] = `{"environment":"production","infrahub_url":"https://infrahub.example.net","infrahub_token":"t0k"}`
	cfg, err := load(context.Background(), "production")
	if err != nil || cfg.InfrahubURL != "https://infrahub.example.net" {
		t.Fatalf("config %+v: %v", cfg, err)
	}
}
