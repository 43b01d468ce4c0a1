package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
)

// Cancel every Scheduled run of a deployment in one call: a dry run
// first says which runs it would touch. Nothing is deleted: each run's
// history keeps its Cancelled state with the reason and who asked.
func ExampleClient_BulkRuns() {
	url, stop := startServer()
	defer stop()
	c, err := client.New(url, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	for vlan := range 3 {
		p, _ := json.Marshal(map[string]any{"device": "sw1", "vlan": 10 + vlan})
		if _, _, err := c.CreateRun(ctx, "vlan-prod", wire.CreateRun{Parameters: p}); err != nil {
			log.Fatal(err)
		}
	}
	req := wire.BulkRuns{
		Action: wire.BulkCancel,
		Filter: wire.BulkFilter{Deployment: "vlan-prod", States: []flow.StateType{flow.TypeScheduled}},
		Reason: "change freeze",
		DryRun: true,
	}
	res, err := c.BulkRuns(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("would cancel:", len(res.Changed))
	req.DryRun = false
	if res, err = c.BulkRuns(ctx, req); err != nil {
		log.Fatal(err)
	}
	fmt.Println("cancelled:", len(res.Changed), "skipped:", len(res.Skipped))
	fmt.Println(res.Changed[0].State.Name, "-", res.Changed[0].State.Message)
	// Output:
	// would cancel: 3
	// cancelled: 3 skipped: 0
	// Cancelled - change freeze (cancelled by anonymous, bulk)
}
