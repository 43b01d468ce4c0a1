package api_test

import (
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
)

// FuzzParseKeys: whatever NETAUTO_API_KEYS holds, ParseKeys returns a
// key set or an error, never panics, and its error never repeats a key.
func FuzzParseKeys(f *testing.F) {
	f.Add("ci:admin:na_Q2hhbmdlZEJ5Q0lKb2JzMTIzNDU2Nzg5")
	f.Add("w:worker@a+b:" + api.HashKey("x"))
	f.Add("na_bare-legacy-key-0123456789abcdef,ro:viewer:na_0123456789abcdefghij")
	f.Add(":::,,:admin:,a:b:c:d")
	f.Fuzz(func(t *testing.T, spec string) {
		ks, _, err := api.ParseKeys(spec)
		if err != nil {
			for entry := range strings.SplitSeq(spec, ",") {
				k := strings.TrimSpace(entry)
				if parts := strings.SplitN(k, ":", 3); len(parts) == 3 {
					k = parts[2]
				}
				if len(k) >= 16 && !strings.HasPrefix(k, "sha256:") && strings.Contains(err.Error(), k) {
					t.Fatalf("error %q repeats a key", err)
				}
			}
			return
		}
		for _, info := range ks.Keys() {
			if !info.Role.Valid() || info.Name == "" {
				t.Fatalf("accepted %+v", info)
			}
		}
	})
}

// BenchmarkKeySetLookup: the cost of authenticating a request with a
// set of 100 keys (one hash, 100 constant-time compares).
func BenchmarkKeySetLookup(b *testing.B) {
	ks := &api.KeySet{}
	var last string
	for i := range 100 {
		k, _ := api.GenerateKey()
		if err := ks.Add(api.KeyInfo{Name: "k" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Role: api.RoleViewer}, k); err != nil {
			b.Fatal(err)
		}
		last = k
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ks.Lookup(last); !ok {
			b.Fatal("not found")
		}
	}
}
