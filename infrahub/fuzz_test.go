package infrahub

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func FuzzDecodeEvent(f *testing.F) {
	files, _ := filepath.Glob("testdata/webhooks/wire/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event_type":"infrahub.node.created","data":{"id":"x"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := DecodeEvent(body)
		if err != nil {
			if !errors.Is(err, ErrMalformedEvent) {
				t.Fatalf("error does not wrap ErrMalformedEvent: %v", err)
			}
			return
		}
		if ev.Type == "" || ev.DedupKey() == "" {
			t.Fatalf("decoded event without type or dedup key: %+v", ev)
		}
	})
}

func FuzzParseSignatureHeader(f *testing.F) {
	for _, s := range []string{"v1,5JQxZW3lMNdaSnofcSV0Y3krxQ7aZI7EyThUqHVDGc4=", "v1,AAAA v1a,zz v1,BQN9", "", "v1,", ",,, ", "v1,=== v2,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := parseSignatureHeader(h)
		if err == nil && (len(sigs) == 0 || len(sigs) > maxSignatures) {
			t.Fatalf("accepted %q with %d signatures", h, len(sigs))
		}
	})
}

func FuzzEscapeNonASCII(f *testing.F) {
	f.Add([]byte(`{"note":"Zürich – core 😀"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		out := EscapeNonASCII(body)
		for _, c := range out {
			if c == 0x7f {
				t.Fatalf("DEL left in output of %q", body)
			}
		}
	})
}
