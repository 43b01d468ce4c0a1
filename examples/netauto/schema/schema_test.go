package schema_test

import (
	"context"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// Infrahub's naming rules for schema elements (infrahub.core.constants /
// schema definitions): namespaces are one capitalised word, node names are
// CamelCase, attribute and relationship names are snake_case of 3 to 32
// characters.
var (
	namespaceRe = regexp.MustCompile(`^[A-Z][a-z0-9]+$`)
	nodeNameRe  = regexp.MustCompile(`^[A-Z][a-zA-Z0-9]+$`)
	fieldRe     = regexp.MustCompile(`^[a-z0-9_]{3,32}$`)
)

func TestSchemaFollowsInfrahubNamingRules(t *testing.T) {
	var f struct {
		Version string                `yaml:"version"`
		Nodes   []infrahub.NodeSchema `yaml:"nodes"`
	}
	if err := yaml.Unmarshal(schema.YAML(), &f); err != nil {
		t.Fatal(err)
	}
	if f.Version != "1.0" {
		t.Errorf("version = %q, want 1.0", f.Version)
	}
	var kinds []string
	for _, n := range f.Nodes {
		kind := n.Namespace + n.Name
		kinds = append(kinds, kind)
		if !namespaceRe.MatchString(n.Namespace) || !nodeNameRe.MatchString(n.Name) {
			t.Errorf("%s: namespace %q / name %q break Infrahub's naming rules", kind, n.Namespace, n.Name)
		}
		for _, a := range n.Attributes {
			if !fieldRe.MatchString(a.Name) {
				t.Errorf("%s.%s: attribute name breaks Infrahub's naming rules", kind, a.Name)
			}
		}
		for _, r := range n.Relationships {
			if !fieldRe.MatchString(r.Name) {
				t.Errorf("%s.%s: relationship name breaks Infrahub's naming rules", kind, r.Name)
			}
		}
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, schema.Kinds()) {
		t.Errorf("file defines %v, Kinds() says %v", kinds, schema.Kinds())
	}
}

func TestOverlayListsBaseAndSchema(t *testing.T) {
	entries, err := fs.ReadDir(schema.FakeSchemas(), ".")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Contains(names, schema.FileName) || !slices.Contains(names, "base-dcim.yml") || !slices.IsSorted(names) {
		t.Errorf("entries = %v", names)
	}
	b, err := fs.ReadFile(schema.FakeSchemas(), schema.FileName)
	if err != nil || string(b) != string(schema.YAML()) {
		t.Errorf("read %s: %v", schema.FileName, err)
	}
}

type device struct {
	Name              infrahub.Attr[string] `json:"name"`
	ManagementAddress infrahub.Attr[string] `json:"management_address"`
	SSHPort           infrahub.Attr[int]    `json:"ssh_port"`
	Platform          infrahub.Attr[string] `json:"platform"`
	Role              infrahub.Attr[string] `json:"role"`
	Status            infrahub.Attr[string] `json:"status"`
	Serial            infrahub.Attr[string] `json:"serial"`
	OSVersion         infrahub.Attr[string] `json:"os_version"`
	Reachable         infrahub.Attr[bool]   `json:"reachable"`
	Site              infrahub.Rel          `json:"site"`
	Interfaces        struct {
		Edges []struct {
			Node struct {
				Name      infrahub.Attr[string] `json:"name"`
				Enabled   infrahub.Attr[bool]   `json:"enabled"`
				IPAddress infrahub.Attr[string] `json:"ip_address"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"interfaces"`
	BGPNeighbors struct {
		Edges []struct {
			Node struct {
				PeerAddress infrahub.Attr[string] `json:"peer_address"`
				RemoteAS    infrahub.Attr[int64]  `json:"remote_as"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"bgp_neighbors"`
	Artifacts infrahub.RelMany `json:"artifacts"`
}

// The fake Infrahub loads the schema on top of its defaults, serves the
// kinds with Infrahub's GraphQL naming, and enforces what the schema says
// (dropdown choices, mandatory parent).
func TestFakeInfrahubLoadsSchema(t *testing.T) {
	fake, srv := infrahubtest.NewTestServer(t, infrahubtest.Options{Schemas: schema.FakeSchemas()})
	for _, k := range schema.Kinds() {
		if !strings.Contains(fake.GraphQLSchema(), "type "+k+" ") {
			t.Errorf("generated GraphQL schema has no type %s", k)
		}
	}
	mustCreate := func(kind string, data map[string]any) string {
		t.Helper()
		id, err := fake.Create("", kind, data)
		if err != nil {
			t.Fatalf("create %s: %v", kind, err)
		}
		return id
	}
	mustCreate("LocationSite", map[string]any{"name": "Atlanta", "shortname": "atl1"})
	mustCreate(schema.KindNetworkDevice, map[string]any{
		"name": "atl1-edge1", "management_address": "127.0.0.1", "ssh_port": 2222,
		"platform": "arista_eos", "role": "edge", "site": map[string]any{"hfid": []any{"atl1"}},
	})
	mustCreate(schema.KindNetworkInterface, map[string]any{
		"name": "Ethernet1", "ip_address": "10.0.0.0/31", "device": map[string]any{"hfid": []any{"atl1-edge1"}},
	})
	mustCreate(schema.KindNetworkBGPNeighbor, map[string]any{
		"peer_address": "10.0.0.1", "remote_as": 65002, "device": map[string]any{"hfid": []any{"atl1-edge1"}},
	})
	appID := mustCreate(schema.KindNetautoFlexApplication, map[string]any{"name": "shop", "tenant": "Shop", "virtual_address": "192.0.2.10"})
	mustCreate(schema.KindNetautoLTMConfig, map[string]any{"name": "shop-ltm"})
	mustCreate(schema.KindNetautoCertificate, map[string]any{"name": "shop-cert", "common_name": "shop.example.com"})
	mustCreate(schema.KindNetautoRoutingConfig, map[string]any{"name": "atl1-edge1-routing", "local_as": 65001, "device": map[string]any{"hfid": []any{"atl1-edge1"}}})
	mustCreate("CoreArtifactDefinition", map[string]any{"name": "as3", "artifact_name": "as3", "content_type": "application/json"})
	mustCreate("CoreArtifact", map[string]any{
		"name": "as3", "status": "Ready", "content_type": "application/json",
		"object": map[string]any{"id": appID}, "definition": map[string]any{"hfid": []any{"as3"}},
	})

	if _, err := fake.Create("", schema.KindNetworkDevice, map[string]any{"name": "x", "management_address": "h", "platform": "cisco_ios"}); err == nil {
		t.Error("platform outside the dropdown choices was accepted")
	}
	if _, err := fake.Create("", schema.KindNetworkInterface, map[string]any{"name": "Ethernet9"}); err == nil {
		t.Error("interface without its device was accepted")
	}

	ctx := context.Background()
	c, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	devs, err := infrahub.List[device](ctx, c, schema.KindNetworkDevice, infrahub.ListOptions{Filters: infrahub.Filters{"platform__value": "arista_eos"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 {
		t.Fatalf("got %d devices", len(devs))
	}
	d := devs[0]
	if d.Status.Value != "active" || d.SSHPort.Value != 2222 || d.Site.Node == nil || len(d.Interfaces.Edges) != 1 ||
		!d.Interfaces.Edges[0].Node.Enabled.Value || len(d.BGPNeighbors.Edges) != 1 || d.BGPNeighbors.Edges[0].Node.RemoteAS.Value != 65002 {
		t.Errorf("device = %+v", d)
	}
	arts, err := c.Artifacts(ctx, infrahub.ArtifactFilter{TargetID: appID})
	if err != nil || len(arts) != 1 {
		t.Errorf("artifacts of the application: %v, %v", arts, err)
	}
}

func TestChoices(t *testing.T) {
	if got := schema.Choices(schema.KindNetworkDevice, "validation_status"); !slices.Equal(got, []string{"passed", "failed", "error"}) {
		t.Errorf("validation_status choices = %v", got)
	}
	if got := schema.Choices(schema.KindNetworkDevice, "role"); !slices.Contains(got, "edge") || len(got) != 6 {
		t.Errorf("role choices = %v", got)
	}
	if got := schema.Choices(schema.KindNetworkDevice, "name"); got != nil {
		t.Errorf("choices of a Text attribute = %v", got)
	}
	if got := schema.Choices("NoSuchKind", "role"); got != nil {
		t.Errorf("choices of an unknown kind = %v", got)
	}
}
