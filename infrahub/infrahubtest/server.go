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
	"strconv"
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
	// AccessTokenTTL is the lifetime of login access tokens (default 1h);
	// refresh tokens live 24 times longer.
	AccessTokenTTL time.Duration
	// DefaultBranch is the default branch's name (default "main").
	DefaultBranch string
	// Webhooks receive signed events after each mutation, like Infrahub's
	// webhooks.
	Webhooks []Webhook
	// Clock replaces time.Now (token expiry, webhook timestamps).
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

type token struct {
	expires time.Time
	refresh bool
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
	queues      []*deliveryQueue // one per Options.Webhooks entry
	eventLog    []pendingEvent   // every event, for the InfrahubEvent query
	tokens      map[string]token
	faults      []*fault
	requests    map[string]int
	webhookWG   sync.WaitGroup
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
		client:   &http.Client{Timeout: 10 * time.Second},
		branches: map[string]*branchState{}, storage: map[string][]byte{},
		tokens: map[string]token{}, requests: map[string]int{},
	}
	for range opts.Webhooks {
		s.queues = append(s.queues, &deliveryQueue{})
	}
	main := &branchState{nodes: map[string]*node{}, changed: map[string]bool{}, unique: map[string]string{}, info: infrahub.Branch{
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

// NewTestServer starts a fake on 127.0.0.1 for the test and closes it (and
// waits for webhook deliveries) when the test ends. Point a client at
// ts.URL with DefaultAPIToken, or DefaultUsername/DefaultPassword.
func NewTestServer(t testing.TB, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		s.Wait()
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
	s.Wait()
	if err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Wait blocks until every webhook delivery started so far has finished.
func (s *Server) Wait() { s.webhookWG.Wait() }

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
	if !s.authorized(r) {
		writeErrors(w, http.StatusUnauthorized, "Authentication is required to perform this operation")
		return
	}
	switch p := r.URL.Path; {
	case p == "/graphql" || strings.HasPrefix(p, "/graphql/"):
		s.serveGraphQL(w, r, strings.TrimPrefix(strings.TrimPrefix(p, "/graphql"), "/"))
	case p == "/api/schema" && r.Method == http.MethodGet:
		if !s.branchExists(r.URL.Query().Get("branch")) {
			writeErrors(w, http.StatusNotFound, "Branch: "+r.URL.Query().Get("branch")+" not found.")
			return
		}
		writeJSON(w, http.StatusOK, s.reg.schemaResponse())
	case p == "/schema.graphql" && r.Method == http.MethodGet:
		if !s.branchExists(r.URL.Query().Get("branch")) {
			writeErrors(w, http.StatusNotFound, "Branch: "+r.URL.Query().Get("branch")+" not found.")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, s.sdl)
	case strings.HasPrefix(p, "/api/storage/object/") && r.Method == http.MethodGet:
		s.mu.Lock()
		content, ok := s.storage[strings.TrimPrefix(p, "/api/storage/object/")]
		s.mu.Unlock()
		if !ok {
			writeErrors(w, http.StatusNotFound, "Unable to find the object in the storage")
			return
		}
		_, _ = w.Write(content)
	case strings.HasPrefix(p, "/api/artifact/generate/") && r.Method == http.MethodPost:
		s.generateArtifacts(w, r, strings.TrimPrefix(p, "/api/artifact/generate/"))
	case strings.HasPrefix(p, "/api/artifact/") && r.Method == http.MethodGet:
		s.artifactContent(w, r, strings.TrimPrefix(p, "/api/artifact/"))
	default:
		writeErrors(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) branchExists(name string) bool {
	if name == "" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.branches[name] != nil
}

// writeErrors answers Infrahub's error shape.
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

func (s *Server) issue(refresh bool) string {
	ttl := s.opts.AccessTokenTTL
	if refresh {
		ttl *= 24
	}
	t := randomToken()
	s.tokens[t] = token{expires: s.opts.Clock().Add(ttl), refresh: refresh}
	return t
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&in); err != nil {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid login body")
		return
	}
	if in.Username != s.opts.Username || in.Password != s.opts.Password {
		writeErrors(w, http.StatusUnauthorized, "Incorrect username or password")
		return
	}
	s.mu.Lock()
	access, refresh := s.issue(false), s.issue(true)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"access_token": access, "refresh_token": refresh})
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	t, ok := s.tokens[bearer]
	valid := ok && t.refresh && s.opts.Clock().Before(t.expires)
	var access string
	if valid {
		access = s.issue(false)
	}
	s.mu.Unlock()
	if !valid {
		writeErrors(w, http.StatusUnauthorized, "Expired Signature")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"access_token": access})
}

