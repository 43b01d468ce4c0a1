package infrahubtest

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
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
	// constraints are the kind's uniqueness constraints after Infrahub's
	// schema processing (see processUniqueness).
	constraints []*uniqueConstraint
	// checked lists, for a node kind, the constraints a write checks: its
	// own and those of the generics it inherits, each with the kind whose
	// nodes it spans.
	checked []scopedConstraint
}

// constraintType says how a uniqueness constraint relates to the kind's
// human-friendly id (UniquenessConstraintType in opsmill/infrahub
// backend/infrahub/core/schema/basenode_schema.py).
type constraintType int

const (
	constraintStandard constraintType = iota
	constraintHFID
	constraintSubsetOfHFID
)

// uniqueConstraint is one uniqueness constraint: attribute paths
// ("name__value") and cardinality-one relationships ("device").
type uniqueConstraint struct {
	key    string // the paths joined, identifying the constraint
	paths  []constraintPath
	fields []string // attribute or relationship names, for messages
	typ    constraintType
}

type constraintPath struct{ attr, rel string }

// touches reports whether the constraint names one of fields.
func (c *uniqueConstraint) touches(fields map[string]bool) bool {
	return slices.ContainsFunc(c.fields, func(f string) bool { return fields[f] })
}

type scopedConstraint struct {
	scope string
	c     *uniqueConstraint
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
				if err := validateNames(n, i == 0); err != nil {
					return nil, fmt.Errorf("schema %s: %w", f, err)
				}
				if _, dup := r.kinds[n.Kind]; dup {
					return nil, fmt.Errorf("schema %s: kind %s defined twice", f, n.Kind)
				}
				r.kinds[n.Kind] = &kindSchema{NodeSchema: n, generic: i == 0}
			}
		}
		for _, e := range sf.Extensions.Nodes {
			if err := validateFieldNames(e, false); err != nil {
				return nil, fmt.Errorf("schema %s: %w", f, err)
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
	for _, name := range r.order {
		if err := r.processUniqueness(r.kinds[name]); err != nil {
			return nil, err
		}
	}
	for _, name := range r.order {
		r.scopeConstraints(r.kinds[name])
	}
	return r, nil
}

// processUniqueness derives the kind's human-friendly id and uniqueness
// constraints as Infrahub's schema processing does (SchemaBranch in
// opsmill/infrahub backend/infrahub/core/schema/schema_branch.py):
// sync_uniqueness_constraints_and_unique_attributes makes the attribute of a
// one-attribute constraint unique and adds a [<attr>__value] constraint for
// each unique attribute; process_human_friendly_id then gives a kind without
// human-friendly id its first unique attribute (or one-attribute constraint)
// as one, and a kind with a human-friendly id but no constraint the
// constraint of its human-friendly id (a relationship path counting as the
// relationship).
func (r *registry) processUniqueness(k *kindSchema) error {
	single := map[string]bool{}
	for _, c := range k.UniquenessConstraints {
		if len(c) == 1 {
			if attr, ok := strings.CutSuffix(c[0], "__value"); ok && k.attrs[attr] != nil {
				single[attr] = true
			}
		}
	}
	var add [][]string
	for i := range k.Attributes {
		a := &k.Attributes[i]
		if single[a.Name] {
			a.Unique = true
		} else if a.Unique {
			add = append(add, []string{a.Name + "__value"})
		}
	}
	slices.SortFunc(add, func(x, y []string) int { return strings.Compare(x[0], y[0]) })
	k.UniquenessConstraints = append(slices.Clone(k.UniquenessConstraints), add...)
	if len(k.HumanFriendlyID) == 0 {
		for _, a := range k.Attributes {
			if a.Unique {
				k.HumanFriendlyID = []string{a.Name + "__value"}
				break
			}
		}
	}
	hfidConstraint, err := r.hfidConstraint(k)
	if err != nil {
		return err
	}
	if len(k.HumanFriendlyID) > 0 && len(k.UniquenessConstraints) == 0 {
		k.UniquenessConstraints = [][]string{hfidConstraint}
	}
	for _, paths := range k.UniquenessConstraints {
		c := &uniqueConstraint{key: strings.Join(paths, ",")}
		set := map[string]bool{}
		for _, p := range paths {
			set[p] = true
			if attr, ok := strings.CutSuffix(p, "__value"); ok && k.attrs[attr] != nil {
				c.paths = append(c.paths, constraintPath{attr: attr})
				c.fields = append(c.fields, attr)
				continue
			}
			if rl := k.rels[p]; rl != nil && rl.Cardinality == "one" {
				c.paths = append(c.paths, constraintPath{rel: p})
				c.fields = append(c.fields, p)
				continue
			}
			return fmt.Errorf("kind %s: uniqueness constraint %v: %q is neither <attribute>__value nor a relationship of cardinality one", k.Kind, paths, p)
		}
		if hfidConstraint != nil {
			hset := map[string]bool{}
			for _, p := range hfidConstraint {
				hset[p] = true
			}
			subset := true
			for p := range set {
				subset = subset && hset[p]
			}
			switch {
			case subset && len(set) == len(hset):
				c.typ = constraintHFID
			case subset:
				c.typ = constraintSubsetOfHFID
			}
		}
		k.constraints = append(k.constraints, c)
	}
	return nil
}

// hfidConstraint is the kind's human-friendly id as a uniqueness
// constraint (NodeSchema.convert_hfid_to_uniqueness_constraint): attribute
// paths as they are, relationship paths reduced to the relationship.
func (r *registry) hfidConstraint(k *kindSchema) ([]string, error) {
	var out []string
	for _, p := range k.HumanFriendlyID {
		parts := strings.Split(p, "__")
		switch {
		case len(parts) == 2 && k.attrs[parts[0]] != nil:
			out = append(out, p)
		case len(parts) == 3 && k.rels[parts[0]] != nil:
			if !slices.Contains(out, parts[0]) {
				out = append(out, parts[0])
			}
		default:
			return nil, fmt.Errorf("kind %s: human_friendly_id %q is neither <attribute>__value nor <relationship>__<attribute>__value", k.Kind, p)
		}
	}
	return out, nil
}

// scopeConstraints lists the constraints a write of node kind k checks: the
// constraints of each generic it inherits, over the generic's nodes, and its
// own unless a generic already has them all (NodeGroupedUniquenessConstraint.check).
func (r *registry) scopeConstraints(k *kindSchema) {
	if k.generic {
		return
	}
	own := true
	for _, g := range k.InheritFrom {
		gk := r.kinds[g]
		if len(gk.constraints) == 0 {
			continue
		}
		for _, c := range gk.constraints {
			k.checked = append(k.checked, scopedConstraint{scope: g, c: c})
		}
		if len(k.constraints) > 0 && !slices.ContainsFunc(k.constraints, func(c *uniqueConstraint) bool {
			return !slices.ContainsFunc(gk.constraints, func(gc *uniqueConstraint) bool { return gc.key == c.key })
		}) {
			own = false
		}
	}
	if own {
		for _, c := range k.constraints {
			k.checked = append(k.checked, scopedConstraint{scope: k.Kind, c: c})
		}
	}
}

// Naming rules of Infrahub's schema (opsmill/infrahub
// backend/infrahub/core/constants/__init__.py, applied by the schema's own
// definition in backend/infrahub/core/schema/definitions/internal.py and
// by SchemaBranch.validate_names in core/schema/schema_branch.py): a real
// Infrahub refuses to load a schema breaking them.
var (
	nodeNameRe  = regexp.MustCompile(`^[A-Z][a-zA-Z0-9]+$`) // NODE_NAME_REGEX, 2 to 32 characters
	namespaceRe = regexp.MustCompile(`^[A-Z][a-z0-9]+$`)    // NAMESPACE_REGEX, 3 to 32 characters
	fieldNameRe = regexp.MustCompile(`^[a-z0-9_]+$`)        // NAME_REGEX, 3 to 32 characters
	// reservedFieldNames is RESERVED_ATTR_REL_NAMES; generics also may
	// not use RESERVED_ATTR_GEN_NAMES ("type").
	reservedFieldNames = []string{"any", "attribute", "attributes", "attr", "attrs", "relationship", "relationships", "rel", "rels", "save", "hfid"}
)

func validateNames(n infrahub.NodeSchema, generic bool) error {
	if !nodeNameRe.MatchString(n.Name) || len(n.Name) > 32 {
		return fmt.Errorf("kind %s: name %q must match %s and have 2 to 32 characters", n.Kind, n.Name, nodeNameRe)
	}
	if !namespaceRe.MatchString(n.Namespace) || len(n.Namespace) < 3 || len(n.Namespace) > 32 {
		return fmt.Errorf("kind %s: namespace %q must match %s and have 3 to 32 characters", n.Kind, n.Namespace, namespaceRe)
	}
	return validateFieldNames(n, generic)
}

// validateFieldNames checks the attribute and relationship names of a kind
// or an extension.
func validateFieldNames(n infrahub.NodeSchema, generic bool) error {
	var names []string
	for _, a := range n.Attributes {
		names = append(names, a.Name)
	}
	for _, rl := range n.Relationships {
		names = append(names, rl.Name)
	}
	for _, name := range names {
		switch {
		case !fieldNameRe.MatchString(name) || len(name) < 3 || len(name) > 32:
			return fmt.Errorf("kind %s: %q must match %s and have 3 to 32 characters", n.Kind, name, fieldNameRe)
		case slices.Contains(reservedFieldNames, name) || generic && name == "type":
			return fmt.Errorf("kind %s: %q is a reserved name", n.Kind, name)
		}
	}
	return nil
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
