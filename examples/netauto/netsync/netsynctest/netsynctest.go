// Package netsynctest builds labs for the sync flows: fake SSH devices
// (device/devicetest) whose configuration, facts and BGP sessions match
// the intended state seeded into a fake Infrahub (infrahub/infrahubtest)
// with the netauto schema, so inventory sync, backup and validation pass
// on a fresh lab, and tests or demos break what they want.
//
//	fake, _ := infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas()})
//	lab, err := synctest.Start(ctx, fake, []synctest.Device{
//		{Device: netsync.Device{Name: "atl1-edge1", Platform: "arista_eos", Role: "edge", ...}, LocalAS: 65001},
//	})
//	defer lab.Close()
//	deps := netsync.Deps{..., Secrets: lab.Secrets(), DeviceDefaults: lab.DeviceDefaults()}
//
// [Fleet] makes any number of such devices across the four platforms, for
// demos that want a few dozen. To break something, change a fake device's
// configuration (lab.Devices.Device(name).SetRunningConfig) or start it
// with Device.Down listing a BGP session that is not up.
//
// The devices model their BGP sessions (devicetest.BGP): the sessions of
// the configuration they start with are up, a neighbour a flow adds or
// changes (remote AS, shutdown, password, update source) goes through
// Idle ... OpenConfirm over a few reads of the summary before it is
// Established (Device.BGP sets how many, and how long on the clock passed
// to Start with devicetest.WithClock).
package netsynctest

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/devicetest"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// Credentials every lab device accepts.
const (
	Username = "admin"
	Password = "admin"
	// PasswordSecret is the secret reference DeviceDefaults uses; Secrets
	// resolves it to Password.
	PasswordSecret = "lab-device-password"
)

// Device is one lab device: its intended state (netsync.Device; Address and
// Port are filled in by Start) and the facts and BGP details of the fake.
type Device struct {
	netsync.Device
	// LocalAS is the device's BGP AS (default 65000).
	LocalAS int64
	// Serial, Model and OSVersion are the facts "show version" reports
	// (defaults derived from the name and platform).
	Serial, Model, OSVersion string
	// Down lists BGP neighbour addresses whose peer never answers: the
	// session is never Established (Active), whenever it is configured.
	Down []string
	// BGP is how the device's BGP sessions come up (devicetest.BGP: reads
	// and time before a new or reset session is Established, peers that
	// never answer or run another AS); Down adds peers that never answer.
	BGP devicetest.BGP
	// Faults are failures the fake device injects (a command that hangs,
	// a dropped connection, rejected logins).
	Faults []devicetest.Fault
}

func (d *Device) defaults() {
	if d.LocalAS == 0 {
		d.LocalAS = 65000
	}
	if d.Serial == "" {
		d.Serial = "SN" + strings.ToUpper(strings.NewReplacer("-", "", "_", "", ".", "").Replace(d.Name))
	}
	if d.Model == "" {
		d.Model = map[string]string{"cisco_iosxe": "C8000V", "cisco_nxos": "C93180YC-FX", "arista_eos": "DCS-7280SR3-48YC8", "juniper_junos": "vsrx"}[d.Platform]
	}
	if d.OSVersion == "" {
		d.OSVersion = map[string]string{"cisco_iosxe": "17.09.04a", "cisco_nxos": "10.4(5)", "arista_eos": "4.29.2F", "juniper_junos": "22.4R3-S2.11"}[d.Platform]
	}
}