func (s *Server) authorized(r *http.Request) bool {
	if k := r.Header.Get("X-INFRAHUB-KEY"); k != "" {
		return k == s.opts.APIToken
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[bearer]
	return ok && !t.refresh && s.opts.Clock().Before(t.expires)
}

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request, branch string) {
	if r.Method != http.MethodPost {
		writeErrors(w, http.StatusMethodNotAllowed, "GraphQL requests are POSTed")
		return
	}
	if branch == "" {
		branch = s.opts.DefaultBranch
	}
	if !s.branchExists(branch) {
		writeErrors(w, http.StatusNotFound, "Branch: "+branch+" not found.")
		return
	}
	var req gqlRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&req); err != nil {
		writeErrors(w, http.StatusBadRequest, "the body is not a GraphQL JSON request")
		return
	}
	writeJSON(w, http.StatusOK, s.execute(branch, req))
}

func (s *Server) artifactContent(w http.ResponseWriter, r *http.Request, id string) {
	branch := r.URL.Query().Get("branch")
	if branch == "" {
		branch = s.opts.DefaultBranch
	}
	s.mu.Lock()
	b := s.branches[branch]
	var content []byte
	found := false
	if b != nil {
		if n := b.nodes[id]; n != nil && n.kind == "CoreArtifact" {
			sid, _ := n.attrs["storage_id"].(string)
			content, found = s.storage[sid]
		}
	}
	s.mu.Unlock()
	if !found {
		writeErrors(w, http.StatusNotFound, "Unable to find the artifact "+id)
		return
	}
	_, _ = w.Write(content)
}

