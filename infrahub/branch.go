package infrahub

import (
	"context"
	"fmt"
)

// Branch is an Infrahub branch.
type Branch struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Description      string `json:"description"`
	OriginBranch     string `json:"origin_branch"`
	BranchedFrom     string `json:"branched_from"`
	Status           string `json:"status"`
	SyncWithGit      bool   `json:"sync_with_git"`
	IsDefault        bool   `json:"is_default"`
	HasSchemaChanges bool   `json:"has_schema_changes"`
}

const branchSelection = "{ id name description origin_branch branched_from status sync_with_git is_default has_schema_changes }"

// Branches lists the branches.
func (c *Client) Branches(ctx context.Context) ([]Branch, error) {
	var out struct {
		Branch []Branch `json:"Branch"`
	}
	if err := c.Query(ctx, "", "query { Branch "+branchSelection+" }", nil, &out); err != nil {
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
// creating it.
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
	q := fmt.Sprintf("mutation { BranchCreate(wait_until_completion: true, data: %s) { ok object %s } }", data, branchSelection)
	if err := c.Mutate(ctx, "", q, nil, &out); err != nil {
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
	q := fmt.Sprintf("mutation { %s(wait_until_completion: true, data: {name: %s}) { ok } }", op, name)
	if err := c.Mutate(ctx, "", q, nil, &out); err != nil {
		return fmt.Errorf("%s branch %q: %w", verb, branch, err)
	}
	if !out[op].OK {
		return fmt.Errorf("%s branch %q: server answered ok=false", verb, branch)
	}
	return nil
}
