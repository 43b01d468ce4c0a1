package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// stuckWriter is the response of a client that stopped reading: once its
// first write (the headers) went out, every write blocks until the
// connection's write deadline, then fails as a net.Conn would.
type stuckWriter struct {
	h         http.Header
	mu        sync.Mutex
	deadline  time.Time
	deadlines int
	written   int
}

func (w *stuckWriter) Header() http.Header             { return w.h }
func (w *stuckWriter) WriteHeader(int)                 {}
func (w *stuckWriter) Flush()                          {}
func (w *stuckWriter) FlushError() error               { return nil }
func (w *stuckWriter) SetReadDeadline(time.Time) error { return nil }
func (w *stuckWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline = t
	w.deadlines++
	return nil
}

func (w *stuckWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	d := w.deadline
	w.written++
	w.mu.Unlock()
	if d.IsZero() {
		select {} // a stream without a deadline would hang here for ever
	}
	time.Sleep(time.Until(d)) // the kernel's send buffer is full until the deadline
	return 0, os.ErrDeadlineExceeded
}

// TestStuckFollowerReleased reproduces a client that opens a log stream
// and stops reading: each write now has a deadline, so the stream ends
// and gives its place back instead of holding it for ever.
func TestStuckFollowerReleased(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := New(st, Options{Keys: &KeySet{}, StreamWriteTimeout: 50 * time.Millisecond, PollInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	run, _, err := st.CreateRun(ctx, store.RunSpec{Flow: "f", Pool: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AppendLogs(ctx, []flow.LogRecord{{RunID: run.ID, FlowRunID: run.ID, Time: time.Now(), Message: "x"}}); err != nil {
		t.Fatal(err)
	}
	w := &stuckWriter{h: http.Header{}}
	r := httptest.NewRequest("GET", "http://127.0.0.1/api/v1/runs/"+run.ID+"/logs/follow", nil)
	done := make(chan struct{})
	go func() { s.ServeHTTP(w, r); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the stream of a client that stopped reading is still open")
	}
	if s.OpenStreams() != 0 {
		t.Fatal("the stuck stream kept its place")
	}
	if w.deadlines == 0 {
		t.Fatal("no write deadline was set")
	}
}
