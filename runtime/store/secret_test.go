package store_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
)

func TestSecretNeverPrints(t *testing.T) {
	s := store.NewSecret("hunter2")
	type cfg struct {
		User     string
		Password store.Secret
	}
	c := cfg{User: "admin", Password: s}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "password", s, "cfg", c)
	js, _ := json.Marshal(c)
	for _, out := range []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, c, c, s, s, s), string(js), logged.String(),
	} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "68756e74657232") {
			t.Fatalf("secret shown: %s", out)
		}
	}
	var back cfg
	if err := json.Unmarshal([]byte(`{"User":"a","Password":"from-request"}`), &back); err != nil || back.Password.Reveal() != "from-request" {
		t.Fatalf("decode: %v %q", err, back.Password.Reveal())
	}
	if s.Reveal() != "hunter2" {
		t.Fatal("Reveal lost the value")
	}
}

func Key(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, 32)
	k, err := store.NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	sealed := k.Seal([]byte("pw"), "secret a")
	if bytes.Contains(sealed, []byte("pw")) {
		t.Fatal("plaintext in sealed value")
	}
	if again := k.Seal([]byte("pw"), "secret a"); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one value are equal: nonce reused")
	}
	if got, err := k.Open(sealed, "secret a"); err != nil || string(got) != "pw" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	var de *store.DecryptError
	if _, err := k.Open(sealed, "secret b"); !errors.As(err, &de) {
		t.Fatalf("a value moved to another name decrypted: %v", err)
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.Open(tampered, "secret a"); !errors.As(err, &de) {
		t.Fatalf("tampered value decrypted: %v", err)
	}
	if s := fmt.Sprintf("%v %s %#v", k, k, k); strings.Contains(s, "\x07") || !strings.Contains(s, "******") {
		t.Fatalf("key printed as %q", s)
	}
	for _, bad := range []string{"", "not base64!", base64.StdEncoding.EncodeToString(raw[:16])} {
		if _, err := store.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestKeyFromEnv(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i*37 + 11) // distinct bytes: a weak key is refused (strength_test.go)
	}
	b64 := base64.StdEncoding.EncodeToString(raw)
	t.Setenv(store.EnvSecretKey, "")
	t.Setenv(store.EnvSecretKeyFile, "")
	if k, err := store.KeyFromEnv(); k != nil || err != nil {
		t.Fatalf("no variables: %v %v, want no key and no error", k, err)
	}
	t.Setenv(store.EnvSecretKey, b64)
	if k, err := store.KeyFromEnv(); k == nil || err != nil {
		t.Fatalf("from %s: %v", store.EnvSecretKey, err)
	}
	t.Setenv(store.EnvSecretKey, "short")
	if _, err := store.KeyFromEnv(); err == nil || !strings.Contains(err.Error(), store.EnvSecretKey) {
		t.Fatalf("bad key: %v, want an error naming the variable", err)
	}
	t.Setenv(store.EnvSecretKey, "")
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(b64+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(store.EnvSecretKeyFile, path)
	if k, err := store.KeyFromEnv(); k == nil || err != nil {
		t.Fatalf("from a key file: %v", err)
	}
	t.Setenv(store.EnvSecretKeyFile, path+".missing")
	if _, err := store.KeyFromEnv(); err == nil {
		t.Fatal("missing key file accepted")
	}
}

// FuzzKeyOpen: whatever the stored bytes, Open returns a value or a
// DecryptError, never panics.
func FuzzKeyOpen(f *testing.F) {
	k, err := store.NewKey(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.Seal([]byte("pw"), "w"), "w")
	f.Add([]byte{1}, "w")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, sealed []byte, where string) {
		if _, err := k.Open(sealed, where); err != nil {
			var de *store.DecryptError
			if !errors.As(err, &de) {
				t.Fatalf("Open error %T: %v", err, err)
			}
		}
	})
}
