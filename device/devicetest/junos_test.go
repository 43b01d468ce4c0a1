package devicetest

import (
	"strings"
	"testing"
	"time"
)

func TestJunosCommit(t *testing.T) {
	base := "## Last commit: 2024-12-06 11:41:05 UTC by root\nversion 22.4;\nsystem {\n    host-name srx1;\n    root-authentication {\n        encrypted-password \"x\"; ## SECRET-DATA\n    }\n}\ninterfaces {\n    ge-0/0/1 {\n        unit 0;\n    }\n}"
	cases := []struct {
		name     string
		stmts    []string
		want     []string
		wantGone []string
	}{
		{"replace single", []string{"set system host-name srx2"}, []string{"    host-name srx2;"}, []string{"host-name srx1"}},
		{"new interface", []string{"set interfaces ge-0/0/9 unit 0 family inet address 10.9.9.9/24"},
			[]string{"    ge-0/0/9 {\n        unit 0 {\n            family inet {\n                address 10.9.9.9/24;\n            }\n        }\n    }"}, nil},
		{"description quoted", []string{`set interfaces ge-0/0/1 description "to core"`}, []string{`        description "to core";`}, nil},
		{"delete container", []string{"delete interfaces ge-0/0/1"}, nil, []string{"ge-0/0/1"}},
		{"delete leaf", []string{"delete system host-name"}, nil, []string{"host-name"}},
		{"comment kept", nil, []string{`encrypted-password "x"; ## SECRET-DATA`}, nil},
		{"deactivate container", []string{"deactivate interfaces ge-0/0/1"}, []string{"    inactive: ge-0/0/1 {"}, nil},
		{"deactivate then activate", []string{"deactivate interfaces ge-0/0/1", "activate interfaces ge-0/0/1"}, []string{"    ge-0/0/1 {"}, []string{"inactive"}},
		{"peer-as replaced", []string{"set protocols bgp group g neighbor 10.0.0.1 peer-as 1", "set protocols bgp group g neighbor 10.0.0.1 peer-as 2"},
			[]string{"            neighbor 10.0.0.1 {\n                peer-as 2;\n            }"}, []string{"peer-as 1;"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := parseJunos(base)
			cfg.commit(c.stmts, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "admin")
			got := cfg.render()
			if !strings.HasPrefix(got, "## Last commit: 2026-01-02 03:04:05 UTC by admin\nversion 22.4;\n") {
				t.Errorf("header:\n%s", got)
			}
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			for _, w := range c.wantGone {
				if strings.Contains(got, w) {
					t.Errorf("%q still in:\n%s", w, got)
				}
			}
		})
	}
	if got := parseJunos(base).render(); got != base {
		t.Errorf("round trip:\n%s\nwant:\n%s", got, base)
	}
}

func TestJunosRoundTripFixture(t *testing.T) {
	spec, err := LoadSimulation("juniper_junos", "testdata/oxidized_junos_srx300_22.4_simulation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := parseJunos(spec.RunningConfig).render(); got != spec.RunningConfig {
		t.Errorf("srx300 configuration does not survive parse and render:\n%s", got)
	}
}
