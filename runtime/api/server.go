package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Options configure a [Server]. Zero fields take the defaults.
type Options struct {
	// Keys are the API keys accepted as bearer tokens with full access.
	// With no keys, every request is allowed: serve on loopback only
	// (see [CheckListenAddr]).
	Keys *KeySet
	// TokenSecret signs run tokens (at least 32 bytes). When nil a random
	// secret is made at start: tokens then die with the process and are
	// not accepted by other replicas.
	TokenSecret []byte
	// TokenTTL is the default lifetime of a run token (default 1h); no
	// token lives longer than MaxTokenTTL (default 24h).
	TokenTTL, MaxTokenTTL time.Duration
	// MaxBodyBytes bounds request bodies (default 1 MiB); engine report
	// batches may be MaxRecordBytes (default 16 MiB). Larger bodies get 413.
	MaxBodyBytes, MaxRecordBytes int64
	// Sources are the event sources accepted by POST /api/v1/events/{source},
	// each with the verifier of its requests.
	Sources map[string]Verifier
	// Match matches an accepted event against the triggers, inside the
	// transaction that stores it. Nil matches nothing: events are stored
	// and listed as unmatched.
	Match Matcher
	// PollInterval is how often a log follower polls the store when no
	// append through this server woke it (logs written by another process).
	// Default 1s.
	PollInterval time.Duration
	// Logger receives the server's own log lines (never keys or secrets).
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for tokens and leases; default time.Now.
	Now func() time.Time
}

// Server is the netauto HTTP API over a [store.Store]. It is an
// http.Handler; see the package documentation for its endpoints.
type Server struct {
	st      store.Store
	opts    Options
	mux     *http.ServeMux
	tokens  *tokenSigner
	schemas *schemaCache
	notify  *notifier
	batches *batchMemo
	scopes  scopes
	metrics *metrics
	log     *slog.Logger
	// patterns are the routes' patterns, in registration order.
	patterns []string
}

// New returns a Server over st.
func New(st store.Store, opts Options) (*Server, error) {
	if st == nil {
		return nil, errors.New("api: nil store")
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	if opts.MaxTokenTTL <= 0 {
		opts.MaxTokenTTL = 24 * time.Hour
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = 16 << 20
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	for name, v := range opts.Sources {
		if v == nil {
			return nil, fmt.Errorf("api: event source %q has no verifier", name)
		}
	}
	ts, err := newTokenSigner(opts.TokenSecret)
	if err != nil {
		return nil, err
	}
	s := &Server{
		st:      st,
		opts:    opts,
		mux:     http.NewServeMux(),
		tokens:  ts,
		schemas: newSchemaCache(256),
		notify:  newNotifier(),
		batches: newBatchMemo(4096, 15*time.Minute),
		scopes:  scopes{max: 1024},
		metrics: newMetrics(),
		log:     opts.Logger,
	}
	s.routes()
	return s, nil
}

// AuthEnabled reports whether the server requires API keys.
func (s *Server) AuthEnabled() bool { return s.opts.Keys.Len() > 0 }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// access says who may call a route.
type access int

const (
	public   access = iota // anyone
	admin                  // an API key (anyone when auth is off)
	runScope               // an API key, or a run token for the run in {id}
	anyToken               // an API key or any valid run token
	source                 // the event source's verifier decides
)

// handlerFunc is a route's handler: it returns an error instead of
// writing one, so that every error answer has the same shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, a access, h handlerFunc) {
	names := wildcards(pattern)
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, s.instrument(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := s.authorize(r, a); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := checkURL(r, names); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}))
}

