package agent_test

import (
	"context"
	"os"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
)

// A flow binary built from a Git source is a main package calling
// agent.Main with its flows; `describe` prints what the worker registers.
func Example() {
	hello := flow.New("hello", func(ctx context.Context, p struct {
		Name string `json:"name"`
	}) (string, error) {
		return "hello " + p.Name, nil
	})
	// In main: agent.Main(hello). Here, the describe command's output:
	d := agent.Describe(hello)
	os.Stdout.WriteString(d.Flows[0].Name + " " + string(d.Flows[0].Parameters) + "\n")
	// Output:
	// hello {"$schema":"https://json-schema.org/draft/2020-12/schema","additionalProperties":false,"properties":{"name":{"type":"string"}},"required":["name"],"type":"object"}
}
