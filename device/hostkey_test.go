package device

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/device/devicetest"
	"golang.org/x/crypto/ssh"
)

func signerOf(t *testing.T, key any) ssh.Signer {
	t.Helper()
	s, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Junos generates RSA, ECDSA and Ed25519 host keys and offers them all
// (Junos "system services ssh hostkey-algorithm": every algorithm allowed
// by default); an OpenSSH client, preferring Ed25519, records that key
// alone in known_hosts (ssh_config(5) HostKeyAlgorithms order). Go's client
// prefers ECDSA: without asking the device for the type it knows, it
// negotiates an ECDSA key that known_hosts does not list and refuses a
// legitimate device as if its key had changed. OpenSSH avoids this by
// preferring the algorithms of the keys known for the host.
func TestKnownHostsOfOneKeyTypeOnMultiKeyDevice(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed, ec := signerOf(t, edKey), signerOf(t, ecKey)
	for _, tc := range []struct {
		name  string
		known ssh.Signer
	}{
		{"known ed25519", ed},
		{"known ecdsa", ec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := simSpec(t, "srx1", "juniper_junos", "oxidized_junos_srx300_22.4_simulation.yaml")
			lab, err := devicetest.Start(context.Background(), []devicetest.Spec{spec}, devicetest.WithHostKeys(tc.known, ed, ec))
			if err != nil {
				t.Fatal(err)
			}
			defer lab.Close()
			h := hostFor(t, lab, "srx1")
			err = With(context.Background(), h, testSecrets, func(s *Session) error {
				_, err := s.Send(context.Background(), "show version")
				return err
			})
			if err != nil {
				t.Fatalf("device offering the known key among others refused: %v", err)
			}
		})
	}

	// A device whose keys are all unknown under that name is still refused.
	spec := simSpec(t, "srx1", "juniper_junos", "oxidized_junos_srx300_22.4_simulation.yaml")
	lab, err := devicetest.Start(context.Background(), []devicetest.Spec{spec}, devicetest.WithHostKeys(ec))
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	h := hostFor(t, lab, "srx1")
	line := strings.Fields(strings.TrimSpace(lab.KnownHosts()))[0] + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(ed.PublicKey())))
	if err := os.WriteFile(h.KnownHostsFile, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = With(context.Background(), h, testSecrets, func(*Session) error { return nil })
	if ClassOf(err) != Unreachable || !strings.Contains(err.Error(), "knownhosts") {
		t.Fatalf("device with another key: class %s, err %v", ClassOf(err), err)
	}
}

// Old IOS has one RSA host key and signs with SHA-1 only ("ssh-rsa"),
// next to SHA-1 key exchanges and CBC ciphers (devicetest's LegacySSH):
// with LegacyAlgorithms and strict checking against its RSA key, the
// session opens.
func TestLegacyDeviceRSAHostKey(t *testing.T) {
	spec := devicetest.GeneratedSpec("old1")
	spec.LegacySSH = true
	lab := startLab(t, spec)
	if got := lab.Device("old1").HostKey().Type(); got != ssh.KeyAlgoRSA {
		t.Fatalf("legacy device host key type %s, want ssh-rsa", got)
	}
	h := hostFor(t, lab, "old1")
	legacy := true
	h.LegacyAlgorithms = &legacy
	if err := With(context.Background(), h, testSecrets, func(s *Session) error {
		_, err := s.RunningConfig(context.Background())
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
