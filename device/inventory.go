package device

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"time"

	"gopkg.in/yaml.v3"
)

// Params are the connection settings a host inherits: a value set on the
// host wins over its groups (in the order the host lists them), which win
// over the inventory defaults. Credentials are secret references resolved
// through a SecretResolver when a session opens.
type Params struct {
	// Platform is the scrapligo platform name (cisco_iosxe, cisco_nxos,
	// arista_eos, juniper_junos, cisco_iosxr, ...).
	Platform string `yaml:"platform,omitempty"`
	// Port is the SSH port (default 22).
	Port int `yaml:"port,omitempty"`
	// Username to log in with.
	Username string `yaml:"username,omitempty"`
	// PasswordSecret references the login password, used for password and
	// keyboard-interactive authentication.
	PasswordSecret string `yaml:"password_secret,omitempty"`
	// EnableSecret references the enable (privilege escalation) secret.
	EnableSecret string `yaml:"enable_secret,omitempty"`
	// PrivateKeySecret references a PEM private key for public key
	// authentication; PassphraseSecret its passphrase if encrypted.
	PrivateKeySecret string `yaml:"private_key_secret,omitempty"`
	PassphraseSecret string `yaml:"passphrase_secret,omitempty"`
	// KnownHostsFile enables strict host key checking against this
	// known_hosts file.
	KnownHostsFile string `yaml:"known_hosts_file,omitempty"`
	// InsecureIgnoreHostKey turns host key checking off (logged as a
	// warning on every connection). One of KnownHostsFile or this is required.
	InsecureIgnoreHostKey *bool `yaml:"insecure_ignore_host_key,omitempty"`
	// LegacyAlgorithms also offers the SSH algorithms x/crypto/ssh deems
	// insecure (SHA-1 key exchanges, CBC ciphers, ssh-rsa, ...) that old
	// devices may be limited to. Logged as a warning on every connection.
	LegacyAlgorithms *bool `yaml:"legacy_algorithms,omitempty"`
	// ConnectTimeout bounds TCP connect plus SSH handshake (default 10s).
	ConnectTimeout time.Duration `yaml:"connect_timeout,omitempty"`
	// OperationTimeout bounds each operation: opening the CLI, one command
	// batch, one configuration push (default 60s).
	OperationTimeout time.Duration `yaml:"operation_timeout,omitempty"`
	// ErrorPatterns are regular expressions, matched against each line a
	// device prints, that mark a command or configuration line as refused,
	// on top of the platform's own (device-specific messages of a feature
	// or a release). The host's list, else its first group's with one,
	// else the defaults'.
	ErrorPatterns []string `yaml:"error_patterns,omitempty"`
}

// inherit fills the zero fields of p from q.
func (p *Params) inherit(q Params) {
	set := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	set(&p.Platform, q.Platform)
	set(&p.Username, q.Username)
	set(&p.PasswordSecret, q.PasswordSecret)
	set(&p.EnableSecret, q.EnableSecret)
	set(&p.PrivateKeySecret, q.PrivateKeySecret)
	set(&p.PassphraseSecret, q.PassphraseSecret)
	set(&p.KnownHostsFile, q.KnownHostsFile)
	if p.Port == 0 {
		p.Port = q.Port
	}
	if p.InsecureIgnoreHostKey == nil {
		p.InsecureIgnoreHostKey = q.InsecureIgnoreHostKey
	}
	if p.LegacyAlgorithms == nil {
		p.LegacyAlgorithms = q.LegacyAlgorithms
	}
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = q.ConnectTimeout
	}
	if p.OperationTimeout == 0 {
		p.OperationTimeout = q.OperationTimeout
	}
	if len(p.ErrorPatterns) == 0 {
		p.ErrorPatterns = q.ErrorPatterns
	}
}

// Host is one device. Hosts returned by an Inventory have their Params and
// Data already merged with their groups and the defaults.
type Host struct {
	Name    string         `yaml:"-"`
	Address string         `yaml:"address"`
	Groups  []string       `yaml:"groups,omitempty"`
	Data    map[string]any `yaml:"data,omitempty"`
	Params  `yaml:",inline"`
}

// Group holds settings and data shared by its member hosts.
type Group struct {
	Name   string         `yaml:"-"`
	Data   map[string]any `yaml:"data,omitempty"`
	Params `yaml:",inline"`
}

// Defaults apply to every host.
type Defaults struct {
	Data   map[string]any `yaml:"data,omitempty"`
	Params `yaml:",inline"`
}

// Inventory is an immutable set of hosts with inheritance resolved.
// Filtering returns a new Inventory.
type Inventory struct {
	hosts  []Host // sorted by name
	groups map[string]Group
}

