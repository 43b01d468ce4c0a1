package docker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

// Whoever may set a run's job variables decides what its container is:
// left free, an API key allowed to create runs could bind the Docker
// socket or the host's root into the container, join the host's network
// or another container's, pick any image and command, and have a secret
// printed into the run's logs. So a pool says what its deployments and
// runs may change, and what of the host its containers may reach, in its
// job template's "allow" object ([Policy]); everything else is refused
// with an error naming the field.

// Policy is what a docker pool allows, the "allow" object of its job
// template (never of job variables):
//
//	"allow": {
//	  "override":      ["env", "memory_limit", "labels"],
//	  "max_cpu":       "4",
//	  "max_memory":    "8Gi",
//	  "volume_sources": ["netauto-backups", "/srv/netauto/data"],
//	  "network_modes": ["host"],
//	  "docker_socket": false
//	}
type Policy struct {
	// Override lists the template fields a deployment's or a run's job
	// variables may set. Absent: env, cpu_limit, cpu_request,
	// memory_limit and memory_request ([DefaultOverride]). Present and
	// empty: none.
	Override *[]string `json:"override,omitempty"`
	// MaxCPU and MaxMemory bound the cpu_limit and memory_limit job
	// variables may set (and their requests); default the template's own
	// limits. Job variables may never remove a limit the template sets.
	MaxCPU    Quantity `json:"max_cpu,omitzero"`
	MaxMemory Quantity `json:"max_memory,omitzero"`
	// VolumeSources are what job variables may mount, when volumes may be
	// overridden: volume names, and absolute host paths (the path and
	// what is under it). The template's own volumes need no listing.
	VolumeSources []string `json:"volume_sources,omitempty"`
	// NetworkModes lets the template and job variables (when allowed to
	// set network_mode or networks) use "host" (the host's network
	// stack) and "container" (container:ID, another container's).
	NetworkModes []string `json:"network_modes,omitempty"`
	// DockerSocket lets the template and job variables bind the Docker
	// socket, or a directory holding it: root on the host for whoever
	// sets the run's command. Never needed by netauto's own runs.
	DockerSocket bool `json:"docker_socket,omitempty"`
}

// DefaultOverride is what job variables may set when a pool's policy
// says nothing: env values and resources within the pool's limits.
var DefaultOverride = []string{"env", "cpu_limit", "cpu_request", "memory_limit", "memory_request"}

// overridable returns the fields job variables may set.
func (p Policy) overridable() []string {
	if p.Override == nil {
		return DefaultOverride
	}
	return *p.Override
}

func (p Policy) check() error {
	for i, f := range p.overridable() {
		if !slices.Contains(templateFields, f) {
			return &FieldError{Field: fmt.Sprintf("allow.override[%d]", i), Reason: fmt.Sprintf("%q is not a template field (known: %s)", f, strings.Join(templateFields, ", "))}
		}
	}
	for i, m := range p.NetworkModes {
		if m != "host" && m != "container" {
			return &FieldError{Field: fmt.Sprintf("allow.network_modes[%d]", i), Reason: fmt.Sprintf("%q: want host or container", m)}
		}
	}
	for i, s := range p.VolumeSources {
		if s == "" || (strings.HasPrefix(s, "/") && path.Clean(s) != s) || strings.Contains(s, ":") {
			return &FieldError{Field: fmt.Sprintf("allow.volume_sources[%d]", i), Reason: fmt.Sprintf("%q: want a volume name or a clean absolute path", s)}
		}
	}
	if !p.MaxCPU.IsZero() {
		if _, err := p.MaxCPU.NanoCPUs(); err != nil {
			return &FieldError{Field: "allow.max_cpu", Reason: err.Error()}
		}
	}
	if !p.MaxMemory.IsZero() {
		if _, err := p.MaxMemory.Bytes(); err != nil {
			return &FieldError{Field: "allow.max_memory", Reason: err.Error()}
		}
	}
	return nil
}

