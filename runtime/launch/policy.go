package launch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// Whoever may set a run's job variables decides what its job is: left
// free, an API key allowed to create runs could pick any image and
// command, raise its resources, or have a secret printed into the run's
// logs. So a pool says in its job template's "allow" object what its
// deployments and runs may change; everything else is refused with an
// error naming the field. [Policy] is the part every launcher shares; a
// launcher embeds it in its own policy type for what reaches its host
// (the Docker launcher's volumes, network modes and socket).

// Policy is the launcher-neutral part of a pool's "allow" object:
//
//	"allow": {"override": ["env", "memory_limit"], "max_cpu": "4", "max_memory": "8Gi"}
type Policy struct {
	// Override lists the template fields a deployment's or a run's job
	// variables may set. Absent: [DefaultOverride]. Present and empty:
	// none.
	Override *[]string `json:"override,omitempty"`
	// MaxCPU and MaxMemory bound the cpu_limit and memory_limit job
	// variables may set (and their requests); default the template's own
	// limits. Job variables may never remove a limit the template sets.
	MaxCPU    Quantity `json:"max_cpu,omitzero"`
	MaxMemory Quantity `json:"max_memory,omitzero"`
}

// DefaultOverride is what job variables may set when a pool's policy
// says nothing: env values and resources within the pool's limits.
var DefaultOverride = []string{"env", "cpu_limit", "cpu_request", "memory_limit", "memory_request"}

// ReservedEnv are the variables a launcher sets for the run's `execute`
// process: job variables may not set them (a redirected API URL would
// receive the run's token).
var ReservedEnv = []string{"NETAUTO_API_URL", "NETAUTO_API_KEY", "NETAUTO_RUN_TOKEN", "NETAUTO_RUN", "NETAUTO_RUN_ID"}

// Overridable returns the fields job variables may set.
func (p Policy) Overridable() []string {
	if p.Override == nil {
		return DefaultOverride
	}
	return *p.Override
}

// Check checks the policy itself; fields are the template's (see
// [Fields]). Errors name the field under "allow".
func (p Policy) Check(fields []string) error {
	for i, f := range p.Overridable() {
		if !slices.Contains(fields, f) {
			return &fielderr.Error{Field: fmt.Sprintf("allow.override[%d]", i), Reason: fmt.Sprintf("%q is not a template field (known: %s)", f, strings.Join(fields, ", "))}
		}
	}
	if !p.MaxCPU.IsZero() {
		if _, err := p.MaxCPU.NanoCPUs(); err != nil {
			return &fielderr.Error{Field: "allow.max_cpu", Reason: err.Error()}
		}
	}
	if !p.MaxMemory.IsZero() {
		if _, err := p.MaxMemory.Bytes(); err != nil {
			return &fielderr.Error{Field: "allow.max_memory", Reason: err.Error()}
		}
	}
	return nil
}

// CheckVariables checks one layer of job variables (a deployment's or a
// run's JSON object) against what the policy lets it set: never
// [AllowField], only [Policy.Overridable] fields among fields, and no
// [ReservedEnv] variable. Fields unknown to the template are left to
// [Layer], which names them.
func (p Policy) CheckVariables(fields []string, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return &fielderr.Error{Field: "job_variables", Reason: "not a JSON object: " + JSONReason(err)}
	}
	over := p.Overridable()
	for _, k := range sortedKeys(m) {
		switch {
		case k == AllowField:
			return &fielderr.Error{Field: k, Reason: "only the pool's job template says what it allows"}
		case !slices.Contains(fields, k):
			continue
		case !slices.Contains(over, k):
			return &fielderr.Error{Field: k, Reason: fmt.Sprintf("the pool does not let job variables set it (allow.override: %s)", strings.Join(over, ", "))}
		}
	}
	var env map[string]json.RawMessage
	if json.Unmarshal(m["env"], &env) == nil {
		for _, k := range sortedKeys(env) {
			if slices.Contains(ReservedEnv, k) {
				return &fielderr.Error{Field: "env." + k, Reason: "set by the launcher for the run's execute process"}
			}
		}
	}
	return nil
}

