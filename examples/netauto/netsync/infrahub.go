package netsync

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub"
)

const kindDevice = schema.KindNetworkDevice

// Device is a NetworkDevice as the flows read it from Infrahub, with its
// intended interfaces and BGP neighbours.
type Device struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Address  string `json:"address"`
	Port     int    `json:"port,omitempty"`
	Platform string `json:"platform"`
	Role     string `json:"role,omitempty"`
	Site     string `json:"site,omitempty"`
	// Interfaces and BGPNeighbors are the intended state validation
	// compares with the device's.
	Interfaces   []Interface   `json:"interfaces,omitempty"`
	BGPNeighbors []BGPNeighbor `json:"bgp_neighbors,omitempty"`
}

// Interface is an intended interface (a NetworkInterface).
type Interface struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
	// IPAddress is the address with its prefix length (10.0.0.0/31).
	IPAddress string `json:"ip_address,omitempty"`
	MTU       int    `json:"mtu,omitempty"`
}

// BGPNeighbor is an intended BGP neighbour (a NetworkBGPNeighbor).
type BGPNeighbor struct {
	PeerAddress string `json:"peer_address"`
	RemoteAS    int64  `json:"remote_as"`
	Description string `json:"description,omitempty"`
	Enabled     bool   `json:"enabled"`
}

