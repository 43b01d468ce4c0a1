package device

import (
	"os/exec"
	"strings"
	"testing"
)

// Programs that drive devices without backing them up link no Git
// implementation: go-git belongs to package device/backup.
func TestDeviceLinksNoGit(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/go-git/") {
			t.Errorf("package device links %s", dep)
		}
	}
	if !strings.Contains(string(out), "github.com/scrapli/scrapligo") {
		t.Fatalf("go list -deps output does not look like device's dependencies:\n%s", out)
	}
}