func (s *Server) routes() {
	s.mux.Handle("/", s.instrument("unmatched", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &Error{Status: http.StatusNotFound, Msg: "no such endpoint: " + r.Method + " " + r.URL.Path})
	}))
	s.handle("GET /healthz", public, s.healthz)
	s.handle("GET /readyz", public, s.readyz)
	s.handle("GET /api/v1/version", public, s.version)
	s.handle("GET /metrics", admin, s.serveMetrics)

	s.handle("GET /api/v1/flows", admin, s.listFlows)
	s.handle("GET /api/v1/flows/{name}", admin, s.getFlow)
	s.handle("PUT /api/v1/flows/{name}", admin, s.registerFlow)

	s.handle("GET /api/v1/deployments", admin, s.listDeployments)
	s.handle("GET /api/v1/deployments/{name}", admin, s.getDeployment)
	s.handle("PUT /api/v1/deployments/{name}", admin, s.applyDeployment)
	s.handle("POST /api/v1/deployments/{name}/runs", admin, s.createRun)

	s.handle("GET /api/v1/runs", admin, s.listRuns)
	s.handle("GET /api/v1/runs/{id}", runScope, s.getRun)
	s.handle("GET /api/v1/runs/{id}/state", runScope, s.runState)
	s.handle("POST /api/v1/runs/{id}/state", admin, s.setState)
	s.handle("POST /api/v1/runs/{id}/cancel", admin, s.cancelRun)
	s.handle("GET /api/v1/runs/{id}/result", runScope, s.runResult)
	s.handle("GET /api/v1/runs/{id}/logs", admin, s.listLogs)
	s.handle("GET /api/v1/runs/{id}/logs/follow", admin, s.followLogs)
	s.handle("POST /api/v1/runs/{id}/token", admin, s.mintToken)
	s.handle("POST /api/v1/runs/{id}/lease", admin, s.renewLease)
	s.handle("POST /api/v1/runs/{id}/record", runScope, s.record)
	s.handle("GET /api/v1/runs/{id}/results", anyToken, s.runResults)
	s.handle("GET /api/v1/runs/{id}/tag-limits", runScope, s.runTagLimits)
	s.handle("POST /api/v1/runs/{id}/slots", runScope, s.acquireSlots)
	s.handle("PUT /api/v1/runs/{id}/slots/{holder}", runScope, s.renewSlots)
	s.handle("DELETE /api/v1/runs/{id}/slots/{holder}", runScope, s.releaseSlots)
	s.handle("GET /api/v1/cache/{key}", anyToken, s.cachedResult)

	s.handle("GET /api/v1/pools", admin, s.listPools)
	s.handle("GET /api/v1/pools/{name}", admin, s.getPool)
	s.handle("PUT /api/v1/pools/{name}", admin, s.applyPool)
	s.handle("GET /api/v1/pools/{name}/queues", admin, s.listQueues)
	s.handle("PUT /api/v1/pools/{name}/queues/{queue}", admin, s.applyQueue)
	s.handle("POST /api/v1/pools/{name}/claim", admin, s.claimRun)
	s.handle("GET /api/v1/workers", admin, s.listWorkers)
	s.handle("PUT /api/v1/workers/{name}", admin, s.heartbeat)

	s.handle("GET /api/v1/blocks", admin, s.listBlocks)
	s.handle("GET /api/v1/blocks/{name}", admin, s.getBlock)
	s.handle("PUT /api/v1/blocks/{name}", admin, s.saveBlock)
	s.handle("DELETE /api/v1/blocks/{name}", admin, s.deleteBlock)
	s.handle("GET /api/v1/tag-limits", admin, s.listTagLimits)
	s.handle("PUT /api/v1/tag-limits/{tag}", admin, s.setTagLimit)
	s.handle("GET /api/v1/variables", admin, s.listVariables)
	s.handle("GET /api/v1/variables/{name}", admin, s.getVariable)
	s.handle("PUT /api/v1/variables/{name}", admin, s.setVariable)
	s.handle("DELETE /api/v1/variables/{name}", admin, s.deleteVariable)

	s.handle("GET /api/v1/events", admin, s.listEvents)
	s.handle("POST /api/v1/events/{source}", source, s.acceptEvent)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// version answers the protocol the server speaks and its library version,
// so that a flow binary can refuse to run against an incompatible server.
func (s *Server) version(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, wire.Version{Protocol: wire.Protocol, Library: wire.LibraryVersion()})
}

