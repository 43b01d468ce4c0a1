package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
)

// rawDo sends a request with exactly the given headers (no key unless one
// is given), as a browser would, and returns the status.
func (e *env) rawDo(method, path, body string, hdr map[string]string) int {
	e.t.Helper()
	var rd *bytes.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *env) runCount() int {
	e.t.Helper()
	runs, _, err := e.st.ListRuns(context.Background(), store.RunFilter{Deployment: "vlan-prod"})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(runs)
}

// TestKeylessServerRefusesBrowsers reproduces the attack of a web page in
// the operator's browser against a server without API keys on loopback:
// a cross-site form or fetch (CSRF) and a DNS-rebinding page (whose
// requests carry the attacker's host name) must not start runs or read
// the API.
func TestKeylessServerRefusesBrowsers(t *testing.T) {
	e := newEnv(t, api.Options{Keys: &api.KeySet{}})
	body := `{"parameters":{"device":"a","vlan":1}}`
	host := strings.TrimPrefix(e.srv.URL, "http://")
	attacks := []struct {
		name   string
		method string
		hdr    map[string]string
		body   string
		want   int
	}{
		{"the reported attack", "POST", map[string]string{"Host": "attacker.example", "Origin": "http://attacker.example", "Content-Type": "text/plain"}, body, http.StatusMisdirectedRequest},
		{"DNS rebinding write", "POST", map[string]string{"Host": "attacker.example:4200", "Content-Type": "application/json"}, body, http.StatusMisdirectedRequest},
		{"DNS rebinding read", "GET", map[string]string{"Host": "attacker.example"}, "", http.StatusMisdirectedRequest},
		{"simple form post", "POST", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "a=b", http.StatusUnsupportedMediaType},
		{"text/plain post", "POST", map[string]string{"Content-Type": "text/plain"}, body, http.StatusUnsupportedMediaType},
		{"no-cors fetch without body", "POST", nil, "", http.StatusUnsupportedMediaType},
		{"foreign origin", "POST", map[string]string{"Origin": "http://attacker.example", "Content-Type": "application/json"}, body, http.StatusForbidden},
		{"cross-site fetch metadata", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"}, body, http.StatusForbidden},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			path := "/api/v1/deployments/vlan-prod/runs"
			if a.method == "GET" {
				path = "/api/v1/runs"
			}
			if got := e.rawDo(a.method, path, a.body, a.hdr); got != a.want {
				t.Fatalf("%s %s: status %d, want %d", a.method, path, got, a.want)
			}
			if n := e.runCount(); n != 0 {
				t.Fatalf("the attack created %d runs", n)
			}
		})
	}
	// The CLI's requests still pass: loopback host names, JSON, no Origin.
	for _, h := range []string{host, "localhost:" + host[strings.LastIndex(host, ":")+1:], "[::1]:4200"} {
		if got := e.rawDo("POST", "/api/v1/deployments/vlan-prod/runs", body, map[string]string{"Host": h, "Content-Type": "application/json; charset=utf-8"}); got != http.StatusCreated {
			t.Fatalf("host %s: legitimate create answered %d", h, got)
		}
	}
	if got := e.rawDo("GET", "/api/v1/runs", "", map[string]string{"Host": "localhost"}); got != http.StatusOK {
		t.Fatalf("legitimate read answered %d", got)
	}
	// Probes answer whatever the host (a container's health check).
	if got := e.rawDo("GET", "/healthz", "", map[string]string{"Host": "attacker.example"}); got != http.StatusOK {
		t.Fatalf("healthz answered %d", got)
	}
}

// TestListenHostAccepted checks that a keyless server accepts its own
// listen address as Host (a loopback address other than 127.0.0.1).
func TestListenHostAccepted(t *testing.T) {
	e := newEnv(t, api.Options{Keys: &api.KeySet{}})
	if _, err := e.api.HTTPServer("127.0.0.2:4200"); err != nil {
		t.Fatal(err)
	}
	if got := e.rawDo("GET", "/api/v1/runs", "", map[string]string{"Host": "127.0.0.2:4200"}); got != http.StatusOK {
		t.Fatalf("listen host answered %d", got)
	}
}

// TestKeyedServerRefusesForeignOrigins: with keys, a page cannot send a
// key it does not have, but a browser sending a state-changing request
// from another origin is refused before any credential is looked at.
func TestKeyedServerRefusesForeignOrigins(t *testing.T) {
	e := newEnv(t, api.Options{})
	hdr := map[string]string{"Authorization": "Bearer " + adminKey, "Origin": "https://attacker.example", "Content-Type": "application/json"}
	if got := e.rawDo("POST", "/api/v1/deployments/vlan-prod/runs", `{"parameters":{"device":"a","vlan":1}}`, hdr); got != http.StatusForbidden {
		t.Fatalf("foreign origin with a key answered %d", got)
	}
	// A script with the key and any content type (curl) still works:
	// a bearer key cannot be forged by a page.
	hdr = map[string]string{"Authorization": "Bearer " + adminKey}
	if got := e.rawDo("POST", "/api/v1/deployments/vlan-prod/runs", `{"parameters":{"device":"a","vlan":1}}`, hdr); got != http.StatusCreated {
		t.Fatalf("keyed request without content type answered %d", got)
	}
}
