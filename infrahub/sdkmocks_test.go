package infrahub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/netauto-dev/netauto/infrahub"
)

func readMock(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/sdk/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveBody answers every request with body, as the real server did for
// the SDK's tests.
func serveBody(t *testing.T, body []byte) *infrahub.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The SDK's response mocks go through the client into its types.
func TestSDKResponseMocksDecode(t *testing.T) {
	ctx := context.Background()

	branches, err := serveBody(t, readMock(t, "mock_branches_list_query__response.json")).Branches(ctx)
	if err != nil || len(branches) != 2 || !branches[0].IsDefault || branches[1].Name != "cr1234" || !branches[1].HasSchemaChanges {
		t.Errorf("branches: %+v %v", branches, err)
	}

	type repo struct {
		ID       string                `json:"id"`
		Typename string                `json:"__typename"`
		Name     infrahub.Attr[string] `json:"name"`
		Location infrahub.Attr[string] `json:"location"`
		Commit   infrahub.Attr[string] `json:"commit"`
	}
	repos, err := infrahub.List[repo](ctx, serveBody(t, readMock(t, "mock_query_repository_page1_1__response.json")), "CoreRepository", infrahub.ListOptions{})
	if err != nil || len(repos) != 2 || repos[1].Name.Value != "infrahub-demo-core" || repos[0].Commit.Value != "aaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("repositories: %+v %v", repos, err)
	}

	ref, err := serveBody(t, readMock(t, "mock_query_mutation_location_create_failed__response1.json")).Create(ctx, "BuiltinLocation", infrahub.Data{"name": infrahub.Value("JFK1")}, infrahub.WriteOptions{})
	if err != nil || ref.ID != "17aec828-9814-ce00-3f20-1a053670f1c8" {
		t.Errorf("create: %+v %v", ref, err)
	}
	_, err = serveBody(t, readMock(t, "mock_query_mutation_location_create_failed__response2.json")).Create(ctx, "BuiltinLocation", infrahub.Data{"name": infrahub.Value("JFK1")}, infrahub.WriteOptions{})
	var gqlErr *infrahub.GraphQLError
	if !errors.As(err, &gqlErr) || gqlErr.Errors[0].Path[0] != "BuiltinLocationCreate" || gqlErr.Errors[0].Locations[0].Line != 2 ||
		gqlErr.Errors[0].Message != "An object already exist with this value: name: JFK1 at name" {
		t.Errorf("failed create: %#v", err)
	}

	var loc struct {
		Node struct {
			Typename    string                `json:"__typename"`
			Name        infrahub.Attr[string] `json:"name"`
			Description infrahub.Attr[string] `json:"description"`
			PrimaryTag  infrahub.Rel          `json:"primary_tag"`
			Tags        infrahub.RelMany      `json:"tags"`
		} `json:"node"`
	}
	if err := json.Unmarshal(readMock(t, "location_data01__data.json"), &loc); err != nil {
		t.Fatal(err)
	}
	if n := loc.Node; n.Name.Value != "DFW" || !n.Description.Null || n.PrimaryTag.Node.DisplayLabel != "red" || len(n.Tags) != 1 || n.Tags[0].Typename != "BuiltinTag" {
		t.Errorf("location: %+v", n)
	}

	var dev struct {
		Node struct {
			Name     infrahub.Attr[string] `json:"name"`
			Site     infrahub.Rel          `json:"site"`
			Tags     infrahub.RelMany      `json:"tags"`
			Platform infrahub.Rel          `json:"platform"`
		} `json:"node"`
	}
	if err := json.Unmarshal(readMock(t, "device_data__data.json"), &dev); err != nil {
		t.Fatal(err)
	}
	if dev.Node.Name.Value != "atl1-edge1" || dev.Node.Site.Node.DisplayLabel != "atl1" || len(dev.Node.Tags) == 0 {
		t.Errorf("device: %+v", dev.Node)
	}

	// The SDK mock omits the node wrapper inside edges; its items are artifacts.
	var arts struct {
		Data struct {
			CoreArtifact struct {
				Edges []infrahub.Artifact `json:"edges"`
			} `json:"CoreArtifact"`
		} `json:"data"`
	}
	if err := json.Unmarshal(readMock(t, "mock_rest_api_artifact_generate__artifact_graphql_response.json"), &arts); err != nil {
		t.Fatal(err)
	}
	if a := arts.Data.CoreArtifact.Edges; len(a) == 0 || a[0].StorageID.Value != "1799fd71-950c-5a85-3041-c515082800ff" || a[0].Object.Node == nil || a[0].Definition.Node == nil {
		t.Errorf("artifact: %+v", a)
	}

	for _, f := range []string{"sdk-schema_01.json", "sdk-schema_ipam.json"} {
		schema, err := serveBody(t, readMock(t, f)).Schema(ctx, "")
		if err != nil || len(schema.Nodes) == 0 || len(schema.Nodes[0].Attributes) == 0 || schema.Nodes[0].Name == "" {
			t.Errorf("%s: %+v %v", f, schema, err)
		}
	}
}
