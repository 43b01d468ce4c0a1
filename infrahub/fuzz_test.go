package infrahub

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
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

func FuzzLiteral(f *testing.F) {
	f.Add("name", "a\"b\\c\n\u2028é")
	f.Fuzz(func(t *testing.T, key, value string) {
		lit, err := literal(map[string]any{key: value, "list": []string{value}})
		if err != nil {
			if validName(key) {
				t.Fatalf("valid key %q rejected: %v", key, err)
			}
			return
		}
		if !validName(key) {
			t.Fatalf("invalid key %q accepted: %s", key, lit)
		}
		// The literal parses as GraphQL and carries the string unchanged.
		doc, perr := parser.ParseQuery(&ast.Source{Input: "query { f(a: " + lit + ") }"})
		if perr != nil {
			if !utf8.ValidString(value) {
				return // invalid UTF-8 cannot be sent as GraphQL text
			}
			t.Fatalf("literal %s does not parse: %v", lit, perr)
		}
		obj := doc.Operations[0].SelectionSet[0].(*ast.Field).Arguments[0].Value
		got, err := obj.Children.ForName(key).Value(nil)
		if err != nil || utf8.ValidString(value) && got != value {
			t.Fatalf("value %q came back as %q (%v)", value, got, err)
		}
	})
}
