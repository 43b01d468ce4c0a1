package f5

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/netauto-dev/netauto/f5/f5test"
)

// BenchmarkDeclare posts the simple HTTP application fixture synchronously
// to the in-process fake (schema validation included). Two variants
// alternate so that every iteration really changes the tenant.
func BenchmarkDeclare(b *testing.B) {
	srv, c := newPair(b, f5test.Options{})
	raw := readFixture(b, "userguide/example-simple-http-application.json")
	variants := []json.RawMessage{raw, bytes.Replace(raw, []byte("192.0.1.11"), []byte("192.0.1.12"), 1)}
	if bytes.Equal(variants[0], variants[1]) {
		b.Fatal("fixture changed: variant is identical")
	}
	ctx := context.Background()
	opts := &DeclareOptions{Sync: true}
	if _, err := c.Info(ctx); err != nil { // log in outside the timed loop
		b.Fatal(err)
	}
	before := len(srv.Applied())
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		res, err := c.Declare(ctx, variants[i%2], opts)
		if err != nil {
			b.Fatal(err)
		}
		if res.Tenants[0].Outcome() != OutcomeSuccess {
			b.Fatalf("iteration %d: %v", i, res.Tenants[0].Outcome())
		}
	}
	b.StopTimer()
	if got := len(srv.Applied()) - before; got != b.N {
		b.Fatalf("device applied %d declarations, want %d", got, b.N)
	}
}
