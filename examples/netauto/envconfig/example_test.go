package envconfig_test

import (
	"context"
	"fmt"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/flow"
)

// A flow shows its change and waits when its environment's block requires
// approval; here an approver answers at once.
func ExampleGate() {
	inputs := flow.NewMemoryInputs()
	inputs.OnRequest = func(r flow.InputRequest) {
		fmt.Printf("waiting: %s\n%s", r.Prompt.Text, r.Prompt.Diff)
		go inputs.Answer(context.Background(), r.RunID, r.Key, flow.Responder{Key: "approver", Roles: []string{"approver"}}, flow.Answer{Approved: true})
	}
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Recorder: flow.NewMemoryStore(), Inputs: inputs})
	push := flow.New("push", func(ctx context.Context, env string) (string, error) {
		cfg := envconfig.NetAutoConfig{Environment: env, Approval: envconfig.Approval{Required: env == "production", Roles: []string{"approver"}}}
		if err := envconfig.Gate(ctx, cfg, flow.Prompt{Text: "add vlan 10 to sw1", Diff: "+ vlan 10\n", Devices: []string{"sw1"}}); err != nil {
			return "", err
		}
		return "applied in " + env, nil
	})
	for _, env := range []string{"staging", "production"} {
		out, err := push.Run(ctx, env)
		fmt.Println(out, err)
	}
	// Output:
	// applied in staging <nil>
	// waiting: add vlan 10 to sw1
	// + vlan 10
	// applied in production <nil>
}
