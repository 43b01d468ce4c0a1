package runtime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// TestSecretsRotate: `secrets rotate` seals the store's secrets again
// under a new key; the old key no longer opens them, the new one does.
func TestSecretsRotate(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "netauto.db")
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	oldKey, _ := store.NewKey(raw)
	t.Setenv(store.EnvSecretKey, base64.StdEncoding.EncodeToString(raw))
	t.Setenv(store.EnvSecretKeyFile, "")
	t.Setenv(store.EnvSecretKeyPrevious, "")
	st, err := sqlite.Open(context.Background(), db, store.Options{Key: oldKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutSecret(context.Background(), "f5-admin", store.NewSecret("pw")); err != nil {
		t.Fatal(err)
	}
	st.Close()

	newFile := filepath.Join(dir, "new.key")
	var out, errOut bytes.Buffer
	app := &runtime.App{Name: "t"}
	if code := app.Run(context.Background(), []string{"secrets", "rotate", "--db", db, "--new-key-file", newFile, "--generate"}, &out, &errOut); code != runtime.ExitOK {
		t.Fatalf("rotate: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "1 secrets, 0 blocks, 0 sensitive results") || !strings.Contains(out.String(), "was "+oldKey.ID()) {
		t.Fatalf("output:\n%s", out.String())
	}
	if fi, err := os.Stat(newFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("new key file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(newFile)
	newKey, err := store.ParseKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(context.Background(), db, store.Options{Key: newKey})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := st.GetSecret(context.Background(), "f5-admin"); err != nil || s.Reveal() != "pw" {
		t.Fatalf("secret under the new key: %v", err)
	}
	st.Close()
	st, _ = sqlite.Open(context.Background(), db, store.Options{Key: oldKey})
	defer st.Close()
	if _, err := st.GetSecret(context.Background(), "f5-admin"); err == nil || !strings.Contains(err.Error(), newKey.ID()) {
		t.Fatalf("old key after rotation: %v, want an error naming the new key's id", err)
	}
	// --generate never overwrites a key.
	if code := app.Run(context.Background(), []string{"secrets", "rotate", "--db", db, "--new-key-file", newFile, "--generate"}, &out, &errOut); code != runtime.ExitUsage {
		t.Fatalf("generate over an existing key file: exit %d", code)
	}
}

// TestServerRefusesPlaceholders: the values of .env.example are refused
// at start, naming the variable.
func TestServerRefusesPlaceholders(t *testing.T) {
	app := &runtime.App{Name: "t"}
	for _, c := range []struct{ name, value, want string }{
		{runtime.EnvAPIKeys, "change-me-api-key", "NETAUTO_API_KEYS"},
		{runtime.EnvAPIKeys, "ci:admin:aaaaaaaaaaaaaaaaaaaaaaaa", "NETAUTO_API_KEYS"},
		{runtime.EnvTokenSecret, "change-me-token-secret-at-least-32-bytes-long", "NETAUTO_TOKEN_SECRET"},
		{store.EnvSecretKey, base64.StdEncoding.EncodeToString(make([]byte, 32)), "NETAUTO_SECRET_KEY"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(runtime.EnvAPIKeys, "")
			t.Setenv(c.name, c.value)
			var out, errOut bytes.Buffer
			code := app.Run(context.Background(), []string{"server", "--db", filepath.Join(t.TempDir(), "db"), "--listen", "127.0.0.1:0"}, &out, &errOut)
			if code != runtime.ExitFailed || !strings.Contains(errOut.String(), c.want) || strings.Contains(errOut.String(), c.value) {
				t.Fatalf("exit %d, stderr %q: want refused naming %s, without the value", code, errOut.String(), c.want)
			}
		})
	}
}
