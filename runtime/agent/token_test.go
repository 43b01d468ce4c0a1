package agent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// TestExecuteHidesAndRenewsItsToken: the flow's code finds no credential
// in the environment of execute (nor would what it starts), and execute
// renews its short-lived run token while the run's lease is live.
func TestExecuteHidesAndRenewsItsToken(t *testing.T) {
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
	renewed := make(chan struct{})
	var once sync.Once
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/token/renew") {
			once.Do(func() { close(renewed) })
		}
	}))
	defer hs.Close()
	if err := st.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.CreateRun(ctx, store.RunSpec{Flow: "leak", Pool: "p", State: flow.Scheduled(time.Now())}); err != nil {
		t.Fatal(err)
	}
	claimed, ok, err := st.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w1", Lease: time.Minute, Now: time.Now()})
	if err != nil || !ok {
		t.Fatalf("claim %v %v", ok, err)
	}
	// A token of 3s: renewed after half its life (not at once).
	tok, _, err := srv.MintRunToken(ctx, store.FenceOf(claimed), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(claimed)
	t.Setenv(agent.EnvRunToken, tok)
	t.Setenv(agent.EnvAPIKey, "na_admin-key-0123456789abcdef")
	t.Setenv(agent.EnvRun, string(doc))
	leak := flow.New("leak", func(ctx context.Context, _ struct{}) (string, error) {
		select {
		case <-renewed:
		case <-time.After(10 * time.Second):
			return "", flow.NonRetryable(context.DeadlineExceeded)
		}
		return os.Getenv(agent.EnvRunToken) + os.Getenv(agent.EnvAPIKey), nil
	})
	err = agent.Execute(ctx, agent.ExecuteConfig{RunID: claimed.ID, APIURL: hs.URL,
		Lookup: func(string) (flow.Definition, bool) { return leak, true }})
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	res, ok, err := st.RunResult(ctx, claimed.ID)
	if err != nil || !ok {
		t.Fatalf("result: %v %v", ok, err)
	}
	if string(res) != `""` {
		t.Fatalf("the flow read a credential from its environment: %s", res)
	}
}
