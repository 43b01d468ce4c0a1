package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
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
	// EnvSecretKeyPrevious holds keys rotated out (comma-separated
	// base64): they open values still sealed with them, never seal.
	EnvSecretKeyPrevious = "NETAUTO_SECRET_KEY_PREVIOUS"
)

// Key encrypts secrets at rest with AES-256-GCM. Every value is sealed
// with a fresh random nonce and bound to where it is stored (the secret's
// or block field's name), so a ciphertext copied to another row does not
// decrypt. Each ciphertext carries the key's ID ([Key.ID]), so that a
// store knows which key opens it while keys are rotated. A Key never
// prints its bytes.
type Key struct {
	aead cipher.AEAD
	id   [4]byte
}

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
	// The ID derives from the key by a one-way hash: it names the key
	// without revealing anything of it.
	sum := sha256.Sum256(append([]byte("netauto secret key id\x00"), raw...))
	return &Key{aead: aead, id: [4]byte(sum[:4])}, nil
}

// ID names the key (8 hex digits), as its ciphertexts and `secrets
// rotate` show it.
func (k *Key) ID() string { return hex.EncodeToString(k.id[:]) }

// KeyFromEnv returns the key in $NETAUTO_SECRET_KEY, else the one in the
// file $NETAUTO_SECRET_KEY_FILE names, else nil (no key) and no error. A
// key that is a known placeholder or has low entropy is refused, naming
// the variable.
func KeyFromEnv() (*Key, error) {
	if v := os.Getenv(EnvSecretKey); v != "" {
		return parseEnvKey(EnvSecretKey, v)
	}
	if path := os.Getenv(EnvSecretKeyFile); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSecretKeyFile, err)
		}
		k, err := parseEnvKey(EnvSecretKeyFile, string(b))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", EnvSecretKeyFile, path, err)
		}
		return k, nil
	}
	return nil, nil
}

// PreviousKeysFromEnv returns the keys in $NETAUTO_SECRET_KEY_PREVIOUS
// (comma-separated, standard base64 each): keys rotated out, which still
// open what was sealed with them (see [Options].PreviousKeys).
func PreviousKeysFromEnv() ([]*Key, error) {
	var out []*Key
	for i, v := range strings.Split(os.Getenv(EnvSecretKeyPrevious), ",") {
		if strings.TrimSpace(v) == "" {
			continue
		}
		k, err := parseEnvKey(fmt.Sprintf("%s[%d]", EnvSecretKeyPrevious, i), v)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

func parseEnvKey(name, v string) (*Key, error) {
	if err := CheckSecretValue(name, v); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("%s: secret key: not standard base64", name)
	}
	if err := CheckKeyBytes(name, raw); err != nil {
		return nil, err
	}
	k, err := NewKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return k, nil
}

// String hides the key.
func (k *Key) String() string { return "store.Key(" + mask + ")" }

// GoString hides the key.
func (k *Key) GoString() string { return k.String() }

// The formats of a sealed value: version 1 (nonce, ciphertext) from
// earlier releases, version 2 adding the key's ID.
const (
	sealV1 = 1
	sealV2 = 2
)

// Seal encrypts plain, bound to where (the value's address in the store).
func (k *Key) Seal(plain []byte, where string) []byte {
	n := k.aead.NonceSize()
	out := make([]byte, 1+len(k.id)+n, 1+len(k.id)+n+len(plain)+k.aead.Overhead())
	out[0] = sealV2
	copy(out[1:], k.id[:])
	nonce := out[1+len(k.id):]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go ≥ 1.24)
	return k.aead.Seal(out, nonce, plain, []byte(where))
}

// Open decrypts what Seal gave for the same where. It returns a
// *[DecryptError] when the key or where do not match or the data was
// altered.
func (k *Key) Open(sealed []byte, where string) ([]byte, error) {
	return Keyring{Current: k}.Open(sealed, where)
}

// SealedKeyID returns the ID of the key a value was sealed with; ok is
// false for a value of the earlier format, which names none.
func SealedKeyID(sealed []byte) (id string, ok bool) {
	if len(sealed) < 5 || sealed[0] != sealV2 {
		return "", false
	}
	return hex.EncodeToString(sealed[1:5]), true
}

// Keyring is the key a store seals with and the keys it opens with:
// Current, and keys rotated out that older ciphertexts may still need.
type Keyring struct {
	Current  *Key
	Previous []*Key
}

// Seal seals with the current key; without one it is a
// *[KeyRequiredError].
func (r Keyring) Seal(plain []byte, where string) ([]byte, error) {
	if r.Current == nil {
		return nil, &KeyRequiredError{}
	}
	return r.Current.Seal(plain, where), nil
}

// Open opens a value sealed with any key of the ring: by its key ID, or,
// for the earlier format, with each key in turn. A value sealed with a
// key the ring lacks is a *[DecryptError] naming that key's ID.
func (r Keyring) Open(sealed []byte, where string) ([]byte, error) {
	keys := make([]*Key, 0, 1+len(r.Previous))
	if r.Current != nil {
		keys = append(keys, r.Current)
	}
	for _, k := range r.Previous {
		if k != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, &KeyRequiredError{}
	}
	if len(sealed) == 0 {
		return nil, &DecryptError{What: where}
	}
	switch sealed[0] {
	case sealV2:
		id, _ := SealedKeyID(sealed)
		for _, k := range keys {
			if k.ID() != id {
				continue
			}
			n := k.aead.NonceSize()
			if len(sealed) < 5+n+k.aead.Overhead() {
				return nil, &DecryptError{What: where, KeyID: id}
			}
			plain, err := k.aead.Open(nil, sealed[5:5+n], sealed[5+n:], []byte(where))
			if err != nil {
				return nil, &DecryptError{What: where, KeyID: id}
			}
			return plain, nil
		}
		return nil, &DecryptError{What: where, KeyID: id, Unknown: true}
	case sealV1:
		for _, k := range keys {
			n := k.aead.NonceSize()
			if len(sealed) < 1+n+k.aead.Overhead() {
				break
			}
			if plain, err := k.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(where)); err == nil {
				return plain, nil
			}
		}
	}
	return nil, &DecryptError{What: where}
}
