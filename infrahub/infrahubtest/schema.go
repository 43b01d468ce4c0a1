package infrahubtest

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/netauto-dev/netauto/infrahub"
)

//go:embed schemas/*.yml
var embeddedSchemas embed.FS

// DefaultSchemas returns the schema files the fake loads when
// Options.Schemas is nil: Infrahub's schema-library base models and
// extensions (DCIM, IPAM, location, organization, routing, BGP, VLAN, VRF,
// LAG, circuit, cable) plus the core kinds they use (BuiltinTag,
// CoreArtifact, CoreArtifactDefinition, IpamNamespace, ...).
func DefaultSchemas() fs.FS {
	sub, err := fs.Sub(embeddedSchemas, "schemas")
	if err != nil {
		panic(err) // the embedded directory is fixed at build time
	}
	return sub
}

type schemaFile struct {
	Generics   []infrahub.NodeSchema `yaml:"generics"`
	Nodes      []infrahub.NodeSchema `yaml:"nodes"`
	Extensions struct {
		Nodes []infrahub.NodeSchema `yaml:"nodes"`
	} `yaml:"extensions"`
}

// kindSchema is a resolved node or generic: inherited attributes and
// relationships are merged in, extensions applied.
type kindSchema struct {
	infrahub.NodeSchema
	generic bool
	// implementedBy lists, for a generic, the node kinds inheriting it.
	implementedBy []string
	attrs         map[string]*infrahub.AttributeSchema
	rels          map[string]*infrahub.RelationshipSchema
	// relOwner is the kind that declared each relationship (for the
	// default identifier).
	relOwner map[string]string
}

func (k *kindSchema) is(kind string) bool {
	return k.Kind == kind || slices.Contains(k.InheritFrom, kind)
}

// registry holds every loaded kind.
type registry struct {
	kinds map[string]*kindSchema
	order []string // sorted kind names
}

