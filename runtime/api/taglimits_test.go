package api_test

import (
	"context"
	"maps"
	"net/http"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
)

// Tag limits are set and listed over the API, through the Go client, and
// land in the store every worker's limiter reads.
func TestTagLimits(t *testing.T) {
	e := newEnv(t, api.Options{})
	ctx := context.Background()
	c, err := client.New(e.srv.URL, client.Options{Token: adminKey})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.TagLimits(ctx); err != nil || len(got) != 0 {
		t.Fatalf("limits of a new store: %v %v", got, err)
	}
	for tag, n := range map[string]int{"device:*": 1, "f5": 3, "gone": 2} {
		if err := c.SetTagLimit(ctx, tag, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SetTagLimit(ctx, "gone", 0); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"device:*": 1, "f5": 3}
	if got, err := c.TagLimits(ctx); err != nil || !maps.Equal(got, want) {
		t.Fatalf("limits %v %v, want %v", got, err, want)
	}
	if got, err := e.st.TagLimits(ctx); err != nil || !maps.Equal(got, want) {
		t.Fatalf("stored limits %v %v, want %v", got, err, want)
	}
	for _, tc := range []struct{ body, field string }{{`{}`, "limit"}, {`{"limit": -1}`, "limit"}} {
		st, b := e.do("PUT", "/api/v1/tag-limits/x", tc.body)
		if st != http.StatusBadRequest || decodeAs[struct{ Field string }](t, b).Field != tc.field {
			t.Errorf("PUT %s: %d %s, want 400 naming %s", tc.body, st, b, tc.field)
		}
	}
	if st, _ := e.as("").do("GET", "/api/v1/tag-limits", nil); st != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", st)
	}
}