// Spec returns the fake device for d: a running configuration holding d's
// interfaces and BGP neighbours, "show version" (and on Junos "show
// chassis hardware") with d's facts, and BGP sessions (d.BGP, with d.Down's
// peers never answering) that the platform's summary commands list from
// the configuration in force: the neighbours d starts with are up, those a
// flow pushes come up after a few reads, removed ones disappear.
func Spec(d Device) (devicetest.Spec, error) {
	d.defaults()
	var cfg, version string
	cmds := map[string]string{}
	switch d.Platform {
	case "cisco_iosxe":
		cfg, version = iosConfig(d), iosVersion(d)
	case "cisco_nxos":
		cfg, version = nxosConfig(d), nxosVersion(d)
	case "arista_eos":
		cfg, version = eosConfig(d), eosVersion(d)
	case "juniper_junos":
		cfg, version = junosConfig(d), junosVersion(d)
		cmds["show chassis hardware"] = "Hardware inventory:\nItem             Version  Part number  Serial number     Description\n" +
			fmt.Sprintf("Chassis                                %-17s %s\n", d.Serial, strings.ToUpper(d.Model))
	default:
		return devicetest.Spec{}, fmt.Errorf("synctest: device %q: platform %q not supported (want one of %v)", d.Name, d.Platform, devicetest.Platforms())
	}
	cmds["show version"] = version
	bgp := d.BGP
	bgp.Peers = maps.Clone(d.BGP.Peers)
	if bgp.Peers == nil {
		bgp.Peers = map[string]devicetest.BGPPeer{}
	}
	for _, a := range d.Down {
		p := bgp.Peers[a]
		p.Down = true
		bgp.Peers[a] = p
	}
	return devicetest.Spec{
		Name: d.Name, Hostname: d.Name, Platform: d.Platform, Username: Username, Password: Password,
		RunningConfig: cfg, Commands: cmds, BGP: &bgp, Faults: d.Faults,
	}, nil
}

func mask(prefix string) (addr, netmask string) {
	p, err := netip.ParsePrefix(prefix)
	if err != nil || !p.Addr().Is4() {
		return prefix, ""
	}
	m := ^uint32(0) << (32 - p.Bits())
	return p.Addr().String(), fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&255, m>>8&255, m&255)
}

// v6Prefix reports whether an interface address is an IPv6 one.
func v6Prefix(s string) bool {
	p, err := netip.ParsePrefix(s)
	return err == nil && p.Addr().Is6() && !p.Addr().Is4In6()
}

// writeBGP writes the IOS-style "router bgp" section (IOS-XE and EOS
// differ only in indentation), when the device has neighbours.
func writeBGP(b *strings.Builder, d Device, indent string) {
	if len(d.BGPNeighbors) == 0 {
		return
	}
	fmt.Fprintf(b, "router bgp %d\n", d.LocalAS)
	for _, n := range d.BGPNeighbors {
		fmt.Fprintf(b, "%sneighbor %s remote-as %d\n", indent, n.PeerAddress, n.RemoteAS)
		if n.Description != "" {
			fmt.Fprintf(b, "%sneighbor %s description %s\n", indent, n.PeerAddress, n.Description)
		}
		if !n.Enabled {
			fmt.Fprintf(b, "%sneighbor %s shutdown\n", indent, n.PeerAddress)
		}
	}
	b.WriteString("!\n")
}

func iosConfig(d Device) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Building configuration...\n\nCurrent configuration : 0 bytes\n!\nversion 17.9\n!\nhostname %s\n!\n", d.Name)
	for _, i := range d.Interfaces {
		fmt.Fprintf(&b, "interface %s\n", i.Name)
		if i.Description != "" {
			fmt.Fprintf(&b, " description %s\n", i.Description)
		}
		if i.MTU > 0 {
			fmt.Fprintf(&b, " mtu %d\n", i.MTU)
		}
		if v6Prefix(i.IPAddress) {
			fmt.Fprintf(&b, " no ip address\n ipv6 address %s\n", i.IPAddress)
		} else if i.IPAddress != "" {
			a, m := mask(i.IPAddress)
			fmt.Fprintf(&b, " ip address %s %s\n", a, m)
		} else {
			b.WriteString(" no ip address\n")
		}
		if !i.Enabled {
			b.WriteString(" shutdown\n")
		}
		b.WriteString("!\n")
	}
	writeBGP(&b, d, " ")
	b.WriteString("line vty 0 4\n transport input ssh\n!\nend")
	return b.String()
}

