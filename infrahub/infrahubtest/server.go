package infrahubtest

import (
	"bytes"
	"context"
	"crypto/md5" //nolint:gosec // Infrahub's artifact checksum is an MD5 hex digest
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"gopkg.in/yaml.v3"

	"github.com/netauto-dev/netauto/infrahub"
)

// Default credentials of a fake whose Options leave them empty.
const (
	DefaultAPIToken = "infrahubtest-api-token"
	DefaultUsername = "admin"
	DefaultPassword = "infrahub"
)

// Options configure a fake Infrahub.
type Options struct {
	// Schemas holds the schema YAML files to load (every *.yml/*.yaml);
	// nil means DefaultSchemas().
	Schemas fs.FS
	// Seed is seed data in the fake's YAML seed format (see LoadSeed);
	// nil loads nothing.
	Seed []byte
	// APIToken is the accepted X-INFRAHUB-KEY (default DefaultAPIToken).
	APIToken string
	// Username and Password are accepted by /api/auth/login (defaults
	// DefaultUsername, DefaultPassword).
	Username, Password string
	// Accounts are further accounts the fake accepts, with the global
	// permissions Infrahub would give them. The account of APIToken,
	// Username and Password is a super administrator.
	Accounts []Account
	// AccessTokenTTL is the lifetime of login access tokens (default 1h);
	// refresh tokens live 24 times longer.
	AccessTokenTTL time.Duration
	// DefaultBranch is the default branch's name (default "main").
	DefaultBranch string
	// Webhooks receive signed events after each mutation, like Infrahub's
	// webhooks.
	Webhooks []Webhook
	// WebhookTimeout bounds each delivery attempt; default
	// DefaultWebhookTimeout, Infrahub's. Tests set it short to provoke
	// retries without waiting 10 s.
	WebhookTimeout time.Duration
	// WebhookRetries is how many times a failed attempt is repeated;
	// zero means DefaultWebhookRetries (Infrahub's 3), negative none.
	WebhookRetries int
	// WebhookRetryDelay is the pause before each retry; zero retries at
	// once, as Infrahub up to 1.10 does (Infrahub 1.11 waits 2 minutes).
	WebhookRetryDelay time.Duration
	// OnDelivery, when set, is called after each delivery attempt, from
	// the goroutine delivering: tests await deliveries with it.
	OnDelivery func(Delivery)
	// Clock replaces time.Now (token expiry, webhook timestamps, event
	// times).
	Clock func() time.Time
	// Logger receives webhook delivery failures; nil means slog.Default().
	Logger *slog.Logger
}

// Webhook is a receiver of signed events.
type Webhook struct {
	URL string
	// SharedKey signs deliveries (HMAC-SHA256 with the raw key bytes).
	SharedKey []byte
	// Events limits the event types sent; empty sends all.
	Events []string
	// Branch limits events to one branch; empty sends all.
	Branch string
}

// Fault is an injected failure: the next Times requests whose path starts
// with the fault's prefix get Status (and Retry-After when set) instead of
// an answer.
type Fault struct {
	Status     int
	RetryAfter string
	Times      int
}

type fault struct {
	prefix string
	Fault
}

// Account is an account of the fake: an API token and, optionally, a
// login, with two of Infrahub's global permissions. Infrahub checks them
// before running a GraphQL request (GraphQLQueryPermissionChecker in
// opsmill/infrahub backend/infrahub/graphql/auth/query_permission_checker/)
// and refuses with 403 and PermissionDeniedError's REST envelope
// (backend/infrahub/api/exception_handlers.py).
type Account struct {
	// APIToken is accepted as X-INFRAHUB-KEY; empty means none.
	APIToken string
	// Username and Password log in at /api/auth/login; empty means no
	// login.
	Username, Password string
	// EditDefaultBranch is the edit_default_branch permission: without it
	// a mutation on the default branch, other than BranchCreate,
	// BranchDelete and BranchRebase, is refused with "You are not allowed
	// to change data in the default branch" (DefaultBranchPermissionChecker
	// and GLOBAL_PERMISSION_DENIAL_MESSAGE in
	// backend/infrahub/permissions/constants.py).
	EditDefaultBranch bool
	// MergeBranch is the merge_branch permission: without it BranchMerge
	// is refused with "You are not allowed to merge a branch"
	// (MergeBranchPermissionChecker).
	MergeBranch bool
}

