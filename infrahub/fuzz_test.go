package infrahub

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
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

// FuzzPythonForm: the rebuilt signed forms never accept what encoding/json
// refuses, keep the decoded value unchanged, and the canonical (compact
// ASCII) form is stable.
func FuzzPythonForm(f *testing.F) {
	files, _ := filepath.Glob("testdata/webhooks/wire/*.json")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"a":"it's \"x\" \u00e9 😀 \ud800 \/","b":[1.5e-07,-0,true,null,{}]}`))
	f.Add([]byte("[\"\xff\x7f\u2028\"]"))
	f.Fuzz(func(t *testing.T, body []byte) {
		compact, err := pythonForm(body, pyCompact)
		if err != nil {
			if !errors.Is(err, errPyForm) {
				t.Fatalf("error does not wrap errPyForm: %v", err)
			}
			if json.Valid(body) && !strings.Contains(err.Error(), "nested") {
				t.Fatalf("valid JSON %q refused: %v", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		for _, c := range compact {
			if c >= utf8.RuneSelf || c < 0x20 {
				t.Fatalf("compact form of %q is not printable ASCII: %q", body, compact)
			}
		}
		var in, out any
		decode := func(b []byte, v *any) {
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			if err := d.Decode(v); err != nil {
				t.Fatalf("decode %q: %v", b, err)
			}
		}
		decode(body, &in)
		decode(compact, &out)
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("compact form of %q changed the value: %q", body, compact)
		}
		again, err := pythonForm(compact, pyCompact)
		if err != nil || !bytes.Equal(again, compact) {
			t.Fatalf("canonical form is not stable: %q -> %q (%v)", compact, again, err)
		}
		if spaced, err := pythonForm(body, pyDumps); err != nil || !json.Valid(spaced) {
			t.Fatalf("spaced form of %q: %q %v", body, spaced, err)
		}
		if repr, err := pythonForm(body, pyRepr); err != nil || !utf8.Valid(repr) {
			t.Fatalf("repr form of %q: %q %v", body, repr, err)
		}
	})
}

// FuzzAnswerError: any answer body becomes an error naming the request;
// only Infrahub's branch message makes a branch not-found error.
func FuzzAnswerError(f *testing.F) {
	f.Add(404, []byte(`{"errors":["Branch: feat-x not found."]}`))
	f.Add(400, []byte(`{"data":null,"errors":[{"message":"Branch: a b not found.","extensions":{"code":400}}]}`))
	f.Add(422, []byte(`{"detail":[{"loc":["body"],"msg":"x"}]}`))
	f.Add(500, []byte(`{"errors":[1,{"message":2},null,"x"]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := answerError("GET", "/api/x", status, body)
		if err == nil || !strings.Contains(err.Error(), "/api/x") {
			t.Fatalf("answer %d %q: %v", status, body, err)
		}
		var nf *NotFoundError
		if errors.As(err, &nf) {
			if nf.Kind != KindBranch || nf.ID == "" || status != 400 && status != 404 || !errors.Is(err, ErrBranchNotFound) {
				t.Fatalf("answer %d %q made %#v", status, body, nf)
			}
		}
	})
}
