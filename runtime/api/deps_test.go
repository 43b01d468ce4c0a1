package api_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the API free of launcher implementations: it
// checks job templates through the launchers the runtime registers
// (Options.Launchers), so it links no container engine client, no
// tracing, and no launcher package.
func TestDependencies(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	for _, pkg := range []string{".", "../launch"} {
		out, err := exec.Command(gobin, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range []string{"github.com/moby/", "github.com/docker/", "go.opentelemetry.io/", "/runtime/docker", "/runtime/source", "github.com/go-git/"} {
				if strings.Contains(dep, banned) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
