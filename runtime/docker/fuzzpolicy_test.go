package docker

import (
	"encoding/json"
	"testing"
)

// FuzzResolveJobTemplate: whatever job variables a run sends, the default
// policy returns a template or a field error, never panics, and never
// lets through the host's network, another container's, the Docker
// socket, another image or command.
func FuzzResolveJobTemplate(f *testing.F) {
	pool := dockerPool(`{"image":"w:1","memory_limit":"2Gi","networks":["netauto"]}`)
	for _, s := range []string{
		`{"env":{"A":"b"}}`, `{"volumes":["/:/host"]}`, `{"network_mode":"host"}`, `{"networks":["host"]}`,
		`{"memory_limit":null}`, `{"image":"x"}`, `{"env":{"NETAUTO_API_URL":"http://x"}}`, `{"allow":{}}`, `[1]`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, vars []byte) {
		tm, err := ResolveJobTemplate(pool, json.RawMessage(vars))
		if err != nil {
			return
		}
		if tm.Image != "w:1" || len(tm.Command) > 0 || tm.NetworkMode != "" || len(tm.Volumes) > 0 || len(tm.Networks) != 1 || tm.Networks[0] != "netauto" {
			t.Fatalf("job variables %s widened the template: %+v", vars, tm)
		}
		if b, _ := tm.MemoryLimit.Bytes(); b == 0 || b > 2<<30 {
			t.Fatalf("job variables %s moved the memory limit to %s", vars, tm.MemoryLimit)
		}
	})
}

// BenchmarkResolveJobTemplate: layering and checking a pool's template
// with a deployment's and a run's job variables, as each run's launch
// does.
func BenchmarkResolveJobTemplate(b *testing.B) {
	pool := dockerPool(`{"image":"w:1","memory_limit":"2Gi","networks":["netauto"],"env":{"A":"1"},"allow":{"override":["env","memory_limit","labels"]}}`)
	dep := json.RawMessage(`{"env":{"B":"{{ secrets.tok }}"},"labels":{"team":"net"}}`)
	run := json.RawMessage(`{"env":{"C":"3"},"memory_limit":"1Gi"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ResolveJobTemplate(pool, dep, run); err != nil {
			b.Fatal(err)
		}
	}
}
