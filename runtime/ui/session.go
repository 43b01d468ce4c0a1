package ui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/runtime/api"
)

// Cookie names. The session cookie holds a random session ID, never the
// API key: the key is checked once at sign-in and forgotten.
const (
	sessionCookie = "netauto_session"
	signinCookie  = "netauto_signin"
)

// session is a signed-in browser: who it is (the principal its API key
// stood for at sign-in) and the CSRF token its forms carry.
type session struct {
	who     api.Principal
	csrf    string
	expires time.Time
	flash   string
}

// sessions are kept in memory, by the SHA-256 of their ID: they end with
// the process (signing in again is cheap) and are not shared between
// replicas.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]*session{}, ttl: ttl, now: now}
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for who and returns its ID.
func (s *sessions) create(who api.Principal) (id string, sess *session) {
	id = randomToken()
	sess = &session{who: who, csrf: randomToken(), expires: s.now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, v := range s.m { // drop expired sessions as new ones come
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	s.m[sha256.Sum256([]byte(id))] = sess
	return id, sess
}

// get returns the live session with this ID.
func (s *sessions) get(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.m[k]
	if !ok {
		return nil, false
	}
	if s.now().After(sess.expires) {
		delete(s.m, k)
		return nil, false
	}
	return sess, true
}

// end forgets a session.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(id)))
}

// takeFlash returns and clears the session's one-time message.
func (s *sessions) takeFlash(sess *session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := sess.flash
	sess.flash = ""
	return f
}

func (s *sessions) setFlash(sess *session, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess.flash = msg
}

// sameToken compares two tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// cookie returns a cookie of the UI: HttpOnly, SameSite=Strict, Secure
// when the request came over TLS (or Options.SecureCookies says so),
// scoped to the UI's path.
func (u *UI) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     u.prefix,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil || u.opts.SecureCookies,
		SameSite: http.SameSiteStrictMode,
	}
}
