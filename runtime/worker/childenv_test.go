package worker

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
)

// TestProcessChildEnvironment reproduces the report: a child of the
// process launcher saw the worker's whole environment (webhook key,
// device and F5 passwords, PGPASSWORD). It now gets an allow-list, the
// variables the worker passes on purpose, and the launcher's own.
func TestProcessChildEnvironment(t *testing.T) {
	secrets := map[string]string{
		"NETAUTO_INFRAHUB_WEBHOOK_KEY": "whk-0123456789",
		"NETAUTO_DEVICE_PASSWORD":      "device-pw",
		"NETAUTO_F5_PASSWORD":          "f5-pw",
		"PGPASSWORD":                   "pg-pw",
		"NETAUTO_API_KEYS":             "root:admin:na_0123456789abcdef",
		"AWS_SECRET_ACCESS_KEY":        "aws",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	t.Setenv("NETAUTO_SITE_REGION", "eu-1")
	t.Setenv("LC_TIME", "C")
	out := t.TempDir() + "/env"
	p := &Process{
		PassEnv: []string{"NETAUTO_SITE_*"},
		Command: func(store.FlowRun) ([]string, error) { return []string{"/bin/sh", "-c", "env > " + out}, nil },
		Env: func(context.Context, store.FlowRun) ([]string, error) {
			return []string{"NETAUTO_RUN_TOKEN=nrt1.tok"}, nil
		},
	}
	if err := p.Launch(context.Background(), Job{Run: store.FlowRun{ID: "r1"}, Started: func(string) {}, Fenced: func() bool { return false }}); err != nil {
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Status != 0 {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	env := string(b)
	for k := range secrets {
		if strings.Contains(env, k+"=") {
			t.Errorf("the child's environment holds %s", k)
		}
	}
	for _, want := range []string{"PATH=", "NETAUTO_SITE_REGION=eu-1", "LC_TIME=C", "NETAUTO_RUN_ID=r1", "NETAUTO_RUN_TOKEN=nrt1.tok"} {
		if !strings.Contains(env, want) {
			t.Errorf("the child's environment lacks %s:\n%s", want, env)
		}
	}
}
