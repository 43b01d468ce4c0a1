package infrahub_test

import (
	"context"
	"fmt"

	"github.com/netauto-dev/netauto/infrahub"
)

// Polling the event log instead of receiving webhooks.
func ExamplePoller() {
	srv, client := startDemo()
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	if _, err := client.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("maintenance")}, infrahub.WriteOptions{}); err != nil {
		panic(err)
	}
	poller := &infrahub.Poller{
		Client: client,
		Query:  infrahub.EventQuery{EventTypes: []string{infrahub.EventNodeCreated}},
		OnEvent: func(ctx context.Context, ev *infrahub.Event) error {
			d := ev.Data.(*infrahub.NodeData)
			fmt.Println(ev.Type, d.Kind, d.Fields)
			cancel() // one event is enough for the example
			return nil
		},
	}
	if err := poller.Run(ctx); err != nil {
		panic(err)
	}
	// Output:
	// infrahub.node.created BuiltinTag [name]
}

func ExampleDecodeEvent() {
	body := []byte(`{"data":{"branch_id":"182c6a84","branch_name":"test","sync_with_git":false},"id":"2ece726f","branch":null,"account_id":"182c6918","occured_at":"2025-03-13 16:44:32.321142+00:00","event":"infrahub.branch.created"}`)
	ev, err := infrahub.DecodeEvent(body)
	if err != nil {
		panic(err)
	}
	b := ev.Data.(*infrahub.BranchData)
	fmt.Println(ev.Type, b.BranchName, ev.OccurredAt.Format("2006-01-02T15:04:05Z07:00"), ev.DedupKey())
	// Output:
	// infrahub.branch.created test 2025-03-13T16:44:32Z 2ece726f
}
