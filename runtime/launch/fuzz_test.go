package launch

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// FuzzLayer: any layers either decode into a template that encodes and
// decodes again to the same fields, or fail with an error naming a
// field; never a panic.
func FuzzLayer(f *testing.F) {
	f.Add([]byte(`{"namespace":"a","env":{"A":"{{ secrets.x }}"},"cpu_limit":"500m","allow":{"override":["env"],"max_memory":"2Gi"}}`), []byte(`{"env":{"A":null,"B":"1"}}`))
	f.Add([]byte(`{"memory_limit":1048576}`), []byte(`null`))
	f.Add([]byte(`{"allow":{"max_cpus":1}}`), []byte(`{"allow":{}}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var jt jobTemplate
		err := Layer(&jt, a, b)
		if err != nil {
			var fe *fielderr.Error
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("Layer error %v names no field", err)
			}
			return
		}
		doc, err := json.Marshal(jt)
		if err != nil {
			t.Fatal(err)
		}
		var again jobTemplate
		if err := Layer(&again, doc); err != nil {
			t.Fatalf("re-layer of %s: %v", doc, err)
		}
	})
}
