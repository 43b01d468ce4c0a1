// Package extapi carries package flow's engine machinery to package
// flowext without flow exporting it. Package flow stores its
// implementation in [Impl] when it is initialised; flowext, which imports
// flow and so is initialised after it, asserts Impl to an interface of
// flow's types and calls it. Nothing else may use this package.
//
// The structs here are the wire between the two: each has the same fields,
// in the same order, as its twin in flow (unexported) and in flowext
// (documented for users), so that both convert to and from it; a field
// added to one twin and not the others fails to compile.
package extapi

import (
	"context"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
)

// Impl is package flow's implementation of the engine machinery, set by
// flow's init.
var Impl any

// AttemptConfig is the twin of flowext.AttemptConfig; see there.
type AttemptConfig struct {
	Label                 string
	Retry                 retry.Policy
	RetryIf               func(error) bool
	Timeout               time.Duration
	Execution, Executions int
	Slots                 func(ctx context.Context) (release func(), err error)
	OnRunning             func(ctx context.Context)
}

// Compensation is the twin of flowext.Compensation; see there.
type Compensation struct {
	Key           string
	Name, RunName string
	Tags          []string
	Fn            func(context.Context) error
}
