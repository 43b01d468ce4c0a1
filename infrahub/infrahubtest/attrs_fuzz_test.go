package infrahubtest

import (
	"testing"

	"github.com/netauto-dev/netauto/infrahub"
)

// FuzzNormalizeAttr: any string value of any attribute kind gets a value
// or an error, never a panic, and a normalised value is stable (storing it
// again gives the same).
func FuzzNormalizeAttr(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "10.0.0.1/255.255.255.0", "2001:db8::/126", "0011.22aa.bbcc", `["a"]`, `{"a":1}`,
		"2026-11-26T12:00:00Z", "2026-11-26", "10m", "http://x/y", "AS65000", "fe80::1%eth0/64", "1.2.3.4/-1"} {
		f.Add(s)
	}
	kinds := []string{"Text", "Number", "Boolean", "DateTime", "URL", "IPHost", "IPNetwork", "MacAddress", "List", "JSON", "Dropdown"}
	f.Fuzz(func(t *testing.T, s string) {
		for _, kind := range kinds {
			a := &infrahub.AttributeSchema{Name: "x", Kind: kind, Optional: true, Regex: "^[0-9a-f:./]+$",
				Choices: []map[string]any{{"name": s}}}
			v, err := normalizeAttr(a, s)
			if err != nil {
				continue
			}
			again, err := normalizeAttr(a, v)
			if kind == "Dropdown" || kind == "List" || kind == "JSON" {
				continue // the stored form is not a string any more, or choices name the input
			}
			if err != nil || again != v {
				t.Fatalf("%s %q: stored %v, again %v (%v)", kind, s, v, again, err)
			}
			if _, err := attrExtras(a, v); err != nil && kind != "IPNetwork" {
				t.Fatalf("%s %q: extras: %v", kind, s, err)
			}
		}
	})
}
