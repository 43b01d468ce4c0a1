package infrahubtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

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

// Regenerating an artifact: unchanged content keeps its storage id (and
// sends no event); content the transformation now renders differently
// gets a new one.
func ExampleServer_SetArtifactContent() {
	fake, err := infrahubtest.New(infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	defer fake.Close()
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	arts, err := client.Artifacts(ctx, infrahub.ArtifactFilter{DefinitionName: "startup-config"})
	if err != nil {
		panic(err)
	}
	a := arts[0]
	storageID := func() string {
		now, err := client.Artifacts(ctx, infrahub.ArtifactFilter{DefinitionID: a.Definition.Node.ID, TargetID: a.Object.Node.ID})
		if err != nil {
			panic(err)
		}
		return now[0].StorageID.Value
	}

	if err := client.RegenerateArtifacts(ctx, a.Definition.Node.ID, []string{a.ID}, ""); err != nil {
		panic(err)
	}
	fake.Wait() // generation runs after the answer, as in Infrahub
	fmt.Println("unchanged:", storageID() == a.StorageID.Value)

	fake.SetArtifactContent(a.ID, []byte("hostname renamed\n"))
	if err := client.RegenerateArtifacts(ctx, a.Definition.Node.ID, []string{a.ID}, ""); err != nil {
		panic(err)
	}
	fake.Wait()
	content, err := client.StorageObject(ctx, storageID())
	fmt.Printf("changed: %v %q %v\n", storageID() != a.StorageID.Value, content, err)
	// Output:
	// unchanged: true
	// changed: true "hostname renamed\n" <nil>
}

// Webhook delivery as Infrahub does it: a receiver that fails once gets the
// same event again, with a new webhook-id.
func ExampleServer_Deliveries() {
	var calls atomic.Int32
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	defer receiver.Close()
	fake, err := infrahubtest.New(infrahubtest.Options{})
	if err != nil {
		panic(err)
	}
	defer fake.Close()
	wh := infrahubtest.Webhook{URL: receiver.URL, SharedKey: []byte("shared-key")}
	err = fake.SendEvent(context.Background(), wh, infrahub.EventBranchCreated, "", map[string]any{"branch_name": "b1"})
	ds := fake.Deliveries()
	fmt.Println(err, len(ds), ds[0].Status, ds[1].Status, ds[0].EventID == ds[1].EventID, ds[0].WebhookID != ds[1].WebhookID)
	// Output:
	// <nil> 2 503 200 true true
}
