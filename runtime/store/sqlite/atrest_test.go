package sqlite_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

// TestFilesPrivate: the database, its WAL and shared-memory files are
// created readable by their owner only, whatever the umask; an existing
// file others could read is narrowed.
func TestFilesPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "netauto.db")
	s, err := sqlite.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterFlow(context.Background(), store.Flow{Name: "f"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	s.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = sqlite.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("existing file left at mode %v", fi.Mode().Perm())
	}
}

// TestSensitiveResultsNotInPlaintext: the bytes of a sensitive result
// (an AS3 snapshot's private key) appear nowhere in the store's files,
// while a plain result's do.
func TestSensitiveResultsNotInPlaintext(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "netauto.db")
	s, err := sqlite.Open(context.Background(), path, store.Options{Key: storetest.Key(t)})
	if err != nil {
		t.Fatal(err)
	}
	fr := "0190a000-0000-7000-8000-0000000000p1"
	secret := "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC-private-key-bytes"
	plain := "plain-result-marker-0123456789"
	now := time.Now()
	ops := []store.Op{
		{Create: &flow.RunRecord{ID: fr, Kind: flow.KindFlow, Name: "as3", FlowRunID: fr, Created: now}},
		{Create: &flow.RunRecord{ID: "t1", Kind: flow.KindTask, Name: "read-tenants", FlowRunID: fr, TaskKey: "read-tenants/1", Created: now}},
		{RunID: "t1", State: flow.Pending()}, {RunID: "t1", State: flow.Running()},
		{RunID: "t1", State: flow.Completed(), Result: &flow.Result{FlowRunID: fr, TaskKey: "read-tenants/1", CacheKey: "flow/as3/task:r/1", Value: []byte(`"` + secret + `"`), Sensitive: true}},
		{Create: &flow.RunRecord{ID: "t2", Kind: flow.KindTask, Name: "count", FlowRunID: fr, TaskKey: "count/1", Created: now}},
		{RunID: "t2", State: flow.Pending()}, {RunID: "t2", State: flow.Running()},
		{RunID: "t2", State: flow.Completed(), Result: &flow.Result{FlowRunID: fr, TaskKey: "count/1", Value: []byte(`"` + plain + `"`)}},
	}
	errs, err := s.Record(context.Background(), ops, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("op %d: %v", i, e)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err == nil {
			all = append(all, b...)
		}
	}
	if bytes.Contains(all, []byte(secret)) {
		t.Fatal("the sensitive result is stored in plaintext")
	}
	if !bytes.Contains(all, []byte(plain)) {
		t.Fatal("the plain result is not in the files: the test reads the wrong files")
	}
}
