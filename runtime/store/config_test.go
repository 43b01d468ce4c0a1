package store_test

import (
	"errors"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
)

func TestSaveConfigRefuses(t *testing.T) {
	s := openSQLite(t)
	type listed struct {
		Passwords []store.Secret `json:"passwords"`
	}
	type mapped struct {
		Nested map[string]struct{ P store.Secret } `json:"nested"`
	}
	tests := []struct {
		name  string
		save  func() error
		field string
	}{
		{"secret in a slice", func() error {
			return store.SaveConfig(t.Context(), s, "a", listed{Passwords: []store.Secret{store.NewSecret("x")}})
		}, "passwords"},
		{"secret in a map", func() error { return store.SaveConfig(t.Context(), s, "b", mapped{}) }, "nested"},
		{"not a struct", func() error { return store.SaveConfig(t.Context(), s, "c", 42) }, "config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ie *store.InvalidError
			if err := tc.save(); !errors.As(err, &ie) || ie.Field != tc.field {
				t.Fatalf("err = %v, want *store.InvalidError for %s", err, tc.field)
			}
		})
	}
	if blocks, _ := s.ListBlocks(t.Context()); len(blocks) != 0 {
		t.Fatalf("refused configs were saved: %+v", blocks)
	}
}

func TestLoadConfigStrict(t *testing.T) {
	s := openSQLite(t)
	type v1 struct {
		URL     string `json:"url"`
		Retries int    `json:"retries"`
	}
	type v2 struct {
		URL string `json:"url"`
	}
	if err := store.SaveConfig(t.Context(), s, "cfg", v1{URL: "u", Retries: 3}); err != nil {
		t.Fatal(err)
	}
	if err := store.SaveConfig(t.Context(), s, "default", v2{URL: "d"}); err != nil {
		t.Fatal(err)
	}
	// A field the block has and the type lacks: an error, not the default.
	if got, from, err := store.LoadConfig[v2](t.Context(), s, "cfg", "default"); err == nil {
		t.Fatalf("loaded %+v from %s, want a decoding error", got, from)
	}
}
