package runtime_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// lockedBuffer is a bytes.Buffer safe for a server goroutine writing
// while the test reads; changed is signalled on each write.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.changed <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer runs the server command in the background until the test
// ends and returns its API URL.
func startServer(t *testing.T, app *runtime.App, args ...string) (url string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedBuffer{changed: make(chan struct{}, 1)}
	var errOut lockedBuffer
	done := make(chan int, 1)
	go func() { done <- app.Run(ctx, append([]string{"server"}, args...), out, &errOut) }()
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { stop() })
	timeout := time.After(30 * time.Second)
	for {
		if _, rest, ok := strings.Cut(out.String(), "API on "); ok {
			return strings.Fields(rest)[0], stop
		}
		select {
		case code := <-done:
			once.Do(func() {})
			t.Fatalf("server exited %d\n%s\n%s", code, out.String(), errOut.String())
		case <-out.changed:
		case <-timeout:
			t.Fatalf("server not listening\n%s", out.String())
		}
	}
}

// TestLocalAdminKey: a server started without API keys makes a local
// admin key (mode 0600, beside its store) that the command line finds by
// itself, while a request without it (a web page) is refused.
func TestLocalAdminKey(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(runtime.EnvAPIKeys, "")
	t.Setenv(runtime.EnvAPIKey, "")
	t.Setenv("NETAUTO_LOCAL_KEYS_DIR", filepath.Join(dir, "records"))
	db := filepath.Join(dir, "store", "netauto.db")
	app := &runtime.App{Name: "t", Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "echo", Flow: "echo"}}}
	url, stop := startServer(t, app, "--db", db, "--listen", "127.0.0.1:0", "--no-worker")

	keyFile := filepath.Join(dir, "store", "local-admin.key")
	fi, err := os.Stat(keyFile)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("local admin key file: %v %v, want mode 0600", fi, err)
	}
	var out, errOut bytes.Buffer
	if code := app.Run(context.Background(), []string{"deploy", "--api", url}, &out, &errOut); code != runtime.ExitOK {
		t.Fatalf("deploy with the local key: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if code := app.Run(context.Background(), []string{"run", "echo", "--api", url, "--param", "msg=hi"}, &out, &errOut); code != runtime.ExitOK {
		t.Fatalf("run with the local key: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	// A page in a browser has no key: its request is refused.
	resp, err := http.Post(url+"/api/v1/deployments/echo/runs", "text/plain", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("request without the local key answered %d", resp.StatusCode)
	}
	key := client.LocalKey(url)
	if key == "" {
		t.Fatal("the server's record of its local key is missing")
	}
	if code := stop(); code != runtime.ExitOK {
		t.Fatalf("server exit %d", code)
	}
	if client.LocalKey(url) != "" {
		t.Fatal("the record outlived the server")
	}

	// A restart keeps the key; a key file others can read is refused.
	url, stop = startServer(t, app, "--db", db, "--listen", "127.0.0.1:0", "--no-worker")
	if got := client.LocalKey(url); got != key {
		t.Fatal("the restarted server made a new key")
	}
	stop()
	if err := os.Chmod(keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errOut.Reset()
	code := app.Run(context.Background(), []string{"server", "--db", db, "--listen", "127.0.0.1:0", "--no-worker"}, &out, &errOut)
	if code != runtime.ExitFailed || !strings.Contains(errOut.String(), "chmod 600") {
		t.Fatalf("server with a readable key file: exit %d\n%s", code, errOut.String())
	}
}

// TestKeysCommand prints a key once with the entries holding its hash.
func TestKeysCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	app := &runtime.App{Name: "t"}
	if code := app.Run(context.Background(), []string{"keys", "new", "worker-1", "--role", "worker", "--pools", "a,b"}, &out, &errOut); code != runtime.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	key := strings.TrimSpace(lines[1])
	if !strings.HasPrefix(key, "na_") || !strings.Contains(out.String(), "worker-1:worker@a+b:sha256:") || !strings.Contains(out.String(), "worker-1 worker sha256:") {
		t.Fatalf("output:\n%s", out.String())
	}
	if strings.Count(out.String(), key) != 1 {
		t.Fatal("the key is printed more than once")
	}
	if code := app.Run(context.Background(), []string{"keys", "new", "x", "--role", "root"}, &out, &errOut); code != runtime.ExitUsage {
		t.Fatalf("unknown role: exit %d", code)
	}
}