// NewInventory resolves inheritance (host, then its groups in order, then
// defaults) for hosts and returns the inventory. Host names must be unique
// and non-empty, addresses set, and groups defined.
func NewInventory(hosts []Host, groups []Group, defaults Defaults) (*Inventory, error) {
	inv := &Inventory{groups: map[string]Group{}}
	for i, g := range groups {
		if g.Name == "" {
			return nil, fmt.Errorf("inventory: groups[%d].name is empty", i)
		}
		if _, dup := inv.groups[g.Name]; dup {
			return nil, fmt.Errorf("inventory: group %q defined twice", g.Name)
		}
		inv.groups[g.Name] = g
	}
	seen := map[string]bool{}
	for i, h := range hosts {
		switch {
		case h.Name == "":
			return nil, fmt.Errorf("inventory: hosts[%d].name is empty", i)
		case seen[h.Name]:
			return nil, fmt.Errorf("inventory: host %q defined twice", h.Name)
		case h.Address == "":
			return nil, fmt.Errorf("inventory: host %q: address is empty", h.Name)
		}
		seen[h.Name] = true
		resolved := Host{Name: h.Name, Address: h.Address, Groups: slices.Clone(h.Groups), Params: h.Params, Data: map[string]any{}}
		layers := []map[string]any{defaults.Data}
		for _, gname := range h.Groups {
			g, ok := inv.groups[gname]
			if !ok {
				return nil, fmt.Errorf("inventory: host %q: group %q not defined", h.Name, gname)
			}
			resolved.Params.inherit(g.Params)
		}
		for j := len(h.Groups) - 1; j >= 0; j-- {
			layers = append(layers, inv.groups[h.Groups[j]].Data)
		}
		layers = append(layers, h.Data)
		for _, l := range layers {
			for k, v := range l {
				resolved.Data[k] = v
			}
		}
		resolved.Params.inherit(defaults.Params)
		if resolved.Port == 0 {
			resolved.Port = 22
		}
		inv.hosts = append(inv.hosts, resolved)
	}
	sort.Slice(inv.hosts, func(i, j int) bool { return inv.hosts[i].Name < inv.hosts[j].Name })
	return inv, nil
}

// inventoryFile is the YAML layout read by LoadInventory.
type inventoryFile struct {
	Defaults Defaults         `yaml:"defaults"`
	Groups   map[string]Group `yaml:"groups"`
	Hosts    map[string]Host  `yaml:"hosts"`
}

// ParseInventory reads an inventory from YAML:
//
//	defaults:
//	  username: netops
//	  password_secret: devices/password
//	  known_hosts_file: /etc/netauto/known_hosts
//	  connect_timeout: 10s
//	groups:
//	  core:
//	    platform: arista_eos
//	    data: {role: core}
//	hosts:
//	  core1:
//	    address: 192.0.2.1
//	    groups: [core]
//	    data: {site: ams1}
//
// Unknown fields are errors, so a typo does not silently drop a setting.
func ParseInventory(data []byte) (*Inventory, error) {
	var f inventoryFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse inventory: %w", err)
	}
	var hosts []Host
	for name, h := range f.Hosts {
		h.Name = name
		hosts = append(hosts, h)
	}
	var groups []Group
	for name, g := range f.Groups {
		g.Name = name
		groups = append(groups, g)
	}
	return NewInventory(hosts, groups, f.Defaults)
}

// LoadInventory reads the YAML inventory file at path; see ParseInventory.
func LoadInventory(path string) (*Inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load inventory: %w", err)
	}
	inv, err := ParseInventory(data)
	if err != nil {
		return nil, fmt.Errorf("load inventory %s: %w", path, err)
	}
	return inv, nil
}

// HostRecord is a host as a source of truth returns it (for example one
// node of an Infrahub GraphQL query): map query results to records and
// build the inventory with NewInventoryFromRecords.
type HostRecord struct {
	Name     string
	Address  string
	Platform string
	Groups   []string
	Data     map[string]any
}

// NewInventoryFromRecords builds an inventory from source-of-truth records.
// Groups a record names but groups does not define are created empty, so
// records can carry tags or roles as groups without declaring each.
func NewInventoryFromRecords(records []HostRecord, groups []Group, defaults Defaults) (*Inventory, error) {
	defined := map[string]bool{}
	for _, g := range groups {
		defined[g.Name] = true
	}
	hosts := make([]Host, 0, len(records))
	for _, r := range records {
		for _, g := range r.Groups {
			if !defined[g] {
				defined[g] = true
				groups = append(groups, Group{Name: g})
			}
		}
		hosts = append(hosts, Host{Name: r.Name, Address: r.Address, Groups: r.Groups, Data: r.Data, Params: Params{Platform: r.Platform}})
	}
	return NewInventory(hosts, groups, defaults)
}

// Hosts returns the hosts sorted by name.
func (inv *Inventory) Hosts() []Host { return slices.Clone(inv.hosts) }

// Len returns the number of hosts.
func (inv *Inventory) Len() int { return len(inv.hosts) }

// Host returns the host called name.
func (inv *Inventory) Host(name string) (Host, bool) {
	i, ok := slices.BinarySearchFunc(inv.hosts, name, func(h Host, n string) int {
		switch {
		case h.Name < n:
			return -1
		case h.Name > n:
			return 1
		}
		return 0
	})
	if !ok {
		return Host{}, false
	}
	return inv.hosts[i], true
}

// Filter returns the hosts for which every predicate holds.
func (inv *Inventory) Filter(preds ...func(Host) bool) *Inventory {
	out := &Inventory{groups: inv.groups}
next:
	for _, h := range inv.hosts {
		for _, p := range preds {
			if !p(h) {
				continue next
			}
		}
		out.hosts = append(out.hosts, h)
	}
	return out
}

// InGroup matches hosts that are members of group.
func InGroup(group string) func(Host) bool {
	return func(h Host) bool { return slices.Contains(h.Groups, group) }
}

// FieldEquals matches hosts whose field equals value. Field is "name",
// "address", "platform", "username", or else a key of the merged Data
// (compared with fmt's %v formatting).
func FieldEquals(field, value string) func(Host) bool {
	return func(h Host) bool {
		switch field {
		case "name":
			return h.Name == value
		case "address":
			return h.Address == value
		case "platform":
			return h.Platform == value
		case "username":
			return h.Username == value
		}
		v, ok := h.Data[field]
		return ok && fmt.Sprint(v) == value
	}
}