// reservedEnv are variables the launcher sets for the run's execute
// process: job variables may not set them (a redirected API URL would
// receive the run's token).
var reservedEnv = []string{"NETAUTO_API_URL", "NETAUTO_API_KEY", "NETAUTO_RUN_TOKEN", "NETAUTO_RUN", "NETAUTO_RUN_ID"}

// dockerSockets are the paths of the engine's socket.
var dockerSockets = []string{"/var/run/docker.sock", "/run/docker.sock", "/var/run/docker", "/run/docker",
	"/run/containerd/containerd.sock", "/var/run/containerd/containerd.sock"}

// exposesSocket reports whether binding host path src gives the engine's
// socket: the socket itself, or a directory holding it ("/", "/var/run").
func exposesSocket(src string) bool {
	if !strings.HasPrefix(src, "/") {
		return false // a named volume
	}
	src = path.Clean(src)
	if strings.HasSuffix(src, ".sock") && strings.Contains(path.Base(src), "docker") {
		return true
	}
	for _, s := range dockerSockets {
		if src == s || strings.HasPrefix(s, strings.TrimSuffix(src, "/")+"/") {
			return true
		}
	}
	return false
}

// sourceAllowed reports whether a volume source is among allowed.
func sourceAllowed(src string, allowed []string) bool {
	if !strings.HasPrefix(src, "/") {
		return slices.Contains(allowed, src)
	}
	src = path.Clean(src)
	for _, a := range allowed {
		if strings.HasPrefix(a, "/") && (src == a || strings.HasPrefix(src, strings.TrimSuffix(a, "/")+"/")) {
			return true
		}
	}
	return false
}

// networkKind is "host", "container" or "" for a network mode or name.
func networkKind(m string) string {
	switch {
	case m == "host":
		return "host"
	case strings.HasPrefix(m, "container:"):
		return "container"
	}
	return ""
}

// checkHost checks what of the host a template's containers reach:
// special network modes and the Docker socket. field prefixes the names.
func (p Policy) checkHost(t JobTemplate) error {
	if k := networkKind(t.NetworkMode); k != "" && !slices.Contains(p.NetworkModes, k) {
		return &FieldError{Field: "network_mode", Reason: fmt.Sprintf("%q shares the %s's network: the pool does not allow it (allow.network_modes)", t.NetworkMode, k)}
	}
	for i, n := range t.Networks {
		if k := networkKind(n); k != "" && !slices.Contains(p.NetworkModes, k) {
			return &FieldError{Field: fmt.Sprintf("networks[%d]", i), Reason: fmt.Sprintf("%q shares the %s's network: the pool does not allow it (allow.network_modes)", n, k)}
		}
	}
	for i, v := range t.Volumes {
		vol, _ := parseVolume(v)
		if exposesSocket(vol.source) && !p.DockerSocket {
			return &FieldError{Field: fmt.Sprintf("volumes[%d]", i), Reason: fmt.Sprintf("source %q exposes the Docker socket (root on the host): the pool does not allow it (allow.docker_socket)", vol.source)}
		}
	}
	return nil
}

