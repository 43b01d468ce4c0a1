package source_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestGitSymlinkEscapeRejected: a commit whose tree holds a symbolic link
// out of the repository is refused when checked out, so an entrypoint
// cannot reach outside through it.
func TestGitSymlinkEscapeRejected(t *testing.T) {
	r := newTestRepo(t)
	must(t, os.Symlink("../../../../../../etc", filepath.Join(r.dir, "escape")))
	c := r.commit(flowVersion{Greeting: "hi"})
	cache := &source.Cache{Dir: t.TempDir(), AllowFile: true, Env: buildEnv}
	_, err := cache.Prepare(context.Background(), source.Request{Source: store.Source{Repository: r.url(), Ref: c, Entrypoint: "escape"}})
	if err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("err = %v, want a refused symbolic link", err)
	}
}

// TestGitSSHKeyCredentials: an SSH key secret becomes go-git auth; a
// secret that is no key is an error that does not show it.
func TestGitSSHKeyCredentials(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	must(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	must(t, err)
	key := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	cred := &store.SourceCredentials{Kind: "ssh", Secret: "deploy-key"}
	auth, err := source.AuthFor(cred, key)
	if err != nil || auth.Name() != "ssh-public-keys" {
		t.Fatalf("auth %v, %v", auth, err)
	}
	_, err = source.AuthFor(cred, "not-a-key-zz9")
	if err == nil || strings.Contains(err.Error(), "not-a-key-zz9") || !strings.Contains(err.Error(), "deploy-key") {
		t.Fatalf("err = %v", err)
	}
	// ssh credentials only fit ssh:// repositories.
	err = source.Validate(store.Source{Repository: "https://git.example/x.git", Credentials: cred}, false)
	if err == nil || !strings.Contains(err.Error(), "source.credentials.kind") {
		t.Fatalf("ssh credentials on https: %v", err)
	}
}
