package orchestrator_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/examples/netauto/orchestrator"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/source"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// The production wiring: every deployment builds its flow from the flows
// repository at its environment's ref, in a Docker pool whose job
// template and job variables hand each environment its own block.
func TestConfigFromEnvFlowsFromGit(t *testing.T) {
	cfg, err := orchestrator.ConfigFromEnv(env(map[string]string{
		"NETAUTO_FLOWS_REPO":        "https://git.example.net/netops/netauto.git",
		"NETAUTO_FLOWS_REF":         "4f1c0d3b9a7e2c5d6f8a1b3c5d7e9f0a1b2c3d4e",
		"NETAUTO_FLOWS_REF_STAGING": "develop",
		"NETAUTO_FLOWS_SECRET":      "git-token",
		"NETAUTO_IMAGE":             "registry.example.net/netauto/worker:7",
		"NETAUTO_RUN_NETWORK":       "host",
	}))
	if err != nil {
		t.Fatal(err)
	}
	app, err := orchestrator.App(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Flows) != 0 {
		t.Errorf("the app links %d flows", len(app.Flows))
	}
	if len(app.Deployments) != 21 {
		t.Fatalf("%d deployments, want 7 per environment", len(app.Deployments))
	}
	for _, d := range app.Deployments {
		env := d.Name[strings.LastIndex(d.Name, "-")+1:]
		s := d.Source
		wantRef := "4f1c0d3b9a7e2c5d6f8a1b3c5d7e9f0a1b2c3d4e"
		if env == "staging" {
			wantRef = "develop"
		}
		if s == nil || s.Repository != "https://git.example.net/netops/netauto.git" || s.Ref != wantRef ||
			s.Entrypoint != orchestrator.DefaultEntrypoint || s.Credentials == nil || s.Credentials.Secret != "git-token" {
			t.Errorf("%s: source %+v, want the flows repository at %s", d.Name, s, wantRef)
			continue
		}
		if err := source.Validate(*s, false); err != nil {
			t.Errorf("%s: %v", d.Name, err)
		}
		var vars struct{ Env map[string]string }
		var raw map[string]any
		if err := json.Unmarshal(d.JobVariables, &vars); err != nil || json.Unmarshal(d.JobVariables, &raw) != nil {
			t.Fatalf("%s: job variables %s", d.Name, d.JobVariables)
		}
		if vars.Env["NETAUTO_ENVIRONMENT"] != env || vars.Env["NETAUTO_CONFIG"] != "{{ blocks.netauto-config-"+env+" }}" {
			t.Errorf("%s: env %v, want its own environment's block", d.Name, vars.Env)
		}
		devices := strings.HasPrefix(d.Name, "routing") || strings.HasPrefix(d.Name, "inventory") || strings.HasPrefix(d.Name, "config-backup") || strings.HasPrefix(d.Name, "validation")
		if _, has := vars.Env["NETAUTO_DEVICE_PASSWORD"]; has != devices {
			t.Errorf("%s: device login %v, want %v", d.Name, has, devices)
		}
		if env == "production" && (raw["cpu_request"] != "500m" || raw["memory_request"] != "1Gi" || raw["cpu_limit"] != "2000m" || raw["memory_limit"] != "4Gi") {
			t.Errorf("%s: resources %s, want 500m/1Gi requests, 2000m/4Gi limits", d.Name, d.JobVariables)
		}
		if err := docker.CheckJobVariables(app.Pools[0], d.JobVariables); err != nil {
			t.Errorf("%s: %v", d.Name, err)
		}
	}
	tmpl, err := docker.ParseJobTemplate(app.Pools[0].JobTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Image != "registry.example.net/netauto/worker:7" || tmpl.NetworkMode != "host" || tmpl.Env["NETAUTO_CONFIG"] != "{{ blocks.netauto-config-production }}" {
		t.Errorf("pool template %+v", tmpl)
	}
}

func TestConfigFromEnvRefusals(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"pool type":          {map[string]string{"NETAUTO_POOL_TYPE": "k8s"}, "NETAUTO_POOL_TYPE"},
		"pull policy":        {map[string]string{"NETAUTO_IMAGE_PULL_POLICY": "Sometimes"}, "NETAUTO_IMAGE_PULL_POLICY"},
		"placeholder key":    {map[string]string{"NETAUTO_INFRAHUB_WEBHOOK_KEY": "change-me-webhook-key-please"}, "placeholder"},
		"short key":          {map[string]string{"NETAUTO_INFRAHUB_WEBHOOK_KEY": "0123456789"}, "shorter than 20"},
		"repeated character": {map[string]string{"NETAUTO_INFRAHUB_WEBHOOK_KEY": strings.Repeat("a", 40)}, "repeated"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := orchestrator.ConfigFromEnv(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one naming %s", err, tc.want)
			}
			if k := tc.env["NETAUTO_INFRAHUB_WEBHOOK_KEY"]; k != "" && strings.Contains(err.Error(), k) {
				t.Errorf("the error shows the key")
			}
		})
	}
	if _, err := orchestrator.ConfigFromEnv(env(map[string]string{"NETAUTO_INFRAHUB_WEBHOOK_KEY": "q3Vb8Rk1pLx0ZsT6yWc2NfHj"})); err != nil {
		t.Errorf("a random key refused: %v", err)
	}
	// A binary without flows needs the repository.
	cfg, _ := orchestrator.ConfigFromEnv(env(nil))
	if _, err := orchestrator.App(cfg, nil); err == nil || !strings.Contains(err.Error(), "NETAUTO_FLOWS_REPO") {
		t.Errorf("no flows and no repository: %v", err)
	}
}

// The base image's orchestrator links none of the flows' code: a flow
// change never needs a new image.
func TestOrchestratorLinksNoFlow(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../cmd/netauto").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, flowPkg := range []string{"examples/netauto/f5flows", "examples/netauto/routing", "examples/netauto/netsync", "examples/netauto/events", "examples/netauto/wiring", "github.com/scrapli/"} {
			if strings.Contains(dep, flowPkg) {
				t.Errorf("cmd/netauto links %s", dep)
			}
		}
	}
}

// TestChangeWindowsFromTheBlocks: with NETAUTO_CHANGE_WINDOWS=1 the change
// deployments of each environment name its block as their change
// calendar; the sync and backup deployments do not.
func TestChangeWindowsFromTheBlocks(t *testing.T) {
	cfg, err := orchestrator.ConfigFromEnv(env(map[string]string{"NETAUTO_CHANGE_WINDOWS": "1", "NETAUTO_POOL_TYPE": "in-process"}))
	if err != nil || !cfg.ChangeWindows {
		t.Fatalf("config: %+v %v", cfg, err)
	}
	held := map[string]string{}
	for _, d := range orchestrator.Deployments(cfg) {
		if d.Calendar != nil {
			held[d.Name] = d.Calendar.Block
		}
	}
	if held["routing-deploy-production"] != "netauto-config-production" || held["f5-as3-staging"] != "netauto-config-staging" ||
		held["config-backup-production"] != "" || len(held) != 12 {
		t.Fatalf("calendars: %v", held)
	}
	if _, err := orchestrator.ConfigFromEnv(env(map[string]string{"NETAUTO_CHANGE_WINDOWS": "yes"})); err == nil || !strings.Contains(err.Error(), "NETAUTO_CHANGE_WINDOWS") {
		t.Fatalf("bad value: %v", err)
	}
}
