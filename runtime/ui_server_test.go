package runtime_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestServerUI: `server` serves the web UI at /ui/ (and redirects / to
// it); over HTTPS its cookies are Secure, and the local admin key signs in.
func TestServerUI(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	t.Setenv(runtime.EnvAPIKeys, "")
	t.Setenv(runtime.EnvAPIKey, "")
	t.Setenv("NETAUTO_LOCAL_KEYS_DIR", filepath.Join(dir, "records"))
	t.Setenv(runtime.EnvTLSCert, cert)
	t.Setenv(runtime.EnvTLSKey, key)
	app := &runtime.App{Name: "t", Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "echo", Flow: "echo"}}}
	base, _ := startServer(t, app, "--db", filepath.Join(dir, "netauto.db"), "--listen", "127.0.0.1:0", "--no-worker")
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get(base + "/ui/signin")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="_csrf" value="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	adminKey, err := os.ReadFile(filepath.Join(dir, "local-admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = c.PostForm(base+"/ui/signin", url.Values{"_csrf": {string(m[1])}, "key": {strings.TrimSpace(string(adminKey))}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "netauto_session" {
			sess = ck
		}
	}
	if resp.StatusCode != http.StatusSeeOther || sess == nil || !sess.Secure || !sess.HttpOnly {
		t.Fatalf("sign in over HTTPS: %d, session cookie %+v", resp.StatusCode, sess)
	}
	resp, err = c.Get(base + "/ui/runs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("runs page: %d", resp.StatusCode)
	}
}