// loadRegistry reads every *.yml/*.yaml file of fsys (sorted by name).
func loadRegistry(fsys fs.FS) (*registry, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ext := path.Ext(p); !d.IsDir() && (ext == ".yml" || ext == ".yaml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read schemas: %w", err)
	}
	sort.Strings(files)
	r := &registry{kinds: map[string]*kindSchema{}}
	var exts []infrahub.NodeSchema
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("read schema %s: %w", f, err)
		}
		var sf schemaFile
		if err := yaml.Unmarshal(raw, &sf); err != nil {
			return nil, fmt.Errorf("parse schema %s: %w", f, err)
		}
		if err := defaultOptionalRels(raw, &sf); err != nil {
			return nil, fmt.Errorf("parse schema %s: %w", f, err)
		}
		for i, list := range [][]infrahub.NodeSchema{sf.Generics, sf.Nodes} {
			for _, n := range list {
				if n.Name == "" || n.Namespace == "" {
					return nil, fmt.Errorf("schema %s: a kind without name or namespace", f)
				}
				n.Kind = n.Namespace + n.Name
				if _, dup := r.kinds[n.Kind]; dup {
					return nil, fmt.Errorf("schema %s: kind %s defined twice", f, n.Kind)
				}
				r.kinds[n.Kind] = &kindSchema{NodeSchema: n, generic: i == 0}
			}
		}
		exts = append(exts, sf.Extensions.Nodes...)
	}
	for _, e := range exts {
		k, ok := r.kinds[e.Kind]
		if !ok {
			return nil, fmt.Errorf("schema extension for unknown kind %q", e.Kind)
		}
		k.Attributes = append(k.Attributes, e.Attributes...)
		k.Relationships = append(k.Relationships, e.Relationships...)
	}
	for name := range r.kinds {
		r.order = append(r.order, name)
	}
	sort.Strings(r.order)
	// Resolve generics first so nodes inherit their full definitions.
	for _, generic := range []bool{true, false} {
		for _, name := range r.order {
			if k := r.kinds[name]; k.generic == generic {
				if err := r.resolve(k); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, name := range r.order {
		k := r.kinds[name]
		for _, rel := range k.Relationships {
			if _, ok := r.kinds[rel.Peer]; !ok {
				return nil, fmt.Errorf("kind %s: relationship %s: unknown peer kind %q", name, rel.Name, rel.Peer)
			}
		}
	}
	return r, nil
}

func (r *registry) resolve(k *kindSchema) error {
	k.attrs = map[string]*infrahub.AttributeSchema{}
	k.rels = map[string]*infrahub.RelationshipSchema{}
	k.relOwner = map[string]string{}
	var attrs []infrahub.AttributeSchema
	var rels []infrahub.RelationshipSchema
	add := func(owner string, as []infrahub.AttributeSchema, rs []infrahub.RelationshipSchema) {
		for _, a := range as {
			if _, seen := k.attrs[a.Name]; !seen {
				attrs = append(attrs, a)
				k.attrs[a.Name] = nil
			}
		}
		for _, rl := range rs {
			if _, seen := k.rels[rl.Name]; !seen {
				if rl.Cardinality == "" {
					rl.Cardinality = "many"
				}
				rels = append(rels, rl)
				k.rels[rl.Name] = nil
				k.relOwner[rl.Name] = owner
			}
		}
	}
	add(k.Kind, k.Attributes, k.Relationships)
	for _, g := range k.InheritFrom {
		gk, ok := r.kinds[g]
		if !ok || !gk.generic {
			return fmt.Errorf("kind %s inherits from %q, which is not a loaded generic", k.Kind, g)
		}
		if !k.generic {
			gk.implementedBy = append(gk.implementedBy, k.Kind)
		}
		add(gk.Kind, gk.Attributes, gk.Relationships)
		for _, rl := range gk.Relationships {
			if k.relOwner[rl.Name] == gk.Kind {
				k.relOwner[rl.Name] = gk.relOwner[rl.Name]
			}
		}
		if len(k.HumanFriendlyID) == 0 {
			k.HumanFriendlyID = gk.HumanFriendlyID
		}
		if k.DisplayLabel == "" && len(k.DisplayLabels) == 0 {
			k.DisplayLabel, k.DisplayLabels = gk.DisplayLabel, gk.DisplayLabels
		}
	}
	k.Attributes, k.Relationships = attrs, rels
	for i := range k.Attributes {
		k.attrs[k.Attributes[i].Name] = &k.Attributes[i]
	}
	for i := range k.Relationships {
		rl := &k.Relationships[i]
		if rl.Identifier == "" {
			pair := []string{strings.ToLower(k.relOwner[rl.Name]), strings.ToLower(rl.Peer)}
			sort.Strings(pair)
			rl.Identifier = pair[0] + "__" + pair[1]
		}
		k.rels[rl.Name] = rl
	}
	return nil
}

// schemaResponse renders the registry as GET /api/schema answers.
func (r *registry) schemaResponse() infrahub.Schema {
	out := infrahub.Schema{Nodes: []infrahub.NodeSchema{}, Generics: []infrahub.NodeSchema{}}
	for _, name := range r.order {
		k := r.kinds[name]
		if k.generic {
			out.Generics = append(out.Generics, k.NodeSchema)
		} else {
			out.Nodes = append(out.Nodes, k.NodeSchema)
		}
	}
	return out
}

// defaultOptionalRels applies Infrahub's default for relationships without
// an "optional" key (optional: true), which a plain bool cannot tell.
func defaultOptionalRels(raw []byte, sf *schemaFile) error {
	type relOpt struct {
		Optional *bool `yaml:"optional"`
	}
	type kindRels struct {
		Relationships []relOpt `yaml:"relationships"`
	}
	var opts struct {
		Generics   []kindRels `yaml:"generics"`
		Nodes      []kindRels `yaml:"nodes"`
		Extensions struct {
			Nodes []kindRels `yaml:"nodes"`
		} `yaml:"extensions"`
	}
	if err := yaml.Unmarshal(raw, &opts); err != nil {
		return err
	}
	apply := func(kinds []infrahub.NodeSchema, o []kindRels) {
		for i := range kinds {
			for j := range kinds[i].Relationships {
				if o[i].Relationships[j].Optional == nil {
					kinds[i].Relationships[j].Optional = true
				}
			}
		}
	}
	apply(sf.Generics, opts.Generics)
	apply(sf.Nodes, opts.Nodes)
	apply(sf.Extensions.Nodes, opts.Extensions.Nodes)
	return nil
}
