//go:build linux

package worker

import (
	"os"
	goruntime "runtime"
	"testing"
)

func TestPipeUnread(t *testing.T) {
	if goruntime.GOOS != "linux" {
		t.Skip("counted on Linux only")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if n := pipeUnread(r); n != 0 {
		t.Fatalf("empty pipe: %d unread", n)
	}
	w.Write([]byte("hello"))
	if n := pipeUnread(r); n != 5 {
		t.Fatalf("%d unread, want 5", n)
	}
	b := make([]byte, 2)
	r.Read(b)
	if n := pipeUnread(r); n != 3 {
		t.Fatalf("%d unread, want 3", n)
	}
}
