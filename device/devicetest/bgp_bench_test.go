package devicetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// The cost of one read of a summary of 200 sessions on a fake device (the
// configuration is read again and every session evaluated): what each
// post-check poll costs the lab besides SSH.
func BenchmarkBGPSummary(b *testing.B) {
	for _, p := range []string{"arista_eos", "juniper_junos"} {
		b.Run(p, func(b *testing.B) {
			var cfg strings.Builder
			if p == "juniper_junos" {
				cfg.WriteString("protocols {\n    bgp {\n        group peers {\n")
				for i := range 200 {
					fmt.Fprintf(&cfg, "            neighbor 10.1.%d.%d {\n                description \"peer %d\";\n                peer-as %d;\n            }\n", i/250, i%250+1, i, 65000+i)
				}
				cfg.WriteString("        }\n    }\n}\nrouting-options {\n    autonomous-system 65000;\n}\n")
			} else {
				cfg.WriteString("router bgp 65000\n")
				for i := range 200 {
					fmt.Fprintf(&cfg, "   neighbor 10.1.%d.%d remote-as %d\n   neighbor 10.1.%d.%d description peer %d\n", i/250, i%250+1, 65000+i, i/250, i%250+1, i)
				}
			}
			lab, err := Start(context.Background(), []Spec{{Name: "r1", Platform: p, RunningConfig: cfg.String(), BGP: &BGP{}}})
			if err != nil {
				b.Fatal(err)
			}
			defer lab.Close()
			d := lab.Device("r1")
			cmd := BGPSummaryCommands(p)[0]
			if p == "arista_eos" {
				cmd = "show ip bgp summary"
			}
			b.ReportAllocs()
			for b.Loop() {
				d.mu.Lock()
				out, ok, _ := d.bgpSummaryLocked(cmd)
				d.mu.Unlock()
				if !ok || strings.Count(out, "\n") < 200 {
					b.Fatalf("summary:\n%s", out)
				}
			}
		})
	}
}
