package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/agent"
)

// A run started by the process or Docker launcher (NETAUTO_RUN set) has no
// database unless NETAUTO_DB is passed: reading blocks must fail saying
// what to configure, not open (and create) an empty default database and
// report the environment's blocks as missing.
func TestConfigLoaderInARunWithoutDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv(runtime.EnvDB, "")
	t.Setenv(envconfig.EnvInfrahubURL, "")
	t.Setenv(runtime.EnvRun, "")
	t.Setenv(agent.EnvRunID, "run-1") // what every launcher sets
	_, err := configLoader()(context.Background(), "production")
	if err == nil || !strings.Contains(err.Error(), envconfig.EnvInfrahubURL) || !strings.Contains(err.Error(), runtime.EnvDB) {
		t.Fatalf("err %v, want one naming %s and %s", err, envconfig.EnvInfrahubURL, runtime.EnvDB)
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.Dir(runtime.DefaultDB))); err == nil {
		t.Errorf("the run created %s: an empty database in its working directory", runtime.DefaultDB)
	}
}

// A run's NETAUTO_CONFIG comes on standard input, after main wired the
// flows: the loader reads it when it loads, not when it was made.
func TestConfigLoaderReadsRunEnvironmentAtLoad(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv(runtime.EnvDB, "")
	t.Setenv(envconfig.EnvInfrahubURL, "")
	t.Setenv(agent.EnvRunID, "run-1")
	t.Setenv(envconfig.EnvEnvironment, "production")
	t.Setenv("NETAUTO_CONFIG", "")
	load := configLoader()
	t.Setenv("NETAUTO_CONFIG", `{"environment":"production","infrahub_url":"https://infrahub.example.net","infrahub_token":"t0k"}`)
	cfg, err := load(context.Background(), "production")
	if err != nil || cfg.InfrahubURL != "https://infrahub.example.net" {
		t.Fatalf("config %+v: %v", cfg, err)
	}
}
