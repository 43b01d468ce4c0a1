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
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Options configure a [Server]. Zero fields take the defaults.
type Options struct {
	// Keys are the API keys accepted as bearer tokens, each with its
	// name and role. With no keys, every request is allowed as admin
	// (named "anonymous"): serve on loopback only (see [CheckListenAddr]
	// and [Server.HTTPServer]).
	Keys *KeySet
	// TokenSecret signs run tokens (at least 32 bytes). When nil a random
	// secret is made at start: tokens then die with the process and are
	// not accepted by other replicas.
	TokenSecret []byte
	// TokenTTL is the default lifetime of a run token and the lifetime of
	// a renewed one (default 15m): its holder renews it while the run's
	// lease is live (POST /runs/{id}/token/renew). No token lives longer
	// than MaxTokenTTL (default 24h).
	TokenTTL, MaxTokenTTL time.Duration
	// MaxBodyBytes bounds request bodies (default 1 MiB); engine report
	// batches may be MaxRecordBytes (default 16 MiB). Larger bodies get 413.
	MaxBodyBytes, MaxRecordBytes int64
	// Sources are the event sources accepted by POST /api/v1/events/{source},
	// each with the verifier of its requests.
	Sources map[string]Verifier
	// EventRate and EventBurst limit the events each source may deliver:
	// EventRate a second on average (default 20), bursts of EventBurst
	// (default 100); beyond, deliveries are answered 429 with
	// Retry-After and stored nothing. A negative EventRate is no limit.
	EventRate  float64
	EventBurst int
	// EventRetention is how long received events are kept (default 7
	// days; see [Server.PruneEvents]). It must exceed twice the
	// timestamp tolerance of every source that has one ([ReplayWindow]).
	EventRetention time.Duration
	// Launchers check the job templates of pools and the job variables
	// of deployments and runs, each through the launcher of its pool's
	// type, so that a bad field fails the request rather than the run.
	// Nil (or a pool type not in it) checks nothing: the worker's
	// launcher still refuses what its pool does not allow, failing the
	// run.
	Launchers launch.Registry
	// Match matches an accepted event against the triggers, inside the
	// transaction that stores it. Nil matches nothing: events are stored
	// and listed as unmatched.
	Match Matcher
	// PollInterval is how often a log follower polls the store when no
	// append through this server woke it (logs written by another process).
	// Default 1s.
	PollInterval time.Duration
	// MaxFollowers bounds the log streams (GET /runs/{id}/logs/follow)
	// open at once (default 256), MaxFollowersPerCaller those of one key
	// (default 32); beyond, 503. StreamWriteTimeout bounds each write of
	// a stream (default 10s): a client that stops reading loses its
	// stream.
	MaxFollowers, MaxFollowersPerCaller int
	StreamWriteTimeout                  time.Duration
	// Logger receives the server's own log lines (never keys or secrets).
	// Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for tokens and leases; default time.Now.
	Now func() time.Time
	// Hosts are host names (without port) a server without keys answers
	// besides localhost, loopback addresses and the address given to
	// [Server.HTTPServer]: a name the operator's machine resolves to
	// loopback, say. Any other Host header is answered 421, which defeats
	// DNS rebinding (see [Server.HTTPServer]).
	Hosts []string
}

