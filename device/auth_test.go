package device

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"log/slog"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
	"golang.org/x/crypto/ssh"
)

func newKey(t *testing.T, passphrase string) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(block)), sshPub
}

func TestPublicKeyAuth(t *testing.T) {
	key, pub := newKey(t, "")
	encKey, encPub := newKey(t, "correct horse")
	other, _ := newKey(t, "")
	spec := devicetest.GeneratedSpec("k1")
	spec.Auth = []devicetest.AuthMethod{devicetest.AuthPublicKey}
	spec.AuthorizedKeys = []ssh.PublicKey{pub, encPub}
	lab := startLab(t, spec)
	secrets := StaticSecrets{"key": key, "enc": encKey, "pass": "correct horse", "other": other, "garbage": "not a key"}
	cases := []struct {
		name, key, pass string
		want            Class
	}{
		{"key", "key", "", Unchanged},
		{"encrypted key", "enc", "pass", Unchanged},
		{"unknown key", "other", "", AuthFailed},
		{"unparsable key", "garbage", "", Failed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := hostFor(t, lab, "k1")
			h.PasswordSecret, h.PrivateKeySecret, h.PassphraseSecret = "", c.key, c.pass
			err := With(context.Background(), h, secrets, func(s *Session) error {
				_, err := s.Send(context.Background(), "show version")
				return err
			})
			if ClassOf(err) != c.want {
				t.Fatalf("class %s, want %s: %v", ClassOf(err), c.want, err)
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error quotes key material: %v", err)
			}
		})
	}
}

func TestInsecureHostKeyWarns(t *testing.T) {
	lab := startLab(t, devicetest.GeneratedSpec("w1"))
	var logs bytes.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
	defer slog.SetDefault(prev)

	h := hostFor(t, lab, "w1")
	h.KnownHostsFile = ""
	if err := With(context.Background(), h, testSecrets, func(*Session) error { return nil }); err == nil || !strings.Contains(err.Error(), "known_hosts_file is empty") {
		t.Fatalf("no host key policy: %v", err)
	}
	insecure := true
	h.InsecureIgnoreHostKey = &insecure
	if err := With(context.Background(), h, testSecrets, func(*Session) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "HOST KEY CHECKING DISABLED") || strings.Contains(logs.String(), "admin") {
		t.Errorf("log: %s", logs.String())
	}
}
