package infrahubtest_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// A fake Infrahub with the demo data, a 503 injected into the next GraphQL
// request (the client retries it), and a misspelt filter answered with
// Infrahub's errors.
func ExampleNew() {
	fake, err := infrahubtest.New(infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	fake.InjectFault("/graphql", infrahubtest.Fault{Status: 503, Times: 1})
	n, err := client.Count(ctx, "DcimDevice", infrahub.ListOptions{})
	fmt.Println(n, err, fake.Requests("/graphql"))

	_, err = client.Count(ctx, "DcimDevice", infrahub.ListOptions{Filters: infrahub.Filters{"nmae__value": "x"}})
	fmt.Println(err)
	// Output:
	// 2 <nil> 2
	// infrahub graphql DcimDevice: Unknown argument "nmae__value" on field "Query.DcimDevice". Did you mean "name__value", "role__value", "name__values", "role__values", or "status__value"?
}
