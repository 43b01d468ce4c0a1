package retry

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// The zero Policy is one attempt and no retry, and its waits are zero.
func TestZeroPolicy(t *testing.T) {
	var p Policy
	if err := p.Validate(); err != nil {
		t.Fatalf("zero policy invalid: %v", err)
	}
	for _, n := range []int{0, 1, 2} {
		if p.Allows(n) {
			t.Errorf("zero policy allows retry %d", n)
		}
		if d := p.Delay(n); d != 0 {
			t.Errorf("zero policy waits %s before retry %d", d, n)
		}
	}
	if s := p.Backoff.String(); s != "none" {
		t.Errorf("zero Backoff = %q, want none", s)
	}
}

func TestRetriesCountsAttemptsAfterTheFirst(t *testing.T) {
	p := Policy{Retries: 3}
	for n, want := range map[int]bool{-1: false, 0: false, 1: true, 2: true, 3: true, 4: false} {
		if got := p.Allows(n); got != want {
			t.Errorf("Retries 3: Allows(%d) = %v, want %v", n, got, want)
		}
	}
	f := Policy{Retries: Forever}
	for _, n := range []int{1, 1000, math.MaxInt32, math.MaxInt} {
		if !f.Allows(n) {
			t.Errorf("Forever: Allows(%d) = false", n)
		}
	}
	if err := f.Validate(); err != nil {
		t.Errorf("Forever invalid: %v", err)
	}
}

func TestBackoffs(t *testing.T) {
	s := time.Second
	tests := []struct {
		b    Backoff
		want []time.Duration // before retries 1, 2, ...
	}{
		{Backoff{}, []time.Duration{0, 0}},
		{Fixed(3 * s), []time.Duration{3 * s, 3 * s, 3 * s}},
		{Fixed(0), []time.Duration{0, 0}},
		{Delays(s, 10*s), []time.Duration{s, 10 * s, 10 * s, 10 * s}},
		{Delays(), []time.Duration{0, 0}},
		{Exponential(s, 3, 20*s), []time.Duration{s, 3 * s, 9 * s, 20 * s, 20 * s}},
		{Exponential(s, 1, 0), []time.Duration{s, s, s}},
		{Exponential(200*time.Millisecond, 2, 0), []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}},
	}
	for _, tt := range tests {
		if err := (Policy{Backoff: tt.b}).Validate(); err != nil {
			t.Errorf("%s: invalid: %v", tt.b, err)
		}
		for i, want := range tt.want {
			if got := tt.b.Delay(i + 1); got != want {
				t.Errorf("%s: Delay(%d) = %s, want %s", tt.b, i+1, got, want)
			}
			if got := (Policy{Backoff: tt.b}).Delay(i + 1); got != want {
				t.Errorf("%s: Policy.Delay(%d) = %s, want %s", tt.b, i+1, got, want)
			}
		}
		if got, first := tt.b.Delay(0), tt.b.Delay(1); got != first {
			t.Errorf("%s: Delay(0) = %s, want the first wait %s", tt.b, got, first)
		}
	}
}

// An exponential without maximum grows until it saturates at the longest
// Duration; it never overflows into a negative (no) wait, jittered or not.
func TestExponentialSaturates(t *testing.T) {
	b := Exponential(time.Hour, 10, 0)
	p := Policy{Retries: Forever, Backoff: b, Jitter: 1}
	prev := time.Duration(0)
	for n := 1; n <= 200; n++ {
		d := b.Delay(n)
		if d < prev || d <= 0 {
			t.Fatalf("Delay(%d) = %s after %s", n, d, prev)
		}
		prev = d
		for _, u := range []float64{0.5, 0.999999} {
			if j := p.delay(n, u); j < d { // u ≥ 0.5 never shortens the wait
				t.Fatalf("jittered Delay(%d) with u=%v = %s, Backoff's %s", n, u, j, d)
			}
		}
	}
	if prev != maxDuration {
		t.Fatalf("Delay(200) = %s, want the longest Duration", prev)
	}
}

