package infrahubtest

import (
	"fmt"
	"strings"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/netauto-dev/netauto/infrahub"
)

// attrType maps an attribute kind to its GraphQL output type, create and
// update input types and filter scalar, following Infrahub's naming.
type attrType struct{ out, create, update, scalar string }

var (
	textAttr  = attrType{"TextAttribute", "TextAttributeCreate", "TextAttributeUpdate", "String"}
	attrTypes = map[string]attrType{
		"Number":     {"NumberAttribute", "NumberAttributeCreate", "NumberAttributeUpdate", "BigInt"},
		"Bandwidth":  {"NumberAttribute", "NumberAttributeCreate", "NumberAttributeUpdate", "BigInt"},
		"Boolean":    {"CheckboxAttribute", "CheckboxAttributeCreate", "CheckboxAttributeUpdate", "Boolean"},
		"Checkbox":   {"CheckboxAttribute", "CheckboxAttributeCreate", "CheckboxAttributeUpdate", "Boolean"},
		"Dropdown":   {"Dropdown", "TextAttributeCreate", "TextAttributeUpdate", "String"},
		"IPHost":     {"IPHost", "TextAttributeCreate", "TextAttributeUpdate", "String"},
		"IPNetwork":  {"IPNetwork", "TextAttributeCreate", "TextAttributeUpdate", "String"},
		"MacAddress": {"MacAddress", "TextAttributeCreate", "TextAttributeUpdate", "String"},
		"JSON":       {"JSONAttribute", "JSONAttributeCreate", "JSONAttributeUpdate", "GenericScalar"},
		"List":       {"ListAttribute", "ListAttributeCreate", "ListAttributeUpdate", "GenericScalar"},
		"Any":        {"AnyAttribute", "AnyAttributeCreate", "AnyAttributeUpdate", "GenericScalar"},
	}
)

func typeOfAttr(kind string) attrType {
	if t, ok := attrTypes[kind]; ok {
		return t
	}
	return textAttr // Text, TextArea, DateTime, Email, Password, URL, File, Color, ...
}

// staticSDL holds the types that do not depend on the loaded kinds.
const staticSDL = `
scalar DateTime
scalar BigInt
scalar GenericScalar

interface CoreNode {
  id: String!
  hfid: [String!]
  display_label: String
}

interface AttributeInterface {
  is_default: Boolean
  is_protected: Boolean
  updated_at: DateTime
}

type RelationshipProperty {
  is_protected: Boolean
  updated_at: DateTime
}

input RelatedNodeInput {
  id: String
  hfid: [String]
  kind: String
}

input DeleteInput {
  id: String
  hfid: [String]
}

type Branch {
  id: String!
  name: String!
  description: String
  origin_branch: String
  branched_from: String
  status: BranchStatus!
  created_at: String
  sync_with_git: Boolean
  is_default: Boolean
  has_schema_changes: Boolean
}

enum BranchStatus {
  OPEN
  NEED_REBASE
  NEED_UPGRADE_REBASE
  DELETING
  MERGING
  MERGED
}

input BranchCreateInput {
  id: String
  name: String!
  description: String
  origin_branch: String
  branched_from: String
  sync_with_git: Boolean
}

input BranchNameInput {
  name: String
}

input BranchDeleteInput {
  name: String
  delete_from_git: Boolean = false
}

type TaskInfo {
  id: String
}

type BranchCreate {
  ok: Boolean
  object: Branch
  task: TaskInfo
}

type BranchMerge {
  ok: Boolean
  object: Branch
  task: TaskInfo
}

type BranchRebase {
  ok: Boolean
  object: Branch
  task: TaskInfo
}

type BranchDelete {
  ok: Boolean
  task: TaskInfo
}

input RelationshipNodesInput {
  id: String
  name: String
  nodes: [RelatedNodeInput]
}

type RelationshipAdd {
  ok: Boolean
}

type RelationshipRemove {
  ok: Boolean
}

type RelatedNode {
  id: String!
  kind: String!
}

interface EventNodeInterface {
  id: String!
  event: String!
  branch: String
  account_id: String
  occurred_at: DateTime!
  level: Int!
  primary_node: RelatedNode
  related_nodes: [RelatedNode!]!
  has_children: Boolean!
  parent_id: String
}

type NodeMutatedEvent implements EventNodeInterface {
  id: String!
  event: String!
  branch: String
  account_id: String
  occurred_at: DateTime!
  level: Int!
  primary_node: RelatedNode
  related_nodes: [RelatedNode!]!
  has_children: Boolean!
  parent_id: String
  payload: GenericScalar!
}

type StandardEvent implements EventNodeInterface {
  id: String!
  event: String!
  branch: String
  account_id: String
  occurred_at: DateTime!
  level: Int!
  primary_node: RelatedNode
  related_nodes: [RelatedNode!]!
  has_children: Boolean!
  parent_id: String
}

type EventNodes {
  node: EventNodeInterface
}

type Events {
  edges: [EventNodes!]!
  count: Int!
}

enum EventSortOrder {
  ASC
  DESC
}
`

