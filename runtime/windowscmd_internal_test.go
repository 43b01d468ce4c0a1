package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/window"
)

// TestWindowsCommands: a deployment declares weeknight windows and takes
// its freezes from an environment block; `windows` shows the next
// openings and the freeze, a run created outside waits, and `runs
// override-window` needs a reason and lets it through. The server's and
// store's clock is fixed: Friday 2026-12-18 15:00 Berlin.
func TestWindowsCommands(t *testing.T) {
	ctx := context.Background()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Date(2026, 12, 18, 15, 0, 0, 0, berlin)
	clock := func() time.Time { return now }
	k, err := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{Key: k, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ks, err := api.KeySetFromKeys(opsKey)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(st, api.Options{Keys: ks, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	change := flow.New("change", func(_ context.Context, _ struct{}) (string, error) { return "ok", nil })
	cal := &window.Calendar{Block: "netauto-config-production",
		Windows: []window.Window{{Name: "weeknights", Start: "0 22 * * 1-5", Duration: 4 * time.Hour, Timezone: "Europe/Berlin"}}}
	app := &App{Name: "t", Flows: []flow.Definition{change}, Deployments: []store.Deployment{{Name: "change-prod", Flow: "change", Calendar: cal}, {Name: "report", Flow: "change"}}}
	t.Setenv(EnvAPIKey, opsKey)
	t.Setenv(EnvAPIURL, hs.URL)
	run := func(args ...string) (int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := app.Run(ctx, args, &out, &errOut)
		return code, out.String() + errOut.String()
	}
	if code, out := run("deploy"); code != ExitOK {
		t.Fatalf("deploy: %d %s", code, out)
	}
	// The block is missing: the calendar is unusable, and says so.
	if code, out := run("windows"); code != ExitOK || !strings.Contains(out, `held: calendar.block: block "netauto-config-production" does not exist`) {
		t.Fatalf("windows without the block: %d %s", code, out)
	}
	data, _ := json.Marshal(map[string]any{"environment": "production", store.CalendarMember: window.Calendar{Freezes: []window.Freeze{
		{Name: "year-end", Start: "2026-12-21", End: "2027-01-03", Timezone: "Europe/Berlin", Reason: "holidays"}}}})
	if err := st.SaveBlock(ctx, store.Block{Name: "netauto-config-production", Type: "netauto-config", Data: data}); err != nil {
		t.Fatal(err)
	}
	code, out := run("windows")
	want := `DEPLOYMENT   NOW                          OPENS                 CLOSES                WINDOW
change-prod  outside every change window  2026-12-18T21:00:00Z  2026-12-19T01:00:00Z  weeknights
                                          2027-01-04T21:00:00Z  2027-01-05T01:00:00Z  weeknights
                                          2027-01-05T21:00:00Z  2027-01-06T01:00:00Z  weeknights
freeze year-end of change-prod: 2026-12-20T23:00:00Z to 2027-01-03T23:00:00Z: holidays
`
	if code != ExitOK || out != want {
		t.Fatalf("windows: %d\n%s\nwant\n%s", code, out, want)
	}
	code, out = run("windows", "report", "--json")
	var items []wire.DeploymentWindows
	if code != ExitOK || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 || !items[0].Status.Open || items[0].Calendar != nil {
		t.Fatalf("windows report --json: %d %s", code, out)
	}

	// A run created now waits for tonight's window.
	r, _, err := st.CreateRun(ctx, store.RunSpec{Deployment: "change-prod"})
	if err != nil || r.State.Name != flow.NameAwaitingWindow || !r.ScheduledAt.Equal(time.Date(2026, 12, 18, 21, 0, 0, 0, time.UTC)) {
		t.Fatalf("run: %v %s %s", err, r.State, r.ScheduledAt)
	}
	if code, out := run("runs", "override-window", r.ID); code != ExitUsage || !strings.Contains(out, "--reason: required") {
		t.Fatalf("override without a reason: %d %s", code, out)
	}
	if code, out := run("runs", "override-window", r.ID, "--reason", "fix the outage"); code != ExitOK || !strings.Contains(out, "WindowOverridden: change window overridden by") {
		t.Fatalf("override: %d %s", code, out)
	}
}
