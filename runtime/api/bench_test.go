package api_test

import (
	"context"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
)

// BenchmarkCreateRun creates runs through the API over loopback HTTP, on
// SQLite: parameters merged and validated against the flow's schema, and
// the run committed, per request.
func BenchmarkCreateRun(b *testing.B) {
	e := newEnv(b, api.Options{})
	b.ResetTimer()
	for range b.N {
		st, body := e.do("POST", "/api/v1/deployments/vlan-prod/runs", `{"parameters":{"device":"sw1","vlan":10}}`)
		if st != 201 {
			b.Fatalf("create run: %d %s", st, body)
		}
	}
	b.StopTimer()
	n := 0
	for cursor := ""; ; {
		runs, next, err := e.st.ListRuns(context.Background(), store.RunFilter{Limit: 1000, Cursor: cursor})
		if err != nil {
			b.Fatal(err)
		}
		n += len(runs)
		if cursor = next; cursor == "" {
			break
		}
	}
	if n != b.N {
		b.Fatalf("%d runs stored, want %d", n, b.N)
	}
}
