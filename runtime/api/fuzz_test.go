package api_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
)

// fuzzPost posts each input to path on one server without auth and
// fails on a 5xx answer: malformed input is the client's fault and must
// be answered as such, never with a panic or an internal error.
func fuzzPost(f *testing.F, path string, seeds ...string) {
	e := newEnv(f, api.Options{Keys: &api.KeySet{}, Sources: map[string]api.Verifier{"open": acceptAll{}}})
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		e.api.ServeHTTP(w, httptest.NewRequest("POST", path, bytes.NewReader(body)))
		if w.Code >= 500 {
			t.Fatalf("POST %s %q: %d %s", path, body, w.Code, w.Body)
		}
	})
}

// acceptAll is an event source verifier accepting every request.
type acceptAll struct{}

func (acceptAll) Verify(*http.Request, []byte) (string, error) { return "fixed-id", nil }

func FuzzCreateRun(f *testing.F) {
	fuzzPost(f, "/api/v1/deployments/vlan-prod/runs",
		`{"parameters":{"device":"sw1","vlan":10}}`,
		`{"parameters":{"device":"sw1","vlan":"10"},"tags":["a"]}`,
		`{"parameters":null,"scheduled_at":"2026-01-01T00:00:00Z"}`,
		`{"parameters":{"vlan":1e400}}`,
		`{"job_variables":{"image":"x"},"idempotency_key":"k"}`,
		`[]`, `{"parameters":`, "")
}

func FuzzRecord(f *testing.F) {
	fuzzPost(f, "/api/v1/runs/01900000-0000-7000-8000-000000000000/record",
		`{"batch_id":"b","ops":[{"run_id":"x","state":{"type":"RUNNING","name":"Running"}}]}`,
		`{"batch_id":"c","ops":[{"create":{"id":"t1","kind":"task","flow_run_id":"f"}}],"logs":[{"run_id":"t1","flow_run_id":"f","message":"m","level":0}]}`,
		`{"batch_id":"d","ops":[{}]}`,
		`{"batch_id":"e","ops":[{"create":{"id":"","kind":"flow"},"state":{"type":"X"}}]}`,
		`{"ops":[]}`)
}

func FuzzEventIntake(f *testing.F) {
	fuzzPost(f, "/api/v1/events/open",
		`{"id":"e1","event":"infrahub.node.updated","data":{"kind":"InfraDevice"}}`,
		`{"id":1,"type":["x"]}`,
		`"just a string"`, `{"id":""}`, `null`, "")
}

func FuzzBulkRuns(f *testing.F) {
	fuzzPost(f, "/api/v1/runs/bulk",
		`{"action":"cancel","filter":{"deployment":"vlan-prod","states":["SCHEDULED"]},"reason":"r"}`,
		`{"action":"retry","ids":["x","x"],"limit":2}`,
		`{"action":"set-state","ids":["y"],"state":{"type":"FAILED","name":"Failed"}}`,
		`{"action":"cancel","filter":{"created_after":"2026-01-01T00:00:00Z"},"dry_run":true}`,
		`{"action":"cancel","filter":{"states":["nope"]}}`,
		`{"action":"","limit":-1}`, `[]`, "")
}
