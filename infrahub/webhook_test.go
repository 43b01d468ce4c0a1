package infrahub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

type sigVector struct {
	Name            string `json:"name"`
	SharedKey       string `json:"shared_key"`
	ID              string `json:"webhook-id"`
	Timestamp       string `json:"webhook-timestamp"`
	Body            string `json:"body"`
	BodyFile        string `json:"body_file"`
	WireBody        string `json:"wire_body"`
	Expected        string `json:"expected_signature"`
	OverWire        string `json:"signature_over_wire_body"`
	SignedStringRaw string `json:"signed_string_body"`
}

func loadVectors(t testing.TB) []sigVector {
	t.Helper()
	raw, err := os.ReadFile("testdata/webhooks/signature-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vs []sigVector
	if err := json.Unmarshal(raw, &vs); err != nil {
		t.Fatal(err)
	}
	if len(vs) < 7 {
		t.Fatalf("expected at least 7 vectors, got %d", len(vs))
	}
	return vs
}

// wireBody returns the bytes the vector says were on the wire.
func (v sigVector) wireBody(t testing.TB) []byte {
	switch {
	case v.BodyFile != "":
		b, err := os.ReadFile(filepath.Join("testdata/webhooks", v.BodyFile))
		if err != nil {
			t.Fatal(err)
		}
		return b
	case v.WireBody != "":
		return []byte(v.WireBody)
	default:
		return []byte(v.Body)
	}
}

func (v sigVector) header(sig string) http.Header {
	h := http.Header{}
	h.Set(HeaderWebhookID, v.ID)
	h.Set(HeaderWebhookTimestamp, v.Timestamp)
	h.Set(HeaderWebhookSignature, sig)
	return h
}

func (v sigVector) verifier(t testing.TB, opts ...VerifierOption) *Verifier {
	sec, err := strconv.ParseInt(v.Timestamp, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]VerifierOption{WithClock(func() time.Time { return time.Unix(sec, 0).Add(30 * time.Second) })}, opts...)
	vf, err := NewVerifier([]byte(v.SharedKey), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return vf
}

func TestVerifySignatureVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			body := v.wireBody(t)
			vf := v.verifier(t)
			if err := vf.Verify(v.header(v.Expected), body); err != nil {
				t.Fatalf("vector does not verify: %v", err)
			}
			// Several signatures, the valid one last.
			if err := vf.Verify(v.header("v1,AAAA v1a,xyz "+v.Expected), body); err != nil {
				t.Fatalf("vector with extra signatures does not verify: %v", err)
			}
			// Or as repeated header lines.
			repeated := v.header("v1,AAAA")
			repeated.Add(HeaderWebhookSignature, v.Expected)
			if err := vf.Verify(repeated, body); err != nil {
				t.Fatalf("repeated signature headers do not verify: %v", err)
			}
			// Sign reproduces the expected header from what Infrahub signs.
			ts, _ := strconv.ParseInt(v.Timestamp, 10, 64)
			if got := Sign([]byte(v.SharedKey), v.ID, ts, EscapeNonASCII(body)); got != v.Expected {
				t.Errorf("Sign = %s, want %s", got, v.Expected)
			}

			tampered := []struct {
				name   string
				header http.Header
				body   []byte
			}{
				{"body byte flipped", v.header(v.Expected), flipLast(body)},
				{"other id", withHeader(v.header(v.Expected), HeaderWebhookID, v.ID+"x"), body},
				{"other timestamp", withHeader(v.header(v.Expected), HeaderWebhookTimestamp, strconv.FormatInt(ts+1, 10)), body},
				{"signature bit flipped", v.header(flipSig(t, v.Expected)), body},
				{"wrong version", v.header("v2" + strings.TrimPrefix(v.Expected, "v1")), body},
			}
			for _, tc := range tampered {
				err := vf.Verify(tc.header, tc.body)
				if !errors.Is(err, ErrInvalidSignature) {
					t.Errorf("%s: err = %v, want ErrInvalidSignature", tc.name, err)
				}
			}
			wrongKey, _ := NewVerifier([]byte(v.SharedKey+"x"), WithTolerance(0))
			if err := wrongKey.Verify(v.header(v.Expected), body); !errors.Is(err, ErrInvalidSignature) {
				t.Errorf("wrong key: err = %v", err)
			}
		})
	}
}