// Server is the netauto HTTP API over a [store.Store]. It is an
// http.Handler; see the package documentation for its endpoints.
type Server struct {
	// deliveries are the last refused and duplicate event deliveries.
	deliveries deliveryLog

	st      store.Store
	opts    Options
	mux     *http.ServeMux
	tokens  *tokenSigner
	origins *http.CrossOriginProtection
	limits  *limiter
	hosts   *hostSet
	schemas *schemaCache
	notify  *notifier
	follow  followers
	batches *batchMemo
	scopes  scopes
	metrics *metrics
	runs    *runMetrics
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
		opts.TokenTTL = 15 * time.Minute
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
	if opts.MaxFollowers <= 0 {
		opts.MaxFollowers = 256
	}
	if opts.MaxFollowersPerCaller <= 0 {
		opts.MaxFollowersPerCaller = 32
	}
	if opts.StreamWriteTimeout <= 0 {
		opts.StreamWriteTimeout = 10 * time.Second
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
	if opts.EventRate == 0 {
		opts.EventRate = 20
	}
	if opts.EventBurst <= 0 {
		opts.EventBurst = 100
	}
	if opts.EventRetention <= 0 {
		opts.EventRetention = 7 * 24 * time.Hour
	}
	if err := checkRetention(opts.EventRetention, opts.Sources); err != nil {
		return nil, err
	}
	ts, err := newTokenSigner(opts.TokenSecret)
	if err != nil {
		return nil, err
	}
	st = InstrumentStore(st)
	s := &Server{
		st:      st,
		opts:    opts,
		mux:     http.NewServeMux(),
		tokens:  ts,
		origins: http.NewCrossOriginProtection(),
		limits:  newLimiter(opts.EventRate, opts.EventBurst),
		hosts:   newHostSet(opts.Hosts),
		schemas: newSchemaCache(256),
		notify:  newNotifier(st),
		batches: newBatchMemo(4096, 15*time.Minute),
		scopes:  scopes{max: 1024},
		metrics: newMetrics(),
		runs:    st.(*observedStore).m,
		log:     opts.Logger,
	}
	s.routes()
	return s, nil
}

// AuthEnabled reports whether the server requires API keys.
func (s *Server) AuthEnabled() bool { return s.opts.Keys.Len() > 0 }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// access says who may call a route: anyone (the probes), the event
// source's verifier, or a key whose role grants perm, and whether a run
// token is accepted instead.
type access struct {
	open, source bool
	perm         Permission
	token        tokenUse
}

// tokenUse says whether a route accepts run tokens.
type tokenUse int

const (
	tokenNone   tokenUse = iota
	tokenRun             // a token for the run in {id}
	tokenEngine          // any valid token; the handler checks its scope
)

var (
	public = access{open: true}
	source = access{source: true}
)

// need is a route for keys granting p.
func need(p Permission) access { return access{perm: p} }

// needOrRun is a route for keys granting p or the token of the run in {id}.
func needOrRun(p Permission) access { return access{perm: p, token: tokenRun} }

// needOrEngine is a route for keys granting p or any run token, whose
// scope the handler checks.
func needOrEngine(p Permission) access { return access{perm: p, token: tokenEngine} }

// handlerFunc is a route's handler: it returns an error instead of
// writing one, so that every error answer has the same shape.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(pattern string, a access, h handlerFunc) {
	names := wildcards(pattern)
	s.patterns = append(s.patterns, pattern)
	s.mux.Handle(pattern, s.instrument(pattern, func(w http.ResponseWriter, r *http.Request) {
		if p, ok := r.Context().Value(servedAsKey{}).(Principal); ok {
			// An in-process caller (the web UI, see ServeAs) vouches
			// for who makes the request and checked its origin itself.
			if err := authorizeAs(p, a); err != nil {
				s.writeError(w, r, err)
				return
			}
			withPrincipal(r, p)
		} else {
			if err := s.checkBrowser(r, a); err != nil {
				s.writeError(w, r, err)
				return
			}
			if err := s.authorize(r, a); err != nil {
				s.writeError(w, r, err)
				return
			}
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
	s.handle("GET /metrics", need(PermRead), s.serveMetrics)
	s.handle("GET /api/v1/whoami", needOrEngine(PermRead), s.whoami)

	s.handle("GET /api/v1/flows", need(PermRead), s.listFlows)
	s.handle("GET /api/v1/flows/{name}", need(PermRead), s.getFlow)
	s.handle("PUT /api/v1/flows/{name}", need(PermAdmin), s.registerFlow)

	s.handle("GET /api/v1/deployments", need(PermRead), s.listDeployments)
	s.handle("GET /api/v1/deployments/{name}", need(PermRead), s.getDeployment)
	s.handle("PUT /api/v1/deployments/{name}", need(PermAdmin), s.applyDeployment)
	s.handle("POST /api/v1/deployments/{name}/runs", need(PermRunsCreate), s.createRun)
	s.handle("POST /api/v1/deployments/{name}/pause", need(PermDeploymentsPause), s.pauseDeployment(true))
	s.handle("POST /api/v1/deployments/{name}/unpause", need(PermDeploymentsPause), s.pauseDeployment(false))

	s.handle("GET /api/v1/runs", need(PermRead), s.listRuns)
	s.handle("GET /api/v1/runs/{id}", needOrRun(PermRead), s.getRun)
	s.handle("GET /api/v1/runs/{id}/state", needOrRun(PermRead), s.runState)
	s.handle("POST /api/v1/runs/{id}/state", need(PermAdmin), s.setState)
	s.handle("POST /api/v1/runs/{id}/cancel", need(PermRunsCancel), s.cancelRun)
	s.handle("POST /api/v1/runs/{id}/retry", need(PermRunsCreate), s.retryRun)
	s.handle("POST /api/v1/runs/bulk", need(PermRead), s.bulkRuns) // the action's own permission is checked in the handler
	s.handle("GET /api/v1/runs/{id}/result", needOrRun(PermRead), s.runResult)
	s.handle("GET /api/v1/runs/{id}/logs", need(PermRead), s.listLogs)
	s.handle("GET /api/v1/runs/{id}/logs/follow", need(PermRead), s.followLogs)
	s.handle("POST /api/v1/runs/{id}/token", need(PermWork), s.mintToken)
	s.handle("POST /api/v1/runs/{id}/token/renew", needOrRun(PermWork), s.renewToken)
	s.handle("POST /api/v1/runs/{id}/lease", need(PermWork), s.renewLease)
	s.handle("POST /api/v1/runs/{id}/record", needOrRun(PermAdmin), s.record)
	s.handle("GET /api/v1/runs/{id}/results", needOrEngine(PermAdmin), s.runResults)
	s.handle("GET /api/v1/runs/{id}/tag-limits", needOrRun(PermRead), s.runTagLimits)
	s.handle("POST /api/v1/runs/{id}/slots", needOrRun(PermWork), s.acquireSlots)
	s.handle("PUT /api/v1/runs/{id}/slots/{holder}", needOrRun(PermWork), s.renewSlots)
	s.handle("DELETE /api/v1/runs/{id}/slots/{holder}", needOrRun(PermWork), s.releaseSlots)
	s.handle("GET /api/v1/cache/{key}", needOrEngine(PermAdmin), s.cachedResult)

	s.handle("GET /api/v1/pools", need(PermRead), s.listPools)
	s.handle("GET /api/v1/pools/{name}", need(PermRead), s.getPool)
	s.handle("PUT /api/v1/pools/{name}", need(PermAdmin), s.applyPool)
	s.handle("GET /api/v1/pools/{name}/queues", need(PermRead), s.listQueues)
	s.handle("PUT /api/v1/pools/{name}/queues/{queue}", need(PermAdmin), s.applyQueue)
	s.handle("POST /api/v1/pools/{name}/claim", need(PermWork), s.claimRun)
	s.handle("GET /api/v1/workers", need(PermRead), s.listWorkers)
	s.handle("PUT /api/v1/workers/{name}", need(PermWork), s.heartbeat)

	s.handle("GET /api/v1/blocks", need(PermRead), s.listBlocks)
	s.handle("GET /api/v1/blocks/{name}", need(PermRead), s.getBlock)
	s.handle("PUT /api/v1/blocks/{name}", need(PermAdmin), s.saveBlock)
	s.handle("DELETE /api/v1/blocks/{name}", need(PermAdmin), s.deleteBlock)
	s.handle("GET /api/v1/tag-limits", need(PermRead), s.listTagLimits)
	s.handle("PUT /api/v1/tag-limits/{tag}", need(PermAdmin), s.setTagLimit)
	s.handle("GET /api/v1/variables", need(PermRead), s.listVariables)
	s.handle("GET /api/v1/variables/{name}", need(PermRead), s.getVariable)
	s.handle("PUT /api/v1/variables/{name}", need(PermAdmin), s.setVariable)
	s.handle("DELETE /api/v1/variables/{name}", need(PermAdmin), s.deleteVariable)
	s.handle("GET /api/v1/secrets", need(PermRead), s.listSecrets)
	s.handle("PUT /api/v1/secrets/{name}", need(PermAdmin), s.putSecret)
	s.handle("DELETE /api/v1/secrets/{name}", need(PermAdmin), s.deleteSecret)

	s.approvalRoutes() // approvals.go
	s.windowRoutes()   // windows.go
	s.handle("GET /api/v1/events", need(PermRead), s.listEvents)
	s.handle("GET /api/v1/events/deliveries", need(PermRead), s.listDeliveries)
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
