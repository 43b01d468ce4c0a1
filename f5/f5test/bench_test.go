package f5test

import (
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkValidate measures schema validation (defaults filled in) of the
// simple HTTP application fixture alone.
func BenchmarkValidate(b *testing.B) {
	raw, err := os.ReadFile("../testdata/userguide/example-simple-http-application.json")
	if err != nil {
		b.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		b.Fatal(err)
	}
	if _, err := loadSchemas(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		errs, err := validate(docAS3, v)
		if err != nil || errs != nil {
			b.Fatal(errs, err)
		}
		n++
	}
	if n != b.N {
		b.Fatalf("validated %d times, want %d", n, b.N)
	}
}
