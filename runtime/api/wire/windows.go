package wire

import (
	"time"

	"github.com/netauto-dev/netauto/runtime/window"
)

// OverrideWindow is the body of POST /api/v1/runs/{id}/override-window: why
// a run waiting for its change window may start at once. Reason is
// required; it is recorded in the run's history with the key's name.
type OverrideWindow struct {
	Reason string `json:"reason"`
}

// Windows answers GET /api/v1/windows[?deployment=NAME&count=N]: the
// change calendars of the deployments that have one (or of the one asked
// for, with or without a calendar).
type Windows struct {
	Items []DeploymentWindows `json:"items"`
}

// DeploymentWindows is one deployment's change calendar as it stands at At.
type DeploymentWindows struct {
	Deployment string `json:"deployment"`
	// Calendar is the deployment's declaration (nil: none, always open).
	Calendar *window.Calendar `json:"calendar,omitempty"`
	At       time.Time        `json:"at"`
	// Status says whether a change may start at At, and why not.
	Status window.Status `json:"status"`
	// Next are the next openings, the first one possibly open now.
	Next []window.Opening `json:"next,omitempty"`
	// Freezes are the freezes active at At or to come.
	Freezes []window.ActiveFreeze `json:"freezes,omitempty"`
	// Error says why the calendar cannot be used (its block is missing or
	// holds a bad calendar): the deployment's runs are then held.
	Error string `json:"error,omitempty"`
}
