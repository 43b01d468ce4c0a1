package runtime_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/store"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, PEM, and
// returns their paths.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netauto test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestServerTLS: given a certificate and key, the server serves HTTPS
// only, and the client commands trust its CA through NETAUTO_TLS_CA.
func TestServerTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	t.Setenv(runtime.EnvAPIKeys, "")
	t.Setenv(runtime.EnvAPIKey, "")
	t.Setenv("NETAUTO_LOCAL_KEYS_DIR", filepath.Join(dir, "records"))
	t.Setenv(runtime.EnvTLSCert, cert)
	t.Setenv(runtime.EnvTLSKey, key)
	t.Setenv(runtime.EnvTLSCA, cert)
	app := &runtime.App{Name: "t", Flows: []flow.Definition{echo}, Deployments: []store.Deployment{{Name: "echo", Flow: "echo"}}}
	url, _ := startServer(t, app, "--db", filepath.Join(dir, "netauto.db"), "--listen", "127.0.0.1:0", "--no-worker")
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("API URL %s, want https", url)
	}
	var out, errOut bytes.Buffer
	if code := app.Run(context.Background(), []string{"deploy", "--api", url}, &out, &errOut); code != runtime.ExitOK {
		t.Fatalf("deploy over HTTPS: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	// Plain HTTP is not served.
	resp, err := http.Get("http://" + strings.TrimPrefix(url, "https://") + "/healthz")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered")
		}
	}
	// Without the CA the client refuses the certificate.
	t.Setenv(runtime.EnvTLSCA, "")
	out.Reset()
	errOut.Reset()
	if code := app.Run(context.Background(), []string{"runs", "--api", url}, &out, &errOut); code == runtime.ExitOK || !strings.Contains(errOut.String(), "certificate") {
		t.Fatalf("untrusted certificate: exit %d %s", code, errOut.String())
	}
	// Half a configuration is refused.
	t.Setenv(runtime.EnvTLSKey, "")
	if code := app.Run(context.Background(), []string{"server", "--db", filepath.Join(dir, "netauto.db"), "--listen", "127.0.0.1:0"}, &out, &errOut); code != runtime.ExitFailed || !strings.Contains(errOut.String(), runtime.EnvTLSKey) {
		t.Fatalf("certificate without key: exit %d %s", code, errOut.String())
	}
}
