package runtime

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRefusedIntakeDoesNotWakeTheWorker: only an accepted event or a
// created run wakes the embedded worker; a delivery answered 401 (anyone
// can send one) does not, nor does a refused run creation.
func TestRefusedIntakeDoesNotWakeTheWorker(t *testing.T) {
	status := http.StatusUnauthorized
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) })
	wakes, reloads := 0, 0
	h := serverHandler(api, func() { wakes++ }, func() { reloads++ })
	send := func(method, path string) {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, strings.NewReader("{}")))
	}
	send("POST", "/api/v1/events/infrahub")
	send("POST", "/api/v1/deployments/d/runs")
	send("PUT", "/api/v1/deployments/d")
	if wakes != 0 || reloads != 0 {
		t.Fatalf("refused requests woke the worker %d times, reloaded %d times", wakes, reloads)
	}
	status = http.StatusAccepted
	send("POST", "/api/v1/events/infrahub")
	status = http.StatusCreated
	send("POST", "/api/v1/deployments/d/runs")
	status = http.StatusOK
	send("PUT", "/api/v1/deployments/d")
	send("GET", "/api/v1/runs")
	if wakes != 2 || reloads != 1 {
		t.Fatalf("accepted requests: %d wakes, %d reloads; want 2 and 1", wakes, reloads)
	}
}
