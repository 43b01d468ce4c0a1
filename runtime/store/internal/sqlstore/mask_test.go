package sqlstore

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMaskedSpellings: a credential is masked however its member name is
// spelled (camelCase, dashes, HTTP header names), since a deploy prints
// the diff.
func TestMaskedSpellings(t *testing.T) {
	for _, name := range []string{"password", "apiKey", "api-key", "X-Api-Key", "privateKey", "private-key",
		"Authorization", "ssh_passphrase", "clientSecret", "refresh-token", "credentials"} {
		v := json.RawMessage(`{"env":{"` + name + `":"s3cr3t-value"}}`)
		got := string(masked(v))
		if strings.Contains(got, "s3cr3t") {
			t.Errorf("member %q not masked: %s", name, got)
		}
	}
	// Other members stay readable.
	if got := string(masked(json.RawMessage(`{"image":"netauto:1","region":"eu"}`))); got != `{"image":"netauto:1","region":"eu"}` {
		t.Errorf("masked = %s, want it unchanged", got)
	}
}
