package infrahub

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Branch is an Infrahub branch.
type Branch struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	OriginBranch string `json:"origin_branch"`
	BranchedFrom string `json:"branched_from"`
	// Status is OPEN, NEED_REBASE, MERGED, ...; empty on Infrahub
	// releases whose Branch type has no status (those of 2024).
	Status           string `json:"status"`
	SyncWithGit      bool   `json:"sync_with_git"`
	IsDefault        bool   `json:"is_default"`
	HasSchemaChanges bool   `json:"has_schema_changes"`
}

const (
	branchSelection = "{ id name description origin_branch branched_from status sync_with_git is_default has_schema_changes }"
	// legacyBranchSelection is for Infrahub releases whose Branch type has
	// no status (1.0 and 1.1: opsmill/infrahub backend/infrahub/graphql/types/branch.py
	// of October 2024; fixtures graphql/schema/infrahub-dcfabric-demo-2024-12.graphql).
	legacyBranchSelection = "{ id name description origin_branch branched_from sync_with_git is_default has_schema_changes }"
)

// withBranchSelection runs do with the Branch selection the server
// accepts: the full one, or, once the server refused the status field,
// the legacy one. The refusal is a validation error, so nothing ran and a
// mutation may be sent again.
func (c *Client) withBranchSelection(do func(sel string) error) error {
	if c.legacyBranch.Load() {
		return do(legacyBranchSelection)
	}
	err := do(branchSelection)
	if !unknownField(err, "Branch", "status") {
		return err
	}
	c.legacyBranch.Store(true)
	return do(legacyBranchSelection)
}

// unknownField reports whether err is GraphQL's validation error for a
// field the type does not have (graphql-core: "Cannot query field
// 'status' on type 'Branch'.").
func unknownField(err error, typ, field string) bool {
	var ge *GraphQLError
	if !errors.As(err, &ge) {
		return false
	}
	for _, it := range ge.Errors {
		m := strings.ReplaceAll(it.Message, `"`, "'")
		if strings.Contains(m, "Cannot query field '"+field+"' on type '"+typ+"'") {
			return true
		}
	}
	return false
}

// Branches lists the branches.
func (c *Client) Branches(ctx context.Context) ([]Branch, error) {
	var out struct {
		Branch []Branch `json:"Branch"`
	}
	err := c.withBranchSelection(func(sel string) error {
		return c.Query(ctx, "", "query { Branch "+sel+" }", nil, &out)
	})
	if err != nil {
		return nil, fmt.Errorf("list branches: %w", err)
	}
	return out.Branch, nil
}

// BranchInput describes a branch to create.
type BranchInput struct {
	Name        string
	Description string
	SyncWithGit bool
}

// CreateBranch creates a branch and waits until Infrahub has finished
// creating it. The branch mutations are sent without
// wait_until_completion: Infrahub waits by default where it has the
// argument (BranchCreate.mutate in opsmill/infrahub
// backend/infrahub/graphql/mutations/branch.py), and releases before 1.2
// refuse it.
func (c *Client) CreateBranch(ctx context.Context, in BranchInput) (Branch, error) {
	if in.Name == "" {
		return Branch{}, fmt.Errorf("create branch: field Name is empty")
	}
	data, err := literal(map[string]any{"name": in.Name, "description": in.Description, "sync_with_git": in.SyncWithGit})
	if err != nil {
		return Branch{}, fmt.Errorf("create branch %q: %w", in.Name, err)
	}
	var out struct {
		BranchCreate struct {
			OK     bool    `json:"ok"`
			Object *Branch `json:"object"`
		} `json:"BranchCreate"`
	}
	err = c.withBranchSelection(func(sel string) error {
		return c.Mutate(ctx, "", fmt.Sprintf("mutation { BranchCreate(data: %s) { ok object %s } }", data, sel), nil, &out)
	})
	if err != nil {
		return Branch{}, fmt.Errorf("create branch %q: %w", in.Name, err)
	}
	if !out.BranchCreate.OK || out.BranchCreate.Object == nil {
		return Branch{}, fmt.Errorf("create branch %q: server answered ok=false", in.Name)
	}
	return *out.BranchCreate.Object, nil
}

// MergeBranch merges branch into the default branch and waits for the
// merge to finish.
func (c *Client) MergeBranch(ctx context.Context, branch string) error {
	return c.branchOp(ctx, "BranchMerge", "merge", branch)
}

// RebaseBranch rebases branch on the default branch and waits.
func (c *Client) RebaseBranch(ctx context.Context, branch string) error {
	return c.branchOp(ctx, "BranchRebase", "rebase", branch)
}

// DeleteBranch deletes branch and waits.
func (c *Client) DeleteBranch(ctx context.Context, branch string) error {
	return c.branchOp(ctx, "BranchDelete", "delete", branch)
}

func (c *Client) branchOp(ctx context.Context, op, verb, branch string) error {
	if branch == "" {
		return fmt.Errorf("%s branch: name is empty", verb)
	}
	name, err := literal(branch)
	if err != nil {
		return err
	}
	var out map[string]struct {
		OK bool `json:"ok"`
	}
	q := fmt.Sprintf("mutation { %s(data: {name: %s}) { ok } }", op, name)
	if err := c.Mutate(ctx, "", q, nil, &out); err != nil {
		return fmt.Errorf("%s branch %q: %w", verb, branch, err)
	}
	if !out[op].OK {
		return fmt.Errorf("%s branch %q: server answered ok=false", verb, branch)
	}
	return nil
}