// derivedFields are the fields an attribute type has besides its value
// (DropdownType, IPHostType and IPNetworkType in opsmill/infrahub
// backend/infrahub/graphql/types/attribute.py; names and types as in
// fixtures graphql/schema/infrahub-1.10.6-stock.graphql), computed by
// attrExtras.
var derivedFields = map[string]string{
	"Dropdown": "  label: String\n  color: String\n  description: String\n",
	"IPHost": "  ip: String\n  hostmask: String\n  netmask: String\n  prefixlen: Int\n  version: Int\n" +
		"  with_hostmask: String\n  with_netmask: String\n",
	"IPNetwork": "  broadcast_address: String\n  hostmask: String\n  netmask: String\n  prefixlen: Int\n  num_addresses: Int\n" +
		"  version: Int\n  with_hostmask: String\n  with_netmask: String\n",
}

// generateSDL renders the GraphQL schema of the registry's kinds.
func (r *registry) generateSDL() string {
	var b strings.Builder
	b.WriteString(staticSDL)
	valueTypes := []struct{ name, scalar string }{
		{"TextAttribute", "String"}, {"NumberAttribute", "BigInt"}, {"CheckboxAttribute", "Boolean"},
		{"Dropdown", "String"}, {"IPHost", "String"}, {"IPNetwork", "String"}, {"MacAddress", "String"},
		{"JSONAttribute", "GenericScalar"}, {"ListAttribute", "GenericScalar"}, {"AnyAttribute", "GenericScalar"},
	}
	for _, t := range valueTypes {
		fmt.Fprintf(&b, "\ntype %s implements AttributeInterface {\n  is_default: Boolean\n  is_protected: Boolean\n  updated_at: DateTime\n  id: String\n  is_from_profile: Boolean\n  value: %s\n%s}\n", t.name, t.scalar, derivedFields[t.name])
		if t.name == "Dropdown" || strings.HasPrefix(t.name, "IP") || t.name == "MacAddress" {
			continue // these take Text inputs
		}
		base := strings.TrimSuffix(t.name, "Attribute")
		fmt.Fprintf(&b, "\ninput %sAttributeCreate {\n  is_protected: Boolean\n  source: String\n  owner: String\n  value: %s\n}\n", base, t.scalar)
		fmt.Fprintf(&b, "\ninput %sAttributeUpdate {\n  is_default: Boolean\n  is_protected: Boolean\n  source: String\n  owner: String\n  value: %s\n}\n", base, t.scalar)
	}

	var query, mutation strings.Builder
	query.WriteString("\ntype Query {\n  Branch(ids: [ID], name: String): [Branch!]!\n" +
		"  InfrahubEvent(limit: Int, offset: Int, event_type: [String!], branches: [String!], since: DateTime, until: DateTime, " +
		"ids: [String!], primary_node__ids: [String!], order: EventSortOrder = DESC): Events!\n")
	mutation.WriteString("\ntype Mutation {\n" +
		"  BranchCreate(data: BranchCreateInput!, wait_until_completion: Boolean, background_execution: Boolean): BranchCreate\n" +
		"  BranchDelete(data: BranchDeleteInput!, wait_until_completion: Boolean): BranchDelete\n" +
		"  BranchRebase(data: BranchNameInput!, wait_until_completion: Boolean): BranchRebase\n" +
		"  BranchMerge(data: BranchNameInput!, wait_until_completion: Boolean): BranchMerge\n" +
		"  RelationshipAdd(data: RelationshipNodesInput!): RelationshipAdd\n" +
		"  RelationshipRemove(data: RelationshipNodesInput!): RelationshipRemove\n")
	for _, name := range r.order {
		k := r.kinds[name]
		r.writeKind(&b, k)
		fmt.Fprintf(&query, "  %s(%s): Paginated%s!\n", name, r.filterArgs(k), name)
		if k.generic {
			continue
		}
		for _, op := range []string{"Create", "Update", "Upsert"} {
			fmt.Fprintf(&mutation, "  %s%s(data: %s%sInput!): %s%s\n", name, op, name, op, name, op)
			fmt.Fprintf(&b, "\ntype %s%s {\n  ok: Boolean\n  object: %s\n}\n", name, op, name)
		}
		fmt.Fprintf(&mutation, "  %sDelete(data: DeleteInput!): %sDelete\n", name, name)
		fmt.Fprintf(&b, "\ntype %sDelete {\n  ok: Boolean\n}\n", name)
		r.writeInputs(&b, k)
	}
	query.WriteString("}\n")
	mutation.WriteString("}\n")
	b.WriteString(query.String())
	b.WriteString(mutation.String())
	return b.String()
}

