package infrahub

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Webhook headers Infrahub sends with every delivery.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultTolerance is how far a webhook-timestamp may be from the
// verifier's clock, in either direction, before the delivery is rejected.
const DefaultTolerance = 5 * time.Minute

// ErrInvalidSignature is wrapped by every error Verify returns; the webhook
// handler answers it with 401.
var ErrInvalidSignature = errors.New("invalid infrahub webhook signature")

// Verifier checks Infrahub webhook signatures: "v1," followed by the base64
// HMAC-SHA256 of webhook-id + "." + webhook-timestamp + "." + body, keyed
// with the shared key's raw bytes. Its zero value is not usable; create
// one with NewVerifier. A Verifier is safe for concurrent use.
type Verifier struct {
	key       []byte
	tolerance time.Duration
	now       func() time.Time
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithTolerance sets how far the webhook-timestamp may be from the clock
// (default DefaultTolerance). A tolerance of zero or less disables the check.
func WithTolerance(d time.Duration) VerifierOption {
	return func(v *Verifier) { v.tolerance = d }
}

// WithClock replaces time.Now, for tests and for replaying old deliveries.
func WithClock(now func() time.Time) VerifierOption {
	return func(v *Verifier) { v.now = now }
}

// NewVerifier returns a Verifier for the shared key configured on the
// Infrahub webhook. The key is used as raw bytes (unlike Standard Webhooks
// secrets, it is not base64-decoded). It returns an error for an empty key.
func NewVerifier(sharedKey []byte, opts ...VerifierOption) (*Verifier, error) {
	if len(sharedKey) == 0 {
		return nil, errors.New("infrahub webhook verifier: shared key is empty")
	}
	v := &Verifier{key: append([]byte(nil), sharedKey...), tolerance: DefaultTolerance, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// String describes the verifier without revealing the key.
func (v *Verifier) String() string {
	return fmt.Sprintf("infrahub.Verifier{key: <masked>, tolerance: %s}", v.tolerance)
}

// Verify checks the webhook headers against body, the request body exactly
// as received. It accepts several space-separated signatures (any v1 match
// is enough), compares in constant time, and rejects a timestamp outside
// the tolerance. Every error wraps ErrInvalidSignature.
//
// Infrahub does not sign the bytes it sends but a Python serialization of
// the same payload, and that serialization changed between releases, so
// the signature is checked against each text a release signs, rebuilt from
// the body (first match wins, the cheapest first):
//
//   - the body itself: Infrahub 1.2.10 to 1.6.x (signed json.dumps text,
//     byte for byte what httpx 0.27 sent), and ASCII-only bodies of 1.7.5
//     and later;
//   - the body with non-ASCII escaped as \uXXXX ([EscapeNonASCII]):
//     Infrahub 1.7.5 and later (compact JSON signed with ensure_ascii,
//     raw UTF-8 sent by httpx 0.28);
//   - the body re-serialized with ", " and ": " separators and escaped:
//     Infrahub 1.7.0 to 1.7.4, which signed the spaced json.dumps text
//     while httpx 0.28 sent compact JSON;
//   - the Python repr of the body's dict: Infrahub 1.0 to 1.2.9, which
//     signed str(payload) (the 1.0/1.1 {event_type, data} envelope
//     included).
//
// Bodies that differ from a signed one only in JSON whitespace or string
// escaping therefore verify too; deduplicate on [Event.DedupKey], which is
// the same for all of them.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id := h.Get(HeaderWebhookID)
	ts := h.Get(HeaderWebhookTimestamp)
	// Several signatures may also arrive as repeated header lines.
	sigHeader := strings.Join(h.Values(HeaderWebhookSignature), " ")
	switch {
	case id == "":
		return fmt.Errorf("%w: header %s is missing", ErrInvalidSignature, HeaderWebhookID)
	case ts == "":
		return fmt.Errorf("%w: header %s is missing", ErrInvalidSignature, HeaderWebhookTimestamp)
	case sigHeader == "":
		return fmt.Errorf("%w: header %s is missing", ErrInvalidSignature, HeaderWebhookSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: header %s is not a unix time", ErrInvalidSignature, HeaderWebhookTimestamp)
	}
	if v.tolerance > 0 {
		skew := v.now().Sub(time.Unix(sec, 0))
		if skew > v.tolerance || skew < -v.tolerance {
			return fmt.Errorf("%w: timestamp %s is outside the %s tolerance", ErrInvalidSignature, ts, v.tolerance)
		}
	}
	sigs, err := parseSignatureHeader(sigHeader)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidSignature, err)
	}
	if matchAny(sigs, v.mac(id, ts, body)) {
		return nil
	}
	// Origins of each signed form: see the comment at the top of pyform.go.
	if escaped, changed := escapeNonASCII(body); changed && matchAny(sigs, v.mac(id, ts, escaped)) {
		return nil
	}
	if spaced, err := pythonForm(body, pyDumps); err == nil && !bytes.Equal(spaced, body) && matchAny(sigs, v.mac(id, ts, spaced)) {
		return nil
	}
	if repr, err := pythonForm(body, pyRepr); err == nil && matchAny(sigs, v.mac(id, ts, repr)) {
		return nil
	}
	return fmt.Errorf("%w: no signature matches", ErrInvalidSignature)
}

func (v *Verifier) mac(id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

func matchAny(sigs [][]byte, want []byte) bool {
	ok := false
	for _, s := range sigs {
		// hmac.Equal is constant time; keep looping so timing does not
		// reveal which signature matched.
		if hmac.Equal(s, want) {
			ok = true
		}
	}
	return ok
}

// Sign returns the webhook-signature header value Infrahub sends for a
// delivery: "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." +
// signedBody)). Infrahub signs the ASCII-escaped JSON (see EscapeNonASCII).
func Sign(sharedKey []byte, id string, timestamp int64, signedBody []byte) string {
	v := Verifier{key: sharedKey}
	return "v1," + base64.StdEncoding.EncodeToString(v.mac(id, strconv.FormatInt(timestamp, 10), signedBody))
}

// maxSignatures bounds the work one header can cause.
const maxSignatures = 16

// parseSignatureHeader returns the decoded v1 signatures of a
// webhook-signature header ("v1,<b64> v1,<b64>"). Entries of other versions
// are skipped; a header with no v1 entry, a malformed entry or too many
// entries is an error.
func parseSignatureHeader(h string) ([][]byte, error) {
	fields := strings.Fields(h)
	if len(fields) > maxSignatures {
		return nil, fmt.Errorf("header %s has %d signatures, at most %d allowed", HeaderWebhookSignature, len(fields), maxSignatures)
	}
	var sigs [][]byte
	for _, f := range fields {
		version, sig, ok := strings.Cut(f, ",")
		if !ok {
			return nil, fmt.Errorf("header %s: entry without version prefix", HeaderWebhookSignature)
		}
		if version != "v1" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			return nil, fmt.Errorf("header %s: signature is not base64", HeaderWebhookSignature)
		}
		sigs = append(sigs, raw)
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("header %s has no v1 signature", HeaderWebhookSignature)
	}
	return sigs, nil
}

// EscapeNonASCII rewrites a JSON document the way Python's json.dumps with
// ensure_ascii=True differs from ensure_ascii=False: every character outside
// printable ASCII that is not already escaped (non-ASCII and DEL) becomes
// \uXXXX with lower-case hex, using surrogate pairs above U+FFFF. Infrahub
// signs this form. Invalid UTF-8 bytes are left as they are.
func EscapeNonASCII(body []byte) []byte {
	out, _ := escapeNonASCII(body)
	return out
}

func escapeNonASCII(body []byte) ([]byte, bool) {
	i := 0
	for i < len(body) && body[i] < utf8.RuneSelf && body[i] != 0x7f {
		i++
	}
	if i == len(body) {
		return body, false
	}
	const hexdigits = "0123456789abcdef"
	out := make([]byte, 0, len(body)+len(body)/4)
	out = append(out, body[:i]...)
	esc := func(r rune) {
		out = append(out, '\\', 'u', hexdigits[r>>12&0xf], hexdigits[r>>8&0xf], hexdigits[r>>4&0xf], hexdigits[r&0xf])
	}
	for i < len(body) {
		c := body[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				esc(rune(c))
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, c)
		case r > 0xffff:
			r -= 0x10000
			esc(0xd800 + (r>>10)&0x3ff)
			esc(0xdc00 + r&0x3ff)
		default:
			esc(r)
		}
		i += size
	}
	return out, true
}
