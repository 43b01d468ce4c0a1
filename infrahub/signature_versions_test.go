package infrahub

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// versionVector is one entry of testdata/webhooks/versions/version-vectors.json,
// made by gen.py next to it with the serialization calls of each Infrahub
// release (opsmill/infrahub backend/infrahub/webhook/models.py) and of the
// httpx version it shipped.
type versionVector struct {
	Name      string `json:"name"`
	Release   string `json:"release"`
	SharedKey string `json:"shared_key"`
	ID        string `json:"webhook-id"`
	Timestamp string `json:"webhook-timestamp"`
	Wire      string `json:"wire_body"`
	Signed    string `json:"signed_text"`
	Expected  string `json:"expected_signature"`
}

func loadVersionVectors(t testing.TB) []versionVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/webhooks/versions/version-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []versionVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	releases := map[string]int{}
	for _, v := range vs {
		releases[v.Release]++
	}
	if len(releases) != 4 || len(vs) < 13 {
		t.Fatalf("want vectors of 4 signing schemes, got %v", releases)
	}
	return vs
}

// styleOf is the form a release signed, as rebuilt from its wire body.
var styleOf = map[string]pyStyle{"1.0-1.2.9": pyRepr, "1.2.10-1.6": pyDumps, "1.7.0-1.7.4": pyDumps, "1.7.5+": pyCompact}

// TestVerifyEveryReleaseSigningScheme checks deliveries of every Infrahub
// release that signs webhooks: the signed text rebuilt from the wire body is
// byte for byte what Infrahub signed, and Verify accepts the delivery.
func TestVerifyEveryReleaseSigningScheme(t *testing.T) {
	for _, v := range loadVersionVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			wire := []byte(v.Wire)
			rebuilt, err := pythonForm(wire, styleOf[v.Release])
			if err != nil {
				t.Fatal(err)
			}
			if string(rebuilt) != v.Signed {
				t.Fatalf("rebuilt signed text differs\n got %s\nwant %s", rebuilt, v.Signed)
			}
			sec, _ := strconv.ParseInt(v.Timestamp, 10, 64)
			vf, err := NewVerifier([]byte(v.SharedKey), WithClock(func() time.Time { return time.Unix(sec, 0) }))
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			h.Set(HeaderWebhookID, v.ID)
			h.Set(HeaderWebhookTimestamp, v.Timestamp)
			h.Set(HeaderWebhookSignature, v.Expected)
			if err := vf.Verify(h, wire); err != nil {
				t.Fatalf("delivery of Infrahub %s does not verify: %v", v.Release, err)
			}
			// The same body changed in one value does not verify in any form.
			tampered := []byte(strings.Replace(v.Wire, "infrahub.", "infrahuc.", 1))
			if string(tampered) == v.Wire {
				t.Fatal("tampering changed nothing")
			}
			if err := vf.Verify(h, tampered); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("tampered body: %v", err)
			}
			// A signature by another key does not verify either.
			other, _ := NewVerifier([]byte(v.SharedKey+"x"), WithTolerance(0))
			if err := other.Verify(h, wire); !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("other key: %v", err)
			}
		})
	}
}