func (r *registry) writeKind(b *strings.Builder, k *kindSchema) {
	name := k.Kind
	if k.generic {
		fmt.Fprintf(b, "\ninterface %s {\n  id: String\n", name)
	} else {
		impl := append([]string{"CoreNode"}, k.InheritFrom...)
		fmt.Fprintf(b, "\ntype %s implements %s {\n  id: String!\n", name, strings.Join(impl, " & "))
	}
	b.WriteString("  hfid: [String!]\n  display_label: String\n")
	for _, a := range k.Attributes {
		fmt.Fprintf(b, "  %s: %s\n", a.Name, typeOfAttr(a.Kind).out)
	}
	for _, rl := range k.Relationships {
		if rl.Cardinality == "one" {
			fmt.Fprintf(b, "  %s: NestedEdged%s!\n", rl.Name, rl.Peer)
		} else {
			fmt.Fprintf(b, "  %s(%s): NestedPaginated%s!\n", rl.Name, r.nestedArgs(rl), rl.Peer)
		}
	}
	b.WriteString("}\n")
	fmt.Fprintf(b, "\ntype Edged%s {\n  node: %s\n}\n", name, name)
	fmt.Fprintf(b, "\ntype NestedEdged%s {\n  node: %s\n  properties: RelationshipProperty\n}\n", name, name)
	fmt.Fprintf(b, "\ntype Paginated%s {\n  count: Int!\n  edges: [Edged%s!]!\n}\n", name, name)
	fmt.Fprintf(b, "\ntype NestedPaginated%s {\n  count: Int!\n  edges: [NestedEdged%s!]!\n}\n", name, name)
}

// nestedArgs lists the arguments of a relationship of cardinality many:
// paging, ids, isnull and the peer's attribute filters, as Infrahub 1.10
// generates them (GraphQLSchemaManager.generate_filters with
// include_properties, fixtures graphql/schema/infrahub-1.10.6-stock.graphql).
func (r *registry) nestedArgs(rl infrahub.RelationshipSchema) string {
	args := []string{"offset: Int", "limit: Int", "ids: [ID]", "isnull: Boolean"}
	for _, pa := range r.kinds[rl.Peer].Attributes {
		s := typeOfAttr(pa.Kind).scalar
		args = append(args, pa.Name+"__value: "+s, pa.Name+"__values: ["+s+"]",
			pa.Name+"__source__id: ID", pa.Name+"__owner__id: ID", pa.Name+"__is_protected: Boolean")
	}
	return strings.Join(args, ", ")
}

// filterArgs lists the arguments of a kind's query field.
func (r *registry) filterArgs(k *kindSchema) string {
	args := []string{"offset: Int", "limit: Int", "ids: [ID]", "partial_match: Boolean"}
	if len(k.HumanFriendlyID) > 0 {
		args = append(args, "hfid: [String]") // only kinds that have one
	}
	for _, a := range k.Attributes {
		s := typeOfAttr(a.Kind).scalar
		args = append(args,
			a.Name+"__value: "+s, a.Name+"__values: ["+s+"]", a.Name+"__isnull: Boolean",
			a.Name+"__source__id: ID", a.Name+"__owner__id: ID", a.Name+"__is_protected: Boolean")
	}
	for _, rl := range k.Relationships {
		args = append(args, rl.Name+"__ids: [ID]", rl.Name+"__isnull: Boolean")
		for _, pa := range r.kinds[rl.Peer].Attributes {
			s := typeOfAttr(pa.Kind).scalar
			args = append(args, rl.Name+"__"+pa.Name+"__value: "+s, rl.Name+"__"+pa.Name+"__values: ["+s+"]")
		}
	}
	return strings.Join(args, ", ")
}

func (r *registry) writeInputs(b *strings.Builder, k *kindSchema) {
	for _, op := range []string{"Create", "Update", "Upsert"} {
		fmt.Fprintf(b, "\ninput %s%sInput {\n  id: String\n", k.Kind, op)
		if op != "Create" {
			b.WriteString("  hfid: [String]\n")
		}
		for _, a := range k.Attributes {
			t := typeOfAttr(a.Kind)
			in := t.update
			if op == "Create" {
				in = t.create
			}
			fmt.Fprintf(b, "  %s: %s\n", a.Name, in)
		}
		for _, rl := range k.Relationships {
			if rl.Cardinality == "one" {
				fmt.Fprintf(b, "  %s: RelatedNodeInput\n", rl.Name)
			} else {
				fmt.Fprintf(b, "  %s: [RelatedNodeInput]\n", rl.Name)
			}
		}
		b.WriteString("}\n")
	}
}

// buildSchema generates and parses the GraphQL schema.
func (r *registry) buildSchema() (*ast.Schema, string, error) {
	sdl := r.generateSDL()
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "infrahub.graphql", Input: sdl})
	if err != nil {
		return nil, "", fmt.Errorf("generated GraphQL schema does not load: %w", err)
	}
	return s, sdl, nil
}
