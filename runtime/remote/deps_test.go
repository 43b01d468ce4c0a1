package remote_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps a flow binary reporting through this package
// small: no database driver, no server, no schema validator.
func TestDependencies(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"database/sql", "modernc.org/", "github.com/jackc/", "github.com/santhosh-tekuri/", "/runtime/api", "/runtime/store/sqlite", "/runtime/store/postgres", "/runtime/store/internal"} {
			if strings.Contains(dep, banned) && !strings.HasSuffix(dep, "/runtime/api/wire") {
				t.Errorf("runtime/remote depends on %s", dep)
			}
		}
	}
}
