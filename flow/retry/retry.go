package retry

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// Forever is the Retries of a policy that retries until the caller's
// context ends.
const Forever = math.MaxInt

// maxDuration is the longest time.Duration (about 292 years): what a wait
// too long to represent becomes, rather than overflowing to a negative
// (that is: no) wait.
const maxDuration = time.Duration(math.MaxInt64)

// Policy says how many times a failed operation is tried again and how
// long to wait before each retry. The zero value never retries. See the
// package documentation for what each field means and for what a policy
// leaves to its user.
type Policy struct {
	// Retries is how many attempts may follow the first: 0 never
	// retries, [Forever] retries until the context ends. Not negative.
	Retries int
	// Backoff gives the wait before each retry; the zero Backoff retries
	// at once.
	Backoff Backoff
	// Jitter spreads each wait d uniformly over [d·(1−Jitter),
	// d·(1+Jitter)]; 0 to 1, 0 for none.
	Jitter float64
}

// PolicyError reports a policy that cannot be meant, naming its field.
type PolicyError struct {
	// Field is the Policy field at fault: "Retries", "Backoff" or "Jitter".
	Field string
	// Reason says what is wrong with its value.
	Reason string
}

// Error returns "Field: Reason".
func (e *PolicyError) Error() string { return e.Field + ": " + e.Reason }

// Validate reports the first field that cannot be meant as a
// *[PolicyError]: a negative Retries, a Jitter outside 0..1, a Backoff
// with a negative wait, an exponential Backoff whose initial wait is not
// positive or whose coefficient is below 1.
func (p Policy) Validate() error {
	if p.Retries < 0 {
		return &PolicyError{"Retries", fmt.Sprintf("%d is negative (0 never retries, retry.Forever retries until the context ends)", p.Retries)}
	}
	if err := p.Backoff.validate(); err != nil {
		return &PolicyError{"Backoff", err.Error()}
	}
	if !(p.Jitter >= 0 && p.Jitter <= 1) { // NaN included
		return &PolicyError{"Jitter", fmt.Sprintf("%v is outside 0..1", p.Jitter)}
	}
	return nil
}

// Allows reports whether the policy grants retry n, counting from 1: the
// attempt after the n-th failed one.
func (p Policy) Allows(n int) bool { return n >= 1 && n <= p.Retries }

// Delay returns the wait before retry n, counting from 1: the Backoff's
// delay, spread by Jitter. It is never negative.
func (p Policy) Delay(n int) time.Duration {
	if p.Jitter == 0 {
		return p.Backoff.Delay(n)
	}
	return p.delay(n, rand.Float64())
}

// delay is Delay with the jitter's random draw u in [0, 1) given:
// u = 0 gives the shortest wait, u → 1 the longest, u = 0.5 the
// Backoff's own.
func (p Policy) delay(n int, u float64) time.Duration {
	d := p.Backoff.Delay(n)
	if p.Jitter == 0 || d == 0 {
		return d
	}
	return clamp(float64(d) * (1 + p.Jitter*(2*u-1)))
}

// clamp converts a wait computed in floating point to a Duration,
// saturating instead of overflowing.
func clamp(d float64) time.Duration {
	switch {
	case math.IsNaN(d) || d <= 0:
		return 0
	case d >= float64(maxDuration):
		return maxDuration
	}
	return time.Duration(d)
}

// Backoff computes the wait before a retry. Make one with [Fixed],
// [Delays] or [Exponential]; the zero Backoff waits nothing. A Backoff is
// immutable and safe to share.
type Backoff struct {
	kind backoffKind
	// delays holds Fixed's one wait and Delays' list.
	delays []time.Duration
	// initial, coefficient and maximum are Exponential's.
	initial     time.Duration
	coefficient float64
	maximum     time.Duration
}

type backoffKind uint8

const (
	none backoffKind = iota
	fixed
	listed
	exponential
)

// Fixed waits d before every retry.
func Fixed(d time.Duration) Backoff {
	return Backoff{kind: fixed, delays: []time.Duration{d}}
}

// Delays waits ds[0] before the first retry, ds[1] before the second, and
// the last one before every retry past the list. Delays() waits nothing.
func Delays(ds ...time.Duration) Backoff {
	return Backoff{kind: listed, delays: append([]time.Duration(nil), ds...)}
}

// Exponential waits initial before the first retry and multiplies the
// wait by coefficient (at least 1) for each retry after, up to maximum (0
// for no maximum): Temporal's InitialInterval, BackoffCoefficient and
// MaximumInterval.
func Exponential(initial time.Duration, coefficient float64, maximum time.Duration) Backoff {
	return Backoff{kind: exponential, initial: initial, coefficient: coefficient, maximum: maximum}
}

// Delay returns the wait before retry n, counting from 1 (n below 1 counts
// as 1), without jitter. A wait too long for a Duration saturates at about
// 292 years rather than overflowing.
func (b Backoff) Delay(n int) time.Duration {
	n = max(n, 1)
	switch b.kind {
	case fixed, listed:
		if len(b.delays) == 0 {
			return 0
		}
		return max(b.delays[min(n, len(b.delays))-1], 0)
	case exponential:
		d := clamp(float64(b.initial) * math.Pow(b.coefficient, float64(n-1)))
		if b.maximum > 0 {
			d = min(d, b.maximum)
		}
		return d
	}
	return 0
}

func (b Backoff) validate() error {
	switch b.kind {
	case fixed:
		if b.delays[0] < 0 {
			return fmt.Errorf("fixed wait %s is negative", b.delays[0])
		}
	case listed:
		for i, d := range b.delays {
			if d < 0 {
				return fmt.Errorf("delay %d (%s) is negative", i+1, d)
			}
		}
	case exponential:
		switch {
		case b.initial <= 0:
			return fmt.Errorf("exponential initial wait %s is not positive", b.initial)
		case !(b.coefficient >= 1): // NaN included
			return fmt.Errorf("exponential coefficient %v is below 1 (1 waits the same each time)", b.coefficient)
		case math.IsInf(b.coefficient, 1):
			return fmt.Errorf("exponential coefficient %v is not finite", b.coefficient)
		case b.maximum < 0:
			return fmt.Errorf("exponential maximum %s is negative (0 for none)", b.maximum)
		}
	}
	return nil
}

// String describes the backoff as it was made, e.g.
// "exponential(1s, ×2, up to 30s)".
func (b Backoff) String() string {
	switch b.kind {
	case fixed:
		return fmt.Sprintf("fixed(%s)", b.delays[0])
	case listed:
		s := make([]string, len(b.delays))
		for i, d := range b.delays {
			s[i] = d.String()
		}
		return "delays(" + strings.Join(s, ", ") + ")"
	case exponential:
		if b.maximum == 0 {
			return fmt.Sprintf("exponential(%s, ×%v)", b.initial, b.coefficient)
		}
		return fmt.Sprintf("exponential(%s, ×%v, up to %s)", b.initial, b.coefficient, b.maximum)
	}
	return "none"
}