func eosConfig(d Device) string {
	var b strings.Builder
	fmt.Fprintf(&b, "! device: %s (%s, EOS-%s)\n!\nhostname %s\n!\n", d.Name, d.Model, d.OSVersion, d.Name)
	for _, i := range d.Interfaces {
		fmt.Fprintf(&b, "interface %s\n", i.Name)
		if i.Description != "" {
			fmt.Fprintf(&b, "   description %s\n", i.Description)
		}
		if i.MTU > 0 {
			fmt.Fprintf(&b, "   mtu %d\n", i.MTU)
		}
		if v6Prefix(i.IPAddress) {
			fmt.Fprintf(&b, "   no switchport\n   ipv6 address %s\n", i.IPAddress)
		} else if i.IPAddress != "" {
			fmt.Fprintf(&b, "   no switchport\n   ip address %s\n", i.IPAddress)
		}
		if !i.Enabled {
			b.WriteString("   shutdown\n")
		}
		b.WriteString("!\n")
	}
	writeBGP(&b, d, "   ")
	b.WriteString("end")
	return b.String()
}

func nxosConfig(d Device) string {
	var b strings.Builder
	fmt.Fprintf(&b, "!Command: show running-config\n\nversion %s\nhostname %s\n\n", d.OSVersion, d.Name)
	for _, i := range d.Interfaces {
		fmt.Fprintf(&b, "interface %s\n", i.Name)
		if i.Description != "" {
			fmt.Fprintf(&b, "  description %s\n", i.Description)
		}
		if i.MTU > 0 {
			fmt.Fprintf(&b, "  mtu %d\n", i.MTU)
		}
		if v6Prefix(i.IPAddress) {
			fmt.Fprintf(&b, "  no switchport\n  ipv6 address %s\n", i.IPAddress)
		} else if i.IPAddress != "" {
			fmt.Fprintf(&b, "  no switchport\n  ip address %s\n", i.IPAddress)
		}
		if i.Enabled {
			b.WriteString("  no shutdown\n")
		} else {
			b.WriteString("  shutdown\n")
		}
		b.WriteString("\n")
	}
	if len(d.BGPNeighbors) > 0 {
		fmt.Fprintf(&b, "router bgp %d\n", d.LocalAS)
		for _, n := range d.BGPNeighbors {
			fmt.Fprintf(&b, "  neighbor %s\n    remote-as %d\n", n.PeerAddress, n.RemoteAS)
			if n.Description != "" {
				fmt.Fprintf(&b, "    description %s\n", n.Description)
			}
			if !n.Enabled {
				b.WriteString("    shutdown\n")
			}
		}
	}
	return b.String()
}

func junosConfig(d Device) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version %s;\nsystem {\n    host-name %s;\n}\ninterfaces {\n", d.OSVersion, d.Name)
	for _, i := range d.Interfaces {
		fmt.Fprintf(&b, "    %s {\n", i.Name)
		if i.Description != "" {
			fmt.Fprintf(&b, "        description %q;\n", i.Description)
		}
		if !i.Enabled {
			b.WriteString("        disable;\n")
		}
		if i.MTU > 0 {
			fmt.Fprintf(&b, "        mtu %d;\n", i.MTU)
		}
		if i.IPAddress != "" {
			family := "inet"
			if v6Prefix(i.IPAddress) {
				family = "inet6"
			}
			fmt.Fprintf(&b, "        unit 0 {\n            family %s {\n                address %s;\n            }\n        }\n", family, i.IPAddress)
		}
		b.WriteString("    }\n")
	}
	b.WriteString("}\n")
	if len(d.BGPNeighbors) > 0 {
		b.WriteString("protocols {\n    bgp {\n        group peers {\n            type external;\n")
		for _, n := range d.BGPNeighbors {
			// A disabled neighbour is deactivated ("deactivate protocols
			// bgp group peers neighbor A").
			inactive := ""
			if !n.Enabled {
				inactive = "inactive: "
			}
			fmt.Fprintf(&b, "            %sneighbor %s {\n", inactive, n.PeerAddress)
			if n.Description != "" {
				fmt.Fprintf(&b, "                description %q;\n", n.Description)
			}
			fmt.Fprintf(&b, "                peer-as %d;\n", n.RemoteAS)
			b.WriteString("            }\n")
		}
		b.WriteString("        }\n    }\n}\n")
		fmt.Fprintf(&b, "routing-options {\n    autonomous-system %d;\n}\n", d.LocalAS)
	}
	return b.String()
}

