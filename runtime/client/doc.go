// Package client is the Go client of the netauto API (package
// runtime/api): the CLI, remote workers and `execute` processes use it.
//
// Every method takes a context first and bounds each attempt with
// Options.Timeout. Only idempotent calls are retried (GET, PUT, DELETE,
// record batches, which carry a batch ID, lease renewals, and run
// creation with an idempotency key), on network errors and 429, 502, 503
// and 504 answers, with jittered exponential backoff. An error answer is
// an *[Error] carrying the status, the server's message and the field it
// names:
//
//	run, created, err := c.CreateRun(ctx, "vlan-prod", wire.CreateRun{Parameters: params, IdempotencyKey: changeID})
//	var apiErr *client.Error
//	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnprocessableEntity {
//		fmt.Println("bad parameter", apiErr.Field)
//	}
//
// [Client.FollowLogs] follows a run's logs live over Server-Sent Events,
// reconnecting where it stopped. The package links no server, database or
// schema code.
package client