// Resources are a job template's CPU and memory, in the units of
// [Quantity]. A launcher's template embeds them.
type Resources struct {
	// CPULimit caps the job's CPUs ("1.5", "500m", 2).
	CPULimit Quantity `json:"cpu_limit,omitzero"`
	// CPURequest is the CPU the job is guaranteed or weighted by.
	CPURequest Quantity `json:"cpu_request,omitzero"`
	// MemoryLimit caps the job's memory ("2Gi", "512Mi", "1G").
	MemoryLimit Quantity `json:"memory_limit,omitzero"`
	// MemoryRequest is the job's memory reservation.
	MemoryRequest Quantity `json:"memory_request,omitzero"`
}

// Validate checks the quantities and that no request exceeds its limit.
func (r Resources) Validate() error {
	for _, q := range []struct {
		name string
		q    Quantity
		mem  bool
	}{{"cpu_limit", r.CPULimit, false}, {"cpu_request", r.CPURequest, false}, {"memory_limit", r.MemoryLimit, true}, {"memory_request", r.MemoryRequest, true}} {
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
			return &fielderr.Error{Field: q.name, Reason: err.Error()}
		}
	}
	if !r.CPULimit.IsZero() && !r.CPURequest.IsZero() {
		l, _ := r.CPULimit.NanoCPUs()
		q, _ := r.CPURequest.NanoCPUs()
		if q > l {
			return &fielderr.Error{Field: "cpu_request", Reason: "above cpu_limit"}
		}
	}
	if !r.MemoryLimit.IsZero() && !r.MemoryRequest.IsZero() {
		l, _ := r.MemoryLimit.Bytes()
		q, _ := r.MemoryRequest.Bytes()
		if q > l {
			return &fielderr.Error{Field: "memory_request", Reason: "above memory_limit"}
		}
	}
	return nil
}

// Bound keeps the layered resources t within the pool's limits: the
// policy's maxima, else the pool template's own limits (base), which job
// variables may lower but not remove. Without a limit in the template or
// the job variables, a policy's maximum becomes the limit.
func (p Policy) Bound(base Resources, t *Resources) error {
	cpuMax, memMax := p.MaxCPU, p.MaxMemory
	if cpuMax.IsZero() {
		cpuMax = base.CPULimit
	}
	if memMax.IsZero() {
		memMax = base.MemoryLimit
	}
	if !cpuMax.IsZero() {
		ceiling, _ := cpuMax.NanoCPUs()
		if t.CPULimit.IsZero() {
			if !base.CPULimit.IsZero() {
				return &fielderr.Error{Field: "cpu_limit", Reason: "removes the pool's CPU limit"}
			}
			t.CPULimit = cpuMax
		}
		for _, q := range []struct {
			name string
			q    Quantity
		}{{"cpu_limit", t.CPULimit}, {"cpu_request", t.CPURequest}} {
			if n, _ := q.q.NanoCPUs(); !q.q.IsZero() && n > ceiling {
				return &fielderr.Error{Field: q.name, Reason: fmt.Sprintf("%s is above the pool's limit of %s CPUs", q.q, cpuMax)}
			}
		}
	}
	if !memMax.IsZero() {
		ceiling, _ := memMax.Bytes()
		if t.MemoryLimit.IsZero() {
			if !base.MemoryLimit.IsZero() {
				return &fielderr.Error{Field: "memory_limit", Reason: "removes the pool's memory limit"}
			}
			t.MemoryLimit = memMax
		}
		for _, q := range []struct {
			name string
			q    Quantity
		}{{"memory_limit", t.MemoryLimit}, {"memory_request", t.MemoryRequest}} {
			if n, _ := q.q.Bytes(); !q.q.IsZero() && n > ceiling {
				return &fielderr.Error{Field: q.name, Reason: fmt.Sprintf("%s is above the pool's limit of %s", q.q, memMax)}
			}
		}
	}
	return nil
}
