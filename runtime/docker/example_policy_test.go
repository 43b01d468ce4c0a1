package docker_test

import (
	"encoding/json"
	"fmt"

	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/store"
)

// A pool says what its deployments and runs may change: here env values,
// memory up to 8Gi and volumes from one named volume; a run asking for
// the host's network or the Docker socket is refused, naming the field.
func ExampleResolveJobTemplate() {
	pool := store.Pool{Name: "netauto-docker-pool", Type: docker.PoolType, JobTemplate: json.RawMessage(`{
		"image": "netauto-worker:1.4", "memory_limit": "2Gi", "networks": ["netauto"],
		"allow": {"override": ["env", "memory_limit", "volumes"], "max_memory": "8Gi", "volume_sources": ["netauto-backups"]}}`)}
	t, err := docker.ResolveJobTemplate(pool, json.RawMessage(`{"memory_limit": "4Gi", "volumes": ["netauto-backups:/backups:ro"]}`))
	fmt.Println(t.Image, t.MemoryLimit, t.Volumes, err)

	for _, run := range []string{
		`{"network_mode": "host"}`,
		`{"volumes": ["/var/run/docker.sock:/var/run/docker.sock"]}`,
		`{"memory_limit": "16Gi"}`,
	} {
		_, err := docker.ResolveJobTemplate(pool, json.RawMessage(run))
		fmt.Println(err)
	}
	// Output:
	// netauto-worker:1.4 4Gi [netauto-backups:/backups:ro] <nil>
	// network_mode: the pool does not let job variables set it (allow.override: env, memory_limit, volumes)
	// volumes[0]: source "/var/run/docker.sock" is not among the pool's allow.volume_sources
	// memory_limit: 16Gi is above the pool's limit of 8Gi
}
