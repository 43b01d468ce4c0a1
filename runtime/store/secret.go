package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Secret is a secret string. It never shows its value: String, every fmt
// verb, slog and JSON encoding give "******". [Secret.Reveal] returns the
// value. JSON decoding accepts a plain string, so a request or a config
// file can set one.
type Secret struct{ value string }

// NewSecret returns a Secret holding v.
func NewSecret(v string) Secret { return Secret{value: v} }

const mask = "******"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// String returns a mask.
func (s Secret) String() string { return mask }

// GoString returns a mask.
func (s Secret) GoString() string { return `store.Secret("` + mask + `")` }

// Format prints a mask for every verb.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(mask)) }

// LogValue masks the secret in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(mask) }

// MarshalJSON encodes a mask ("" for an empty secret).
func (s Secret) MarshalJSON() ([]byte, error) {
	if s.value == "" {
		return []byte(`""`), nil
	}
	return []byte(`"` + mask + `"`), nil
}

// UnmarshalJSON accepts a JSON string.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return errors.New("secret: want a JSON string")
	}
	s.value = v
	return nil
}

// The environment variables [KeyFromEnv] reads.
const (
	// EnvSecretKey holds the key, 32 bytes in standard base64.
	EnvSecretKey = "NETAUTO_SECRET_KEY"
	// EnvSecretKeyFile names a file holding the key in base64.
	EnvSecretKeyFile = "NETAUTO_SECRET_KEY_FILE"
)

// Key encrypts secrets at rest with AES-256-GCM. Every value is sealed
// with a fresh random nonce and bound to where it is stored (the secret's
// or block field's name), so a ciphertext copied to another row does not
// decrypt. A Key never prints its bytes.
type Key struct{ aead cipher.AEAD }

// ParseKey decodes a key from standard base64 of 32 bytes.
func ParseKey(b64 string) (*Key, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, errors.New("secret key: not standard base64")
	}
	return NewKey(raw)
}

// NewKey returns a Key for 32 raw bytes.
func NewKey(raw []byte) (*Key, error) {
	if len(raw) != 32 {
		return nil, fmt.Errorf("secret key: %d bytes, want 32", len(raw))
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Key{aead: aead}, nil
}

// KeyFromEnv returns the key in $NETAUTO_SECRET_KEY, else the one in the
// file $NETAUTO_SECRET_KEY_FILE names, else nil (no key) and no error.
func KeyFromEnv() (*Key, error) {
	if v := os.Getenv(EnvSecretKey); v != "" {
		k, err := ParseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSecretKey, err)
		}
		return k, nil
	}
	if path := os.Getenv(EnvSecretKeyFile); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSecretKeyFile, err)
		}
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", EnvSecretKeyFile, path, err)
		}
		return k, nil
	}
	return nil, nil
}

// String hides the key.
func (k *Key) String() string { return "store.Key(" + mask + ")" }

// GoString hides the key.
func (k *Key) GoString() string { return k.String() }

const sealVersion = 1

// Seal encrypts plain, bound to where (the value's address in the store).
func (k *Key) Seal(plain []byte, where string) []byte {
	nonce := make([]byte, k.aead.NonceSize(), 1+k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	out := append([]byte{sealVersion}, nonce...)
	return k.aead.Seal(out, nonce, plain, []byte(where))
}

// Open decrypts what Seal gave for the same where. It returns a
// *[DecryptError] when the key or where do not match or the data was
// altered.
func (k *Key) Open(sealed []byte, where string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < 1+n+k.aead.Overhead() || sealed[0] != sealVersion {
		return nil, &DecryptError{What: where}
	}
	plain, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(where))
	if err != nil {
		return nil, &DecryptError{What: where}
	}
	return plain, nil
}
