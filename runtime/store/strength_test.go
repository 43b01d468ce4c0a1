package store_test

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
)

// TestCheckSecretValue: the example configuration's placeholders and
// low-entropy values are refused, naming the variable and never the
// value; random values pass.
func TestCheckSecretValue(t *testing.T) {
	for _, bad := range []string{
		"change-me-api-key", "change-me-token-secret-at-least-32-bytes-long", "CHANGEME", "secret", "Password",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababababababababab", "1111111111111111",
	} {
		err := store.CheckSecretValue("NETAUTO_TOKEN_SECRET", bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if !strings.HasPrefix(err.Error(), "NETAUTO_TOKEN_SECRET: ") || (len(bad) > 10 && strings.Contains(err.Error(), bad)) {
			t.Errorf("error %q: want the variable named, not the value", err)
		}
	}
	for range 20 {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		v := base64.RawURLEncoding.EncodeToString(b) // 16 characters
		if err := store.CheckSecretValue("K", v); err != nil {
			t.Errorf("random %q refused: %v", v, err)
		}
	}
	for _, ok := range []string{"na_test-admin-key-0123456789abcdef", "shared-secret-of-the-generic-source"} {
		if err := store.CheckSecretValue("K", ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

// TestKeyFromEnvRefusesWeakKeys: a secret key from the environment that
// is a placeholder or visibly not random is refused.
func TestKeyFromEnvRefusesWeakKeys(t *testing.T) {
	for _, v := range []string{
		base64.StdEncoding.EncodeToString(make([]byte, 32)),                 // all zeros
		base64.StdEncoding.EncodeToString([]byte(strings.Repeat("ab", 16))), // a pattern
		"change-me",
	} {
		t.Setenv(store.EnvSecretKey, v)
		if _, err := store.KeyFromEnv(); err == nil || !strings.Contains(err.Error(), store.EnvSecretKey) {
			t.Errorf("key %q: %v, want refused naming %s", v, err, store.EnvSecretKey)
		}
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	t.Setenv(store.EnvSecretKey, base64.StdEncoding.EncodeToString(raw))
	if k, err := store.KeyFromEnv(); err != nil || k == nil || len(k.ID()) != 8 {
		t.Fatalf("random key: %v %v", k, err)
	}
}
