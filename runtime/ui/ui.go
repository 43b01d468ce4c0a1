package ui

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is the path the UI is served under by [Mount].
const Prefix = "/ui/"

// Options configure a [UI]. Zero fields take the defaults.
type Options struct {
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// PollInterval is how often a run page's live stream reads the run's
	// state from the store (default 1s).
	PollInterval time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP requests: for
	// a server behind a proxy that terminates TLS. Requests over TLS
	// always get Secure cookies.
	SecureCookies bool
	// PageSize is the number of runs on a page of the runs list (default
	// 50).
	PageSize int
	// MaxStreams bounds the live run streams open at once (default 256).
	MaxStreams int
	// Wake, when set, is called after the UI created a run or made one
	// due again (run now, retry): the server's embedded worker claims it
	// at once instead of at its next poll.
	Wake func()
	// Logger receives the UI's own log lines; default slog.Default().
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// UI is the web UI: server-rendered pages over the store, whose actions go
// through the API in-process ([api.Server.ServeAs]) as the signed-in key.
type UI struct {
	api      *api.Server
	st       store.Store
	opts     Options
	prefix   string
	mux      *http.ServeMux
	sessions *sessions
	pages    map[string]*template.Template
	streams  chan struct{}
	log      *slog.Logger
}

// New returns the UI over the API server a and its store st, to be served
// under "/ui/" (see [Mount]).
func New(a *api.Server, st store.Store, opts Options) (*UI, error) {
	if a == nil || st == nil {
		return nil, errors.New("ui: nil API server or store")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 50
	}
	if opts.MaxStreams <= 0 {
		opts.MaxStreams = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Wake == nil {
		opts.Wake = func() {}
	}
	u := &UI{api: a, st: st, opts: opts, prefix: strings.TrimSuffix(Prefix, "/"), mux: http.NewServeMux(),
		sessions: newSessions(opts.SessionTTL, opts.Now), streams: make(chan struct{}, opts.MaxStreams), log: opts.Logger}
	if err := u.parse(); err != nil {
		return nil, err
	}
	u.routes()
	return u, nil
}

// Mount serves a new UI on a under "/ui/", and redirects "/" to it.
func Mount(a *api.Server, st store.Store, opts Options) (*UI, error) {
	u, err := New(a, st, opts)
	if err != nil {
		return nil, err
	}
	a.Mount(Prefix, u)
	a.Mount("GET /{$}", http.RedirectHandler(Prefix, http.StatusSeeOther))
	a.Mount("GET /ui", http.RedirectHandler(Prefix, http.StatusSeeOther))
	return u, nil
}

// page names each page's template file; every page is parsed with the
// layout.
var pageFiles = []string{"signin", "runs", "run", "dashboard", "deployments", "deployment", "pools", "events", "config", "flows", "approvals", "approval", "error"}

func (u *UI) parse() error {
	u.pages = map[string]*template.Template{}
	for _, name := range pageFiles {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", "templates/"+name+".html")
		if err != nil {
			return fmt.Errorf("ui: parse page %s: %w", name, err)
		}
		u.pages[name] = t
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	if err := u.api.CheckBrowser(r); err != nil {
		var e *api.Error
		status := http.StatusForbidden
		if errors.As(err, &e) {
			status = e.Status
		}
		http.Error(w, err.Error(), status)
		return
	}
	u.mux.ServeHTTP(w, r)
}

// handler is a page or action of a signed-in user.
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// route registers a page that needs a session; a POST also needs the
// session's CSRF token in the form field _csrf.
func (u *UI) route(pattern string, h handler) {
	u.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		sess := u.session(r)
		if sess == nil {
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, u.prefix+"/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if !sameToken(r.PostFormValue("_csrf"), sess.csrf) {
				u.fail(w, r, sess, http.StatusForbidden, "the form's CSRF token is missing or stale: reload the page and submit again")
				return
			}
		}
		if err := h(w, r, sess); err != nil {
			if r.Context().Err() != nil {
				return // the browser went away (navigated on)
			}
			u.log.Error("ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			u.fail(w, r, sess, http.StatusInternalServerError, "internal error")
		}
	})
}

func (u *UI) session(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	s, _ := u.sessions.get(c.Value)
	return s
}

// view is what every page's template gets.
type view struct {
	Title  string
	Nav    string
	Prefix string
	Who    api.Principal
	CSRF   string
	Flash  string
	Data   any
}

// Can reports whether the signed-in key's role grants permission p (a
// [api.Permission] name): pages offer only the buttons it may use.
func (v view) Can(p string) bool { return v.Who.Role.Can(api.Permission(p)) }

func (u *UI) render(w http.ResponseWriter, r *http.Request, s *session, status int, page, title string, data any) error {
	v := view{Title: title, Nav: page, Prefix: u.prefix, Data: data}
	if s != nil {
		v.Who, v.CSRF, v.Flash = s.who, s.csrf, u.sessions.takeFlash(s)
	}
	var buf bytes.Buffer
	if err := u.pages[page].Execute(&buf, v); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// fail answers an error page.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, s *session, status int, msg string) {
	if err := u.render(w, r, s, status, "error", http.StatusText(status), msg); err != nil {
		http.Error(w, msg, status)
	}
}

// apiAnswer is what an in-process API call answered.
type apiAnswer struct {
	Status int
	Body   []byte
}

// Err returns the API's error answer, nil for a 2xx.
func (a apiAnswer) Err() *wire.Error {
	if a.Status < 300 {
		return nil
	}
	var e wire.Error
	if json.Unmarshal(a.Body, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("the API answered %d", a.Status)
	}
	return &e
}

// call makes an API request in-process as the session's principal: the
// API validates and authorises it as it would a bearer key's.
func (u *UI) call(ctx context.Context, s *session, method, path string, body any) apiAnswer {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiAnswer{Status: 500, Body: []byte(`{"error":"encode request"}`)}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return apiAnswer{Status: 500, Body: []byte(`{"error":"bad request path"}`)}
	}
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{h: http.Header{}, status: http.StatusOK}
	u.api.ServeAs(rec, req, s.who)
	return apiAnswer{Status: rec.status, Body: rec.buf.Bytes()}
}

// recorder is an in-memory http.ResponseWriter for in-process API calls.
type recorder struct {
	h      http.Header
	status int
	wrote  bool
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.buf.Write(b)
}

// staticFiles serves the embedded CSS and JavaScript.
func staticFiles() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