func iosVersion(d Device) string {
	return fmt.Sprintf("Cisco IOS XE Software, Version %s\nCisco IOS Software [Cupertino], Virtual XE Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version %s, RELEASE SOFTWARE (fc3)\n\n"+
		"%s uptime is 1 week, 2 days, 3 hours, 4 minutes\n\ncisco %s (VXE) processor (revision VXE) with 2027520K/3075K bytes of memory.\nProcessor board ID %s\n",
		d.OSVersion, d.OSVersion, d.Name, d.Model, d.Serial)
}

func nxosVersion(d Device) string {
	return fmt.Sprintf("Cisco Nexus Operating System (NX-OS) Software\nSoftware\n  NXOS: version %s [Maintenance Release]\n\nHardware\n"+
		"  cisco Nexus9000 %s Chassis\n  Processor Board ID %s\n\n  Device name: %s\n", d.OSVersion, d.Model, d.Serial, d.Name)
}

func eosVersion(d Device) string {
	return fmt.Sprintf("Arista %s\nHardware version: 11.00\nSerial number: %s\nHardware MAC address: 001c.7300.0001\nSystem MAC address: 001c.7300.0001\n\n"+
		"Software image version: %s\nArchitecture: x86_64\n", d.Model, d.Serial, d.OSVersion)
}

func junosVersion(d Device) string {
	return fmt.Sprintf("Hostname: %s\nModel: %s\nJunos: %s\nJUNOS Software Release [%s]\n", d.Name, d.Model, d.OSVersion, d.OSVersion)
}

// Lab is a started set of fake devices seeded into a fake Infrahub.
type Lab struct {
	// Devices is the lab's devicetest lab.
	Devices *devicetest.Lab
	// IDs maps device names to their NetworkDevice ids.
	IDs        map[string]string
	knownHosts string
	dir        string
}

// Start starts a fake device per d and creates, in fake's default branch,
// the NetworkDevice (address 127.0.0.1 and the fake's port), its
// NetworkInterface and NetworkBGPNeighbor nodes. A device's Site, when
// set, must name an existing LocationSite (by shortname). opts go to
// devicetest.Start (devicetest.WithClock: the clock BGP sessions come up
// by). Close stops the devices.
func Start(ctx context.Context, fake *infrahubtest.Server, devs []Device, opts ...devicetest.Option) (*Lab, error) {
	specs := make([]devicetest.Spec, len(devs))
	for i := range devs {
		s, err := Spec(devs[i])
		if err != nil {
			return nil, err
		}
		specs[i] = s
	}
	dl, err := devicetest.Start(ctx, specs, opts...)
	if err != nil {
		return nil, fmt.Errorf("synctest: %w", err)
	}
	l := &Lab{Devices: dl, IDs: map[string]string{}}
	fail := func(err error) (*Lab, error) {
		l.Close()
		return nil, err
	}
	if l.dir, err = os.MkdirTemp("", "synctest-*"); err != nil {
		return fail(fmt.Errorf("synctest: %w", err))
	}
	l.knownHosts = filepath.Join(l.dir, "known_hosts")
	if err := os.WriteFile(l.knownHosts, []byte(dl.KnownHosts()), 0o600); err != nil {
		return fail(fmt.Errorf("synctest: %w", err))
	}
	for _, d := range devs {
		fd := dl.Device(d.Name)
		id, err := Seed(fake, d.Device, "127.0.0.1", fd.Port())
		if err != nil {
			return fail(err)
		}
		l.IDs[d.Name] = id
	}
	return l, nil
}

