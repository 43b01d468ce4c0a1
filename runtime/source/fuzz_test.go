package source_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/source"
)

// FuzzGitRef: an accepted ref never escapes a directory it is joined to
// and never reads as an option.
func FuzzGitRef(f *testing.F) {
	for _, s := range []string{"main", "v1.2.3", "refs/heads/x", "../x", "a/../../b", "-x", "a..b", "a//b", "x.lock", ".hidden", "@{u}", strings.Repeat("ab", 20)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		if source.CheckRef(ref) != nil || ref == "" {
			return
		}
		base := "/cache/refs"
		joined := filepath.Join(base, ref)
		if !strings.HasPrefix(joined, base+"/") {
			t.Fatalf("ref %q escapes: %s", ref, joined)
		}
		if strings.HasPrefix(ref, "-") || strings.Contains(ref, "..") || strings.ContainsAny(ref, " \x00\\:") {
			t.Fatalf("ref %q accepted", ref)
		}
	})
}

// FuzzGitPath: an accepted path stays inside the checkout.
func FuzzGitPath(f *testing.F) {
	for _, s := range []string{"", ".", "./cmd/flows", "cmd/../..", "/etc", "a\\..\\b", "-x", "a/./b", "a:b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		clean, err := source.CleanPath("source.entrypoint", p)
		if err != nil {
			if !strings.Contains(err.Error(), "source.entrypoint") {
				t.Fatalf("error does not name the field: %v", err)
			}
			return
		}
		root := "/cache/checkout"
		joined := filepath.Join(root, clean)
		if joined != root && !strings.HasPrefix(joined, root+"/") {
			t.Fatalf("path %q escapes: %s", p, joined)
		}
	})
}

// FuzzGitRepository: an accepted URL has an allowed scheme and carries no
// password; masking never leaves a password in place.
func FuzzGitRepository(f *testing.F) {
	for _, s := range []string{"https://example.com/x.git", "ssh://git@example.com/x.git", "file:///tmp/x", "ftp://x/y", "git@example.com:x.git", "https://u:p@example.com/x", "http://127.0.0.1:8080/x.git", "-oProxyCommand=x"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, u string, allowFile bool) {
		if err := source.CheckRepository(u, allowFile); err == nil {
			ok := strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "ssh://") || strings.HasPrefix(u, "http://") || allowFile && strings.HasPrefix(u, "file://")
			if !ok {
				t.Fatalf("accepted %q (allowFile %v)", u, allowFile)
			}
		}
		m := source.MaskURL("x https://user:hunter2secret@h/p y")
		if strings.Contains(m, "hunter2secret") {
			t.Fatal(m)
		}
		if got := source.MaskURL(u); strings.Contains(u, ":PASSWORDxyz@") && strings.Contains(got, "PASSWORDxyz@") && strings.Contains(u, "://") {
			t.Fatalf("MaskURL(%q) = %q", u, got)
		}
	})
}
