package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

// PoolType is the work pool type served by the Docker launcher.
const PoolType = "docker"

// PullPolicy says when the launcher pulls a run's image.
type PullPolicy string

// The pull policies of a job template's image_pull_policy.
const (
	// PullAlways pulls before every run; a failed pull fails the run.
	PullAlways PullPolicy = "Always"
	// PullIfNotPresent uses the local image when present, else pulls.
	PullIfNotPresent PullPolicy = "IfNotPresent"
	// PullNever uses the local image only.
	PullNever PullPolicy = "Never"
)

// FieldError is a bad field of a job template or job variables.
type FieldError struct {
	// Field is the JSON name of the field ("memory_limit", "env.TOKEN").
	Field string
	// Reason says what is wrong with it; it never holds a secret value.
	Reason string
}

func (e *FieldError) Error() string { return "job template: " + e.Field + ": " + e.Reason }

// JobTemplate is the job template of a docker work pool, after layering
// (pool template < deployment job variables < run job variables). Its
// zero fields take the launcher's defaults.
type JobTemplate struct {
	// Image is the image the run's container starts from (required at
	// launch).
	Image string `json:"image,omitempty"`
	// ImagePullPolicy is Always, IfNotPresent (default) or Never.
	ImagePullPolicy PullPolicy `json:"image_pull_policy,omitempty"`
	// Env is added to the container's environment. Values may hold
	// references resolved at launch: {{ name }} (a run field — run_id,
	// flow_run_name, flow, deployment, pool, attempt — or else a store
	// variable), {{ variables.NAME }}, {{ secrets.NAME }},
	// {{ blocks.NAME.FIELD }} (FIELD may be a dotted path into the block,
	// "notify.webhook_url") and {{ blocks.NAME }} (the whole block as a
	// JSON object, its secret fields in place). Resolved values are never
	// logged; secret ones are handed over as SecretEnv says.
	Env map[string]string `json:"env,omitempty"`
	// CPULimit caps the container's CPUs ("1.5", "500m", 2).
	CPULimit Quantity `json:"cpu_limit,omitzero"`
	// CPURequest is the container's CPU weight: 1 CPU = 1024 shares.
	CPURequest Quantity `json:"cpu_request,omitzero"`
	// MemoryLimit caps the container's memory ("2Gi", "512Mi", "1G").
	MemoryLimit Quantity `json:"memory_limit,omitzero"`
	// MemoryRequest is the container's memory reservation (soft limit).
	MemoryRequest Quantity `json:"memory_request,omitzero"`
	// Networks are networks the container joins besides its network
	// mode's.
	Networks []string `json:"networks,omitempty"`
	// NetworkMode is the container's network mode (bridge, host, none,
	// container:ID, or a network name).
	NetworkMode string `json:"network_mode,omitempty"`
	// Volumes are binds and volumes, "SOURCE:TARGET[:ro|rw]".
	Volumes []string `json:"volumes,omitempty"`
	// Labels are added to the container's labels; the launcher's own
	// (netauto.*) cannot be overridden.
	Labels map[string]string `json:"labels,omitempty"`
	// AutoRemove removes the container when it ends.
	AutoRemove bool `json:"auto_remove,omitempty"`
	// Name is the container's name; it may hold {{ run_id }} and the
	// other run fields. Default: netauto-RUNID.
	Name string `json:"name,omitempty"`
	// Command replaces the container's argv; default the image's
	// orchestrator running `execute --run-id ID`.
	Command []string `json:"command,omitempty"`
	// Allow is the pool's [Policy]: what job variables may set and what
	// of the host containers may reach. Only the pool's template (the
	// first layer) holds it.
	Allow *Policy `json:"allow,omitempty"`
	// SecretEnv says how secret values reach the container: "stdin" (the
	// default) writes them to the container's standard input once it
	// started, where `execute` reads them (see [SecretEnvStdin]), so that
	// `docker inspect` and the engine's stored configuration never hold
	// them; "env" puts them in its environment like the other values, for
	// an image whose netauto predates the stdin hand-over. Secret values
	// are env values resolving a secret (secrets.NAME, a block's secret
	// field, a block holding secret fields) and the run's token.
	SecretEnv string `json:"secret_env,omitempty"`
}

