//go:build !unix

package agent

// killOwnGroup: no process groups here; the process exits.
func killOwnGroup() {}

// keepAfterParent: only Linux kills a child with its parent.
func keepAfterParent() {}
