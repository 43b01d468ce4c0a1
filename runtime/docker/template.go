package docker

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
)

// PoolType is the work pool type served by the Docker launcher.
const PoolType = launch.TypeDocker

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
	// Resources are the container's CPUs and memory: cpu_limit caps its
	// CPUs ("1.5", "500m", 2), cpu_request is its CPU weight (1 CPU =
	// 1024 shares), memory_limit caps its memory ("2Gi", "512Mi", "1G"),
	// memory_request is its memory reservation (soft limit).
	launch.Resources
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

// templateFields are the fields job variables may name, in
// documentation order.
var templateFields = launch.Fields(JobTemplate{})

// ParseJobTemplate layers the given JSON documents — the pool's job
// template, then a deployment's job variables, then a run's — and checks
// the result (see [launch.Layer]). Empty and null layers are skipped. A
// later layer replaces a field of an earlier one, except env and labels,
// which are merged key by key (a null value removes a key). Unknown
// fields, wrong types, bad quantities and bad references are a
// *[fielderr.Error] naming the field.
func ParseJobTemplate(layers ...json.RawMessage) (JobTemplate, error) {
	var t JobTemplate
	if err := launch.Layer(&t, layers...); err != nil {
		return JobTemplate{}, err
	}
	return t, t.Validate()
}

var (
	envNameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	labelNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
)

// Validate checks the template's fields; a *[fielderr.Error] names the first
// bad one.
func (t JobTemplate) Validate() error {
	switch t.ImagePullPolicy {
	case "", PullAlways, PullIfNotPresent, PullNever:
	default:
		return &fielderr.Error{Field: "image_pull_policy", Reason: fmt.Sprintf("%q: want Always, IfNotPresent or Never", t.ImagePullPolicy)}
	}
	switch t.SecretEnv {
	case "", "stdin", "env":
	default:
		return &fielderr.Error{Field: "secret_env", Reason: fmt.Sprintf("%q: want stdin or env", t.SecretEnv)}
	}
	if strings.ContainsAny(t.Image, " \t\n") {
		return &fielderr.Error{Field: "image", Reason: "contains white space"}
	}
	for _, k := range sortedKeys(t.Env) {
		if !envNameRe.MatchString(k) {
			return &fielderr.Error{Field: "env." + k, Reason: "not a valid variable name"}
		}
		if err := launch.CheckRefs(t.Env[k]); err != nil {
			return &fielderr.Error{Field: "env." + k, Reason: err.Error()}
		}
	}
	if err := t.Resources.Validate(); err != nil {
		return err
	}
	for i, n := range t.Networks {
		if strings.TrimSpace(n) == "" {
			return &fielderr.Error{Field: fmt.Sprintf("networks[%d]", i), Reason: "empty"}
		}
	}
	for i, v := range t.Volumes {
		if _, err := parseVolume(v); err != nil {
			return &fielderr.Error{Field: fmt.Sprintf("volumes[%d]", i), Reason: err.Error()}
		}
	}
	for _, k := range sortedKeys(t.Labels) {
		if !labelNameRe.MatchString(k) {
			return &fielderr.Error{Field: "labels." + k, Reason: "not a valid label key"}
		}
		if strings.HasPrefix(k, labelPrefix) {
			return &fielderr.Error{Field: "labels." + k, Reason: "the " + labelPrefix + " prefix is the launcher's"}
		}
	}
	if t.Name != "" {
		if err := launch.CheckRefs(t.Name); err != nil {
			return &fielderr.Error{Field: "name", Reason: err.Error()}
		}
	}
	for i, a := range t.Command {
		if i == 0 && a == "" {
			return &fielderr.Error{Field: "command[0]", Reason: "empty"}
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

// CheckJobVariables checks, at deploy time, the job template of a pool of
// type [PoolType] layered with job variables (a deployment's, then a
// run's), against the pool's [Policy] (see [ResolveJobTemplate]). Pools
// of other types are not checked. The error is a *[fielderr.Error].
func CheckJobVariables(pool store.Pool, vars ...json.RawMessage) error {
	if pool.Type != PoolType {
		return nil
	}
	_, err := ResolveJobTemplate(pool, vars...)
	return err
}
