package flow_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/netauto-dev/netauto/flow"
)

// A change waits for a second person's approval, with a ticket number as
// the typed answer; here another goroutine answers through the in-memory
// broker, as the runtime's API does through its store.
func ExampleWaitForInput() {
	inputs := flow.NewMemoryInputs()
	inputs.Creator = func(string) string { return "alice" }
	requests := make(chan flow.InputRequest, 1)
	inputs.OnRequest = func(r flow.InputRequest) { requests <- r }
	ctx := flow.WithEngine(context.Background(), &flow.Engine{Inputs: inputs})

	type approval struct {
		Ticket string `json:"ticket"`
	}
	push := flow.New("push-vlan", func(ctx context.Context, device string) (string, error) {
		a, err := flow.WaitForInput[approval](ctx, flow.Prompt{
			Text:    "add VLAN 10 on " + device,
			Diff:    "+ vlan 10\n+  name users",
			Devices: []string{device},
		}, flow.FourEyes())
		if err != nil {
			return "", err // rejected, timed out or suspended: return it as is
		}
		return "pushed under " + a.Ticket, nil
	})

	go func() {
		r := <-requests
		fmt.Println("asked:", r.Prompt.Text)
		err := inputs.Answer(ctx, r.RunID, r.Key, flow.Responder{Key: "alice"}, flow.Answer{Approved: true})
		fmt.Println("alice:", err != nil)
		_ = inputs.Answer(ctx, r.RunID, r.Key, flow.Responder{Key: "bob"}, flow.Answer{Approved: true, Input: json.RawMessage(`{"ticket":"CHG-7"}`)})
	}()
	out, err := push.Run(ctx, "sw1")
	fmt.Println(out, err)
	// Output:
	// asked: add VLAN 10 on sw1
	// alice: true
	// pushed under CHG-7 <nil>
}