// readyz answers 200 when the store answers a read within 2 seconds.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.st.ListPools(ctx); err != nil {
		s.log.Warn("readiness check: store unreachable", "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Msg: "store unreachable"}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// Error is an error answer: its status, message and the bad field. The
// handlers return it; [Server] writes it as a [wire.Error].
type Error struct {
	Status int
	Msg    string
	Field  string
	// RetryAfter, when set, is sent as the Retry-After header (whole
	// seconds): with a 503 while the store is unavailable.
	RetryAfter time.Duration
}

// storeRetryAfter is the Retry-After of a 503 answered while the store is
// unavailable: a database restart or failover takes seconds.
const storeRetryAfter = 2 * time.Second

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Msg
	}
	return e.Msg
}

func badRequest(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// classify maps an error to its answer. Errors of the store's types are
// the caller's fault (4xx); anything else is the server's (500), logged
// and answered without detail.
func (s *Server) classify(r *http.Request, err error) *Error {
	var e *Error
	var nf *store.NotFoundError
	var inv *store.InvalidError
	var te *flow.TransitionError
	var ll *store.LeaseLostError
	var fe *store.FencedError
	var mb *http.MaxBytesError
	var pe *flow.ParamsError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &mb):
		return &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body over %d bytes", mb.Limit)}
	case errors.As(err, &nf):
		return &Error{Status: http.StatusNotFound, Msg: nf.Error(), Field: nf.Kind}
	case errors.As(err, &te):
		return &Error{Status: http.StatusConflict, Msg: te.Error(), Field: "state"}
	case errors.As(err, &ll):
		return &Error{Status: http.StatusConflict, Msg: ll.Error(), Field: "worker"}
	case errors.As(err, &fe):
		return &Error{Status: http.StatusConflict, Msg: fe.Error(), Field: "fence"}
	case errors.As(err, &inv):
		return &Error{Status: http.StatusBadRequest, Msg: inv.Reason, Field: inv.Field}
	case errors.As(err, &pe):
		return &Error{Status: http.StatusUnprocessableEntity, Msg: pe.Error(), Field: joinField("parameters", pe.Field)}
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return &Error{Status: 499, Msg: "client closed the request"}
	case store.IsUnavailable(err):
		// Not the request's fault and not a bug: the database is
		// restarting or unreachable. Clients retry after a while.
		s.log.Warn("api request: store unavailable", "method", r.Method, "route", r.Pattern, "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Msg: "the store is unavailable for now; try again shortly", RetryAfter: storeRetryAfter}
	}
	s.log.Error("api request failed", "method", r.Method, "route", r.Pattern, "err", err)
	return &Error{Status: http.StatusInternalServerError, Msg: "internal error"}
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.classify(r, err)
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="netauto"`)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(e.RetryAfter.Round(time.Second)/time.Second))))
	}
	_ = writeJSON(w, e.Status, wire.Error{Error: e.Msg, Field: e.Field})
}

func joinField(parent, child string) string {
	if child == "" {
		return parent
	}
	return parent + "." + child
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// decode reads a JSON body of at most limit bytes into v, strictly:
// unknown fields, trailing data and wrong types are errors naming the
// field.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	return decodeBytes(body, v)
}

// readBody reads a body of at most limit bytes; a longer one is an
// *http.MaxBytesError (413).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// decodeBytes is decode on a body already read; it also refuses text a
// store cannot keep (see checkText).
func decodeBytes(body []byte, v any) error {
	if err := decodeJSON(body, v); err != nil {
		return err
	}
	return checkText(v)
}

// decodeJSON is decodeBytes without the text check: for a record batch,
// whose ops the store checks one by one (a bad op fails alone) and whose
// log lines it cleans.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("body", "empty; want a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badRequest("body", "trailing data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return badRequest(te.Field, "got JSON %s, want %s", te.Value, te.Type)
	case errors.As(err, &se):
		return badRequest("body", "malformed JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("body", "truncated JSON")
	}
	return badRequest("body", "%v", err)
}