type token struct {
	expires time.Time
	refresh bool
	account int // index in Server.accounts
}

// Server is a fake Infrahub: an in-memory node store with branches behind
// Infrahub's GraphQL and REST endpoints. It is an http.Handler; use
// NewTestServer in tests or Serve to run it standalone.
type Server struct {
	opts   Options
	reg    *registry
	schema *ast.Schema
	sdl    string
	client *http.Client
	log    *slog.Logger

	mu          sync.Mutex
	branches    map[string]*branchState
	branchOrder []string
	storage     map[string][]byte
	renders     map[string][]byte // artifact id -> what its transformation renders now
	eventLog    []pendingEvent    // every event, for the InfrahubEvent query
	deliveries  []Delivery
	tokens      map[string]token
	accounts    []Account
	faults      []*fault
	requests    map[string]int

	// bg counts background work (webhook deliveries, artifact
	// generation); ctx ends it early on Close.
	bg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// New builds a fake from opts: it loads the schemas, generates and checks
// the GraphQL schema and loads the seed.
func New(opts Options) (*Server, error) {
	if opts.Schemas == nil {
		opts.Schemas = DefaultSchemas()
	}
	if opts.APIToken == "" {
		opts.APIToken = DefaultAPIToken
	}
	if opts.Username == "" {
		opts.Username, opts.Password = DefaultUsername, DefaultPassword
	}
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if opts.DefaultBranch == "" {
		opts.DefaultBranch = "main"
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = DefaultWebhookTimeout
	}
	switch {
	case opts.WebhookRetries == 0:
		opts.WebhookRetries = DefaultWebhookRetries
	case opts.WebhookRetries < 0:
		opts.WebhookRetries = 0
	}
	reg, err := loadRegistry(opts.Schemas)
	if err != nil {
		return nil, fmt.Errorf("infrahubtest: %w", err)
	}
	schema, sdl, err := reg.buildSchema()
	if err != nil {
		return nil, fmt.Errorf("infrahubtest: %w", err)
	}
	s := &Server{
		opts: opts, reg: reg, schema: schema, sdl: sdl, log: opts.Logger,
		client:   newWebhookClient(),
		branches: map[string]*branchState{}, storage: map[string][]byte{}, renders: map[string][]byte{},
		tokens: map[string]token{}, requests: map[string]int{},
		accounts: append([]Account{{APIToken: opts.APIToken, Username: opts.Username, Password: opts.Password,
			EditDefaultBranch: true, MergeBranch: true}}, opts.Accounts...),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	main := &branchState{nodes: map[string]*node{}, changed: map[string]bool{}, unique: map[string][]string{}, info: infrahub.Branch{
		ID: newID(), Name: opts.DefaultBranch, Status: "OPEN", IsDefault: true, SyncWithGit: true, OriginBranch: opts.DefaultBranch,
		BranchedFrom: opts.Clock().UTC().Format(time.RFC3339Nano),
	}}
	s.branches[opts.DefaultBranch] = main
	s.branchOrder = []string{opts.DefaultBranch}
	if opts.Seed != nil {
		if err := s.LoadSeed(opts.Seed); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// NewTestServer starts a fake on 127.0.0.1 for the test and closes it when
// the test ends (deliveries and generations still running are stopped).
// Point a client at ts.URL with DefaultAPIToken, or
// DefaultUsername/DefaultPassword.
func NewTestServer(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

// Serve runs the fake on addr (for example "127.0.0.1:8000") until ctx is
// done; it is what a `sim infrahub` command wraps. ready, when not nil,
// receives the bound address once the listener is up.
func Serve(ctx context.Context, addr string, opts Options, ready chan<- string) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("infrahubtest: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	s.Close()
	if err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Wait blocks until the background work started so far has finished:
// artifact generations and webhook deliveries, retries included. Call it
// when no request to the fake is in flight.
func (s *Server) Wait() { s.bg.Wait() }

// Close stops background work: deliveries in flight are abandoned and no
// retry or generation starts. It waits for them to end. The fake still
// answers requests.
func (s *Server) Close() {
	s.mu.Lock() // background work starts under s.mu, after checking ctx
	s.cancel()
	s.mu.Unlock()
	s.bg.Wait()
}

// GraphQLSchema returns the generated GraphQL schema (SDL).
func (s *Server) GraphQLSchema() string { return s.sdl }

// InjectFault makes the next f.Times requests whose path starts with
// prefix (for example "/graphql" or "/api/artifact/") fail with f.Status.
func (s *Server) InjectFault(prefix string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{prefix: prefix, Fault: f})
}

// Requests returns how many requests reached path (exact), faults
// included.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// ExpireAccessTokens makes every issued access token expired, as if the
// clock passed their lifetime; with refresh true, refresh tokens too, so a
// client must log in again.
func (s *Server) ExpireAccessTokens(refresh bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.tokens {
		if !t.refresh || refresh {
			t.expires = time.Time{}
			s.tokens[k] = t
		}
	}
}

// PutObject stores content in the object store and returns its storage id.
func (s *Server) PutObject(content []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := newID()
	s.storage[id] = bytes.Clone(content)
	return id
}

// ServeHTTP implements http.Handler: fault injection, auth, then the
// GraphQL and REST endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	var injected *fault
	for _, f := range s.faults {
		if f.Times > 0 && strings.HasPrefix(r.URL.Path, f.prefix) {
			f.Times--
			injected = f
			break
		}
	}
	s.mu.Unlock()
	if injected != nil {
		if injected.RetryAfter != "" {
			w.Header().Set("Retry-After", injected.RetryAfter)
		}
		writeErrors(w, injected.Status, http.StatusText(injected.Status))
		return
	}
	switch {
	case r.URL.Path == "/api/auth/login" && r.Method == http.MethodPost:
		s.login(w, r)
		return
	case r.URL.Path == "/api/auth/refresh" && r.Method == http.MethodPost:
		s.refresh(w, r)
		return
	}
	acct, msg := s.authenticate(r)
	if msg != "" {
		writeErrors(w, http.StatusUnauthorized, msg)
		return
	}
	switch p := r.URL.Path; {
	case p == "/graphql" || strings.HasPrefix(p, "/graphql/"):
		s.serveGraphQL(w, r, strings.TrimPrefix(strings.TrimPrefix(p, "/graphql"), "/"), acct)
	case p == "/api/schema" && r.Method == http.MethodGet:
		if !s.restBranch(w, r) {
			return
		}
		writeJSON(w, http.StatusOK, s.reg.schemaResponse())
	case p == "/schema.graphql" && r.Method == http.MethodGet:
		if !s.restBranch(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, s.sdl)
	case strings.HasPrefix(p, "/api/storage/object/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(p, "/api/storage/object/")
		s.mu.Lock()
		content, ok := s.storage[id]
		s.mu.Unlock()
		if !ok {
			// registry.storage.retrieve raises NodeNotFoundError(node_type="StorageObject")
			// (opsmill/infrahub backend/infrahub/storage.py).
			writeErrors(w, http.StatusNotFound, nodeNotFound(id, "StorageObject"))
			return
		}
		_, _ = w.Write(content)
	case strings.HasPrefix(p, "/api/artifact/generate/") && r.Method == http.MethodPost:
		s.generateArtifacts(w, r, strings.TrimPrefix(p, "/api/artifact/generate/"))
	case strings.HasPrefix(p, "/api/artifact/") && r.Method == http.MethodGet:
		s.artifactContent(w, r, strings.TrimPrefix(p, "/api/artifact/"))
	default:
		// FastAPI's answer for a route it does not have.
		writeJSON(w, http.StatusNotFound, map[string]any{"detail": "Not Found"})
	}
}

// restBranch checks the "branch" query parameter of a REST call. An
// unknown branch raises BranchNotFoundError, whose HTTP_CODE is 400, with
// the message "Branch: <name> not found." (opsmill/infrahub
// backend/infrahub/exceptions.py, api/dependencies.py get_branch_params).
func (s *Server) restBranch(w http.ResponseWriter, r *http.Request) bool {
	name := r.URL.Query().Get("branch")
	if s.branchExists(name) {
		return true
	}
	writeErrors(w, http.StatusBadRequest, branchNotFound(name))
	return false
}

func branchNotFound(name string) string { return "Branch: " + name + " not found." }

// nodeNotFound is NodeNotFoundError's message (opsmill/infrahub
// backend/infrahub/exceptions.py), answered with 404.
func nodeNotFound(id, kind string) string {
	return "Unable to find the node " + id + " / " + kind + " in the database."
}

func (s *Server) branchExists(name string) bool {
	if name == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.branches[name] != nil
}

// writeErrors answers Infrahub's REST error shape: {"data": null,
// "errors": [{"message", "extensions": {"code": <status>}}]}
// (opsmill/infrahub backend/infrahub/api/exception_handlers.py,
// _rest_envelope).
func writeErrors(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"data": nil, "errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": status}}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *Server) issue(account int, refresh bool) string {
	ttl := s.opts.AccessTokenTTL
	if refresh {
		ttl *= 24
	}
	t := randomToken()
	s.tokens[t] = token{expires: s.opts.Clock().Add(ttl), refresh: refresh, account: account}
	return t
}

// login answers /api/auth/login as authenticate_with_password in
// opsmill/infrahub backend/infrahub/auth.py: an unknown user is
// NodeNotFoundError (404, "That login user doesn't exist in the system"), a
// wrong password AuthorizationError (401, "Incorrect password").
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username *string `json:"username"`
		Password *string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil || in.Username == nil || in.Password == nil {
		// FastAPI's request validation answer.
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": []any{map[string]any{
			"type": "missing", "loc": []string{"body"}, "msg": "Field required"}}})
		return
	}
	account := slices.IndexFunc(s.accounts, func(a Account) bool { return a.Username != "" && a.Username == *in.Username })
	if account < 0 {
		writeErrors(w, http.StatusNotFound, "That login user doesn't exist in the system")
		return
	}
	if s.accounts[account].Password != *in.Password {
		writeErrors(w, http.StatusUnauthorized, "Incorrect password")
		return
	}
	s.mu.Lock()
	access, refresh := s.issue(account, false), s.issue(account, true)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"access_token": access, "refresh_token": refresh})
}

