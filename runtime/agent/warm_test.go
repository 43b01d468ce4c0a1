package agent

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// TestAwaitRun: a warm child's run comes as one JSON object on its
// input, set in its environment; an input that ends empty is no run, and
// a child not started warm is refused.
func TestAwaitRun(t *testing.T) {
	t.Setenv(EnvSecretEnv, "stdin")
	t.Setenv(EnvRunID, "")
	t.Setenv(EnvRunToken, "")
	if err := AwaitRun(strings.NewReader(`{"NETAUTO_RUN_ID":"r1","NETAUTO_RUN_TOKEN":"nrt1.t"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if os.Getenv(EnvRunID) != "r1" || os.Getenv(EnvRunToken) != "nrt1.t" {
		t.Fatal("the run's variables are not set")
	}
	if _, ok := os.LookupEnv(EnvSecretEnv); ok {
		t.Fatalf("%s still set", EnvSecretEnv)
	}
	if err := AwaitRun(strings.NewReader("")); err == nil {
		t.Fatal("not started warm, yet accepted")
	}
	t.Setenv(EnvSecretEnv, "stdin")
	if err := AwaitRun(strings.NewReader("")); !errors.Is(err, ErrNoRun) {
		t.Fatalf("empty input: %v, want ErrNoRun", err)
	}
	if err := AwaitRun(strings.NewReader(`["nrt1.secret"]`)); err == nil || strings.Contains(err.Error(), "nrt1.secret") {
		t.Fatalf("malformed input: %v", err)
	}
	if _, _, _, err := AwaitAssignment([]string{"run-id"}); err == nil || !strings.Contains(err.Error(), wire.WarmArg) {
		t.Fatalf("--run-id with --warm: %v", err)
	}
}