// templateFields are the known fields, in documentation order.
var templateFields = []string{
	"image", "image_pull_policy", "env", "cpu_limit", "cpu_request", "memory_limit",
	"memory_request", "networks", "network_mode", "volumes", "labels", "auto_remove", "name", "command", "secret_env",
}

// mapFields are merged key by key across layers; the others are replaced.
var mapFields = map[string]bool{"env": true, "labels": true}

// ParseJobTemplate layers the given JSON documents — the pool's job
// template, then a deployment's job variables, then a run's — and checks
// the result. Empty and null layers are skipped. A later layer replaces a
// field of an earlier one, except env and labels, which are merged key by
// key (a null value removes a key). Unknown fields, wrong types, bad
// quantities and bad references are a *[FieldError] naming the field.
func ParseJobTemplate(layers ...json.RawMessage) (JobTemplate, error) {
	merged := map[string]json.RawMessage{}
	for i, raw := range layers {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return JobTemplate{}, &FieldError{Field: layerName(i), Reason: "not a JSON object: " + jsonReason(err)}
		}
		for k, v := range m {
			if k == "allow" {
				if i > 0 {
					return JobTemplate{}, &FieldError{Field: k, Reason: "only the pool's job template says what it allows"}
				}
				merged[k] = v
				continue
			}
			if !slices.Contains(templateFields, k) {
				return JobTemplate{}, &FieldError{Field: k, Reason: "unknown field (known: " + strings.Join(templateFields, ", ") + ")"}
			}
			if mapFields[k] {
				nv, err := mergeMap(k, merged[k], v)
				if err != nil {
					return JobTemplate{}, err
				}
				merged[k] = nv
				continue
			}
			merged[k] = v
		}
	}
	var t JobTemplate
	if v, ok := merged["allow"]; ok && string(bytes.TrimSpace(v)) != "null" {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.DisallowUnknownFields()
		var p Policy
		if err := dec.Decode(&p); err != nil {
			return JobTemplate{}, &FieldError{Field: "allow", Reason: policyReason(err)}
		}
		t.Allow = &p
	}
	for _, k := range templateFields {
		v, ok := merged[k]
		if !ok || string(bytes.TrimSpace(v)) == "null" {
			continue
		}
		if err := t.decodeField(k, v); err != nil {
			return JobTemplate{}, err
		}
	}
	return t, t.Validate()
}

func layerName(i int) string {
	switch i {
	case 0:
		return "job_template"
	default:
		return "job_variables"
	}
}

func jsonReason(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax error at offset " + strconv.FormatInt(se.Offset, 10)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "want " + te.Type.String() + ", got " + te.Value
	}
	return "invalid JSON"
}

func mergeMap(field string, base, over json.RawMessage) (json.RawMessage, error) {
	m := map[string]*string{}
	if len(base) > 0 {
		_ = json.Unmarshal(base, &m) // base came from a previous merge
	}
	if string(bytes.TrimSpace(over)) == "null" {
		return nil, nil
	}
	var o map[string]*string
	if err := json.Unmarshal(over, &o); err != nil {
		return nil, &FieldError{Field: field, Reason: "want an object of strings: " + jsonReason(err)}
	}
	for k, v := range o {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

func (t *JobTemplate) decodeField(k string, v json.RawMessage) error {
	var dst any
	switch k {
	case "image":
		dst = &t.Image
	case "image_pull_policy":
		dst = &t.ImagePullPolicy
	case "env":
		dst = &t.Env
	case "cpu_limit":
		dst = &t.CPULimit
	case "cpu_request":
		dst = &t.CPURequest
	case "memory_limit":
		dst = &t.MemoryLimit
	case "memory_request":
		dst = &t.MemoryRequest
	case "networks":
		dst = &t.Networks
	case "network_mode":
		dst = &t.NetworkMode
	case "volumes":
		dst = &t.Volumes
	case "labels":
		dst = &t.Labels
	case "auto_remove":
		dst = &t.AutoRemove
	case "name":
		dst = &t.Name
	case "command":
		dst = &t.Command
	case "secret_env":
		dst = &t.SecretEnv
	}
	if err := json.Unmarshal(v, dst); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return &FieldError{Field: k, Reason: fe.Reason}
		}
		return &FieldError{Field: k, Reason: jsonReason(err)}
	}
	return nil
}