func TestJitterBounds(t *testing.T) {
	p := Policy{Backoff: Fixed(10 * time.Second), Jitter: 0.5}
	for u, want := range map[float64]time.Duration{0: 5 * time.Second, 0.5: 10 * time.Second, 0.75: 12500 * time.Millisecond} {
		if got := p.delay(1, u); got != want {
			t.Errorf("delay(1, u=%v) = %s, want %s", u, got, want)
		}
	}
	if got := p.delay(1, math.Nextafter(1, 0)); got > 15*time.Second || got < 14999*time.Millisecond {
		t.Errorf("delay(1, u→1) = %s, want (about) 15s", got)
	}
	distinct := map[time.Duration]bool{}
	for range 200 {
		d := p.Delay(1)
		if d < 5*time.Second || d > 15*time.Second {
			t.Fatalf("jittered wait %s outside [5s, 15s]", d)
		}
		distinct[d] = true
	}
	if len(distinct) < 50 {
		t.Fatalf("Delay drew only %d distinct waits in 200", len(distinct))
	}
	// Jitter 1 spreads over [0, 2d]; a zero wait stays zero.
	full := Policy{Backoff: Fixed(time.Second), Jitter: 1}
	if lo := full.delay(1, 0); lo != 0 {
		t.Errorf("Jitter 1, u=0: %s, want 0", lo)
	}
	if d := (Policy{Backoff: Fixed(0), Jitter: 1}).Delay(1); d != 0 {
		t.Errorf("zero wait jittered to %s", d)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	s := time.Second
	tests := []struct {
		p      Policy
		field  string // "" for valid
		reason string
	}{
		{Policy{Retries: -1}, "Retries", "-1 is negative"},
		{Policy{Jitter: -0.1}, "Jitter", "outside 0..1"},
		{Policy{Jitter: 1.01}, "Jitter", "outside 0..1"},
		{Policy{Jitter: math.NaN()}, "Jitter", "outside 0..1"},
		{Policy{Jitter: 1}, "", ""},
		{Policy{Backoff: Fixed(-s)}, "Backoff", "fixed wait -1s is negative"},
		{Policy{Backoff: Delays(s, -s)}, "Backoff", "delay 2 (-1s) is negative"},
		{Policy{Backoff: Exponential(0, 2, 0)}, "Backoff", "initial wait 0s is not positive"},
		{Policy{Backoff: Exponential(-s, 2, 0)}, "Backoff", "initial wait -1s is not positive"},
		{Policy{Backoff: Exponential(s, 0.5, 0)}, "Backoff", "coefficient 0.5 is below 1"},
		{Policy{Backoff: Exponential(s, 0, 0)}, "Backoff", "coefficient 0 is below 1"},
		{Policy{Backoff: Exponential(s, math.NaN(), 0)}, "Backoff", "coefficient NaN is below 1"},
		{Policy{Backoff: Exponential(s, math.Inf(1), 0)}, "Backoff", "not finite"},
		{Policy{Backoff: Exponential(s, 2, -s)}, "Backoff", "maximum -1s is negative"},
		{Policy{Backoff: Exponential(s, 1, 0)}, "", ""},
		{Policy{Retries: Forever, Backoff: Exponential(s, 2, time.Minute), Jitter: 0.5}, "", ""},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if tt.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tt.p, err)
			}
			continue
		}
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Field != tt.field || !strings.Contains(pe.Reason, tt.reason) {
			t.Errorf("%+v: error %v, want a PolicyError on %s saying %q", tt.p, err, tt.field, tt.reason)
			continue
		}
		if want := tt.field + ": "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q does not start with %q", err, want)
		}
	}
}

// A Backoff keeps its own copy of the list it was made from.
func TestDelaysCopiesItsList(t *testing.T) {
	ds := []time.Duration{time.Second, 2 * time.Second}
	b := Delays(ds...)
	ds[0], ds[1] = -time.Hour, -time.Hour
	if b.Delay(1) != time.Second || b.Delay(2) != 2*time.Second {
		t.Fatalf("Delays changed with the caller's slice: %s", b)
	}
}

func TestBackoffString(t *testing.T) {
	for b, want := range map[*Backoff]string{
		new(Fixed(time.Second)):                          "fixed(1s)",
		new(Delays(time.Second, time.Minute)):            "delays(1s, 1m0s)",
		new(Exponential(time.Second, 2, 30*time.Second)): "exponential(1s, ×2, up to 30s)",
		new(Exponential(time.Second, 1.5, 0)):            "exponential(1s, ×1.5)",
		new(Backoff{}):                                   "none",
	} {
		if got := b.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}
