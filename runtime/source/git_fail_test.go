package source_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestGitHostileSourcesRejected: bad refs, paths leaving the repository,
// bad schemes and credentials in URLs fail the run, naming the field,
// before anything is fetched.
func TestGitHostileSourcesRejected(t *testing.T) {
	r := newTestRepo(t)
	c := r.commit(flowVersion{Greeting: "hi"})
	h := newHarness(t, "")
	cases := []struct {
		name  string
		src   store.Source
		field string
	}{
		{"ref dotdot", store.Source{Repository: r.url(), Ref: "../../etc/passwd"}, "source.ref"},
		{"ref option", store.Source{Repository: r.url(), Ref: "--upload-pack=evil"}, "source.ref"},
		{"ref other namespace", store.Source{Repository: r.url(), Ref: "refs/remotes/x"}, "source.ref"},
		{"ref missing", store.Source{Repository: r.url(), Ref: "no-such-branch"}, "source.ref"},
		{"commit missing", store.Source{Repository: r.url(), Ref: strings.Repeat("ab", 20)}, "source.ref"},
		{"entrypoint escapes", store.Source{Repository: r.url(), Ref: c, Entrypoint: "../../../tmp"}, "source.entrypoint"},
		{"entrypoint absolute", store.Source{Repository: r.url(), Ref: c, Entrypoint: "/usr/lib/go"}, "source.entrypoint"},
		{"path escapes", store.Source{Repository: r.url(), Ref: c, Path: "a/../../.."}, "source.path"},
		{"entrypoint missing", store.Source{Repository: r.url(), Ref: c, Entrypoint: "cmd/nothing"}, "source.entrypoint"},
		{"scheme ftp", store.Source{Repository: "ftp://example.com/x.git", Ref: c}, "source.repository"},
		{"scheme git", store.Source{Repository: "git://example.com/x.git", Ref: c}, "source.repository"},
		{"scp-like", store.Source{Repository: "git@example.com:x.git", Ref: c}, "source.repository"},
		{"token in URL", store.Source{Repository: "https://user:s3cr3tTOKEN@example.com/x.git", Ref: c}, "source.repository"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dep := fmt.Sprintf("bad-%d", i)
			h.deploy(dep, tc.src, "")
			run := h.run(dep, `{"name":"x"}`)
			if run.State.Type != flow.TypeFailed || !strings.Contains(run.State.Message, tc.field) {
				t.Fatalf("state %s, want Failed naming %s", run.State, tc.field)
			}
			if strings.Contains(run.State.Message, "s3cr3tTOKEN") || strings.Contains(h.logs(run.ID), "s3cr3tTOKEN") {
				t.Errorf("secret in the message or logs: %s", run.State.Message)
			}
		})
	}

	// file:// is refused unless the configuration allows it.
	closed := &source.Cache{Dir: t.TempDir()}
	_, err := closed.Prepare(context.Background(), source.Request{Source: store.Source{Repository: r.url(), Ref: c}})
	var ie *store.InvalidError
	if !errors.As(err, &ie) || ie.Field != "source.repository" || !strings.Contains(ie.Reason, "not allowed") {
		t.Errorf("file:// without AllowFile: %v", err)
	}
}

// TestGitFailingBuildFailsRun: a commit that does not compile fails the
// run with the build log in its logs; the next commit builds.
func TestGitFailingBuildFailsRun(t *testing.T) {
	r := newTestRepo(t)
	bad := r.commit(flowVersion{Greeting: "hi", Broken: true})
	h := newHarness(t, "")
	h.deploy("greet", store.Source{Repository: r.url(), Ref: bad, Entrypoint: "cmd/flows"}, "")
	run := h.run("greet", `{"name":"x"}`)
	if run.State.Type != flow.TypeFailed || !strings.Contains(run.State.Message, "go build") {
		t.Fatalf("state %s, want Failed by the build", run.State)
	}
	logs := h.logs(run.ID)
	if !strings.Contains(logs, "build log:") || !strings.Contains(logs, "undefined: undefinedThing") {
		t.Errorf("build log not in the run's logs:\n%s", logs)
	}
	if len(h.next.binaries) != 0 {
		t.Errorf("a failed build was launched: %v", h.next.binaries)
	}
}