// refresh answers /api/auth/refresh (get_refresh_token in
// backend/infrahub/api/dependencies.py, validate_jwt_refresh_token in
// backend/infrahub/auth.py).
func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || bearer == "" {
		writeErrors(w, http.StatusUnauthorized, "A JWT refresh token is required to perform this operation.")
		return
	}
	s.mu.Lock()
	t, known := s.tokens[bearer]
	var msg, access string
	switch {
	case !known:
		msg = "Invalid token"
	case !s.opts.Clock().Before(t.expires):
		msg = "Expired Signature"
	case !t.refresh:
		msg = "Invalid token, current token is not a refresh token"
	default:
		access = s.issue(t.account, false)
	}
	s.mu.Unlock()
	if msg != "" {
		writeErrors(w, http.StatusUnauthorized, msg)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"access_token": access})
}

// authenticate returns the request's account, or the message of the 401
// Infrahub answers (authentication_token, validate_api_key and
// validate_jwt_access_token in opsmill/infrahub backend/infrahub/auth.py).
// Infrahub lets anonymous requests read by default; the fake asks every
// request for credentials ("Authentication is required to perform this
// operation", what Infrahub answers an anonymous mutation).
func (s *Server) authenticate(r *http.Request) (Account, string) {
	if k := r.Header.Get("X-INFRAHUB-KEY"); k != "" {
		for _, a := range s.accounts {
			if a.APIToken != "" && a.APIToken == k {
				return a, ""
			}
		}
		return Account{}, "Invalid token"
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Account{}, "Authentication is required to perform this operation"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[bearer]
	switch {
	case !ok:
		return Account{}, "Invalid token"
	case !s.opts.Clock().Before(t.expires):
		return Account{}, "Expired Signature"
	case t.refresh:
		return Account{}, "Invalid token, current token is not an access token"
	}
	return s.accounts[t.account], ""
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request, branch string, acct Account) {
	if r.Method != http.MethodPost {
		writeErrors(w, http.StatusMethodNotAllowed, "GraphQL requests are POSTed")
		return
	}
	if branch == "" {
		branch = s.opts.DefaultBranch
	}
	if !s.branchExists(branch) {
		// The GraphQL app answers an unknown branch itself, with 404 and a
		// list of strings (opsmill/infrahub backend/infrahub/graphql/app.py:
		// JSONResponse({"errors": [exc.message]}, status_code=404)).
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": []string{branchNotFound(branch)}})
		return
	}
	var req gqlRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, "the body is not a GraphQL JSON request")
		return
	}
	status, answer := s.execute(branch, req, acct)
	writeJSON(w, status, answer)
}

