package retry_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/f5"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/task"
)

// The waits a policy makes, retry by retry: Delay is what the engine and
// the clients sleep.
func ExamplePolicy_Delay() {
	p := retry.Policy{Retries: 5, Backoff: retry.Exponential(time.Second, 2, 10*time.Second)}
	for n := 1; p.Allows(n); n++ {
		fmt.Printf("retry %d after %s\n", n, p.Delay(n))
	}
	fmt.Println("retry 6 allowed:", p.Allows(6))
	// Output:
	// retry 1 after 1s
	// retry 2 after 2s
	// retry 3 after 4s
	// retry 4 after 8s
	// retry 5 after 10s
	// retry 6 allowed: false
}

// An invalid policy is refused whole, with the field named.
func ExamplePolicy_Validate() {
	err := retry.Policy{Retries: 3, Backoff: retry.Exponential(time.Second, 0.5, 0)}.Validate()
	var pe *retry.PolicyError
	fmt.Println(err)
	fmt.Println(errors.As(err, &pe) && pe.Field == "Backoff")
	// Output:
	// Backoff: exponential coefficient 0.5 is below 1 (1 waits the same each time)
	// true
}

// A client's Config.Retry: nil for the client's default, the zero Policy
// for one attempt, retry.Forever to retry until the context ends.
func Example_clients() {
	ih, err := infrahub.New(infrahub.Config{
		Address:  "https://infrahub.example.net",
		APIToken: "token",
		Retry:    nil, // infrahub.DefaultRetry
	})
	fmt.Println(ih != nil, err)

	bigip, err := f5.New(f5.Config{
		BaseURL:  "https://192.0.2.10",
		Username: "automation",
		// Wait out AS3's device lock for as long as each call's context
		// allows, every 5 s to 1 min.
		Retry: &retry.Policy{
			Retries: retry.Forever,
			Backoff: retry.Exponential(5*time.Second, 2, time.Minute),
			Jitter:  0.3,
		},
	})
	fmt.Println(bigip != nil, err)

	_, err = f5.New(f5.Config{BaseURL: "https://192.0.2.10", Username: "automation",
		Retry: &retry.Policy{Retries: -1}})
	fmt.Println(err)

	once := &retry.Policy{} // one attempt, no retry
	_, err = infrahub.New(infrahub.Config{Address: "https://infrahub.example.net", APIToken: "token", Retry: once})
	fmt.Println(err)
	// Output:
	// true <nil>
	// true <nil>
	// f5: Config.Retry.Retries: -1 is negative (0 never retries, retry.Forever retries until the context ends)
	// <nil>
}

// Tasks and flows take the same backoffs through their options.
func Example_tasks() {
	var calls int
	ping := task.New("ping", func(ctx context.Context, host string) (string, error) {
		if calls++; calls < 3 {
			return "", errors.New("timeout")
		}
		return host + " answers", nil
	},
		task.WithRetries(3),
		task.WithBackoff(retry.Delays(time.Millisecond, 5*time.Millisecond)),
		task.WithJitter(0.2))
	out, err := ping.Run(flow.WithEngine(context.Background(), &flow.Engine{}), "sw1")
	fmt.Println(out, err, calls)
	// Output:
	// sw1 answers <nil> 3
}
