package infrahub

import (
	"context"
	"net/http"
	"net/url"
)

// Schema is the answer of GET /api/schema: the node and generic schemas of
// a branch.
type Schema struct {
	Main     string       `json:"main,omitempty"`
	Nodes    []NodeSchema `json:"nodes"`
	Generics []NodeSchema `json:"generics"`
}

// NodeSchema describes one node or generic kind.
type NodeSchema struct {
	Name                  string               `json:"name" yaml:"name"`
	Namespace             string               `json:"namespace" yaml:"namespace"`
	Kind                  string               `json:"kind,omitempty" yaml:"kind,omitempty"`
	Label                 string               `json:"label,omitempty" yaml:"label,omitempty"`
	Description           string               `json:"description,omitempty" yaml:"description,omitempty"`
	InheritFrom           []string             `json:"inherit_from,omitempty" yaml:"inherit_from,omitempty"`
	HumanFriendlyID       []string             `json:"human_friendly_id,omitempty" yaml:"human_friendly_id,omitempty"`
	DisplayLabels         []string             `json:"display_labels,omitempty" yaml:"display_labels,omitempty"`
	DisplayLabel          string               `json:"display_label,omitempty" yaml:"display_label,omitempty"`
	UniquenessConstraints [][]string           `json:"uniqueness_constraints,omitempty" yaml:"uniqueness_constraints,omitempty"`
	Attributes            []AttributeSchema    `json:"attributes" yaml:"attributes"`
	Relationships         []RelationshipSchema `json:"relationships" yaml:"relationships"`
}

// AttributeSchema describes one attribute.
type AttributeSchema struct {
	Name         string           `json:"name" yaml:"name"`
	Kind         string           `json:"kind" yaml:"kind"`
	Label        string           `json:"label,omitempty" yaml:"label,omitempty"`
	Description  string           `json:"description,omitempty" yaml:"description,omitempty"`
	Optional     bool             `json:"optional" yaml:"optional"`
	Unique       bool             `json:"unique" yaml:"unique"`
	ReadOnly     bool             `json:"read_only,omitempty" yaml:"read_only,omitempty"`
	DefaultValue any              `json:"default_value,omitempty" yaml:"default_value,omitempty"`
	Enum         []any            `json:"enum,omitempty" yaml:"enum,omitempty"`
	Choices      []map[string]any `json:"choices,omitempty" yaml:"choices,omitempty"`
	// Regex, MinLength and MaxLength constrain the value (0 and "" mean
	// no constraint).
	Regex     string `json:"regex,omitempty" yaml:"regex,omitempty"`
	MinLength int    `json:"min_length,omitempty" yaml:"min_length,omitempty"`
	MaxLength int    `json:"max_length,omitempty" yaml:"max_length,omitempty"`
}

// RelationshipSchema describes one relationship.
type RelationshipSchema struct {
	Name        string `json:"name" yaml:"name"`
	Peer        string `json:"peer" yaml:"peer"`
	Cardinality string `json:"cardinality" yaml:"cardinality"`
	Kind        string `json:"kind,omitempty" yaml:"kind,omitempty"`
	Identifier  string `json:"identifier,omitempty" yaml:"identifier,omitempty"`
	// OnDelete is "cascade" (peers are deleted with the node) or
	// "no-action"; Infrahub defaults it to cascade for kind Component.
	OnDelete    string `json:"on_delete,omitempty" yaml:"on_delete,omitempty"`
	Optional    bool   `json:"optional" yaml:"optional"`
	Label       string `json:"label,omitempty" yaml:"label,omitempty"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// Schema fetches /api/schema for branch ("" for the default).
func (c *Client) Schema(ctx context.Context, branch string) (*Schema, error) {
	var out Schema
	if err := c.rest(ctx, http.MethodGet, "/api/schema", branchQuery(c.branchOr(branch)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GraphQLSchema fetches the GraphQL SDL of branch from /schema.graphql.
func (c *Client) GraphQLSchema(ctx context.Context, branch string) (string, error) {
	var out []byte
	if err := c.rest(ctx, http.MethodGet, "/schema.graphql", branchQuery(c.branchOr(branch)), nil, &out); err != nil {
		return "", err
	}
	return string(out), nil
}

func branchQuery(b string) url.Values {
	if b == "" {
		return nil
	}
	return url.Values{"branch": {b}}
}
