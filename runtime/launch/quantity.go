package launch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// Quantity is a CPU or memory amount as written in a job template: a
// JSON number or string. CPUs: "1.5", "500m" (milli-CPUs), 2. Memory:
// bytes with an optional suffix, binary (Ki, Mi, Gi, Ti, Pi, Ei) or
// decimal (k, K, M, G, T, P, E): "2Gi", "512Mi", "1.5G", 1048576.
type Quantity struct{ s string }

// ParseQuantity returns the quantity written s (not yet checked: see
// [Quantity.NanoCPUs] and [Quantity.Bytes]).
func ParseQuantity(s string) Quantity { return Quantity{s: strings.TrimSpace(s)} }

// IsZero reports whether the quantity is unset.
func (q Quantity) IsZero() bool { return q.s == "" }

// String returns the quantity as written.
func (q Quantity) String() string { return q.s }

// MarshalJSON writes the quantity as a string.
func (q Quantity) MarshalJSON() ([]byte, error) { return json.Marshal(q.s) }

// UnmarshalJSON accepts a string or a number.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return &fielderr.Error{Reason: "invalid string"}
		}
		if strings.TrimSpace(s) == "" {
			return &fielderr.Error{Reason: "empty quantity"}
		}
		q.s = strings.TrimSpace(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &fielderr.Error{Reason: "want a number or a string like \"2Gi\" or \"500m\""}
	}
	q.s = n.String()
	return nil
}

// decimal parses the numeric part of a quantity exactly.
func decimal(s string) (*big.Rat, error) {
	if s == "" || strings.ContainsAny(s, "eE/") || strings.HasPrefix(s, "+") {
		return nil, fmt.Errorf("missing or malformed number")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("malformed number %q", s)
	}
	if r.Sign() < 0 {
		return nil, fmt.Errorf("negative")
	}
	return r, nil
}

// NanoCPUs returns the quantity in billionths of a CPU.
func (q Quantity) NanoCPUs() (int64, error) {
	s := q.s
	scale := big.NewRat(1_000_000_000, 1)
	if n, ok := strings.CutSuffix(s, "m"); ok {
		s, scale = n, big.NewRat(1_000_000, 1)
	}
	r, err := decimal(s)
	if err != nil {
		return 0, fmt.Errorf("CPU quantity %q: %v (want e.g. 1.5 or 500m)", q.s, err)
	}
	r.Mul(r, scale)
	if !r.IsInt() {
		return 0, fmt.Errorf("CPU quantity %q: finer than a nano-CPU", q.s)
	}
	if !r.Num().IsInt64() || r.Num().Int64() > 1<<40 {
		return 0, fmt.Errorf("CPU quantity %q: too large", q.s)
	}
	if r.Sign() == 0 {
		return 0, fmt.Errorf("CPU quantity %q: zero", q.s)
	}
	return r.Num().Int64(), nil
}

var memSuffixes = []struct {
	suffix string
	mult   int64
}{
	{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50}, {"Ei", 1 << 60},
	{"k", 1e3}, {"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12}, {"P", 1e15}, {"E", 1e18},
}

// Bytes returns the quantity in bytes, rounded up to a whole byte.
func (q Quantity) Bytes() (int64, error) {
	s, mult := q.s, int64(1)
	for _, m := range memSuffixes {
		if n, ok := strings.CutSuffix(s, m.suffix); ok {
			s, mult = n, m.mult
			break
		}
	}
	if strings.HasSuffix(s, "m") {
		return 0, fmt.Errorf("memory quantity %q: \"m\" is milli; write Mi (mebibytes) or M (megabytes)", q.s)
	}
	r, err := decimal(s)
	if err != nil {
		return 0, fmt.Errorf("memory quantity %q: %v (want e.g. 2Gi, 512Mi or 1G)", q.s, err)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if !r.IsInt() {
		n.Add(n, big.NewInt(1))
	}
	if !n.IsInt64() || n.Int64() > math.MaxInt64/2 {
		return 0, fmt.Errorf("memory quantity %q: too large", q.s)
	}
	if n.Sign() == 0 {
		return 0, fmt.Errorf("memory quantity %q: zero", q.s)
	}
	return n.Int64(), nil
}
