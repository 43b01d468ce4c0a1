package launch_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// jobsTemplate is the job template of a launcher running each run as a
// job on a cluster: its fields are its JSON tags.
type jobsTemplate struct {
	Namespace string            `json:"namespace,omitempty"`
	Image     string            `json:"image,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
	launch.Resources
	Allow *launch.Policy `json:"allow,omitempty"`
}

// jobs is the launcher's Factory; a runtime.App registers it with
// Launchers: launch.Registry{"jobs": jobs{}}.
type jobs struct{}

func (jobs) New(ctx context.Context, cfg launch.Config) (worker.Launcher, func() error, error) {
	return nil, nil, fmt.Errorf("submit jobs for pool %s: not in this example", cfg.Pool)
}

func (jobs) Remote() bool { return true }

// CheckJobTemplate layers pool < deployment < run, enforces the pool's
// allow policy and keeps resources within its limits.
func (jobs) CheckJobTemplate(pool store.Pool, vars ...json.RawMessage) error {
	_, err := resolve(pool, vars...)
	return err
}

func resolve(pool store.Pool, vars ...json.RawMessage) (jobsTemplate, error) {
	var base jobsTemplate
	if err := launch.Layer(&base, pool.JobTemplate); err != nil {
		return jobsTemplate{}, err
	}
	var pol launch.Policy
	if base.Allow != nil {
		pol = *base.Allow
	}
	fields := launch.Fields(jobsTemplate{})
	if err := pol.Check(fields); err != nil {
		return jobsTemplate{}, err
	}
	for _, v := range vars {
		if err := pol.CheckVariables(fields, v); err != nil {
			return jobsTemplate{}, err
		}
	}
	var t jobsTemplate
	if err := launch.Layer(&t, append([]json.RawMessage{pool.JobTemplate}, vars...)...); err != nil {
		return jobsTemplate{}, err
	}
	if err := t.Resources.Validate(); err != nil {
		return jobsTemplate{}, err
	}
	return t, pol.Bound(base.Resources, &t.Resources)
}

func Example() {
	reg := launch.Registry{launch.TypeInProcess: launch.InProcess(), "jobs": jobs{}}
	pool := store.Pool{Name: "cluster", Type: "jobs", JobTemplate: json.RawMessage(
		`{"namespace":"netauto","image":"netauto:1","memory_limit":"2Gi","allow":{"override":["env","memory_limit"],"max_memory":"4Gi"}}`)}

	fmt.Println(reg.CheckJobTemplate(pool, json.RawMessage(`{"memory_limit":"3Gi","env":{"TOKEN":"{{ secrets.device-token }}"}}`)))
	fmt.Println(reg.CheckJobTemplate(pool, json.RawMessage(`{"namespace":"kube-system"}`)))
	fmt.Println(reg.CheckJobTemplate(pool, json.RawMessage(`{"memory_limit":"16Gi"}`)))
	fmt.Println(launch.SecretReferences(json.RawMessage(`{"env":{"TOKEN":"{{ secrets.device-token }}","RUN":"{{ run_id }}"}}`)))
	_, err := reg.Lookup("nomad")
	fmt.Println(err)
	// Output:
	// <nil>
	// namespace: the pool does not let job variables set it (allow.override: env, memory_limit)
	// memory_limit: 16Gi is above the pool's limit of 4Gi
	// [TOKEN]
	// no launcher for pool type "nomad" (registered: in-process, jobs)
}
