package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Verifier authenticates the requests of one event source and names the
// event they carry. Verify gets the raw body (before any parsing) and
// returns the event's ID, the deduplication key. The ID must come from
// authenticated content (the signed body, a header covered by the
// signature) or from an authenticated sender: otherwise a replayed body
// with a fresh ID would start runs again. An error answers 401 and
// nothing is stored; an *[Error] answers its own status.
type Verifier interface {
	Verify(r *http.Request, body []byte) (eventID string, err error)
}

// EventTyper is implemented by a [Verifier] that knows where its source
// puts the event type. Without it, the type is the body's top-level
// "event" string (the Infrahub envelope), else its "type" string.
type EventTyper interface {
	EventType(r *http.Request, body []byte) string
}

// Matcher matches an accepted event against the triggers and returns the
// runs to create. It runs inside the transaction that stores the event,
// must be quick and must not call the store. An error stores nothing: a
// *[store.InvalidError] answers 400 naming the field, others 500.
type Matcher func(store.Event) ([]store.RunSpec, error)

// HMACVerifier verifies a generic source signing each body with a shared
// secret: the header (default X-Netauto-Signature) holds
// hex(HMAC-SHA256(secret, body)), with an optional "sha256=" prefix (the
// form GitHub and many others send). The event ID is the body's top-level
// "id" string, else the body's SHA-256: both are covered by the signature.
type HMACVerifier struct {
	Secret []byte
	Header string
}

// Verify implements [Verifier].
func (v *HMACVerifier) Verify(r *http.Request, body []byte) (string, error) {
	if len(v.Secret) == 0 {
		return "", errors.New("source has no secret configured")
	}
	h := v.Header
	if h == "" {
		h = "X-Netauto-Signature"
	}
	sig := strings.TrimPrefix(strings.TrimSpace(r.Header.Get(h)), "sha256=")
	if sig == "" {
		return "", errors.New("missing " + h + " header")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return "", errors.New("malformed " + h + " header: want hex")
	}
	m := hmac.New(sha256.New, v.Secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return "", errors.New("signature does not verify")
	}
	return bodyEventID(body), nil
}

// BearerVerifier accepts a source that authenticates with a bearer key of
// Keys. Since the sender is authenticated, the event ID may come from the
// X-Event-Id header; else it is the body's "id" string or SHA-256.
type BearerVerifier struct {
	Keys *KeySet
}

// Verify implements [Verifier].
func (v *BearerVerifier) Verify(r *http.Request, body []byte) (string, error) {
	tok, ok := bearer(r)
	if !ok {
		return "", errors.New("missing bearer key")
	}
	if !v.Keys.Accepts(tok) {
		return "", errors.New("unknown key")
	}
	if id := strings.TrimSpace(r.Header.Get("X-Event-Id")); id != "" {
		return id, nil
	}
	return bodyEventID(body), nil
}

func bodyEventID(body []byte) string {
	var env struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(body, &env) == nil {
		if s, ok := env.ID.(string); ok && s != "" {
			return s
		}
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func defaultEventType(body []byte) string {
	var env struct {
		Event any `json:"event"`
		Type  any `json:"type"`
	}
	_ = json.Unmarshal(body, &env)
	if s, ok := env.Event.(string); ok {
		return s
	}
	s, _ := env.Type.(string)
	return s
}

// acceptEvent stores an event of the source in the path and creates the
// runs its triggers match, in one transaction, before answering: 202 with
// the run IDs when the event is new, 200 with the first delivery's run IDs
// when its ID was accepted before (nothing is created again). A request
// that fails verification answers 401 and stores nothing.
func (s *Server) acceptEvent(w http.ResponseWriter, r *http.Request) error {
	src := r.PathValue("source")
	v := s.opts.Sources[src]
	if v == nil {
		s.metrics.event("(unknown)", "unknown_source")
		return &Error{Status: http.StatusNotFound, Field: "source", Msg: "unknown event source " + src}
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		s.metrics.event(src, "invalid")
		return err
	}
	id, err := v.Verify(r, body)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			s.metrics.event(src, "invalid")
			return e
		}
		s.metrics.event(src, "unauthorized")
		return &Error{Status: http.StatusUnauthorized, Msg: "event source " + src + ": " + err.Error()}
	}
	if !json.Valid(body) || len(bytes.TrimSpace(body)) == 0 {
		s.metrics.event(src, "invalid")
		return badRequest("body", "not JSON")
	}
	typ := defaultEventType(body)
	if et, ok := v.(EventTyper); ok {
		typ = et.EventType(r, body)
	}
	match := s.opts.Match
	if match == nil {
		match = func(store.Event) ([]store.RunSpec, error) { return nil, nil }
	}
	acc, err := s.st.AcceptEvent(r.Context(), store.Event{ID: id, Source: src, Type: typ, Payload: body}, match)
	if err != nil {
		s.metrics.event(src, "error")
		return err
	}
	ids := acc.RunIDs
	if ids == nil {
		ids = []string{}
	}
	ans := wire.EventAccepted{EventID: id, RunIDs: ids, Duplicate: acc.Duplicate}
	if acc.Duplicate {
		s.metrics.event(src, "duplicate")
		return writeJSON(w, http.StatusOK, ans)
	}
	s.metrics.event(src, "accepted")
	for _, id := range ids {
		s.notify.wake(id)
	}
	return writeJSON(w, http.StatusAccepted, ans)
}

// listEvents answers received events, newest first, with filters source,
// type, unmatched=true, limit and cursor.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := store.EventFilter{Source: q.Get("source"), Type: q.Get("type"), Cursor: q.Get("cursor")}
	switch q.Get("unmatched") {
	case "", "false":
	case "true":
		f.Unmatched = true
	default:
		return badRequest("unmatched", "want true or false")
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit", 1000); err != nil {
		return err
	}
	evs, next, err := s.st.ListEvents(r.Context(), f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.EventPage{Events: nonNil(evs), Next: next})
}