var (
	envNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
	refRe       = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_.-]*)*$`)
)

// Validate checks the template's fields; a *[FieldError] names the first
// bad one.
func (t JobTemplate) Validate() error {
	switch t.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		return &FieldError{Field: "image_pull_policy", Reason: fmt.Sprintf("%q: want Always, IfNotPresent or Never", t.ImagePullPolicy)}
	}
	switch t.SecretEnv {
	case "", "stdin", "env":
	default:
		return &FieldError{Field: "secret_env", Reason: fmt.Sprintf("%q: want stdin or env", t.SecretEnv)}
	}
	if strings.ContainsAny(t.Image, " \t\n") {
		return &FieldError{Field: "image", Reason: "contains white space"}
	}
	for _, k := range sortedKeys(t.Env) {
		if !envNameRe.MatchString(k) {
			return &FieldError{Field: "env." + k, Reason: "not a valid variable name"}
		}
		if _, err := parseRefs(t.Env[k]); err != nil {
			return &FieldError{Field: "env." + k, Reason: err.Error()}
		}
	}
	for _, q := range []struct {
		name string
		q    Quantity
		mem  bool
	}{{"cpu_limit", t.CPULimit, false}, {"cpu_request", t.CPURequest, false}, {"memory_limit", t.MemoryLimit, true}, {"memory_request", t.MemoryRequest, true}} {
		if q.q.IsZero() {
			continue
		}
		var err error
		if q.mem {
			_, err = q.q.Bytes()
		} else {
			_, err = q.q.NanoCPUs()
		}
		if err != nil {
			return &FieldError{Field: q.name, Reason: err.Error()}
		}
	}
	if !t.CPULimit.IsZero() && !t.CPURequest.IsZero() {
		l, _ := t.CPULimit.NanoCPUs()
		r, _ := t.CPURequest.NanoCPUs()
		if r > l {
			return &FieldError{Field: "cpu_request", Reason: "above cpu_limit"}
		}
	}
	if !t.MemoryLimit.IsZero() && !t.MemoryRequest.IsZero() {
		l, _ := t.MemoryLimit.Bytes()
		r, _ := t.MemoryRequest.Bytes()
		if r > l {
			return &FieldError{Field: "memory_request", Reason: "above memory_limit"}
		}
	}
	for i, n := range t.Networks {
		if strings.TrimSpace(n) == "" {
			return &FieldError{Field: fmt.Sprintf("networks[%d]", i), Reason: "empty"}
		}
	}
	for i, v := range t.Volumes {
		if _, err := parseVolume(v); err != nil {
			return &FieldError{Field: fmt.Sprintf("volumes[%d]", i), Reason: err.Error()}
		}
	}
	for _, k := range sortedKeys(t.Labels) {
		if !labelNameRe.MatchString(k) {
			return &FieldError{Field: "labels." + k, Reason: "not a valid label key"}
		}
		if strings.HasPrefix(k, labelPrefix) {
			return &FieldError{Field: "labels." + k, Reason: "the " + labelPrefix + " prefix is the launcher's"}
		}
	}
	if t.Name != "" {
		if _, err := parseRefs(t.Name); err != nil {
			return &FieldError{Field: "name", Reason: err.Error()}
		}
	}
	for i, a := range t.Command {
		if i == 0 && a == "" {
			return &FieldError{Field: "command[0]", Reason: "empty"}
		}
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// volume is one parsed volumes entry.
type volume struct {
	source, target string
	readOnly       bool
}

func parseVolume(s string) (volume, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return volume{}, fmt.Errorf("%q: want SOURCE:TARGET[:ro|rw]", s)
	}
	v := volume{source: parts[0], target: parts[1]}
	if v.source == "" || v.target == "" {
		return volume{}, fmt.Errorf("%q: empty source or target", s)
	}
	if !strings.HasPrefix(v.target, "/") {
		return volume{}, fmt.Errorf("%q: target must be an absolute path", s)
	}
	if len(parts) == 3 {
		switch parts[2] {
		case "ro":
			v.readOnly = true
		case "rw":
		default:
			return volume{}, fmt.Errorf("%q: mode %q: want ro or rw", s, parts[2])
		}
	}
	return v, nil
}

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
			return &FieldError{Reason: "invalid string"}
		}
		if strings.TrimSpace(s) == "" {
			return &FieldError{Reason: "empty quantity"}
		}
		q.s = strings.TrimSpace(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return &FieldError{Reason: "want a number or a string like \"2Gi\" or \"500m\""}
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

// piece is a literal or a {{ reference }} of a templated value.
type piece struct {
	lit string
	ref string // set for a reference
}

// parseRefs splits s into literals and {{ references }}.
func parseRefs(s string) ([]piece, error) {
	var out []piece
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if strings.Contains(s, "}}") {
				return nil, errors.New(`"}}" without "{{"`)
			}
			if s != "" {
				out = append(out, piece{lit: s})
			}
			return out, nil
		}
		if strings.Contains(s[:i], "}}") {
			return nil, errors.New(`"}}" without "{{"`)
		}
		if i > 0 {
			out = append(out, piece{lit: s[:i]})
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return nil, errors.New(`"{{" without "}}"`)
		}
		ref := strings.TrimSpace(s[i+2 : i+2+j])
		if !refRe.MatchString(ref) {
			return nil, fmt.Errorf("bad reference {{ %s }}: want a name, variables.NAME, secrets.NAME or blocks.NAME.FIELD", truncate(ref, 40))
		}
		switch head, _, _ := strings.Cut(ref, "."); head {
		case "secrets", "variables":
			if strings.Count(ref, ".") != 1 {
				return nil, fmt.Errorf("bad reference {{ %s }}: want %s.NAME", ref, head)
			}
		case "blocks":
			if strings.Count(ref, ".") < 1 {
				return nil, fmt.Errorf("bad reference {{ %s }}: want blocks.NAME or blocks.NAME.FIELD", ref)
			}
		}
		out = append(out, piece{ref: ref})
		s = s[i+2+j+2:]
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Resolver gives the launcher the secrets, blocks and variables that env
// values reference; a store.Store is one.
type Resolver interface {
	GetSecret(ctx context.Context, name string) (store.Secret, error)
	GetBlock(ctx context.Context, name string) (store.Block, error)
	GetVariable(ctx context.Context, name string) (json.RawMessage, error)
}

// runFields are the run's own template variables.
func runFields(run store.FlowRun) map[string]string {
	return map[string]string{
		"run_id": run.ID, "flow_run_name": run.Name, "flow": run.Flow, "deployment": run.Deployment,
		"pool": run.Pool, "queue": run.Queue, "attempt": strconv.Itoa(run.Attempt),
	}
}

// expand resolves the references of s. Errors name the reference, never
// a resolved value. secret reports that a reference resolved a secret.
func expand(ctx context.Context, s string, run store.FlowRun, r Resolver) (v string, secret bool, err error) {
	ps, err := parseRefs(s)
	if err != nil {
		return "", false, err
	}
	var b strings.Builder
	rf := runFields(run)
	for _, p := range ps {
		if p.ref == "" {
			b.WriteString(p.lit)
			continue
		}
		v, sec, err := resolveRef(ctx, p.ref, rf, r)
		if err != nil {
			return "", false, fmt.Errorf("{{ %s }}: %w", p.ref, err)
		}
		secret = secret || sec
		b.WriteString(v)
	}
	return b.String(), secret, nil
}

func resolveRef(ctx context.Context, ref string, rf map[string]string, r Resolver) (string, bool, error) {
	head, rest, dotted := strings.Cut(ref, ".")
	if !dotted {
		if v, ok := rf[ref]; ok {
			return v, false, nil
		}
		head, rest = "variables", ref
	}
	if r == nil && (head == "secrets" || head == "blocks" || head == "variables") {
		return "", false, errors.New("no resolver for store references")
	}
	switch head {
	case "secrets":
		s, err := r.GetSecret(ctx, rest)
		if err != nil {
			return "", false, fmt.Errorf("secret %q: %w", rest, resolverErr(err))
		}
		return s.Reveal(), true, nil
	case "variables":
		v, err := r.GetVariable(ctx, rest)
		if err != nil {
			return "", false, fmt.Errorf("variable %q: %w", rest, resolverErr(err))
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s, false, nil
		}
		return string(v), false, nil
	case "blocks":
		name, field, _ := strings.Cut(rest, ".")
		b, err := r.GetBlock(ctx, name)
		if err != nil {
			return "", false, fmt.Errorf("block %q: %w", name, resolverErr(err))
		}
		if field == "" {
			doc, err := blockDocument(b)
			if err != nil {
				return "", false, fmt.Errorf("block %q: %w", name, err)
			}
			return doc, len(b.Secrets) > 0, nil
		}
		if s, ok := b.Secrets[field]; ok {
			return s.Reveal(), true, nil
		}
		var data any
		if err := json.Unmarshal(b.Data, &data); err == nil {
			for _, k := range strings.Split(field, ".") {
				m, ok := data.(map[string]any)
				if !ok {
					data = nil
					break
				}
				if data, ok = m[k]; !ok {
					break
				}
			}
			if data != nil {
				if s, ok := data.(string); ok {
					return s, false, nil
				}
				v, _ := json.Marshal(data)
				return string(v), false, nil
			}
		}
		return "", false, fmt.Errorf("block %q has no field %q", name, field)
	}
	return "", false, fmt.Errorf("unknown reference")
}

// transientError is a failure to read the store while resolving a
// reference (not a missing object): trying again later may succeed.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// resolverErr marks a resolver's error transient unless the object does
// not exist.
func resolverErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	return &transientError{err: err}
}

// blockDocument is a block as one JSON object: its data with its secret
// fields put back at their paths.
func blockDocument(b store.Block) (string, error) {
	doc := map[string]any{}
	if len(bytes.TrimSpace(b.Data)) > 0 && string(bytes.TrimSpace(b.Data)) != "null" {
		if err := json.Unmarshal(b.Data, &doc); err != nil {
			return "", errors.New("data is not a JSON object")
		}
	}
	for path, s := range b.Secrets {
		keys := strings.Split(path, ".")
		m := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = s.Reveal()
	}
	out, err := json.Marshal(doc)
	return string(out), err
}

// CheckJobVariables checks, at deploy time, the job template of a pool of
// type [PoolType] layered with job variables (a deployment's, then a
// run's), against the pool's [Policy] (see [ResolveJobTemplate]). Pools
// of other types are not checked. The error is a *[FieldError].
func CheckJobVariables(pool store.Pool, vars ...json.RawMessage) error {
	if pool.Type != PoolType {
		return nil
	}
	_, err := ResolveJobTemplate(pool, vars...)
	return err
}

func policyReason(err error) string {
	if fe, ok := err.(*FieldError); ok {
		return fe.Reason
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f + " (known: override, max_cpu, max_memory, volume_sources, network_modes, docker_socket)"
	}
	return jsonReason(err)
}
