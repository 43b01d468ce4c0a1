package flow_test

import (
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

func TestCheckTransition(t *testing.T) {
	now := time.Now()
	var (
		none      = flow.State{}
		scheduled = flow.Scheduled(now)
		late      = flow.Late(now)
		awaiting  = flow.AwaitingRetry(now, "boom")
		pending   = flow.Pending()
		running   = flow.Running()
		retrying  = flow.Retrying("attempt 2")
		paused    = flow.Paused("")
		cancelng  = flow.Cancelling("")
		completed = flow.Completed()
		cached    = flow.Cached("")
		failed    = flow.Failed("x")
		timedOut  = flow.TimedOut("x")
		cancelled = flow.Cancelled("x")
		crashed   = flow.Crashed("x", "")
	)
	tests := []struct {
		from, to flow.State
		ok       bool
	}{
		{none, scheduled, true},
		{none, pending, true},
		{none, running, false},
		{none, completed, false},
		{none, late, false},
		{scheduled, late, true},
		{late, late, true},
		{scheduled, pending, true},
		{late, pending, true},
		{scheduled, running, false},
		{scheduled, cancelled, true},
		{scheduled, completed, false},
		{pending, running, true},
		{pending, retrying, true},
		{pending, cached, true},
		{pending, completed, false},
		{pending, failed, true},
		{pending, crashed, true},
		{pending, awaiting, true},
		{pending, scheduled, false},
		{running, completed, true},
		{running, failed, true},
		{running, timedOut, true},
		{running, crashed, true},
		{running, cancelled, true},
		{running, cancelng, true},
		{running, paused, true},
		{running, awaiting, true},
		{running, scheduled, false},
		{running, late, false},
		{running, running, false},
		{running, retrying, false},
		{running, pending, false},
		{awaiting, retrying, true},
		{awaiting, running, false},
		{awaiting, late, false},
		{awaiting, cancelled, true},
		{retrying, completed, true},
		{retrying, awaiting, true},
		{paused, running, true},
		{paused, retrying, false},
		{paused, completed, false},
		{cancelng, cancelled, true},
		{cancelng, completed, true},
		{cancelng, running, false},
		{completed, failed, false},
		{completed, awaiting, false},
		{completed, completed, false},
		{cached, running, false},
		{failed, awaiting, true},
		{timedOut, awaiting, true},
		{crashed, awaiting, true},
		{failed, scheduled, false},
		{failed, running, false},
		{failed, completed, false},
		{cancelled, awaiting, false},
		{cancelled, running, false},
	}
	for _, tt := range tests {
		err := flow.CheckTransition(tt.from, tt.to)
		if (err == nil) != tt.ok {
			t.Errorf("%s → %s: err = %v, want ok=%v", name(tt.from), tt.to.Name, err, tt.ok)
		}
		var te *flow.TransitionError
		if err != nil && !errors.As(err, &te) {
			t.Errorf("%s → %s: error %T is not a *TransitionError", name(tt.from), tt.to.Name, err)
		}
	}
}

func name(s flow.State) string {
	if s.IsZero() {
		return "(new)"
	}
	return s.Name
}

func TestCheckTransitionRejectsMismatchedNames(t *testing.T) {
	bad := flow.State{Type: flow.TypeRunning, Name: flow.NameCompleted}
	if err := flow.CheckTransition(flow.Running(), bad); err == nil {
		t.Fatal("a Completed name with type RUNNING was accepted")
	}
	unknown := flow.State{Type: flow.TypeFailed, Name: "Exploded"}
	if err := flow.CheckTransition(flow.Running(), unknown); err == nil {
		t.Fatal("an unknown state name was accepted")
	}
	if err := flow.CheckTransition(unknown, flow.Completed()); err == nil {
		t.Fatal("a move from an unknown state name was accepted")
	}
}

func TestStateNamesBelongToOneType(t *testing.T) {
	for _, s := range []flow.State{
		flow.Scheduled(time.Time{}), flow.Late(time.Time{}), flow.AwaitingRetry(time.Time{}, ""),
		flow.Pending(), flow.Running(), flow.Retrying(""), flow.Paused(""), flow.Cancelling(""),
		flow.Completed(), flow.Cached(""), flow.Failed(""), flow.TimedOut(""), flow.Cancelled(""), flow.Crashed("", ""),
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("constructor for %s: %v", s.Name, err)
		}
		typ, ok := flow.NameType(s.Name)
		if !ok || typ != s.Type {
			t.Errorf("NameType(%q) = %v, %v; want %v", s.Name, typ, ok, s.Type)
		}
		wantFinal := s.Type == flow.TypeCompleted || s.Type == flow.TypeFailed || s.Type == flow.TypeCancelled || s.Type == flow.TypeCrashed
		if s.Final() != wantFinal {
			t.Errorf("%s.Final() = %v", s.Name, s.Final())
		}
	}
}
