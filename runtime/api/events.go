package api

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

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

// EventKinder is implemented by a [Verifier] whose source says where its
// events carry the kind of their target (a GitLab "object_kind", a
// NetBox "model"): trigger kinds are matched against it. Without it, the
// kind is read where Infrahub, the default source, puts it (data.kind,
// data.target_kind for artifact events: runtime/trigger.KindPath).
// runtime.App hands it to the trigger table for the events of its
// source.
type EventKinder interface {
	EventKind(eventType string, payload []byte) string
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
//
// To rotate the secret without losing deliveries, list the new one and
// the old one in Secrets (any matches), switch the sender, then drop the
// old one. The signature carries no timestamp: a captured delivery is a
// duplicate only as long as its event is kept (Options.EventRetention).
type HMACVerifier struct {
	// Secret is the shared secret; Secrets more of them, each accepted.
	Secret  []byte
	Secrets [][]byte
	Header  string
}

// Verify implements [Verifier].
func (v *HMACVerifier) Verify(r *http.Request, body []byte) (string, error) {
	secrets := v.Secrets
	if len(v.Secret) > 0 {
		secrets = append([][]byte{v.Secret}, secrets...)
	}
	if len(secrets) == 0 {
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
	ok := false
	for _, sec := range secrets {
		if len(sec) == 0 {
			continue
		}
		m := hmac.New(sha256.New, sec)
		m.Write(body)
		ok = hmac.Equal(got, m.Sum(nil)) || ok // every secret checked: no timing hint which matched
	}
	if !ok {
		return "", errors.New("signature does not verify")
	}
	return bodyEventID(body), nil
}

// ReplayWindow is implemented by a [Verifier] whose signatures carry a
// timestamp: a delivery is accepted only within Window of the server's
// clock, either way, so an event kept longer than twice that is never
// accepted again by replaying it. [New] refuses an Options.EventRetention
// not longer than twice a source's window.
type ReplayWindow interface {
	Window() time.Duration
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
		s.noteDelivery(r, src, "unknown_source", "unknown event source", "", nil)
		return &Error{Status: http.StatusNotFound, Field: "source", Msg: "unknown event source " + src}
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		s.metrics.event(src, "invalid")
		s.noteDelivery(r, src, "invalid", err.Error(), "", nil)
		return err
	}
	id, err := v.Verify(r, body)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			s.metrics.event(src, "invalid")
			s.noteDelivery(r, src, "invalid", e.Error(), bodyEventID(body), nil)
			return e
		}
		s.metrics.event(src, "unauthorized")
		s.noteDelivery(r, src, "unauthorized", err.Error(), bodyEventID(body), nil)
		return &Error{Status: http.StatusUnauthorized, Msg: "event source " + src + ": " + err.Error()}
	}
	if !json.Valid(body) || len(bytes.TrimSpace(body)) == 0 {
		s.metrics.event(src, "invalid")
		s.noteDelivery(r, src, "invalid", "body: not JSON", id, nil)
		return badRequest("body", "not JSON")
	}
	if wait, ok := s.limits.take(src, s.opts.Now()); !ok {
		// A flood of authentic events (a looping sender): the sender
		// retries later; nothing is stored.
		s.metrics.event(src, "rate_limited")
		s.noteDelivery(r, src, "rate_limited", "more than the source's rate limit", id, nil)
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()+0.999))))
		return &Error{Status: http.StatusTooManyRequests, Field: "source", Msg: "event source " + src + " sends more than its rate limit"}
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
		if ie := (*store.InvalidError)(nil); errors.As(err, &ie) {
			// The matcher refused the event (a field its trigger
			// needs): the sender's to fix, so the inbox says why.
			s.noteDelivery(r, src, "invalid", ie.Error(), id, nil)
		}
		return err
	}
	ids := acc.RunIDs
	if ids == nil {
		ids = []string{}
	}
	ans := wire.EventAccepted{EventID: id, RunIDs: ids, Duplicate: acc.Duplicate}
	if acc.Duplicate {
		s.metrics.event(src, "duplicate")
		s.noteDelivery(r, src, "duplicate", "accepted before", id, ids)
		return writeJSON(w, http.StatusOK, ans)
	}
	s.metrics.event(src, "accepted")
	s.metrics.accepted(src, len(ids))
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

// limiter is a token bucket per event source: rate events a second,
// bursts of burst.
type limiter struct {
	mu      sync.Mutex
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	return &limiter{rate: rate, burst: float64(burst), buckets: map[string]*bucket{}}
}

// take takes a token of src's bucket at now; when none is left it says
// how long until one is.
func (l *limiter) take(src string, now time.Time) (wait time.Duration, ok bool) {
	if l.rate <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[src]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[src] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

// PruneEvents deletes the received events older than
// Options.EventRetention; the server calls it periodically. It returns
// how many it deleted.
func (s *Server) PruneEvents(ctx context.Context) (int, error) {
	return s.st.PruneEvents(ctx, s.opts.Now().Add(-s.opts.EventRetention))
}

// checkRetention refuses a retention during which a source's signatures
// stay valid: a replayed delivery would then be accepted as new.
func checkRetention(retention time.Duration, sources map[string]Verifier) error {
	for name, v := range sources {
		if rw, ok := v.(ReplayWindow); ok && retention <= 2*rw.Window() {
			return fmt.Errorf("api: event retention %s is not longer than twice the timestamp tolerance of source %q (%s): replayed deliveries would be accepted again", retention, name, rw.Window())
		}
	}
	return nil
}
