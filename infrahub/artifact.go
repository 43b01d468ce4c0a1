package infrahub

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
)

// Artifact is a CoreArtifact: a file generated for a target node by an
// artifact definition.
type Artifact struct {
	ID          string       `json:"id"`
	Name        Attr[string] `json:"name"`
	Status      Attr[string] `json:"status"`
	ContentType Attr[string] `json:"content_type"`
	Checksum    Attr[string] `json:"checksum"`
	StorageID   Attr[string] `json:"storage_id"`
	Object      Rel          `json:"object"`
	Definition  Rel          `json:"definition"`
}

// ArtifactFilter selects artifacts. Empty fields do not filter.
type ArtifactFilter struct {
	Branch string
	// DefinitionID, or DefinitionName, of the artifact definition.
	DefinitionID   string
	DefinitionName string
	// TargetID is the node the artifact was generated for.
	TargetID string
}

// Artifacts finds artifacts by definition and target.
func (c *Client) Artifacts(ctx context.Context, f ArtifactFilter) ([]Artifact, error) {
	filters := Filters{}
	if f.DefinitionID != "" {
		filters["definition__ids"] = []string{f.DefinitionID}
	}
	if f.DefinitionName != "" {
		filters["definition__name__value"] = f.DefinitionName
	}
	if f.TargetID != "" {
		filters["object__ids"] = []string{f.TargetID}
	}
	arts, err := List[Artifact](ctx, c, "CoreArtifact", ListOptions{Branch: f.Branch, Filters: filters})
	if err != nil {
		return nil, fmt.Errorf("find artifacts: %w", err)
	}
	return arts, nil
}

// ArtifactContent fetches an artifact's content by artifact id
// (/api/artifact/<id>).
func (c *Client) ArtifactContent(ctx context.Context, artifactID, branch string) ([]byte, error) {
	return c.getBytes(ctx, "/api/artifact/", artifactID, branch)
}

// StorageObject fetches an object from Infrahub's object store by storage
// id (/api/storage/object/<id>), for example an artifact's StorageID.
func (c *Client) StorageObject(ctx context.Context, storageID string) ([]byte, error) {
	return c.getBytes(ctx, "/api/storage/object/", storageID, "")
}

func (c *Client) getBytes(ctx context.Context, prefix, id, branch string) ([]byte, error) {
	if id == "" {
		return nil, fmt.Errorf("infrahub GET %s: id is empty", prefix)
	}
	q := branchQuery(c.branchOr(branch))
	var out []byte
	if err := c.rest(ctx, http.MethodGet, prefix+url.PathEscape(id), q, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// RegenerateArtifacts asks Infrahub to generate the artifacts of a
// definition again: those with the given artifact ids, or every target of
// the definition when artifactIDs is empty. The ids are artifact ids
// (Artifact.ID), not the ids of their target nodes: Infrahub matches the
// list against artifact ids (the SDK's artifact_generate sends
// [artifact.id]) and silently skips anything else.
//
// It returns once Infrahub has queued the work; generation happens later,
// on Infrahub's workers. An artifact whose rendered content has the
// checksum it already has keeps its storage id and sends no event; only
// changed content gets a new storage id and an infrahub.artifact.updated
// event. So do not wait for that event after a regeneration: none comes
// when nothing changed. React to the event instead (a trigger on
// infrahub.artifact.updated), or read the artifact (Artifacts) when you
// need its current content.
func (c *Client) RegenerateArtifacts(ctx context.Context, definitionID string, artifactIDs []string, branch string) error {
	if definitionID == "" {
		return fmt.Errorf("regenerate artifacts: definition id is empty")
	}
	q := branchQuery(c.branchOr(branch))
	if artifactIDs == nil {
		artifactIDs = []string{}
	}
	if err := c.rest(ctx, http.MethodPost, "/api/artifact/generate/"+url.PathEscape(definitionID), q, map[string]any{"nodes": artifactIDs}, nil); err != nil {
		return fmt.Errorf("regenerate artifacts of definition %s: %w", definitionID, err)
	}
	return nil
}
