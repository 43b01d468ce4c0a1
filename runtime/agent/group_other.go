//go:build !unix

package agent

// killOwnGroup: no process groups here; the process exits.
func killOwnGroup() {}
