package docker

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/launch"
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
	// Policy is what every launcher's policy says: override (the
	// template fields a deployment's or a run's job variables may set;
	// absent: env, cpu_limit, cpu_request, memory_limit and
	// memory_request, [launch.DefaultOverride]; present and empty: none),
	// max_cpu and max_memory (bounds of the limits job variables may set;
	// default the template's own limits, which job variables may never
	// remove).
	launch.Policy
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

func (p Policy) check() error {
	if err := p.Policy.Check(templateFields); err != nil {
		return err
	}
	for i, m := range p.NetworkModes {
		if m != "host" && m != "container" {
			return &fielderr.Error{Field: fmt.Sprintf("allow.network_modes[%d]", i), Reason: fmt.Sprintf("%q: want host or container", m)}
		}
	}
	for i, s := range p.VolumeSources {
		if s == "" || (strings.HasPrefix(s, "/") && path.Clean(s) != s) || strings.Contains(s, ":") {
			return &fielderr.Error{Field: fmt.Sprintf("allow.volume_sources[%d]", i), Reason: fmt.Sprintf("%q: want a volume name or a clean absolute path", s)}
		}
	}
	return nil
}

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
		return &fielderr.Error{Field: "network_mode", Reason: fmt.Sprintf("%q shares the %s's network: the pool does not allow it (allow.network_modes)", t.NetworkMode, k)}
	}
	for i, n := range t.Networks {
		if k := networkKind(n); k != "" && !slices.Contains(p.NetworkModes, k) {
			return &fielderr.Error{Field: fmt.Sprintf("networks[%d]", i), Reason: fmt.Sprintf("%q shares the %s's network: the pool does not allow it (allow.network_modes)", n, k)}
		}
	}
	for i, v := range t.Volumes {
		vol, _ := parseVolume(v)
		if exposesSocket(vol.source) && !p.DockerSocket {
			return &fielderr.Error{Field: fmt.Sprintf("volumes[%d]", i), Reason: fmt.Sprintf("source %q exposes the Docker socket (root on the host): the pool does not allow it (allow.docker_socket)", vol.source)}
		}
	}
	return nil
}

// ResolveJobTemplate is the job template of a run of pool: the pool's
// template layered with job variables (a deployment's, then a run's; see
// [ParseJobTemplate]), each layer checked against the pool's [Policy]. A
// refused field is a *[fielderr.Error] naming it. Pools of other types than
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
	for _, raw := range vars {
		if err := pol.CheckVariables(templateFields, raw); err != nil {
			return JobTemplate{}, err
		}
		layer, err := ParseJobTemplate(nil, raw)
		if err != nil {
			return JobTemplate{}, err
		}
		for i, v := range layer.Volumes {
			vol, _ := parseVolume(v)
			if !sourceAllowed(vol.source, pol.VolumeSources) {
				return JobTemplate{}, &fielderr.Error{Field: fmt.Sprintf("volumes[%d]", i), Reason: fmt.Sprintf("source %q is not among the pool's allow.volume_sources", vol.source)}
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
	if err := pol.Bound(base.Resources, &t.Resources); err != nil {
		return JobTemplate{}, err
	}
	return t, nil
}