// seedEntry is one node of the seed file.
type seedEntry struct {
	Kind   string         `yaml:"kind"`
	ID     string         `yaml:"id"`
	Branch string         `yaml:"branch"`
	Data   map[string]any `yaml:"data"`
	// Content, for a CoreArtifact, is stored in the object store; the
	// artifact's storage_id and checksum are set from it.
	Content *string `yaml:"content"`
}

// LoadSeed loads seed data: a YAML list of {kind, id?, branch?, data,
// content?}. data maps attribute names to values (plain, or {value: v}) and
// relationship names to a peer id, {id: ...}, {hfid: [...]} or a list of
// those. Entries are created in order through the same validation as
// mutations, so a peer must come before the node that refers to it.
func (s *Server) LoadSeed(seed []byte) error {
	var entries []seedEntry
	if err := yaml.Unmarshal(seed, &entries); err != nil {
		return fmt.Errorf("infrahubtest seed: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range entries {
		branch := e.Branch
		if branch == "" {
			branch = s.opts.DefaultBranch
		}
		b := s.branches[branch]
		k := s.reg.kinds[e.Kind]
		if b == nil || k == nil {
			return fmt.Errorf("infrahubtest seed entry %d: unknown kind %q or branch %q", i, e.Kind, branch)
		}
		data := map[string]any{}
		if e.ID != "" {
			data["id"] = e.ID
		}
		for name, v := range e.Data {
			data[name] = seedValue(k, name, v)
		}
		if e.Content != nil {
			sid := newID()
			s.storage[sid] = []byte(*e.Content)
			sum := md5.Sum([]byte(*e.Content)) //nolint:gosec // Infrahub's checksum format
			data["storage_id"] = map[string]any{"value": sid}
			data["checksum"] = map[string]any{"value": hex.EncodeToString(sum[:])}
		}
		ec := &execContext{s: s, branch: branch}
		if _, err := ec.write(b, e.Kind, nil, data, false); err != nil {
			return fmt.Errorf("infrahubtest seed entry %d (%s): %w", i, e.Kind, err)
		}
	}
	return nil
}

// seedValue turns a seed value into mutation input form.
func seedValue(k *kindSchema, name string, v any) any {
	if k.attrs[name] != nil {
		if m, ok := v.(map[string]any); ok {
			if _, has := m["value"]; has {
				return m
			}
		}
		return map[string]any{"value": v}
	}
	ref := func(x any) any {
		if s, ok := x.(string); ok {
			return map[string]any{"id": s}
		}
		return x
	}
	if list, ok := v.([]any); ok {
		out := make([]any, len(list))
		for i, x := range list {
			out[i] = ref(x)
		}
		return out
	}
	return ref(v)
}

// Create adds a node directly (no HTTP, no webhook), for test setup; data
// is in the seed format. It returns the node id.
func (s *Server) Create(branch, kind string, data map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if branch == "" {
		branch = s.opts.DefaultBranch
	}
	b := s.branches[branch]
	k := s.reg.kinds[kind]
	if b == nil || k == nil {
		return "", fmt.Errorf("infrahubtest: unknown kind %q or branch %q", kind, branch)
	}
	in := map[string]any{}
	for name, v := range data {
		in[name] = seedValue(k, name, v)
	}
	ec := &execContext{s: s, branch: branch}
	n, err := ec.write(b, kind, nil, in, false)
	if err != nil {
		return "", err
	}
	return n.id, nil
}
