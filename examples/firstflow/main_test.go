package main

import (
	"context"
	"testing"
)

// The example checks its own outcome (the first change completes, the
// second is rolled back); run it as a test so it cannot rot.
func TestFirstFlow(t *testing.T) {
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
