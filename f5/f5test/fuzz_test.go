package f5test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzValidate feeds arbitrary JSON to every request door's validator and
// to the JSON Patch applier: they must answer, never panic.
func FuzzValidate(f *testing.F) {
	files, _ := filepath.Glob("../testdata/*/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`[{"op":"move","from":"/a/0","path":"/a/-"}]`))
	f.Add([]byte(`{"class":"ADC","schemaVersion":"3.0.0","T":{"class":"Tenant","A":{"class":"Application","x":1}}}`))
	if _, err := loadSchemas(); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if json.Unmarshal(b, &v) != nil {
			return
		}
		for _, doc := range []string{docADC, docAS3, docPatch, docAS3Array, docADCArray, docPerApp, docSettings} {
			if _, err := validate(doc, v); err != nil {
				t.Fatalf("%s: %v", doc, err)
			}
		}
		if ops, ok := v.([]any); ok {
			target := map[string]any{"a": []any{1.0, map[string]any{"b": "c"}}, "T": map[string]any{"class": "Tenant"}}
			for _, op := range ops {
				if m, ok := op.(map[string]any); ok {
					_ = applyPatch(target, m)
				}
			}
		}
	})
}
