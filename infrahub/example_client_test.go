package infrahub_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// Device is how a flow describes the part of DcimDevice it reads: Attr
// fields select {value}, Rel and RelMany select the related nodes' id,
// hfid, display_label and __typename.
type Device struct {
	ID          string                `json:"id"`
	Name        infrahub.Attr[string] `json:"name"`
	Description infrahub.Attr[string] `json:"description"`
	Status      infrahub.Attr[string] `json:"status"`
	Platform    infrahub.Rel          `json:"platform"`
	Interfaces  infrahub.RelMany      `json:"interfaces"`
}

// startDemo runs the fake Infrahub with its demo data; real code points
// Config.Address at Infrahub instead.
func startDemo() (*httptest.Server, *infrahub.Client) {
	fake, err := infrahubtest.New(infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(fake)
	client, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		panic(err)
	}
	return srv, client
}

// Reading devices: typed nodes, filters, pages fetched in parallel.
func ExampleList() {
	srv, client := startDemo()
	defer srv.Close()

	devices, err := infrahub.List[Device](context.Background(), client, "DcimDevice", infrahub.ListOptions{
		Filters:  infrahub.Filters{"status__value": "active", "platform__name__value": "eos"},
		PageSize: 50,
		Parallel: 4,
	})
	if err != nil {
		panic(err)
	}
	for _, d := range devices {
		fmt.Printf("%s platform=%s interfaces=%d\n", d.Name.Value, d.Platform.Node.DisplayLabel, len(d.Interfaces))
	}
	// Output:
	// atl1-edge1 platform=eos interfaces=1
	// atl1-edge2 platform=eos interfaces=1
}

// Writing a result back: update an attribute of the node a flow worked on,
// on a branch so that the change can be reviewed and merged.
func ExampleClient_Update() {
	srv, client := startDemo()
	defer srv.Close()
	ctx := context.Background()

	dev, err := infrahub.GetByHFID[Device](ctx, client, "DcimDevice", []string{"atl1-edge1"}, "")
	if err != nil {
		panic(err)
	}
	if _, err := client.CreateBranch(ctx, infrahub.BranchInput{Name: "backup-2026-11-26"}); err != nil {
		panic(err)
	}
	_, err = client.Update(ctx, "DcimDevice", dev.ID, infrahub.Data{
		"description": infrahub.Value("config backed up"),
	}, infrahub.WriteOptions{Branch: "backup-2026-11-26"})
	if err != nil {
		panic(err)
	}
	onBranch, _ := infrahub.Get[Device](ctx, client, "DcimDevice", dev.ID, "backup-2026-11-26")
	onMain, _ := infrahub.Get[Device](ctx, client, "DcimDevice", dev.ID, "")
	fmt.Println("branch:", onBranch.Description.Value)
	fmt.Println("main:  ", onMain.Description.Value)
	// Output:
	// branch: config backed up
	// main:   Edge router 1
}

func ExampleSelectionFor() {
	sel, err := infrahub.SelectionFor[Device]()
	if err != nil {
		panic(err)
	}
	fmt.Println(sel)
	// Output:
	// { id name { value } description { value } status { value } platform { node { id hfid display_label __typename } } interfaces { edges { node { id hfid display_label __typename } } } }
}

func ExampleSelectionFromPaths() {
	sel, err := infrahub.SelectionFromPaths("id", "name.value", "platform.node.name.value")
	if err != nil {
		panic(err)
	}
	fmt.Println(sel)
	// Output:
	// { id name { value } platform { node { name { value } } } }
}