// generateArtifacts re-renders the artifacts of a definition: the fake
// cannot run transformations, so each artifact's content is stored again
// under a new storage id and an infrahub.artifact.updated event is sent.
func (s *Server) generateArtifacts(w http.ResponseWriter, r *http.Request, defID string) {
	var in struct {
		Nodes []string `json:"nodes"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		writeErrors(w, http.StatusUnprocessableEntity, "invalid body")
		return
	}
	branch := r.URL.Query().Get("branch")
	if branch == "" {
		branch = s.opts.DefaultBranch
	}
	s.mu.Lock()
	b := s.branches[branch]
	if b == nil || b.nodes[defID] == nil || b.nodes[defID].kind != "CoreArtifactDefinition" {
		s.mu.Unlock()
		writeErrors(w, http.StatusNotFound, "Unable to find the artifact definition "+defID)
		return
	}
	def := b.nodes[defID]
	var events []pendingEvent
	for _, n := range s.nodesOf(b, "CoreArtifact") {
		target := firstOf(n.rels["object"])
		if firstOf(n.rels["definition"]) != defID || len(in.Nodes) > 0 && !slices.Contains(in.Nodes, target) {
			continue
		}
		oldSID, _ := n.attrs["storage_id"].(string)
		oldSum, _ := n.attrs["checksum"].(string)
		content := s.storage[oldSID]
		sid := newID()
		s.storage[sid] = content
		sum := md5.Sum(content) //nolint:gosec // Infrahub's checksum format
		updated := n.clone()
		updated.attrs["storage_id"], updated.attrs["checksum"], updated.attrs["status"] = sid, hex.EncodeToString(sum[:]), "Ready"
		s.put(b, updated)
		targetKind := ""
		if t := b.nodes[target]; t != nil {
			targetKind = t.kind
		}
		br := branch
		events = append(events, pendingEvent{typ: infrahub.EventArtifactUpdated, branch: &br, data: map[string]any{
			"node_id": n.id, "artifact_definition_id": defID, "artifact_definition_name": def.attrs["name"],
			"target_id": target, "target_kind": targetKind, "checksum": updated.attrs["checksum"], "checksum_previous": oldSum,
			"storage_id": sid, "storage_id_previous": oldSID,
		}})
	}
	s.enqueue(events)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// deliveryQueue sends one webhook's events in order, from one goroutine
// that runs while the queue is not empty.
type deliveryQueue struct {
	mu      sync.Mutex
	pending []pendingEvent
	running bool
}

// enqueue queues events for the matching webhooks. The caller holds s.mu,
// so events are queued in commit order; delivery happens outside the lock.
// Wait waits for the queues to drain.
func (s *Server) enqueue(events []pendingEvent) {
	for i := range events {
		events[i].id, events[i].at = newID(), s.opts.Clock()
	}
	s.eventLog = append(s.eventLog, events...)
	for i, wh := range s.opts.Webhooks {
		q := s.queues[i]
		q.mu.Lock()
		for _, ev := range events {
			if (len(wh.Events) == 0 || slices.Contains(wh.Events, ev.typ)) && (wh.Branch == "" || ev.branch != nil && *ev.branch == wh.Branch) {
				q.pending = append(q.pending, ev)
			}
		}
		start := len(q.pending) > 0 && !q.running
		q.running = q.running || start
		q.mu.Unlock()
		if start {
			s.webhookWG.Add(1)
			go s.drainQueue(wh, q)
		}
	}
}

func (s *Server) drainQueue(wh Webhook, q *deliveryQueue) {
	defer s.webhookWG.Done()
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		ev := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		if err := s.deliver(context.Background(), wh, ev); err != nil {
			s.log.Warn("infrahubtest: webhook delivery failed", "url", wh.URL, "event", ev.typ, "err", err)
		}
	}
}

// wireEvent is the 1.2+ envelope, fields in Infrahub's order.
type wireEvent struct {
	Data      any     `json:"data"`
	ID        string  `json:"id"`
	Branch    *string `json:"branch"`
	AccountID string  `json:"account_id"`
	OccuredAt string  `json:"occured_at"`
	Event     string  `json:"event"`
}

// SendEvent delivers one event to a webhook now, signed exactly like
// Infrahub: the body on the wire is compact JSON with raw UTF-8, the
// signature covers the same JSON with non-ASCII escaped as \uXXXX.
func (s *Server) SendEvent(ctx context.Context, wh Webhook, eventType, branch string, data map[string]any) error {
	var b *string
	if branch != "" {
		b = &branch
	}
	return s.deliver(ctx, wh, pendingEvent{id: newID(), at: s.opts.Clock(), typ: eventType, branch: b, data: data})
}

func (s *Server) deliver(ctx context.Context, wh Webhook, ev pendingEvent) error {
	body, err := encodeCompact(wireEvent{Data: ev.data, ID: ev.id, Branch: ev.branch, AccountID: s.accountID(),
		OccuredAt: ev.at.UTC().Format("2006-01-02 15:04:05.000000-07:00"), Event: ev.typ})
	if err != nil {
		return err
	}
	msgID := "msg_" + strings.ReplaceAll(newID(), "-", "")
	ts := s.opts.Clock().Unix()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(infrahub.HeaderWebhookID, msgID)
	req.Header.Set(infrahub.HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(infrahub.HeaderWebhookSignature, infrahub.Sign(wh.SharedKey, msgID, ts, infrahub.EscapeNonASCII(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	return nil
}

// accountID is the fake's single account.
func (s *Server) accountID() string { return "18000000-0000-0000-0000-00000000ad01" }

// encodeCompact is json.Marshal without Go's HTML escaping (Python's
// json.dumps does not escape <, > and &).
func encodeCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
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
		if _, err := ec.write(b, e.Kind, nil, data); err != nil {
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
	n, err := ec.write(b, kind, nil, in)
	if err != nil {
		return "", err
	}
	return n.id, nil
}
