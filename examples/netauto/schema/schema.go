// Package schema ships the Infrahub schema of the netauto example: the
// kinds its flows read and write that exist in no schema-library file.
//
// The schema is one YAML file in Infrahub's schema format (version "1.0",
// nodes with namespace, name, attributes and relationships), embedded in
// the binary so the example works from any directory:
//
//   - NetworkDevice: a device reached over SSH — name, management_address,
//     ssh_port, platform (scrapligo names: cisco_iosxe, cisco_nxos,
//     cisco_iosxr, arista_eos, juniper_junos), role, status, site
//     (LocationSite), tags; facts written back by inventory sync (serial,
//     os_version, model, hostname, reachable, last_seen, sync_error) and
//     the result written back by validation (validation_status,
//     validation_summary, validated_at).
//   - NetworkInterface and NetworkBGPNeighbor: the intended interfaces and
//     BGP neighbours of a device (components of NetworkDevice), which
//     validation compares with what the device reports.
//   - NetautoFlexApplication, NetautoLTMConfig, NetautoCertificate,
//     NetautoRoutingConfig: artifact targets (they inherit
//     CoreArtifactTarget) for the F5 AS3, LTM, certificate and routing
//     flows; an "infrahub.artifact.updated" event names one of these kinds
//     as its target.
//
// The file refers to kinds of Infrahub's core and of the schema-library
// base models (CoreArtifactTarget, LocationSite, BuiltinTag), so it loads
// on top of them. For a real Infrahub, load the schema-library base models
// first, then this file ([YAML] or [Files]) with
// "infrahubctl schema load". For the fake Infrahub:
//
//	fake, err := infrahubtest.New(infrahubtest.Options{Schemas: schema.FakeSchemas()})
package schema

import (
	"embed"
	"errors"
	"io/fs"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// FileName is the name of the schema file in [Files] and [Overlay].
const FileName = "netauto.yml"

// Kinds defined by the schema.
const (
	KindNetworkDevice          = "NetworkDevice"
	KindNetworkInterface       = "NetworkInterface"
	KindNetworkBGPNeighbor     = "NetworkBGPNeighbor"
	KindNetautoFlexApplication = "NetautoFlexApplication"
	KindNetautoLTMConfig       = "NetautoLTMConfig"
	KindNetautoCertificate     = "NetautoCertificate"
	KindNetautoRoutingConfig   = "NetautoRoutingConfig"
)

// Kinds returns every kind the schema defines, sorted.
func Kinds() []string {
	k := []string{
		KindNetworkDevice, KindNetworkInterface, KindNetworkBGPNeighbor,
		KindNetautoFlexApplication, KindNetautoLTMConfig, KindNetautoCertificate,
		KindNetautoRoutingConfig,
	}
	slices.Sort(k)
	return k
}

// ArtifactTargetKinds returns the kinds whose artifacts trigger the F5 and
// routing flows, in the order f5-as3, f5-ltm, f5-cert, routing-deploy.
func ArtifactTargetKinds() []string {
	return []string{KindNetautoFlexApplication, KindNetautoLTMConfig, KindNetautoCertificate, KindNetautoRoutingConfig}
}

//go:embed netauto.yml
var files embed.FS

// YAML returns a copy of the schema file's content.
func YAML() []byte {
	b, err := files.ReadFile(FileName)
	if err != nil {
		panic(err) // the embedded file is fixed at build time
	}
	return b
}

// Choices returns the choice names of the Dropdown attribute attribute of
// kind, in the schema's order, or nil when the schema defines no such
// Dropdown. Parameters that name a choice (a device role) are checked
// against it.
func Choices(kind, attribute string) []string {
	var f struct {
		Nodes []infrahub.NodeSchema `yaml:"nodes"`
	}
	if err := yaml.Unmarshal(YAML(), &f); err != nil {
		panic(err) // the embedded file is fixed at build time; a test parses it
	}
	for _, n := range f.Nodes {
		if n.Namespace+n.Name != kind {
			continue
		}
		for _, a := range n.Attributes {
			if a.Name != attribute || a.Kind != "Dropdown" {
				continue
			}
			var out []string
			for _, c := range a.Choices {
				if name, ok := c["name"].(string); ok {
					out = append(out, name)
				}
			}
			return out
		}
	}
	return nil
}

// Files returns a file system holding only the schema file, [FileName].
func Files() fs.FS { return files }

// Overlay returns base (a flat directory of schema files, such as
// infrahubtest.DefaultSchemas()) with the netauto schema file added, for
// infrahubtest.Options.Schemas. A file of base named [FileName] is
// replaced.
func Overlay(base fs.FS) fs.FS { return overlay{base: base} }

// FakeSchemas returns the fake Infrahub's default schemas (core kinds and
// the schema-library models) plus the netauto schema and Infrahub's
// validator and check kinds (CoreValidator, CoreCheck,
// CoreArtifactValidator, CoreArtifactCheck, CoreDataValidator,
// CoreDataCheck: fake-validators.yml, which a real Infrahub has built in):
// what infrahubtest.Options.Schemas needs for the example's flows.
func FakeSchemas() fs.FS { return overlay{base: infrahubtest.DefaultSchemas(), fake: true} }

// fakeFileName is the validator kinds' file of FakeSchemas.
const fakeFileName = "fake-validators.yml"

//go:embed fake-validators.yml
var fakeFiles embed.FS

// overlay serves FileName (and with fake, fakeFileName) from the embedded
// files and everything else from base; "." lists both.
type overlay struct {
	base fs.FS
	fake bool
}

// Open implements fs.FS.
func (o overlay) Open(name string) (fs.File, error) {
	switch {
	case name == FileName:
		return files.Open(name)
	case o.fake && name == fakeFileName:
		return fakeFiles.Open(name)
	}
	return o.base.Open(name)
}

// ReadDir implements fs.ReadDirFS; "." lists base and the netauto file.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(o.base, name)
	if name != "." {
		return entries, err
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	own, err := files.ReadDir(".")
	if err != nil {
		return nil, err
	}
	if o.fake {
		extra, err := fakeFiles.ReadDir(".")
		if err != nil {
			return nil, err
		}
		own = append(own, extra...)
	}
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return e.Name() == FileName || e.Name() == fakeFileName })
	entries = append(entries, own...)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}
