package confparse_test

import (
	"testing"

	"github.com/netauto-dev/netauto/device/confparse"
	"github.com/netauto-dev/netauto/device/devicetest"
)

// The recorded configurations of the Oxidized simulations
// (../devicetest/testdata; an external test package, as devicetest uses
// confparse).

func TestParseIOSConfigRecorded(t *testing.T) {
	spec, err := devicetest.LoadSimulation("cisco_iosxe", "../devicetest/testdata/oxidized_ios_C9200L_17.09.04a_simulation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, err := confparse.Parse("cisco_iosxe", spec.RunningConfig)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]confparse.Interface{
		"vlan1":                {Name: "Vlan1", Enabled: false},
		"vlan2":                {Name: "Vlan2", Description: "network management", Enabled: true, IPAddress: "10.42.11.42/24"},
		"gigabitethernet1/0/1": {Name: "GigabitEthernet1/0/1", Description: "oxidized test one", Enabled: true},
	}
	for k, w := range want {
		if got := o.Interfaces[k]; got == nil || *got != w {
			t.Errorf("interface %s = %+v, want %+v", k, got, w)
		}
	}
	if len(o.Neighbors) != 0 {
		t.Errorf("neighbors = %v, want none", o.Neighbors)
	}
}

func TestParseJunosConfigRecorded(t *testing.T) {
	spec, err := devicetest.LoadSimulation("juniper_junos", "../devicetest/testdata/oxidized_junos_srx300_22.4_simulation.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o, err := confparse.Parse("juniper_junos", spec.RunningConfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Interfaces["irb"]; got == nil || got.IPAddress != "192.168.1.1/24" || !got.Enabled {
		t.Errorf("irb = %+v", got)
	}
	// Junos holds the address on the logical unit: "irb.0" is the name a
	// source of truth gives the interface with 192.168.1.1/24.
	if got := o.Interface("irb.0"); got == nil || got.IPAddress != "192.168.1.1/24" || !got.Enabled || got.Name != "irb.0" {
		t.Errorf("irb.0 = %+v", got)
	}
	if len(o.Interfaces) != 18 { // ge-0/0/0..7 and irb, each with unit 0; not the security zones' interfaces
		t.Errorf("interfaces = %d, want 18", len(o.Interfaces))
	}
}
