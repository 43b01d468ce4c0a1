package infrahub_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

type tag struct {
	ID           string                `json:"id"`
	HFID         []string              `json:"hfid"`
	DisplayLabel string                `json:"display_label"`
	Name         infrahub.Attr[string] `json:"name"`
	Description  infrahub.Attr[string] `json:"description"`
}

type device struct {
	ID         string                `json:"id"`
	Name       infrahub.Attr[string] `json:"name"`
	Status     infrahub.Attr[string] `json:"status"`
	Position   infrahub.Attr[int64]  `json:"position"`
	Platform   infrahub.Rel          `json:"platform"`
	Interfaces infrahub.RelMany      `json:"interfaces"`
	Tags       infrahub.RelMany      `json:"tags"`
}

var fastRetry = &retry.Policy{Retries: 3, Backoff: retry.Exponential(time.Millisecond, 2, 2*time.Second)}

func newFake(t *testing.T, opts infrahubtest.Options) (*infrahubtest.Server, *infrahub.Client, string) {
	t.Helper()
	s, ts := infrahubtest.NewTestServer(t, opts)
	c, err := infrahub.New(infrahub.Config{Address: ts.URL, APIToken: infrahubtest.DefaultAPIToken, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, ts.URL
}

func TestClientCRUD(t *testing.T) {
	ctx := t.Context()
	_, c, _ := newFake(t, infrahubtest.Options{})
	ref, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("blue"), "description": infrahub.Value("Blue <&> tag")}, infrahub.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref.ID == "" || ref.DisplayLabel != "blue" || !slices.Equal(ref.HFID, []string{"blue"}) {
		t.Fatalf("create answered %+v", ref)
	}
	got, err := infrahub.Get[tag](ctx, c, "BuiltinTag", ref.ID, "")
	if err != nil || got.Name.Value != "blue" || got.Description.Value != "Blue <&> tag" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := c.Update(ctx, "BuiltinTag", ref.ID, infrahub.Data{"description": infrahub.Value(nil)}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err = infrahub.GetByHFID[tag](ctx, c, "BuiltinTag", []string{"blue"}, "")
	if err != nil || !got.Description.Null || got.ID != ref.ID {
		t.Fatalf("after update: %+v %v", got, err)
	}
	var byVar struct {
		BuiltinTag struct {
			Count int `json:"count"`
		} `json:"BuiltinTag"`
	}
	if err := c.Query(ctx, "", `query ($n: String) { BuiltinTag(name__value: $n) { count } }`, map[string]any{"n": "blue"}, &byVar); err != nil || byVar.BuiltinTag.Count != 1 {
		t.Fatalf("query with variables: %+v %v", byVar, err)
	}
	if err := c.Delete(ctx, "BuiltinTag", ref.ID, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = infrahub.Get[tag](ctx, c, "BuiltinTag", ref.ID, "")
	var nf *infrahub.NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, infrahub.ErrNotFound) || nf.ID != ref.ID {
		t.Fatalf("get deleted: %v", err)
	}
	if err := c.Delete(ctx, "BuiltinTag", ref.ID, infrahub.WriteOptions{}); !errors.Is(err, infrahub.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestClientUpsertAndRelationships(t *testing.T) {
	ctx := t.Context()
	_, c, _ := newFake(t, infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
	first, err := c.Upsert(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("core"), "description": infrahub.Value("v1")}, infrahub.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Upsert(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("core"), "description": infrahub.Value("v2")}, infrahub.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Count(ctx, "BuiltinTag", infrahub.ListOptions{Filters: infrahub.Filters{"name__value": "core"}})
	if err != nil || n != 1 || first.ID != second.ID {
		t.Fatalf("upsert twice: count %d (%v), ids %s %s", n, err, first.ID, second.ID)
	}

	dev, err := infrahub.GetByHFID[device](ctx, c, "DcimDevice", []string{"atl1-edge1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if dev.Platform.Node == nil || dev.Platform.Node.DisplayLabel != "eos" || len(dev.Interfaces) != 1 || len(dev.Tags) != 1 {
		t.Fatalf("device: %+v", dev)
	}
	if err := c.AddRelationship(ctx, dev.ID, "tags", []string{first.ID}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	withTag, err := infrahub.List[device](ctx, c, "DcimDevice", infrahub.ListOptions{Filters: infrahub.Filters{"tags__name__value": "core"}})
	if err != nil || len(withTag) != 1 || withTag[0].ID != dev.ID || len(withTag[0].Tags) != 2 {
		t.Fatalf("relationship filter after add: %+v %v", withTag, err)
	}
	if err := c.RemoveRelationship(ctx, dev.ID, "tags", []string{first.ID}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	n, err = c.Count(ctx, "DcimDevice", infrahub.ListOptions{Filters: infrahub.Filters{"tags__ids": []string{first.ID}}})
	if err != nil || n != 0 {
		t.Fatalf("after remove: %d %v", n, err)
	}
	// A relationship peer given by hfid; the reverse side follows.
	if _, err := c.Create(ctx, "InterfacePhysical", infrahub.Data{"name": infrahub.Value("Ethernet2"), "device": infrahub.PeerHFID("atl1-edge1")}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dev, err = infrahub.Get[device](ctx, c, "DcimDevice", dev.ID, "")
	if err != nil || len(dev.Interfaces) != 2 {
		t.Fatalf("interfaces after create: %+v %v", dev.Interfaces, err)
	}
}

func TestClientErrors(t *testing.T) {
	ctx := t.Context()
	_, c, url := newFake(t, infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
	var gqlErr *infrahub.GraphQLError

	_, err := infrahub.List[tag](ctx, c, "BuiltinTag", infrahub.ListOptions{Filters: infrahub.Filters{"nmae__value": "x"}})
	if !errors.As(err, &gqlErr) || !strings.Contains(err.Error(), "nmae__value") || len(gqlErr.Errors[0].Locations) == 0 {
		t.Errorf("misspelt filter: %v", err)
	}
	type misspelt struct {
		Nmae infrahub.Attr[string] `json:"nmae"`
	}
	if _, err := infrahub.List[misspelt](ctx, c, "BuiltinTag", infrahub.ListOptions{}); !errors.As(err, &gqlErr) {
		t.Errorf("misspelt field: %v", err)
	}
	_, err = c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("edge")}, infrahub.WriteOptions{})
	if !errors.As(err, &gqlErr) || !strings.Contains(err.Error(), "uniqueness") || gqlErr.Errors[0].Path[0] != "BuiltinTagCreate" {
		t.Errorf("duplicate: %v", err)
	}
	_, err = c.Create(ctx, "DcimDevice", infrahub.Data{"name": infrahub.Value("x"), "status": infrahub.Value("active")}, infrahub.WriteOptions{})
	if !errors.As(err, &gqlErr) || !strings.Contains(err.Error(), "location is mandatory") {
		t.Errorf("missing mandatory relationship: %v", err)
	}
	if n, _ := c.Count(ctx, "DcimDevice", infrahub.ListOptions{}); n != 2 {
		t.Errorf("a rejected create wrote something: %d devices", n)
	}
	if _, err := c.Update(ctx, "BuiltinTag", "no-such-id", infrahub.Data{}, infrahub.WriteOptions{}); !errors.Is(err, infrahub.ErrNotFound) {
		t.Errorf("update unknown id: %v", err)
	}
	_, err = infrahub.List[tag](ctx, c, "BuiltinTag", infrahub.ListOptions{Branch: "nope"})
	// Infrahub answers 404 {"errors": ["Branch: nope not found."]} on
	// /graphql/nope and 400 with its REST envelope on REST endpoints; both
	// are the typed not-found error.
	var apiErr *infrahub.APIError
	var nf *infrahub.NotFoundError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !errors.Is(err, infrahub.ErrBranchNotFound) ||
		!errors.As(err, &nf) || nf.Kind != infrahub.KindBranch || nf.ID != "nope" || !strings.Contains(err.Error(), `branch "nope" not found`) {
		t.Errorf("unknown branch: %v", err)
	}
	if _, err := c.Schema(ctx, "nope"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest ||
		!errors.Is(err, infrahub.ErrBranchNotFound) || !errors.Is(err, infrahub.ErrNotFound) {
		t.Errorf("unknown branch, REST: %v", err)
	}
	if _, err := c.ArtifactContent(ctx, "x", "nope"); !errors.Is(err, infrahub.ErrBranchNotFound) {
		t.Errorf("unknown branch, artifact content: %v", err)
	}
	bad := []struct {
		name string
		err  error
	}{
		{"bad kind", func() error { _, err := infrahub.List[tag](ctx, c, "builtin tag", infrahub.ListOptions{}); return err }()},
		{"bad filter name", func() error {
			_, err := infrahub.List[tag](ctx, c, "BuiltinTag", infrahub.ListOptions{Filters: infrahub.Filters{"name value": 1}})
			return err
		}()},
		{"bad data key", func() error {
			_, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"na-me": infrahub.Value("x")}, infrahub.WriteOptions{})
			return err
		}()},
	}
	for _, tc := range bad {
		if tc.err == nil || errors.As(tc.err, &gqlErr) || errors.As(tc.err, &apiErr) {
			t.Errorf("%s: want a local input error, got %v", tc.name, tc.err)
		}
	}
	badAuth, _ := infrahub.New(infrahub.Config{Address: url, APIToken: "wrong"})
	if _, err := badAuth.Branches(ctx); !errors.Is(err, infrahub.ErrUnauthorized) {
		t.Errorf("wrong token: %v", err)
	}
}

func TestClientPagination(t *testing.T) {
	ctx := t.Context()
	s, c, _ := newFake(t, infrahubtest.Options{})
	const total = 10_000
	for i := range total {
		if _, err := s.Create("", "BuiltinTag", map[string]any{"name": fmt.Sprintf("tag-%05d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, parallel := range []int{1, 4} {
		tags, err := infrahub.List[tag](ctx, c, "BuiltinTag", infrahub.ListOptions{PageSize: 50, Parallel: parallel})
		if err != nil {
			t.Fatal(err)
		}
		if len(tags) != total {
			t.Fatalf("parallel %d: got %d tags", parallel, len(tags))
		}
		for i, tg := range tags {
			if want := fmt.Sprintf("tag-%05d", i); tg.Name.Value != want {
				t.Fatalf("parallel %d: tag %d is %q, want %q (order lost)", parallel, i, tg.Name.Value, want)
			}
		}
	}
	if got := s.Requests("/graphql"); got != 2*total/50 {
		t.Errorf("%d page requests, want %d", got, 2*total/50)
	}
	window, err := infrahub.List[tag](ctx, c, "BuiltinTag", infrahub.ListOptions{Offset: 120, Limit: 75, PageSize: 50, Parallel: 2})
	if err != nil || len(window) != 75 || window[0].Name.Value != "tag-00120" || window[74].Name.Value != "tag-00194" {
		t.Fatalf("offset/limit window: %d nodes, %v", len(window), err)
	}
	sel, _ := infrahub.SelectionFromPaths("id", "name.value")
	maps, err := infrahub.List[map[string]any](ctx, c, "BuiltinTag", infrahub.ListOptions{Selection: sel, Filters: infrahub.Filters{"name__values": []string{"tag-00001", "tag-00002"}}})
	if err != nil || len(maps) != 2 {
		t.Fatalf("field-list selection: %v %v", maps, err)
	}
}

func BenchmarkList10000Nodes(b *testing.B) {
	s, err := infrahubtest.New(infrahubtest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		if _, err := s.Create("", "BuiltinTag", map[string]any{"name": fmt.Sprintf("tag-%05d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	c, err := infrahub.New(infrahub.Config{Address: ts.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		b.Fatal(err)
	}
	listed := 0
	cpu0, cpuOK := processCPUTime()
	for b.Loop() {
		tags, err := infrahub.List[tag](context.Background(), c, "BuiltinTag", infrahub.ListOptions{PageSize: 50, Parallel: 4})
		if err != nil {
			b.Fatal(err)
		}
		listed += len(tags)
	}
	if cpu1, _ := processCPUTime(); cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	if listed != 10_000*b.N {
		b.Fatalf("listed %d nodes, want %d", listed, 10_000*b.N)
	}
}

func TestClientBranches(t *testing.T) {
	ctx := t.Context()
	_, c, _ := newFake(t, infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
	br, err := c.CreateBranch(ctx, infrahub.BranchInput{Name: "change-1", Description: "rename"})
	if err != nil || br.Name != "change-1" || br.Status != "OPEN" || br.IsDefault {
		t.Fatalf("create branch: %+v %v", br, err)
	}
	if _, err := c.CreateBranch(ctx, infrahub.BranchInput{Name: "change-1"}); err == nil {
		t.Error("duplicate branch accepted")
	}
	all, err := c.Branches(ctx)
	if err != nil || len(all) != 2 || !all[0].IsDefault {
		t.Fatalf("branches: %+v %v", all, err)
	}
	on := infrahub.WriteOptions{Branch: "change-1"}
	if _, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("branch-only")}, on); err != nil {
		t.Fatal(err)
	}
	count := func(branch string) int {
		n, err := c.Count(ctx, "BuiltinTag", infrahub.ListOptions{Branch: branch, Filters: infrahub.Filters{"name__value": "branch-only"}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count("change-1") != 1 || count("") != 0 {
		t.Fatal("branch write leaked to main or was lost")
	}
	// main moves on; rebase brings it into the branch, keeping the branch's change.
	if _, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("main-later")}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.RebaseBranch(ctx, "change-1"); err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Count(ctx, "BuiltinTag", infrahub.ListOptions{Branch: "change-1", Filters: infrahub.Filters{"name__values": []string{"main-later", "branch-only"}}}); n != 2 {
		t.Fatalf("after rebase the branch has %d of 2 tags", n)
	}
	if err := c.MergeBranch(ctx, "change-1"); err != nil {
		t.Fatal(err)
	}
	if count("") != 1 {
		t.Fatal("merge did not bring the change to main")
	}
	if err := c.DeleteBranch(ctx, "change-1"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteBranch(ctx, "change-1"); !errors.Is(err, infrahub.ErrNotFound) {
		t.Fatalf("delete unknown branch: %v", err)
	}
	if _, err := c.Schema(ctx, "change-1"); !errors.Is(err, infrahub.ErrNotFound) {
		t.Fatalf("schema of deleted branch: %v", err)
	}
}

func TestClientArtifactsAndSchema(t *testing.T) {
	ctx := t.Context()
	_, c, _ := newFake(t, infrahubtest.Options{Seed: infrahubtest.DemoSeed()})
	dev, err := infrahub.GetByHFID[device](ctx, c, "DcimDevice", []string{"atl1-edge2"}, "")
	if err != nil {
		t.Fatal(err)
	}
	arts, err := c.Artifacts(ctx, infrahub.ArtifactFilter{DefinitionName: "startup-config", TargetID: dev.ID})
	if err != nil || len(arts) != 1 {
		t.Fatalf("artifacts: %+v %v", arts, err)
	}
	a := arts[0]
	if a.Object.Node == nil || a.Object.Node.ID != dev.ID || a.ContentType.Value != "text/plain" {
		t.Fatalf("artifact: %+v", a)
	}
	byID, err := c.ArtifactContent(ctx, a.ID, "")
	if err != nil || !strings.HasPrefix(string(byID), "hostname atl1-edge2\n") {
		t.Fatalf("artifact content: %q %v", byID, err)
	}
	byStorage, err := c.StorageObject(ctx, a.StorageID.Value)
	if err != nil || string(byStorage) != string(byID) {
		t.Fatalf("storage object: %q %v", byStorage, err)
	}
	if _, err := c.StorageObject(ctx, "missing"); !errors.Is(err, infrahub.ErrNotFound) || errors.Is(err, infrahub.ErrBranchNotFound) {
		t.Fatalf("missing object: %v", err)
	}
	if _, err := c.ArtifactContent(ctx, "missing", ""); !errors.Is(err, infrahub.ErrNotFound) {
		t.Fatalf("missing artifact: %v", err)
	}

	schema, err := c.Schema(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, n := range schema.Nodes {
		if n.Kind == "DcimDevice" && slices.Contains(n.InheritFrom, "DcimGenericDevice") {
			found = true
		}
	}
	if !found || len(schema.Generics) == 0 {
		t.Fatalf("schema has no DcimDevice node: %d nodes", len(schema.Nodes))
	}
	sdl, err := c.GraphQLSchema(ctx, "")
	if err != nil || !strings.Contains(sdl, "DcimDeviceCreate(data: DcimDeviceCreateInput!)") {
		t.Fatalf("graphql schema: %v", err)
	}
}

func TestClientTokenExpiryRelogin(t *testing.T) {
	ctx := t.Context()
	s, ts := infrahubtest.NewTestServer(t, infrahubtest.Options{})
	c, err := infrahub.New(infrahub.Config{Address: ts.URL, Username: infrahubtest.DefaultUsername, Password: infrahubtest.DefaultPassword})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name           string
		expire         func()
		logins, renews int
	}{
		{"first call logs in", func() {}, 1, 0},
		{"expired access token is refreshed", func() { s.ExpireAccessTokens(false) }, 1, 1},
		{"expired session logs in again", func() { s.ExpireAccessTokens(true) }, 2, 2},
	}
	for _, st := range steps {
		st.expire()
		if _, err := c.Branches(ctx); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if l, r := s.Requests("/api/auth/login"), s.Requests("/api/auth/refresh"); l != st.logins || r != st.renews {
			t.Fatalf("%s: %d logins, %d refreshes; want %d, %d", st.name, l, r, st.logins, st.renews)
		}
	}
	// A mutation refused with 401 is sent again after re-login: the server
	// did not run it.
	s.ExpireAccessTokens(true)
	if _, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("after-relogin")}, infrahub.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	wrong, _ := infrahub.New(infrahub.Config{Address: ts.URL, Username: "admin", Password: "nope"})
	if _, err := wrong.Branches(ctx); !errors.Is(err, infrahub.ErrUnauthorized) || strings.Contains(err.Error(), "nope") {
		t.Fatalf("bad password: %v", err)
	}
}

func TestClientRetries(t *testing.T) {
	ctx := t.Context()
	s, c, _ := newFake(t, infrahubtest.Options{})
	tests := []struct {
		name     string
		fault    infrahubtest.Fault
		mutation bool
		requests int
		wantErr  int
	}{
		{"429 with Retry-After", infrahubtest.Fault{Status: 429, RetryAfter: "1", Times: 1}, false, 2, 0},
		{"503 then success", infrahubtest.Fault{Status: 503, Times: 2}, false, 3, 0},
		{"503 beyond attempts", infrahubtest.Fault{Status: 503, Times: 4}, false, 4, 503},
		{"mutation not retried on 503", infrahubtest.Fault{Status: 503, Times: 1}, true, 1, 503},
		{"mutation not retried on 429", infrahubtest.Fault{Status: 429, RetryAfter: "1", Times: 1}, true, 1, 429},
		{"Retry-After beyond the maximum", infrahubtest.Fault{Status: 429, RetryAfter: "3600", Times: 1}, false, 1, 429},
	}
	for i, tc := range tests {
		before := s.Requests("/graphql")
		s.InjectFault("/graphql", tc.fault)
		var err error
		start := time.Now()
		if tc.mutation {
			_, err = c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value(fmt.Sprint("retry-", i))}, infrahub.WriteOptions{})
		} else {
			_, err = c.Count(ctx, "BuiltinTag", infrahub.ListOptions{})
		}
		elapsed := time.Since(start)
		var apiErr *infrahub.APIError
		switch {
		case tc.wantErr == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantErr != 0 && (!errors.As(err, &apiErr) || apiErr.StatusCode != tc.wantErr):
			t.Errorf("%s: err = %v, want HTTP %d", tc.name, err, tc.wantErr)
		}
		if got := s.Requests("/graphql") - before; got != tc.requests {
			t.Errorf("%s: %d requests, want %d", tc.name, got, tc.requests)
		}
		if tc.fault.RetryAfter == "1" && !tc.mutation && elapsed < time.Second {
			t.Errorf("%s: retried after %s, before Retry-After", tc.name, elapsed)
		}
		// Drain faults a case left unused.
		for s.Requests("/graphql")-before < tc.fault.Times {
			_, _ = c.Count(ctx, "BuiltinTag", infrahub.ListOptions{})
		}
	}
	if n, _ := c.Count(ctx, "BuiltinTag", infrahub.ListOptions{}); n != 0 {
		t.Errorf("failed mutations wrote %d tags", n)
	}
}

func TestClientConnectionErrors(t *testing.T) {
	// A port nothing listens on: dial errors are retried (nothing reached
	// a server), then reported.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := infrahub.New(infrahub.Config{Address: "http://" + addr, APIToken: "t", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Branches(t.Context()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("closed port: %v", err)
	}
	// Cancelling the context stops the retry loop.
	var mu sync.Mutex
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	slow, _ := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: "t"})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if _, err := slow.Branches(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled during backoff: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 1 {
		t.Fatalf("%d requests, want 1", hits)
	}
}

func TestConfigValidationAndMasking(t *testing.T) {
	bad := []infrahub.Config{
		{},
		{Address: "infrahub:8000", APIToken: "t"},
		{Address: "http://infrahub:8000"},
		{Address: "http://infrahub:8000", Username: "u"},
		{Address: "http://infrahub:8000", APIToken: "t", CAFile: "/nonexistent/ca.pem"},
		{Address: "http://infrahub:8000", APIToken: "t", InsecureSkipVerify: true, HTTPClient: &http.Client{}},
	}
	for _, cfg := range bad {
		if _, err := infrahub.New(cfg); err == nil {
			t.Errorf("New(%v) accepted", cfg)
		}
	}
	cfg := infrahub.Config{Address: "http://x", APIToken: "s3cr3t-token", Username: "u", Password: "p4ss"}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg)} {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "p4ss") {
			t.Errorf("secret in %q", s)
		}
	}
}

// A failing page stops the parallel fetch, returns the error and leaves no
// goroutine behind.
func TestListParallelPageErrorNoLeak(t *testing.T) {
	fake, err := infrahubtest.New(infrahubtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if _, err := fake.Create("", "BuiltinTag", map[string]any{"name": fmt.Sprint("t", i)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 3 {
			http.Error(w, `{"errors":[{"message":"boom"}]}`, http.StatusBadRequest)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := infrahub.New(infrahub.Config{Address: srv.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	_, err = infrahub.List[tag](t.Context(), c, "BuiltinTag", infrahub.ListOptions{PageSize: 10, Parallel: 4})
	var apiErr *infrahub.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v", err)
	}
	mu.Lock()
	if calls >= 50 {
		t.Errorf("%d requests: the fetch went on after the failure", calls)
	}
	mu.Unlock()
	c.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after List, %d before", n, before)
	}
}

// flakyTransport fails the first calls with err, then passes requests on.
type flakyTransport struct {
	mu    sync.Mutex
	fails int
	err   error
	calls int
	next  http.RoundTripper
}

func (f *flakyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.fails
	f.mu.Unlock()
	if fail {
		return nil, f.err
	}
	return f.next.RoundTrip(r)
}

func TestRetryClassesOfConnectionErrors(t *testing.T) {
	_, ts := infrahubtest.NewTestServer(t, infrahubtest.Options{})
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	tests := []struct {
		name     string
		err      error
		mutation bool
		calls    int
		ok       bool
	}{
		{"query after a reset", reset, false, 2, true},
		{"mutation after a refused dial", dial, true, 2, true},
		{"mutation after a reset is not resent", reset, true, 1, false},
	}
	for i, tc := range tests {
		ft := &flakyTransport{fails: 1, err: tc.err, next: http.DefaultTransport}
		c, err := infrahub.New(infrahub.Config{Address: ts.URL, APIToken: infrahubtest.DefaultAPIToken, Retry: fastRetry, HTTPClient: &http.Client{Transport: ft}})
		if err != nil {
			t.Fatal(err)
		}
		if tc.mutation {
			_, err = c.Create(t.Context(), "BuiltinTag", infrahub.Data{"name": infrahub.Value(fmt.Sprint("conn-", i))}, infrahub.WriteOptions{})
		} else {
			_, err = c.Branches(t.Context())
		}
		if (err == nil) != tc.ok || ft.calls != tc.calls {
			t.Errorf("%s: err = %v after %d calls; want ok=%v after %d", tc.name, err, ft.calls, tc.ok, tc.calls)
		}
	}
}
