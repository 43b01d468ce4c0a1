package api

import (
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
)

// A web page in the operator's browser can send requests to any address
// the browser reaches, loopback included: cross-site form posts and
// no-cors fetches (CSRF), and, after re-pointing its own host name at
// 127.0.0.1 (DNS rebinding), same-origin requests whose answers it reads.
// A bearer key defeats both, since a page cannot send a key it does not
// know; a server without keys relies on checkBrowser alone.

// hostSet is the set of host names a server without keys answers.
type hostSet struct {
	mu    sync.RWMutex
	names map[string]bool
}

func newHostSet(extra []string) *hostSet {
	h := &hostSet{names: map[string]bool{"localhost": true}}
	for _, n := range extra {
		h.names[strings.ToLower(strings.TrimSpace(n))] = true
	}
	return h
}

// add accepts the host of a listen address ("127.0.0.2:4200").
func (h *hostSet) add(addr string) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return
	}
	h.mu.Lock()
	h.names[strings.ToLower(host)] = true
	h.mu.Unlock()
}

// accepts reports whether the Host header hostport names this server:
// localhost, a loopback address, or a name added.
func (h *hostSet) accepts(hostport string) bool {
	host := hostport
	if hst, _, err := net.SplitHostPort(hostport); err == nil {
		host = hst
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if ip := net.ParseIP(host); ip != nil {
		if ip.IsLoopback() {
			return true
		}
	}
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.names[host]
}

// safeMethod reports whether a method changes nothing.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkBrowser refuses what only a browser page would send. On every
// route but the probes and the event intake (which has its own
// verifiers): a state-changing request from another origin (Origin or
// Sec-Fetch-Site saying so) is 403. Without keys, also: a Host header
// that is not a loopback name or the listen address is 421 (DNS
// rebinding), and a state-changing request that is not
// application/json (but a DELETE without a body) is 415 (a form post or a no-cors fetch cannot send
// that type without a CORS preflight, which this server never grants).
func (s *Server) checkBrowser(r *http.Request, a access) error {
	if a == public || a == source {
		return nil
	}
	if err := s.origins.Check(r); err != nil {
		return &Error{Status: http.StatusForbidden, Field: "Origin", Msg: "cross-origin request refused: the API does not serve browser pages of other origins"}
	}
	if s.AuthEnabled() {
		return nil
	}
	if tok, ok := bearer(r); ok && strings.HasPrefix(tok, runTokenPrefix) {
		return nil // a run token authenticates the request itself
	}
	if !s.hosts.accepts(r.Host) {
		return &Error{Status: http.StatusMisdirectedRequest, Field: "Host",
			Msg: "this server has no API key and answers only requests addressed to localhost, a loopback address or its listen address"}
	}
	// A DELETE carries no body, and no page can send one to another origin
	// without a CORS preflight, which this server never grants.
	if !safeMethod(r.Method) && !(r.Method == http.MethodDelete && r.ContentLength == 0) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return &Error{Status: http.StatusUnsupportedMediaType, Field: "Content-Type",
				Msg: "a state-changing request must be sent as application/json"}
		}
	}
	return nil
}
