package netsync

import (
	"slices"

	"github.com/netauto-dev/netauto/device/confparse"
)

// observed is a device's state as read over SSH: interfaces and BGP
// neighbours from its running configuration (package device/confparse),
// BGP session states from its BGP summary (when read).
type observed struct {
	*confparse.Config
	// Sessions maps neighbour addresses to their session state
	// ("Established", "Idle", "Active", ...); nil when not read.
	Sessions map[string]string `json:"sessions,omitempty"`
}

// parseConfig reads a running configuration of platform.
func parseConfig(platform, cfg string) (*observed, error) {
	c, err := confparse.Parse(platform, cfg)
	if err != nil {
		return nil, err
	}
	return &observed{Config: c}, nil
}

// bgpSummaryCommands returns the commands that list the sessions of
// neighbors: the IPv4 summary, plus the IPv6 one when an IPv6 neighbour
// is intended.
func bgpSummaryCommands(platform string, neighbors []BGPNeighbor) []string {
	return confparse.SummaryCommands(platform, slices.ContainsFunc(neighbors, func(n BGPNeighbor) bool { return confparse.IsIPv6(n.PeerAddress) }))
}

func canonAddr(s string) string { return confparse.CanonAddr(s) }
