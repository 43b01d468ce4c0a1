package routing

import (
	"strings"
	"testing"
)

// Without Junos's set statements a removed neighbour could not be restored:
// the plan refuses rather than push what it cannot undo.
func TestJunosPlanNeedsDisplaySet(t *testing.T) {
	running := "routing-options {\n    autonomous-system 65000;\n}\nprotocols {\n    bgp {\n        group peers {\n            neighbor 10.0.0.1 {\n                peer-as 65001;\n            }\n        }\n    }\n}"
	in := Intent{Device: "srx1", Platform: "juniper_junos", LocalAS: 65000}
	if _, err := NewPlan(in, running, ""); err == nil || !strings.Contains(err.Error(), "display set") {
		t.Fatalf("no set statements: %v", err)
	}
	set := "set routing-options autonomous-system 65000\nset protocols bgp group peers neighbor 10.0.0.1 peer-as 65001\nset protocols bgp group peers neighbor 10.0.0.1 description \"old\""
	p, err := NewPlan(in, running, set)
	if err != nil {
		t.Fatal(err)
	}
	want := "delete protocols bgp group peers neighbor 10.0.0.1"
	undo := p.UndoLines(len(p.Lines()))
	if len(p.Lines()) != 1 || p.Lines()[0] != want || len(undo) != 2 || undo[1] != `set protocols bgp group peers neighbor 10.0.0.1 description "old"` {
		t.Errorf("lines %q undo %q", p.Lines(), undo)
	}
}
