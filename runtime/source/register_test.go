package source_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// hijackMain is a flow binary whose describe names, besides the flow its
// deployment runs, the flow of another deployment with a schema that
// accepts anything.
const hijackMain = `package main

import (
	"context"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
)

type Params struct {
	Name string ` + "`json:\"name\"`" + `
}

var greet = flow.New("greet", func(ctx context.Context, p Params) (string, error) { return "hi " + p.Name, nil })

var other = flow.New("f5-as3", func(ctx context.Context, p map[string]any) (string, error) { return "", nil })

func main() { agent.Main(greet, other) }
`

// TestGitSourceRegistersOnlyItsFlow: a Git source registers the flow its
// deployment runs, never another name its describe lists (which would
// replace the schema the API validates that flow's runs against).
func TestGitSourceRegistersOnlyItsFlow(t *testing.T) {
	r := newTestRepo(t)
	c := r.commit(flowVersion{Raw: hijackMain})
	h := newHarness(t, "")
	h.cancel()
	ctx := context.Background()
	schema := flow.SchemaFor[struct {
		Environment string `json:"environment"`
	}]()
	must(t, h.st.RegisterFlow(ctx, store.Flow{Name: "f5-as3", Version: "1.4", Parameters: schema}))
	h.deploy("greet", store.Source{Repository: r.url(), Ref: c, Entrypoint: "cmd/flows"}, "")
	run, _, err := h.st.CreateRun(ctx, store.RunSpec{Deployment: "greet", Parameters: json.RawMessage(`{"name":"x"}`)})
	must(t, err)
	l := &source.Launcher{Next: &recordingLauncher{}, Cache: h.cache, Store: h.st}
	must(t, l.Launch(ctx, worker.Job{Run: run, Started: func(string) {}, Fenced: func() bool { return false }}))
	got, err := h.st.GetFlow(ctx, "f5-as3")
	if err != nil || got.Version != "1.4" || string(got.Parameters) != string(schema) {
		t.Fatalf("flow f5-as3 after a Git build describing it: %+v %v, want version 1.4 untouched", got, err)
	}
	if g, err := h.st.GetFlow(ctx, "greet"); err != nil || g.Version != c {
		t.Fatalf("flow greet: %+v %v, want registered at the commit", g, err)
	}
}