// TestGitParamsValidatedAgainstCommitSchema: each commit's schema
// decides; a bad run fails naming the field, and never launches.
func TestGitParamsValidatedAgainstCommitSchema(t *testing.T) {
	r := newTestRepo(t)
	c1 := r.commit(flowVersion{Greeting: "v1"})
	c2 := r.commit(flowVersion{Greeting: "v2", Extra: "Count int `json:\"count\"`"})
	h := newHarness(t, "")
	h.deploy("greet", store.Source{Repository: r.url(), Ref: c2, Entrypoint: "cmd/flows"}, "")
	run := h.run("greet", `{"name":"x"}`)
	if run.State.Type != flow.TypeFailed || !strings.Contains(run.State.Message, "parameters.count") {
		t.Fatalf("missing count at c2: %s", run.State)
	}
	run = h.run("greet", `{"name":"x","count":"three"}`)
	if run.State.Type != flow.TypeFailed || !strings.Contains(run.State.Message, "parameters.count") {
		t.Fatalf("count of the wrong type: %s", run.State)
	}
	if !strings.Contains(h.logs(run.ID), "parameters.count") {
		t.Errorf("validation error not in the run's logs")
	}
	if run := h.run("greet", `{"name":"x","count":3}`); run.State.Type != flow.TypeCompleted {
		t.Fatalf("valid run at c2: %s\n%s", run.State, h.logs(run.ID))
	}
	// c1 knows no count: the same parameters are refused there.
	h.deploy("greet", store.Source{Repository: r.url(), Ref: c1, Entrypoint: "cmd/flows"}, "")
	run = h.run("greet", `{"name":"x","count":3}`)
	if run.State.Type != flow.TypeFailed || !strings.Contains(run.State.Message, "count") {
		t.Fatalf("count at c1: %s", run.State)
	}
}

// protocolMain is a flow binary whose describe announces protocol 999.
const protocolMain = `package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "describe" {
		fmt.Println(` + "`" + `{"protocol":999,"library":"v9.0.0","flows":[{"name":"greet"}]}` + "`" + `)
		return
	}
	fmt.Println("executed anyway")
}
`

// TestGitProtocolMismatchRefused: a build whose describe reports another
// protocol is refused, with a message saying what to do.
func TestGitProtocolMismatchRefused(t *testing.T) {
	r := newTestRepo(t)
	c := r.commit(flowVersion{Raw: protocolMain})
	h := newHarness(t, "")
	h.deploy("greet", store.Source{Repository: r.url(), Ref: c, Entrypoint: "cmd/flows"}, "")
	run := h.run("greet", `{"name":"x"}`)
	if run.State.Type != flow.TypeFailed || !strings.Contains(run.State.Message, "protocol 999") {
		t.Fatalf("state %s, want Failed naming the protocol", run.State)
	}
	if strings.Contains(h.logs(run.ID), "executed anyway") {
		t.Error("the incompatible binary was executed")
	}
}

// gitHTTPServer serves repositories under root through git http-backend,
// asking for basic auth with password token.
func gitHTTPServer(t *testing.T, root, token string) *httptest.Server {
	t.Helper()
	backend, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git not installed: %v", err)
	}
	h := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(backend)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"},
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); !ok || pw != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
}

// TestGitHTTPTokenAuth fetches over HTTP from a git http-backend on
// 127.0.0.1 with a token from a store secret; a wrong token fails the
// run without showing either token.
func TestGitHTTPTokenAuth(t *testing.T) {
	r := newTestRepo(t)
	r.commit(flowVersion{Greeting: "over http"})
	const token = "tok-9f8e7d6c5b4a"
	root := t.TempDir()
	if _, err := git.PlainClone(filepath.Join(root, "flows.git"), true, &git.CloneOptions{URL: r.dir}); err != nil {
		t.Fatal(err)
	}
	srv := gitHTTPServer(t, root, token)
	defer srv.Close()
	h := newHarness(t, "")
	ctx := context.Background()
	must(t, h.st.PutSecret(ctx, "git-token", store.NewSecret(token)))
	must(t, h.st.PutSecret(ctx, "wrong-token", store.NewSecret("wrong-5a4b3c2d1e")))
	repo := srv.URL + "/flows.git"
	h.deploy("greet", store.Source{Repository: repo, Ref: "master", Entrypoint: "cmd/flows",
		Credentials: &store.SourceCredentials{Kind: "token", Secret: "git-token"}}, "")
	run := h.run("greet", `{"name":"x"}`)
	if run.State.Type != flow.TypeCompleted || h.result(run.ID) != "over http x" {
		t.Fatalf("run over http: %s\n%s", run.State, h.logs(run.ID))
	}

	h.deploy("wrong", store.Source{Repository: repo, Ref: "master", Entrypoint: "cmd/flows",
		Credentials: &store.SourceCredentials{Kind: "token", Secret: "wrong-token"}}, "")
	run = h.run("wrong", `{"name":"x"}`)
	if run.State.Type != flow.TypeFailed {
		t.Fatalf("wrong token: %s", run.State)
	}
	for _, s := range []string{token, "wrong-5a4b3c2d1e"} {
		if strings.Contains(run.State.Message, s) || strings.Contains(h.logs(run.ID), s) {
			t.Errorf("token %q shown: %s", s, run.State.Message)
		}
	}
	// A token in the URL is masked in errors.
	if got := source.MaskURL("fetch https://x:" + token + "@127.0.0.1/r.git: denied"); strings.Contains(got, token) {
		t.Errorf("MaskURL kept the token: %s", got)
	}
}