// ResolveJobTemplate is the job template of a run of pool: the pool's
// template layered with job variables (a deployment's, then a run's; see
// [ParseJobTemplate]), each layer checked against the pool's [Policy]. A
// refused field is a *[FieldError] naming it. Pools of other types than
// [PoolType] get the default policy.
func ResolveJobTemplate(pool store.Pool, vars ...json.RawMessage) (JobTemplate, error) {
	base, err := ParseJobTemplate(pool.JobTemplate)
	if err != nil {
		return JobTemplate{}, err
	}
	var pol Policy
	if base.Allow != nil {
		pol = *base.Allow
	}
	if err := pol.check(); err != nil {
		return JobTemplate{}, err
	}
	if err := pol.checkHost(base); err != nil {
		return JobTemplate{}, err
	}
	over := pol.overridable()
	for _, raw := range vars {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return JobTemplate{}, &FieldError{Field: "job_variables", Reason: "not a JSON object: " + jsonReason(err)}
		}
		for _, k := range sortedRawKeys(m) {
			switch {
			case k == "allow":
				return JobTemplate{}, &FieldError{Field: k, Reason: "only the pool's job template says what it allows"}
			case !slices.Contains(templateFields, k):
				continue // ParseJobTemplate names it
			case !slices.Contains(over, k):
				return JobTemplate{}, &FieldError{Field: k, Reason: fmt.Sprintf("the pool does not let job variables set it (allow.override: %s)", strings.Join(over, ", "))}
			}
		}
		layer, err := ParseJobTemplate(nil, raw)
		if err != nil {
			return JobTemplate{}, err
		}
		for _, k := range sortedKeys(layer.Env) {
			if slices.Contains(reservedEnv, k) {
				return JobTemplate{}, &FieldError{Field: "env." + k, Reason: "set by the launcher for the run's execute process"}
			}
		}
		for i, v := range layer.Volumes {
			vol, _ := parseVolume(v)
			if !sourceAllowed(vol.source, pol.VolumeSources) {
				return JobTemplate{}, &FieldError{Field: fmt.Sprintf("volumes[%d]", i), Reason: fmt.Sprintf("source %q is not among the pool's allow.volume_sources", vol.source)}
			}
		}
	}
	t, err := ParseJobTemplate(append([]json.RawMessage{pool.JobTemplate}, vars...)...)
	if err != nil {
		return JobTemplate{}, err
	}
	if err := pol.checkHost(t); err != nil {
		return JobTemplate{}, err
	}
	if err := pol.checkResources(base, &t); err != nil {
		return JobTemplate{}, err
	}
	return t, nil
}

// checkResources keeps the layered template t within the pool's limits:
// the policy's maxima, else the template's own limits, which job
// variables may lower but not remove. Without a limit in the template or
// the job variables, a policy's maximum is the limit.
func (p Policy) checkResources(base JobTemplate, t *JobTemplate) error {
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
				return &FieldError{Field: "cpu_limit", Reason: "removes the pool's CPU limit"}
			}
			t.CPULimit = cpuMax
		}
		for _, q := range []struct {
			name string
			q    Quantity
		}{{"cpu_limit", t.CPULimit}, {"cpu_request", t.CPURequest}} {
			if n, _ := q.q.NanoCPUs(); !q.q.IsZero() && n > ceiling {
				return &FieldError{Field: q.name, Reason: fmt.Sprintf("%s is above the pool's limit of %s CPUs", q.q, cpuMax)}
			}
		}
	}
	if !memMax.IsZero() {
		ceiling, _ := memMax.Bytes()
		if t.MemoryLimit.IsZero() {
			if !base.MemoryLimit.IsZero() {
				return &FieldError{Field: "memory_limit", Reason: "removes the pool's memory limit"}
			}
			t.MemoryLimit = memMax
		}
		for _, q := range []struct {
			name string
			q    Quantity
		}{{"memory_limit", t.MemoryLimit}, {"memory_request", t.MemoryRequest}} {
			if n, _ := q.q.Bytes(); !q.q.IsZero() && n > ceiling {
				return &FieldError{Field: q.name, Reason: fmt.Sprintf("%s is above the pool's limit of %s", q.q, memMax)}
			}
		}
	}
	return nil
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// SecretReferences returns the env keys of a job variables document whose
// values reference a secret or a block ({{ secrets.NAME }},
// {{ blocks.NAME.FIELD }}), sorted: what a run's command could print. The
// API lets only keys granted that permission set them per run.
func SecretReferences(vars json.RawMessage) []string {
	var doc struct {
		Env map[string]*string `json:"env"`
	}
	if json.Unmarshal(vars, &doc) != nil {
		return nil
	}
	var out []string
	for k, v := range doc.Env {
		if v == nil {
			continue
		}
		ps, _ := parseRefs(*v)
		for _, p := range ps {
			if head, _, _ := strings.Cut(p.ref, "."); head == "secrets" || head == "blocks" {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
