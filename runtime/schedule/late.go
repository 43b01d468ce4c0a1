package schedule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// LateMode says what to do with runs that were due while nobody planned
// them (see Occurrence.Late).
type LateMode string

const (
	// LateRunAll runs every missed occurrence. It is the zero value:
	// nothing is dropped unless a deployment says so.
	LateRunAll LateMode = ""
	// LateRunLatest runs only the most recent missed occurrence of each
	// schedule (schedules carry different parameters, so "latest" is per
	// schedule) and skips the others.
	LateRunLatest LateMode = "run_latest"
	// LateSkip runs no missed occurrence.
	LateSkip LateMode = "skip"
)

// LatePolicy is a deployment's policy for late runs. In JSON:
// {"mode": "skip", "grace": "5m"}; a missing mode is run-all ("run_all" is
// accepted too).
type LatePolicy struct {
	// Mode applies to occurrences late by more than Grace.
	Mode LateMode
	// Grace is how late an occurrence may be and still run whatever the
	// mode, so a short restart skips nothing. Zero means no grace.
	Grace time.Duration
}

// Validate reports an unknown mode or a negative grace as a *fielderr.Error
// ("mode", "grace").
func (p LatePolicy) Validate() error {
	switch p.Mode {
	case LateRunAll, LateRunLatest, LateSkip:
	default:
		return &fielderr.Error{Field: "mode", Reason: fmt.Sprintf("unknown late-run mode %q (want run_all, run_latest or skip)", p.Mode)}
	}
	if p.Grace < 0 {
		return &fielderr.Error{Field: "grace", Reason: fmt.Sprintf("must not be negative, got %v", p.Grace)}
	}
	return nil
}

// Apply splits occurrences, as returned by Timetable.Plan at now, into the
// runs to create and the late occurrences the policy skips. Skipped ones
// are returned so they can be recorded (a run in a skipped state, a log
// line); they are never silently dropped. Occurrences that are not late
// always run. The order of occurrences is kept in both results.
func (p LatePolicy) Apply(occurrences []Occurrence, now time.Time) (run, skipped []Occurrence) {
	for _, o := range occurrences {
		switch {
		case !o.Late || now.Sub(o.Time) <= p.Grace:
			run = append(run, o)
		case p.Mode == LateSkip, p.Mode == LateRunLatest && !o.LastMissed:
			skipped = append(skipped, o)
		default:
			run = append(run, o)
		}
	}
	return run, skipped
}

type latePolicyJSON struct {
	Mode  string `json:"mode,omitempty"`
	Grace string `json:"grace,omitempty"`
}

// MarshalJSON writes {"mode": …, "grace": …}, the mode as "run_all" when it
// is the zero value.
func (p LatePolicy) MarshalJSON() ([]byte, error) {
	w := latePolicyJSON{Mode: string(p.Mode)}
	if p.Mode == LateRunAll {
		w.Mode = "run_all"
	}
	if p.Grace != 0 {
		w.Grace = p.Grace.String()
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the form written by MarshalJSON and validates it.
func (p *LatePolicy) UnmarshalJSON(data []byte) error {
	var w latePolicyJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return jsonFieldError(err)
	}
	q := LatePolicy{Mode: LateMode(w.Mode)}
	if q.Mode == "run_all" {
		q.Mode = LateRunAll
	}
	if w.Grace != "" {
		d, err := time.ParseDuration(w.Grace)
		if err != nil {
			return &fielderr.Error{Field: "grace", Reason: fmt.Sprintf("invalid duration %q", w.Grace)}
		}
		q.Grace = d
	}
	if err := q.Validate(); err != nil {
		return err
	}
	*p = q
	return nil
}