// Seed creates d's NetworkDevice node at address:port with its interfaces
// and BGP neighbours in fake, and returns the device's id.
func Seed(fake *infrahubtest.Server, d netsync.Device, address string, port int) (string, error) {
	data := map[string]any{
		"name": d.Name, "management_address": address, "ssh_port": port, "platform": d.Platform, "status": "active",
	}
	if d.Role != "" {
		data["role"] = d.Role
	}
	if d.Site != "" {
		data["site"] = map[string]any{"hfid": []any{d.Site}}
	}
	id, err := fake.Create("", schema.KindNetworkDevice, data)
	if err != nil {
		return "", fmt.Errorf("synctest: seed %s: %w", d.Name, err)
	}
	for _, i := range d.Interfaces {
		in := map[string]any{"name": i.Name, "enabled": i.Enabled, "device": id}
		if i.Description != "" {
			in["description"] = i.Description
		}
		if i.IPAddress != "" {
			in["ip_address"] = i.IPAddress
		}
		if i.MTU > 0 {
			in["mtu"] = i.MTU
		}
		if _, err := fake.Create("", schema.KindNetworkInterface, in); err != nil {
			return "", fmt.Errorf("synctest: seed %s interface %s: %w", d.Name, i.Name, err)
		}
	}
	for _, n := range d.BGPNeighbors {
		in := map[string]any{"peer_address": n.PeerAddress, "remote_as": n.RemoteAS, "enabled": n.Enabled, "device": id}
		if n.Description != "" {
			in["description"] = n.Description
		}
		if _, err := fake.Create("", schema.KindNetworkBGPNeighbor, in); err != nil {
			return "", fmt.Errorf("synctest: seed %s bgp neighbor %s: %w", d.Name, n.PeerAddress, err)
		}
	}
	return id, nil
}

// Secrets resolves PasswordSecret to the lab devices' password.
func (l *Lab) Secrets() device.SecretResolver {
	return device.StaticSecrets{PasswordSecret: Password}
}

// DeviceDefaults are session parameters for the lab: its credentials and
// a known_hosts file holding the lab's host key.
func (l *Lab) DeviceDefaults() device.Params {
	return device.Params{Username: Username, PasswordSecret: PasswordSecret, KnownHostsFile: l.knownHosts}
}

// Close stops the devices and removes the lab's files.
func (l *Lab) Close() {
	l.Devices.Close()
	if l.dir != "" {
		_ = os.RemoveAll(l.dir)
	}
}

// Fleet returns n lab devices for site (a LocationSite shortname, or ""
// for none) named "<site>-r01", "<site>-r02", ... ("r01", ... without a
// site), cycling through the four platforms and the roles edge, core,
// leaf: each with two interfaces (the second shut down, as intended) and
// one BGP neighbour per interface address pair, all matching, so every
// flow passes on a fresh fleet.
func Fleet(site string, n int) []Device {
	platforms := []string{"arista_eos", "cisco_iosxe", "cisco_nxos", "juniper_junos"}
	ifNames := map[string][2]string{
		"arista_eos":    {"Ethernet1", "Ethernet2"},
		"cisco_iosxe":   {"GigabitEthernet1", "GigabitEthernet2"},
		"cisco_nxos":    {"Ethernet1/1", "Ethernet1/2"},
		"juniper_junos": {"ge-0/0/0", "ge-0/0/1"},
	}
	roles := []string{"edge", "core", "leaf"}
	prefix := "r"
	if site != "" {
		prefix = site + "-r"
	}
	devs := make([]Device, n)
	for i := range devs {
		p := platforms[i%len(platforms)]
		// Each device gets 10.<i/64>.<(i%64)*4>.0/30-style point-to-point
		// addresses: its own .0 (peer .1) on the first interface.
		base := netip.AddrFrom4([4]byte{10, byte(i / 64), byte(i % 64 * 4), 0})
		peer := base.Next()
		devs[i] = Device{
			Device: netsync.Device{
				Name: fmt.Sprintf("%s%02d", prefix, i+1), Platform: p, Role: roles[i%len(roles)], Site: site,
				Interfaces: []netsync.Interface{
					{Name: ifNames[p][0], Description: "uplink", Enabled: true, IPAddress: base.String() + "/31"},
					{Name: ifNames[p][1], Description: "spare", Enabled: false},
				},
				BGPNeighbors: []netsync.BGPNeighbor{{PeerAddress: peer.String(), RemoteAS: 65100 + int64(i), Description: "upstream", Enabled: true}},
			},
			LocalAS: 65000,
		}
	}
	return devs
}
