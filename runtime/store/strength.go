package store

import (
	"fmt"
	"math"
	"strings"
)

// A configuration copied from an example (.env.example's "change-me"
// values) or typed by hand ("secret", "aaaa…") protects nothing; a
// process refuses to start with one rather than run with it.

// placeholders are fragments of the values examples ship with.
var placeholders = []string{"change-me", "changeme", "change_me", "replace-me", "replaceme", "replace_me", "placeholder", "your-secret", "your_secret", "xxxxxxxx"}

// weakValues are whole values that are no secret.
var weakValues = []string{"secret", "password", "passw0rd", "admin", "test", "changeit", "default", "token", "key"}

// minEntropyBits is the least estimated entropy of a secret value: far
// below what a random key has, far above what a typed word has.
const minEntropyBits = 48

// CheckSecretValue refuses a secret (an API key, a token or webhook
// secret, a key) that is a known placeholder or has too little entropy,
// with an error naming the variable (never the value).
func CheckSecretValue(variable, value string) error {
	v := strings.ToLower(strings.TrimSpace(value))
	for _, p := range placeholders {
		if strings.Contains(v, p) {
			return fmt.Errorf("%s: holds the placeholder %q of an example configuration: set a random value (openssl rand -base64 32)", variable, p)
		}
	}
	for _, w := range weakValues {
		if v == w {
			return fmt.Errorf("%s: %q is no secret: set a random value (openssl rand -base64 32)", variable, w)
		}
	}
	if bits := entropyBits([]byte(value)); bits < minEntropyBits {
		return fmt.Errorf("%s: too little entropy (about %.0f bits, want at least %d): set a random value (openssl rand -base64 32)", variable, bits, minEntropyBits)
	}
	return nil
}

// CheckKeyBytes refuses raw key bytes that are visibly not random (all
// zeros, a repeated pattern), naming the variable.
func CheckKeyBytes(variable string, raw []byte) error {
	distinct := map[byte]bool{}
	for _, b := range raw {
		distinct[b] = true
	}
	if len(distinct) < len(raw)/3 || entropyBits(raw) < 96 {
		return fmt.Errorf("%s: the key's bytes are not random (%d distinct of %d): make one with openssl rand -base64 32", variable, len(distinct), len(raw))
	}
	return nil
}

// entropyBits estimates the entropy of b from its symbols' frequencies
// (Shannon), times its length: a bound that random values reach and
// repetitive ones do not.
func entropyBits(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]int
	for _, c := range b {
		counts[c]++
	}
	h := 0.0
	n := float64(len(b))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h * n
}