// deviceNode is the GraphQL shape of a NetworkDevice; the selection is
// derived from it (infrahub.SelectionFor).
type deviceNode struct {
	ID                string                `json:"id"`
	Name              infrahub.Attr[string] `json:"name"`
	ManagementAddress infrahub.Attr[string] `json:"management_address"`
	SSHPort           infrahub.Attr[int]    `json:"ssh_port"`
	Platform          infrahub.Attr[string] `json:"platform"`
	Role              infrahub.Attr[string] `json:"role"`
	Site              struct {
		Node *struct {
			Shortname infrahub.Attr[string] `json:"shortname"`
		} `json:"node"`
	} `json:"site"`
	Interfaces struct {
		Edges []struct {
			Node struct {
				Name        infrahub.Attr[string] `json:"name"`
				Description infrahub.Attr[string] `json:"description"`
				Enabled     infrahub.Attr[bool]   `json:"enabled"`
				IPAddress   infrahub.Attr[string] `json:"ip_address"`
				MTU         infrahub.Attr[int]    `json:"mtu"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"interfaces"`
	BGPNeighbors struct {
		Edges []struct {
			Node struct {
				PeerAddress infrahub.Attr[string] `json:"peer_address"`
				RemoteAS    infrahub.Attr[int64]  `json:"remote_as"`
				Description infrahub.Attr[string] `json:"description"`
				Enabled     infrahub.Attr[bool]   `json:"enabled"`
			} `json:"node"`
		} `json:"edges"`
	} `json:"bgp_neighbors"`
}

func (n deviceNode) device() Device {
	d := Device{
		ID: n.ID, Name: n.Name.Value, Address: n.ManagementAddress.Value, Port: n.SSHPort.Value,
		Platform: n.Platform.Value, Role: n.Role.Value,
	}
	if n.Site.Node != nil {
		d.Site = n.Site.Node.Shortname.Value
	}
	for _, e := range n.Interfaces.Edges {
		i := e.Node
		d.Interfaces = append(d.Interfaces, Interface{
			Name: i.Name.Value, Description: i.Description.Value, Enabled: i.Enabled.Value || i.Enabled.Null,
			IPAddress: i.IPAddress.Value, MTU: i.MTU.Value,
		})
	}
	for _, e := range n.BGPNeighbors.Edges {
		b := e.Node
		d.BGPNeighbors = append(d.BGPNeighbors, BGPNeighbor{
			PeerAddress: b.PeerAddress.Value, RemoteAS: b.RemoteAS.Value, Description: b.Description.Value,
			Enabled: b.Enabled.Value || b.Enabled.Null,
		})
	}
	slices.SortFunc(d.Interfaces, func(a, b Interface) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(d.BGPNeighbors, func(a, b BGPNeighbor) int { return strings.Compare(a.PeerAddress, b.PeerAddress) })
	return d
}

// filters turns a selection into NetworkDevice query filters. Only active
// devices are selected.
func (s selection) filters() infrahub.Filters {
	f := infrahub.Filters{"status__value": "active"}
	if len(s.Names) > 0 {
		f["name__values"] = s.Names
	}
	if len(s.IDs) > 0 {
		f["ids"] = s.IDs
	}
	if s.Role != "" {
		f["role__value"] = s.Role
	}
	if s.Site != "" {
		f["site__shortname__value"] = s.Site
	}
	return f
}

// validatorDevices returns the NetworkDevice ids a validator's checks name:
// the targets of the artifacts its artifact checks (CoreArtifactCheck, the
// checks of a CoreArtifactValidator) are about, a NetautoRoutingConfig
// target standing for its device. Other validators (data, schema, user
// checks) name no device.
func validatorDevices(ctx context.Context, c *infrahub.Client, s selection) ([]string, error) {
	var v struct {
		CoreValidator struct {
			Edges []struct {
				Node struct {
					Checks struct {
						Edges []struct {
							Node struct {
								ArtifactID *infrahub.Attr[string] `json:"artifact_id"`
							} `json:"node"`
						} `json:"edges"`
					} `json:"checks"`
				} `json:"node"`
			} `json:"edges"`
		}
	}
	const q = `query NetautoValidatorChecks($ids: [ID]) {
  CoreValidator(ids: $ids) { edges { node { checks { edges { node { ... on CoreArtifactCheck { artifact_id { value } } } } } } } }
}`
	if err := c.Query(ctx, s.Branch, q, map[string]any{"ids": []string{s.ValidatorID}}, &v); err != nil {
		return nil, fmt.Errorf("read validator %s (%s): %w", s.ValidatorID, s.ValidatorKind, err)
	}
	if len(v.CoreValidator.Edges) == 0 {
		return nil, nil // gone already: nothing it names
	}
	var artifacts []string
	for _, e := range v.CoreValidator.Edges[0].Node.Checks.Edges {
		if a := e.Node.ArtifactID; a != nil && a.Value != "" {
			artifacts = append(artifacts, a.Value)
		}
	}
	if len(artifacts) == 0 {
		return nil, nil
	}
	var a struct {
		CoreArtifact struct {
			Edges []struct {
				Node struct {
					Object struct {
						Node *struct {
							ID       string `json:"id"`
							Typename string `json:"__typename"`
						} `json:"node"`
					} `json:"object"`
				} `json:"node"`
			} `json:"edges"`
		}
	}
	const qa = `query NetautoArtifactTargets($ids: [ID]) {
  CoreArtifact(ids: $ids) { edges { node { object { node { id __typename } } } } }
}`
	if err := c.Query(ctx, s.Branch, qa, map[string]any{"ids": artifacts}, &a); err != nil {
		return nil, fmt.Errorf("read the artifacts of validator %s: %w", s.ValidatorID, err)
	}
	var devices, routing []string
	for _, e := range a.CoreArtifact.Edges {
		switch o := e.Node.Object.Node; {
		case o == nil:
		case o.Typename == kindDevice:
			devices = append(devices, o.ID)
		case o.Typename == schema.KindNetautoRoutingConfig:
			routing = append(routing, o.ID)
		}
	}
	if len(routing) > 0 {
		var r struct {
			NetautoRoutingConfig struct {
				Edges []struct {
					Node struct {
						Device struct {
							Node *struct {
								ID string `json:"id"`
							} `json:"node"`
						} `json:"device"`
					} `json:"node"`
				} `json:"edges"`
			}
		}
		const qr = `query NetautoRoutingDevices($ids: [ID]) {
  NetautoRoutingConfig(ids: $ids) { edges { node { device { node { id } } } } }
}`
		if err := c.Query(ctx, s.Branch, qr, map[string]any{"ids": routing}, &r); err != nil {
			return nil, fmt.Errorf("read the routing configs of validator %s: %w", s.ValidatorID, err)
		}
		for _, e := range r.NetautoRoutingConfig.Edges {
			if d := e.Node.Device.Node; d != nil {
				devices = append(devices, d.ID)
			}
		}
	}
	slices.Sort(devices)
	return slices.Compact(devices), nil
}

// loadDevices reads the selected active NetworkDevices, sorted by name.
// Names asked for that Infrahub does not have (or not as active) are an
// error naming them. A run started by a validator event reads the devices
// the validator names only (none when it names none).
func loadDevices(ctx context.Context, c *infrahub.Client, s selection) ([]Device, error) {
	if s.ValidatorID != "" {
		ids, err := validatorDevices(ctx, c, s)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, nil
		}
		s.IDs = ids
	}
	nodes, err := infrahub.List[deviceNode](ctx, c, kindDevice, infrahub.ListOptions{Branch: s.Branch, Filters: s.filters()})
	if err != nil {
		return nil, fmt.Errorf("read %s nodes: %w", kindDevice, err)
	}
	devs := make([]Device, 0, len(nodes))
	for _, n := range nodes {
		devs = append(devs, n.device())
	}
	slices.SortFunc(devs, func(a, b Device) int { return strings.Compare(a.Name, b.Name) })
	var missing []string
	for _, name := range s.Names {
		if !slices.ContainsFunc(devs, func(d Device) bool { return d.Name == name }) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, &ParamsError{Field: "devices", Msg: fmt.Sprintf("no active %s named %s in Infrahub", kindDevice, strings.Join(missing, ", "))}
	}
	return devs, nil
}

// inventory builds the device inventory: one host per device, grouped by
// role and site ("role:edge", "site:atl1"), with defaults for credentials
// and host keys.
func inventory(devs []Device, defaults device.Params) (*device.Inventory, error) {
	hosts := make([]device.Host, 0, len(devs))
	for _, d := range devs {
		h := device.Host{Name: d.Name, Address: d.Address, Data: map[string]any{"infrahub_id": d.ID}}
		h.Platform, h.Port = d.Platform, d.Port
		if d.Role != "" {
			h.Groups = append(h.Groups, "role:"+d.Role)
			h.Data["role"] = d.Role
		}
		if d.Site != "" {
			h.Groups = append(h.Groups, "site:"+d.Site)
			h.Data["site"] = d.Site
		}
		hosts = append(hosts, h)
	}
	var groups []device.Group
	seen := map[string]bool{}
	for _, h := range hosts {
		for _, g := range h.Groups {
			if !seen[g] {
				seen[g] = true
				groups = append(groups, device.Group{Name: g})
			}
		}
	}
	inv, err := device.NewInventory(hosts, groups, device.Defaults{Params: defaults})
	if err != nil {
		return nil, fmt.Errorf("device inventory: %w", err)
	}
	return inv, nil
}
