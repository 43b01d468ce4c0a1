package agent

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// Without NETAUTO_RUN, execute reads its claimed run over the API with
// its run token.
func TestExecuteReadsRunWithItsToken(t *testing.T) {
	t.Setenv(EnvRun, "")
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ks, _ := api.KeySetFromKeys("na_admin-key-0123456789abcdef")
	srv, err := api.New(st, api.Options{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if err := st.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	created, _, err := st.CreateRun(ctx, store.RunSpec{Flow: "f", Pool: "p", Parameters: []byte(`{"a":1}`), State: flow.Scheduled(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	claimed, ok, err := st.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w1", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok || claimed.ID != created.ID {
		t.Fatalf("claim %v %v", ok, err)
	}
	tok, _, err := srv.MintRunToken(ctx, store.FenceOf(claimed), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(hs.URL, client.Options{Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	run, err := claimedRun(ctx, c, claimed.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != claimed.ID || run.Attempt != 1 || run.Worker != "w1" || string(run.Parameters) != `{"a":1}` {
		t.Fatalf("run read with the token: %+v", run)
	}
}
