package f5

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
)

func TestTildePath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"web", "~Common~web", true},
		{"/Common/web", "~Common~web", true},
		{"/Tenant/App/web", "~Tenant~App~web", true},
		{"/Common/192.0.2.10:80", "~Common~192.0.2.10:80", true},
		{"", "", false},
		{"a/b", "", false},
		{"/Common", "", false},
		{"/Common//x", "", false},
		{"/Common/we b", "", false},
		{"/Common/a~b", "", false},
	}
	for _, tc := range tests {
		got, err := TildePath(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("TildePath(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestPoolMembersAndStates(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	if err := c.CreatePool(ctx, &LTMPool{Name: "web", Monitor: "/Common/http"}); err != nil {
		t.Fatal(err)
	}
	if err := c.AddPoolMember(ctx, "/Common/web", &LTMPoolMember{Name: "192.0.2.10:80"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		state          MemberState
		session, field string
	}{
		{ForcedOffline, "user-disabled", "user-down"},
		{Disabled, "user-disabled", "user-up"},
		{Enabled, "user-enabled", "user-up"},
	}
	for _, tc := range tests {
		if err := c.SetPoolMemberState(ctx, "/Common/web", "/Common/192.0.2.10:80", tc.state); err != nil {
			t.Fatal(err)
		}
		m, err := c.PoolMember(ctx, "web", "192.0.2.10:80")
		if err != nil {
			t.Fatal(err)
		}
		if m.Session != tc.session || m.State != tc.field || StateOf(m.Session, m.State) != tc.state {
			t.Fatalf("%v: session %q state %q", tc.state, m.Session, m.State)
		}
	}
	if err := c.SetPoolMemberState(ctx, "web", "192.0.2.10:80", MemberState(9)); err == nil {
		t.Fatal("unknown state accepted")
	}
	nodes, err := c.Nodes(ctx)
	if err != nil || len(nodes) != 1 || nodes[0].Address != "192.0.2.10" {
		t.Fatalf("node not created with member: %v %+v", err, nodes)
	}
	var apiErr *Error
	if err := c.DeleteNode(ctx, "192.0.2.10"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("deleting a node in use: %v", err)
	}
	if err := c.SetNodeState(ctx, "192.0.2.10", ForcedOffline); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateVirtualServer(ctx, &VirtualServer{Name: "vs", Destination: "/Common/192.0.2.1:80", Pool: "/Common/web", IPProtocol: "tcp", SourceAddressTranslation: &SNAT{Type: "automap"}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePool(ctx, "web"); !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "in use") {
		t.Fatalf("deleting a pool in use: %v", err)
	}
	if err := c.CreatePool(ctx, &LTMPool{Name: "web"}); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict {
		t.Fatalf("duplicate pool: %v", err)
	}
	if _, err := c.Pool(ctx, "nope"); !errors.As(err, &apiErr) || !apiErr.NotFound() {
		t.Fatalf("missing pool: %v", err)
	}
	for _, step := range []func() error{
		func() error { return c.DeleteVirtualServer(ctx, "vs") },
		func() error { return c.RemovePoolMember(ctx, "web", "192.0.2.10:80") },
		func() error { return c.DeletePool(ctx, "web") },
		func() error { return c.DeleteNode(ctx, "192.0.2.10") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	if pools, err := c.Pools(ctx); err != nil || len(pools) != 0 {
		t.Fatalf("pools left: %v %+v", err, pools)
	}
}

func TestMonitors(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	interval := 5
	if err := c.CreateMonitor(ctx, "http", &LTMMonitor{Name: "app_http", DefaultsFrom: "/Common/http", Send: "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", Recv: "200 OK", Interval: &interval}); err != nil {
		t.Fatal(err)
	}
	ms, err := c.Monitors(ctx, "http")
	if err != nil || len(ms) != 1 || ms[0].FullPath != "/Common/app_http" || *ms[0].Interval != 5 {
		t.Fatalf("%v %+v", err, ms)
	}
	if _, err := c.Monitors(ctx, "../pool"); err == nil {
		t.Fatal("bad monitor type accepted")
	}
	if err := c.DeleteMonitor(ctx, "http", "app_http"); err != nil {
		t.Fatal(err)
	}
}

func TestTransactionAllOrNothing(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	tx, err := c.BeginTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Client.CreatePool(ctx, &LTMPool{Name: "tx_pool"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Client.AddPoolMember(ctx, "tx_pool", &LTMPoolMember{Name: "192.0.2.20:443"}); err != nil {
		t.Fatal(err)
	}
	if pools, _ := c.Pools(ctx); len(pools) != 0 {
		t.Fatal("queued write visible before commit")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if ms, err := c.PoolMembers(ctx, "tx_pool"); err != nil || len(ms) != 1 {
		t.Fatalf("after commit: %v %+v", err, ms)
	}

	// A failing operation rolls back the ones before it.
	tx, err = c.BeginTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = tx.Client.CreatePool(ctx, &LTMPool{Name: "second"})
	_ = tx.Client.CreatePool(ctx, &LTMPool{Name: "tx_pool"}) // exists: fails at commit
	if err := tx.Commit(ctx); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("commit of a failing transaction: %v", err)
	}
	if _, err := c.Pool(ctx, "second"); err == nil {
		t.Fatal("failed transaction left a pool behind")
	}
	tx, err = c.BeginTransaction(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Discard(ctx); err != nil {
		t.Fatal(err)
	}
}

// selfSigned returns a PEM certificate and key valid until notAfter.
func selfSigned(t testing.TB, cn string, notAfter time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, NotBefore: notAfter.Add(-90 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func TestCertificatesLifecycle(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	now := time.Now()
	soonCert, soonKey := selfSigned(t, "soon.example.net", now.Add(10*24*time.Hour))
	lateCert, _ := selfSigned(t, "late.example.net", now.Add(200*24*time.Hour))
	if err := c.InstallKey(ctx, "/Common/soon.key", soonKey); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallCertificate(ctx, "/Common/soon.crt", soonCert); err != nil {
		t.Fatal(err)
	}
	if err := c.InstallCertificate(ctx, "late.crt", lateCert); err != nil {
		t.Fatal(err)
	}
	certs, err := c.Certificates(ctx)
	if err != nil || len(certs) != 2 {
		t.Fatalf("%v %+v", err, certs)
	}
	for _, ci := range certs {
		if ci.Expiration.IsZero() || !strings.Contains(ci.Subject, "example.net") {
			t.Fatalf("certificate info incomplete: %+v", ci)
		}
	}
	for _, tc := range []struct {
		days int
		want []string
	}{{5, nil}, {30, []string{"/Common/soon.crt"}}, {365, []string{"/Common/soon.crt", "/Common/late.crt"}}} {
		exp, err := c.ExpiringCertificates(ctx, tc.days)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range exp {
			got = append(got, e.FullPath)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("expiring within %d days = %v, want %v", tc.days, got, tc.want)
		}
	}
	if err := c.DeleteCertificate(ctx, "/Common/soon.crt"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteKey(ctx, "/Common/soon.key"); err != nil {
		t.Fatal(err)
	}
	if err := c.SaveConfig(ctx); err != nil || srv.SaveCount() != 1 {
		t.Fatalf("save config: %v, saves %d", err, srv.SaveCount())
	}
	// Bad input is refused before anything is sent, and keys never leak.
	if err := c.InstallCertificate(ctx, "x.crt", []byte("not pem")); err == nil {
		t.Fatal("garbage certificate accepted")
	}
	err = c.InstallKey(ctx, "x.key", []byte("-----BEGIN NOTAKEY-----\nc2VjcmV0\n-----END NOTAKEY-----\n"))
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestChunkedUpload(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	data := bytes.Repeat([]byte("0123456789abcdef"), (UploadChunkSize*2+100)/16)
	path, err := c.UploadFile(context.Background(), "big.bin", data)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/var/config/rest/downloads/big.bin" || !bytes.Equal(srv.Upload("big.bin"), data) {
		t.Fatalf("upload stored %d of %d bytes at %s", len(srv.Upload("big.bin")), len(data), path)
	}
	for _, name := range []string{"", "../etc/passwd", "a b"} {
		if _, err := c.UploadFile(context.Background(), name, data[:10]); err == nil {
			t.Errorf("file name %q accepted", name)
		}
	}
}