func TestVerifyNonASCIIPitfall(t *testing.T) {
	var v sigVector
	for _, x := range loadVectors(t) {
		if x.WireBody != "" {
			v = x
		}
	}
	if v.Name == "" {
		t.Fatal("no non-ASCII vector in fixtures")
	}
	if got := string(EscapeNonASCII([]byte(v.WireBody))); got != v.SignedStringRaw {
		t.Fatalf("EscapeNonASCII = %s\nwant %s", got, v.SignedStringRaw)
	}
	vf := v.verifier(t)
	// A sender that signed the raw bytes also verifies (first attempt).
	if err := vf.Verify(v.header(v.OverWire), []byte(v.WireBody)); err != nil {
		t.Fatalf("signature over wire body: %v", err)
	}
	// The escaped body as sent verifies directly.
	if err := vf.Verify(v.header(v.Expected), []byte(v.SignedStringRaw)); err != nil {
		t.Fatalf("escaped body: %v", err)
	}
}

func TestEscapeNonASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":"plain"}`, `{"a":"plain"}`},
		{`{"a":"é"}`, `{"a":"\u00e9"}`},
		{`{"a":"😀"}`, `{"a":"\ud83d\ude00"}`},
		{"{\"a\":\"\x7f\"}", `{"a":"\u007f"}`},
		{"{\"a\":\"\xff\"}", "{\"a\":\"\xff\"}"},
		{`{"a":"\u00e9"}`, `{"a":"\u00e9"}`},
	}
	for _, tc := range tests {
		if got := string(EscapeNonASCII([]byte(tc.in))); got != tc.want {
			t.Errorf("EscapeNonASCII(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestVerifyTolerance(t *testing.T) {
	key := []byte("k")
	base := time.Unix(1_700_000_000, 0)
	body := []byte(`{}`)
	sig := Sign(key, "msg_1", base.Unix(), body)
	h := http.Header{}
	h.Set(HeaderWebhookID, "msg_1")
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(base.Unix(), 10))
	h.Set(HeaderWebhookSignature, sig)
	tests := []struct {
		name string
		now  time.Time
		tol  time.Duration
		ok   bool
	}{
		{"inside default", base.Add(4 * time.Minute), DefaultTolerance, true},
		{"at edge", base.Add(5 * time.Minute), DefaultTolerance, true},
		{"too old", base.Add(5*time.Minute + time.Second), DefaultTolerance, false},
		{"too far in future", base.Add(-6 * time.Minute), DefaultTolerance, false},
		{"custom wider", base.Add(time.Hour), 2 * time.Hour, true},
		{"disabled", base.Add(1000 * time.Hour), 0, true},
	}
	for _, tc := range tests {
		vf, err := NewVerifier(key, WithTolerance(tc.tol), WithClock(func() time.Time { return tc.now }))
		if err != nil {
			t.Fatal(err)
		}
		err = vf.Verify(h, body)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestVerifyHeaderErrors(t *testing.T) {
	key := []byte("k")
	now := time.Unix(1_700_000_000, 0)
	vf, _ := NewVerifier(key, WithClock(func() time.Time { return now }))
	good := Sign(key, "m", now.Unix(), []byte("{}"))
	tests := []struct{ name, id, ts, sig, want string }{
		{"no id", "", "1700000000", good, "webhook-id is missing"},
		{"no ts", "m", "", good, "webhook-timestamp is missing"},
		{"no sig", "m", "1700000000", "", "webhook-signature is missing"},
		{"bad ts", "m", "yesterday", good, "not a unix time"},
		{"no comma", "m", "1700000000", "v1abc", "without version prefix"},
		{"bad b64", "m", "1700000000", "v1,!!!", "not base64"},
		{"only other versions", "m", "1700000000", "v1a,abc", "no v1 signature"},
		{"too many", "m", "1700000000", strings.Repeat(good+" ", 17), "at most 16"},
	}
	for _, tc := range tests {
		h := http.Header{}
		for k, v := range map[string]string{HeaderWebhookID: tc.id, HeaderWebhookTimestamp: tc.ts, HeaderWebhookSignature: tc.sig} {
			if v != "" {
				h.Set(k, v)
			}
		}
		err := vf.Verify(h, []byte("{}"))
		if !errors.Is(err, ErrInvalidSignature) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalidSignature containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewVerifier(nil); err == nil {
		t.Error("NewVerifier(nil) succeeded")
	}
	if s := fmt.Sprint(vf); strings.Contains(s, "k,") || !strings.Contains(s, "masked") {
		t.Errorf("String() = %q leaks or does not mask the key", s)
	}
}

func flipLast(b []byte) []byte {
	c := bytes.Clone(b)
	// Flip a byte inside the document, not trailing whitespace.
	i := bytes.LastIndexByte(c, '}') - 1
	c[i] ^= 0x01
	return c
}

func flipSig(t testing.TB, sig string) string {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(sig, "v1,"))
	if err != nil {
		t.Fatal(err)
	}
	raw[0] ^= 0x80
	return "v1," + base64.StdEncoding.EncodeToString(raw)
}

func withHeader(h http.Header, k, v string) http.Header {
	h.Set(k, v)
	return h
}

func TestDecodeFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/webhooks/*infrahub.*.json")
	if err != nil || len(files) != 4 {
		t.Fatalf("fixtures: %v %v", files, err)
	}
	wires, _ := filepath.Glob("testdata/webhooks/wire/*.json")
	for _, f := range append(files, wires...) {
		t.Run(f, func(t *testing.T) {
			body, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := DecodeEvent(body)
			if err != nil {
				t.Fatal(err)
			}
			var env map[string]any
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			if ev.ID != env["id"] || ev.Type != env["event"] || ev.AccountID != env["account_id"] {
				t.Errorf("envelope mismatch: %+v", ev)
			}
			if b, _ := env["branch"].(string); ev.Branch != b {
				t.Errorf("branch = %q, want %q", ev.Branch, b)
			}
			want, err := time.Parse("2006-01-02 15:04:05.999999-07:00", env["occured_at"].(string))
			if err != nil || !ev.OccurredAt.Equal(want) {
				t.Errorf("occurred_at = %v, want %v (%v)", ev.OccurredAt, want, err)
			}
			if ev.DedupKey() != ev.ID || ev.Data == nil {
				t.Errorf("dedup key %q, data %T", ev.DedupKey(), ev.Data)
			}
			// The typed payload carries every field of the raw data object.
			var rawData map[string]json.RawMessage
			rd, err := ev.RawData()
			if err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(rd, &rawData)
			typed, _ := json.Marshal(ev.Data)
			var typedMap map[string]json.RawMessage
			_ = json.Unmarshal(typed, &typedMap)
			for k := range rawData {
				if _, ok := typedMap[k]; !ok {
					t.Errorf("data field %q not in %T", k, ev.Data)
				}
			}
		})
	}
}

func TestDecodeTypedPayloads(t *testing.T) {
	read := func(name string) *Event {
		body, err := os.ReadFile("testdata/webhooks/" + name)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := DecodeEvent(body)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	upd := read("docs-infrahub.node.updated.json").Data.(*NodeData)
	role := upd.Changelog.Attributes["role"]
	if upd.Kind != "InfraInterfaceL3" || upd.Action != "updated" || string(role.Value) != `"peering"` ||
		string(role.ValuePrevious) != `"peer"` || role.ValueUpdateStatus != "updated" || len(upd.Fields) != 2 {
		t.Errorf("node.updated decoded as %+v", upd)
	}
	cr := read("docs-infrahub.node.created.json").Data.(*NodeData)
	vis := cr.Changelog.Attributes["name"].Properties["is_visible"]
	if cr.Changelog.DisplayLabel != "Google Fibre" || string(vis.Value) != "true" || vis.ValueType != "Boolean" {
		t.Errorf("node.created decoded as %+v", cr)
	}
	art := read("community-infrahub.artifact.updated.json").Data.(*ArtifactData)
	if art.TargetKind != "NetautoFlexApplication" || art.StorageID != "1849e709-0b06-d7a1-ef5d-c5116547caa7" || art.ChecksumPrevious == "" {
		t.Errorf("artifact decoded as %+v", art)
	}
	br := read("docs-infrahub.branch.created.json")
	if d := br.Data.(*BranchData); d.BranchName != "test" || br.Branch != "" {
		t.Errorf("branch decoded as %+v / %+v", br, d)
	}
}

func TestDecodeEventTypesAndEnvelopes(t *testing.T) {
	raw, err := os.ReadFile("testdata/webhooks/event-types.json")
	if err != nil {
		t.Fatal(err)
	}
	var et struct {
		Events map[string]struct {
			DataFields []string `json:"data_fields"`
		} `json:"events"`
	}
	if err := json.Unmarshal(raw, &et); err != nil {
		t.Fatal(err)
	}
	for name, e := range et.Events {
		data := map[string]any{}
		for _, f := range e.DataFields {
			data[f] = nil
		}
		body, _ := json.Marshal(map[string]any{"id": "i", "event": name, "data": data, "branch": "main", "occured_at": "2025-03-13T16:31:14Z"})
		ev, err := DecodeEvent(body)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ev.Data == nil && !strings.HasPrefix(name, "infrahub.account.") {
			t.Errorf("%s: no typed payload", name)
		}
		if ev.Data != nil {
			typed, _ := json.Marshal(ev.Data)
			for _, f := range e.DataFields {
				if !bytes.Contains(typed, []byte(`"`+f+`"`)) {
					t.Errorf("%s: field %s missing from %T", name, f, ev.Data)
				}
			}
		}
	}

	legacy := []byte(`{"data":{"id":"abc123","kind":"BuiltinTag"},"event_type":"infrahub.node.created","branch":"main"}`)
	ev, err := DecodeEvent(legacy)
	if err != nil || !ev.Legacy || ev.Type != EventNodeCreated || ev.Data != nil || !strings.HasPrefix(ev.DedupKey(), "sha256:") {
		t.Fatalf("legacy: %+v %v", ev, err)
	}
	ev2, _ := DecodeEvent(legacy)
	if ev2.DedupKey() != ev.DedupKey() {
		t.Error("legacy dedup key not stable")
	}

	// Unknown types whose data clashes with typed payload fields still decode.
	for _, body := range []string{
		`{"id":"x","event":"infrahub.custom.thing","data":{"kind":5,"fields":"a"}}`,
		`{"event_type":"infrahub.node.created","data":{"kind":5}}`,
	} {
		ev, err := DecodeEvent([]byte(body))
		if err != nil || ev.Data != nil {
			t.Errorf("%s: %+v %v", body, ev, err)
			continue
		}
		if rd, err := ev.RawData(); err != nil || !strings.Contains(string(rd), `"kind":5`) {
			t.Errorf("%s: RawData = %s, %v", body, rd, err)
		}
	}

	bad := []struct{ name, body, want string }{
		{"not json", `{`, "unexpected end"},
		{"array", `[]`, "cannot unmarshal"},
		{"no event", `{"id":"x","data":{}}`, `"event" is missing`},
		{"no id", `{"event":"infrahub.node.created","data":{}}`, `"id" is missing`},
		{"bad time", `{"id":"x","event":"e","occured_at":"13/03/2025"}`, `"occured_at"`},
		{"bad data", `{"id":"x","event":"infrahub.node.created","data":{"fields":"name"}}`, `field "data"`},
	}
	for _, tc := range bad {
		_, err := DecodeEvent([]byte(tc.body))
		if !errors.Is(err, ErrMalformedEvent) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrMalformedEvent containing %q", tc.name, err, tc.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2025, 3, 13, 16, 31, 14, 566032000, time.UTC)
	for _, s := range []string{"2025-03-13 16:31:14.566032+00:00", "2025-03-13T16:31:14.566032Z", "2025-03-13T18:31:14.566032+02:00"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseTime("2025-03-13"); err == nil {
		t.Error("date only accepted")
	}
}

func TestWebhookHandler(t *testing.T) {
	key := []byte("supersecretkey")
	now := time.Unix(1741883474, 0)
	vf, _ := NewVerifier(key, WithClock(func() time.Time { return now }))
	body, _ := os.ReadFile("testdata/webhooks/wire/docs-infrahub.node.updated.json")
	sign := func(b []byte) http.Header {
		h := http.Header{}
		h.Set(HeaderWebhookID, "msg_1")
		h.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(HeaderWebhookSignature, Sign(key, "msg_1", now.Unix(), EscapeNonASCII(b)))
		return h
	}
	var got []*Event
	h := &WebhookHandler{
		Verifier:     vf,
		MaxBodyBytes: 4096,
		OnEvent: func(_ context.Context, ev *Event) error {
			if ev.Type == "infrahub.refuse" {
				return errors.New("store down")
			}
			got = append(got, ev)
			return nil
		},
	}
	refuse := []byte(`{"id":"r","event":"infrahub.refuse","data":{}}`)
	tests := []struct {
		name   string
		method string
		body   []byte
		header http.Header
		want   int
	}{
		{"ok", http.MethodPost, body, sign(body), http.StatusAccepted},
		{"unsigned", http.MethodPost, body, http.Header{}, http.StatusUnauthorized},
		{"tampered", http.MethodPost, flipLast(body), sign(body), http.StatusUnauthorized},
		{"malformed json", http.MethodPost, []byte(`{"id":`), sign([]byte(`{"id":`)), http.StatusBadRequest},
		{"too large", http.MethodPost, bytes.Repeat([]byte(" "), 4097), sign(bytes.Repeat([]byte(" "), 4097)), http.StatusRequestEntityTooLarge},
		{"get", http.MethodGet, nil, http.Header{}, http.StatusMethodNotAllowed},
		{"callback fails", http.MethodPost, refuse, sign(refuse), http.StatusInternalServerError},
	}
	for _, tc := range tests {
		req := httptest.NewRequest(tc.method, "/webhook", bytes.NewReader(tc.body))
		for k, v := range tc.header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, rec.Code, tc.want, rec.Body)
		}
		if tc.want == http.StatusUnauthorized && strings.Contains(rec.Body.String(), "supersecretkey") {
			t.Errorf("%s: answer leaks the key", tc.name)
		}
	}
	rec := httptest.NewRecorder()
	(&WebhookHandler{}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body)))
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("handler without verifier: %d", rec.Code)
	}
	if len(got) != 1 || got[0].DedupKey() != "67acc7ea-93b1-4175-a69b-801c869aea07" {
		t.Fatalf("events delivered: %+v", got)
	}
}
