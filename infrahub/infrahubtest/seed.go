package infrahubtest

import _ "embed"

//go:embed seed/demo.yml
var demoSeed []byte

// DemoSeed returns the demo seed data (for Options.Seed): an Arista
// platform and device type, site atl1 with routers atl1-edge1 and
// atl1-edge2 (tag "edge", one interface each) and a "startup-config"
// artifact per router.
func DemoSeed() []byte { return append([]byte(nil), demoSeed...) }
