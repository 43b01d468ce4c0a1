package ui_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/ui"
)

const (
	adminKey    = "na_ui-admin-key-0123456789abcdef"
	operatorKey = "na_ui-operator-key-0123456789abcdef"
	viewerKey   = "na_ui-viewer-key-0123456789abcdef"
)

// vlanParams are the parameters of the test flow.
type vlanParams struct {
	Device string `json:"device"`
	VLAN   int    `json:"vlan"`
	Name   string `json:"name,omitempty"`
}

// env is an API server with the UI mounted, on a fresh SQLite store with a
// flow "vlan" and its deployment "vlan-prod".
type env struct {
	t   testing.TB
	st  store.Store
	api *api.Server
	ui  *ui.UI
	srv *httptest.Server
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	k, err := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "netauto.db"), store.Options{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st := openStore(t)
	ks, _, err := api.ParseKeys("root:admin:" + adminKey + ", ops:operator:" + operatorKey + ", ro:viewer:" + viewerKey)
	if err != nil {
		t.Fatal(err)
	}
	a, err := api.New(st, api.Options{Keys: ks})
	if err != nil {
		t.Fatal(err)
	}
	u, err := ui.Mount(a, st, ui.Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	if err := st.ApplyPool(ctx, store.Pool{Name: "default", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RegisterFlow(ctx, store.Flow{Name: "vlan", Version: "1", Parameters: flow.SchemaFor[vlanParams]()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan", Pool: "default", Parameters: json.RawMessage(`{"name":"prod"}`)}); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, api: a, ui: u, srv: srv}
}

// browser is a cookie-keeping client of the env's server.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Transport: e.srv.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// get fetches a page and returns its status and body, remembering the
// page's CSRF token.
func (b *browser) get(path string) (int, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.srv.URL + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, string(body)
}

// post submits a form (with the last page's CSRF token unless form sets
// _csrf) and returns the status, the redirect location and the body.
func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["_csrf"]; !ok {
		form.Set("_csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

// signin signs in with key and fails the test unless it worked.
func (b *browser) signin(key string) {
	b.e.t.Helper()
	b.get("/ui/signin")
	st, loc, body := b.post("/ui/signin", url.Values{"key": {key}})
	if st != http.StatusSeeOther || loc != "/ui/" {
		b.e.t.Fatalf("sign in: %d %s %s", st, loc, body)
	}
}

// createRun creates a run of vlan-prod in the store.
func (e *env) createRun(t testing.TB) store.FlowRun {
	t.Helper()
	run, _, err := e.st.CreateRun(context.Background(), store.RunSpec{Deployment: "vlan-prod", Parameters: json.RawMessage(`{"device":"sw1","vlan":10}`)})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// nextLink finds the runs page's next-page link.
var nextLink = regexp.MustCompile(`href="([^"]+)" id="next-page"`)

// htmlUnescape undoes the template's escaping of a link.
func htmlUnescape(s string) string { return html.UnescapeString(s) }
