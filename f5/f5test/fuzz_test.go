package f5test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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
		for _, doc := range []string{docADC, docAS3, docPatch, docAS3Array, docADCArray, docPerApp, docSettings, docRequest} {
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

// FuzzResolvePointer feeds arbitrary AS3 pointers, found at arbitrary
// places of a declaration, to the pointer resolver: it must answer (a
// target or AS3's error), never panic.
func FuzzResolvePointer(f *testing.F) {
	for _, p := range []string{"web_pool", "/T/A/web_pool", "/Common/Shared/p", "@/A/p", "@", "1/x", "99/x", "2", "#", "p#", "/", "//", "/T", "/T/@/p", "@x", "0"} {
		f.Add(p, "/T/A/service/pool")
		f.Add(p, "/T/A/web_pool/monitors/0/use")
	}
	f.Add("x", "/")
	f.Add("x", "")
	root := map[string]any{"class": "ADC",
		"T":      map[string]any{"class": "Tenant", "A": map[string]any{"class": "Application", "web_pool": map[string]any{"class": "Pool"}, "service": map[string]any{"class": "Service_HTTP", "pool": "web_pool"}}},
		"Common": map[string]any{"class": "Tenant", "Shared": map[string]any{"class": "Application", "p": map[string]any{"class": "Pool"}}}}
	f.Fuzz(func(t *testing.T, path, src string) {
		if path == "" || !strings.HasPrefix(src, "/") {
			return // pointerTag.js skips empty pointers; sources are JSON pointers
		}
		target, err := resolvePointer(root, path, src)
		if err == nil && target == nil {
			t.Fatalf("%q from %q: no target and no error", path, src)
		}
	})
}
