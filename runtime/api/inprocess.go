package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// The web UI (runtime/ui) serves pages from the same process as the API.
// It signs its users in with an API key, which this file checks, and then
// calls the API's routes in-process as the key's principal (ServeAs), so
// that every action it offers is validated and authorised exactly as the
// API does it for a bearer key.

// servedAsKey marks a request whose principal an in-process caller vouches
// for (see ServeAs). Its type is unexported: nothing outside this package
// can set it, and no request from the network carries it.
type servedAsKey struct{}

// ErrUnknownKey is returned by [Server.Authenticate] for a key the server
// does not accept.
var ErrUnknownKey = errors.New("unknown API key")

// Authenticate returns the principal an API key stands for, as a bearer
// key's request would be authorised: on a server without keys everyone is
// the anonymous admin, whatever key is given. A run token or an unknown
// key is refused with [ErrUnknownKey]; the error never contains the key.
func (s *Server) Authenticate(key string) (Principal, error) {
	if !s.AuthEnabled() {
		return anonymous, nil
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.HasPrefix(key, runTokenPrefix) {
		return Principal{}, ErrUnknownKey
	}
	info, ok := s.opts.Keys.Lookup(key)
	if !ok {
		return Principal{}, ErrUnknownKey
	}
	return Principal{Name: info.Name, Role: info.Role, Pools: info.Pools}, nil
}

// ServeAs serves r as the API serves a request authenticated as p: the
// route's permission is checked against p's role, and handlers see p as
// the caller ([PrincipalFrom], [Identity]). The Authorization header is
// ignored, and so are the browser checks of bearer requests (origin,
// content type): the caller (the web UI) checks its own session, origin
// and CSRF token before it calls ServeAs. p must come from
// [Server.Authenticate].
func (s *Server) ServeAs(w http.ResponseWriter, r *http.Request, p Principal) {
	ctx := context.WithValue(r.Context(), servedAsKey{}, p)
	s.mux.ServeHTTP(w, r.WithContext(ctx))
}

// authorizeAs checks a route's access for a principal an in-process caller
// vouches for, and records it in the request's context.
func authorizeAs(p Principal, a access) error {
	if a.source {
		return &Error{Status: http.StatusForbidden, Msg: "event intake takes deliveries from event sources only", Field: "source"}
	}
	if !a.open && !p.Role.Can(a.perm) {
		return &Error{Status: http.StatusForbidden, Field: "Authorization",
			Msg: fmt.Sprintf("API key %q has role %s, which does not grant %s", p.Name, p.Role, a.perm)}
	}
	return nil
}

// CheckBrowser applies to a browser's request what the API applies to its
// own: a state-changing request from another origin is refused, and on a
// server without keys so is a Host header that does not name it (DNS
// rebinding). The web UI calls it on every request.
func (s *Server) CheckBrowser(r *http.Request) error {
	if err := s.origins.Check(r); err != nil {
		return &Error{Status: http.StatusForbidden, Field: "Origin", Msg: "cross-origin request refused"}
	}
	if !s.AuthEnabled() && !s.hosts.accepts(r.Host) {
		return &Error{Status: http.StatusMisdirectedRequest, Field: "Host",
			Msg: "this server has no API key and answers only requests addressed to localhost, a loopback address or its listen address"}
	}
	return nil
}

// Mount serves h for the requests pattern matches (an http.ServeMux
// pattern such as "/ui/"), beside the API's routes, counted in the
// request metrics under pattern. h authenticates its requests itself.
func (s *Server) Mount(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, h.ServeHTTP))
}
