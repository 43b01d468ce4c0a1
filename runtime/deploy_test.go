package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// deploy prints what changed, old → new, with credentials masked, and
// applies the tag limits over the API.
func TestDeployPrintsDiff(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := api.New(st, api.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	deploy := func(app *runtime.App) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := app.Run(ctx, []string{"deploy", "--api", hs.URL}, &out, &errOut); code != runtime.ExitOK {
			t.Fatalf("deploy: exit %d\n%s\n%s", code, out.String(), errOut.String())
		}
		return out.String()
	}
	app := &runtime.App{
		Flows: []flow.Definition{echo},
		Deployments: []store.Deployment{{Name: "echo-prod", Flow: "echo", Parameters: json.RawMessage(`{"msg":"hi"}`),
			JobVariables: json.RawMessage(`{"env":{"API_TOKEN":"old-pw"}}`)}},
		TagLimits: map[string]int{"device:*": 2},
	}
	if out := deploy(app); !strings.Contains(out, "deployment echo-prod: created") || !strings.Contains(out, "tag limit device:*: 2") {
		t.Fatalf("first deploy:\n%s", out)
	}
	app.Deployments[0].Parameters = json.RawMessage(`{"msg":"hello"}`)
	app.Deployments[0].JobVariables = json.RawMessage(`{"env":{"API_TOKEN":"new-pw"}}`)
	app.Deployments[0].Description = "says hello"
	out := deploy(app)
	for _, want := range []string{
		"deployment echo-prod: updated description, job_variables, parameters",
		`  description: (none) → "says hello"`,
		`  parameters: {"msg":"hi"} → {"msg":"hello"}`,
		`  job_variables: {"env":{"API_TOKEN":"***"}} → {"env":{"API_TOKEN":"***"}}`,
		"tag limit device:*: unchanged",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("second deploy lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "old-pw") || strings.Contains(out, "new-pw") {
		t.Errorf("deploy printed a credential:\n%s", out)
	}
	if limits, err := st.TagLimits(ctx); err != nil || limits["device:*"] != 2 {
		t.Errorf("tag limits %v %v", limits, err)
	}
}
