package retry

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/netauto-dev/netauto/"

// deps lists what pkg links, as go list -deps sees it.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// The retry vocabulary is a leaf: it imports nothing of netauto's, so
// the clients can share it with the engine without linking the engine.
func TestRetryImportsNothingOfOurs(t *testing.T) {
	for _, d := range deps(t, module+"flow/retry") {
		if strings.HasPrefix(d, module) && d != module+"flow/retry" {
			t.Errorf("flow/retry links %s", d)
		}
	}
}

// The Infrahub and F5 clients take retry.Policy and link no part of the
// engine or the runtime.
func TestClientsLinkNoEngine(t *testing.T) {
	for _, client := range []string{"infrahub", "f5"} {
		ds := deps(t, module+client)
		linksRetry := false
		for _, d := range ds {
			switch rel := strings.TrimPrefix(d, module); {
			case rel == "flow/retry":
				linksRetry = true
			case !strings.HasPrefix(d, module):
			case rel == "flow" || strings.HasPrefix(rel, "flow/") || rel == "task" || strings.HasPrefix(rel, "task/") ||
				rel == "runtime" || strings.HasPrefix(rel, "runtime/"):
				t.Errorf("%s links %s", client, d)
			}
		}
		if !linksRetry {
			t.Errorf("%s does not link flow/retry: is this go list output its dependencies?\n%s", client, strings.Join(ds, "\n"))
		}
	}
}