// TestVerifyUpstreamLegacySignatures: the upstream vector's payload signed
// by the two earlier schemes (values from the shared fixtures, computed by
// Infrahub's own code before PR #6432 and before PR #8344) verifies against
// the compact body httpx 0.28 sends.
func TestVerifyUpstreamLegacySignatures(t *testing.T) {
	raw, err := os.ReadFile("testdata/webhooks/signature-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []struct {
		Name      string            `json:"name"`
		SharedKey string            `json:"shared_key"`
		ID        string            `json:"webhook-id"`
		Timestamp string            `json:"webhook-timestamp"`
		Body      string            `json:"body"`
		Legacy    map[string]string `json:"legacy_signatures_for_same_payload"`
	}
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		for scheme, sig := range v.Legacy {
			n++
			vf, _ := NewVerifier([]byte(v.SharedKey), WithTolerance(0))
			h := http.Header{}
			h.Set(HeaderWebhookID, v.ID)
			h.Set(HeaderWebhookTimestamp, v.Timestamp)
			h.Set(HeaderWebhookSignature, sig)
			if err := vf.Verify(h, []byte(v.Body)); err != nil {
				t.Errorf("%s, %s: %v", v.Name, scheme, err)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d legacy signatures in the fixtures, want 2", n)
	}
}

func TestPythonFormStrings(t *testing.T) {
	tests := []struct {
		in                   string
		compact, dumps, repr string
	}{
		{`{"a":1,"b":[true,false,null],"c":{}}`, `{"a":1,"b":[true,false,null],"c":{}}`,
			`{"a": 1, "b": [true, false, null], "c": {}}`, `{'a': 1, 'b': [True, False, None], 'c': {}}`},
		{" { \"a\" :\t[ 1.5e-07 , -0 ] }\n", `{"a":[1.5e-07,-0]}`, `{"a": [1.5e-07, -0]}`, `{'a': [1.5e-07, -0]}`},
		{`["it's", "say \"hi\"", "both ' \""]`, `["it's","say \"hi\"","both ' \""]`,
			`["it's", "say \"hi\"", "both ' \""]`, `["it's", 'say "hi"', 'both \' "']`},
		{`["\u00e9", "é", "\/", "\u0041"]`, `["\u00e9","\u00e9","/","A"]`, `["\u00e9", "\u00e9", "/", "A"]`, `['é', 'é', '/', 'A']`},
		{`["😀", "\ud83d\ude00", "\ud800x"]`, `["\ud83d\ude00","\ud83d\ude00","\ud800x"]`, `["\ud83d\ude00", "\ud83d\ude00", "\ud800x"]`, `['😀', '😀', '\ud800x']`},
		{"[\"\\t\\n\\r\\b\\f\\u0001\x7f\u00a0\u00ad\u2028\\\\\"]", `["\t\n\r\b\f\u0001\u007f\u00a0\u00ad\u2028\\"]`,
			`["\t\n\r\b\f\u0001\u007f\u00a0\u00ad\u2028\\"]`, `['\t\n\r\x08\x0c\x01\x7f\xa0\xad\u2028\\']`},
		{"[\"\xff\"]", `["\ufffd"]`, `["\ufffd"]`, `['�']`},
	}
	for _, tc := range tests {
		for style, want := range map[pyStyle]string{pyCompact: tc.compact, pyDumps: tc.dumps, pyRepr: tc.repr} {
			got, err := pythonForm([]byte(tc.in), style)
			if err != nil || string(got) != want {
				t.Errorf("pythonForm(%q, %d) = %s, %v; want %s", tc.in, style, got, err, want)
			}
		}
	}
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":}`, `[1,]`, `01`, `1.`, `-`, `1e`, `"\x01"`, `"\u12"`, `"\q"`, `tru`, `{} {}`,
		`{1:2}`, `NaN`, strings.Repeat("[", maxPyDepth+1) + strings.Repeat("]", maxPyDepth+1)} {
		if _, err := pythonForm([]byte(bad), pyCompact); !errors.Is(err, errPyForm) {
			t.Errorf("pythonForm(%.40q) accepted: %v", bad, err)
		}
	}
	if _, err := pythonForm([]byte(strings.Repeat("[", maxPyDepth)+strings.Repeat("]", maxPyDepth)), pyRepr); err != nil {
		t.Errorf("nesting at the limit refused: %v", err)
	}
}

// TestLegacyDedupKeyIgnoresEscapingAndWhitespace: a legacy (1.0/1.1)
// delivery and a replay of it in another escaping or spacing verify alike
// (the repr form Infrahub signed is the same for both), so they must share
// a dedup key; a different event must not.
func TestLegacyDedupKeyIgnoresEscapingAndWhitespace(t *testing.T) {
	const (
		raw     = `{"event_type":"infrahub.node.updated","data":{"kind":"InfraDevice","description":"Zürich – core"}}`
		escaped = `{"event_type": "infrahub.node.updated", "data": {"kind": "InfraDevice", "description": "Z\u00fcrich \u2013 core"}}`
		other   = `{"event_type":"infrahub.node.updated","data":{"kind":"InfraDevice","description":"Zurich – core"}}`
	)
	key := []byte("k")
	vf, _ := NewVerifier(key, WithTolerance(0))
	signed, err := pythonForm([]byte(raw), pyRepr)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(HeaderWebhookID, "msg_1")
	h.Set(HeaderWebhookTimestamp, "1700000000")
	h.Set(HeaderWebhookSignature, Sign(key, "msg_1", 1700000000, signed))
	var keys []string
	for _, body := range []string{raw, escaped} {
		if err := vf.Verify(h, []byte(body)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		ev, err := DecodeEvent([]byte(body))
		if err != nil || !ev.Legacy {
			t.Fatalf("%s: %+v %v", body, ev, err)
		}
		keys = append(keys, ev.DedupKey())
	}
	if keys[0] != keys[1] || !strings.HasPrefix(keys[0], "sha256:") {
		t.Fatalf("replay in the other escaping got another key: %v", keys)
	}
	ev, _ := DecodeEvent([]byte(other))
	if ev.DedupKey() == keys[0] {
		t.Fatal("a different event has the same key")
	}
}
