package schema_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// A fake Infrahub that knows the example's kinds.
func ExampleFakeSchemas() {
	fake, err := infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas()})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	if _, err := fake.Create("", schema.KindNetworkDevice, map[string]any{
		"name": "lab-r1", "management_address": "127.0.0.1", "platform": "cisco_iosxe",
	}); err != nil {
		panic(err)
	}
	c, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		panic(err)
	}
	n, err := c.Count(context.Background(), schema.KindNetworkDevice, infrahub.ListOptions{
		Filters: infrahub.Filters{"status__value": "active"},
	})
	fmt.Println(n, err)
	// Output: 1 <nil>
}
