package f5_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log"
	"math/big"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/f5"
	"github.com/netauto-dev/netauto/f5/f5test"
)

// lab starts a fake BIG-IP and returns a client for it. Against a real
// device only the Config differs (BaseURL, credentials, CAFile).
func lab() (*f5.Client, func()) {
	srv, err := f5test.New(f5test.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewTLSServer(srv)
	c, err := f5.New(f5.Config{
		BaseURL:    ts.URL,
		Username:   "admin",
		Password:   "admin",
		HTTPClient: ts.Client(), // trusts the fake's certificate
	})
	if err != nil {
		log.Fatal(err)
	}
	return c, func() { ts.Close(); srv.Close() }
}

// Deploying an application: declare a tenant with an HTTP virtual server
// and its pool, wait for AS3's task, and see that a second identical
// declaration changes nothing.
func ExampleClient_Declare() {
	c, stop := lab()
	defer stop()
	ctx := context.Background()

	port := 80
	decl := &f5.Declaration{
		SchemaVersion: "3.50.0",
		ID:            "shop-v1",
		Tenants: map[string]*f5.Tenant{"Shop": {Applications: map[string]*f5.Application{
			"web": {Template: "generic", Items: map[string]f5.Object{
				"service": &f5.Service{
					Class:            f5.ClassServiceHTTP,
					VirtualAddresses: []string{"192.0.2.10"},
					VirtualPort:      &port,
					Pool:             &f5.Ref{Name: "web_pool"},
				},
				"web_pool": &f5.Pool{
					Monitors: []f5.Ref{{Name: "http"}},
					Members:  []f5.PoolMember{{ServicePort: 8080, ServerAddresses: []string{"198.51.100.11", "198.51.100.12"}}},
				},
			}},
		}}},
	}
	opts := &f5.DeclareOptions{PollInterval: 10 * time.Millisecond}
	for range 2 {
		res, err := c.Declare(ctx, decl, opts)
		if err != nil {
			log.Fatal(err)
		}
		for _, t := range res.Tenants {
			fmt.Printf("%s: %s\n", strings.Join(t.Tenants, ","), t.Outcome())
		}
	}
	// Output:
	// Shop: success
	// Shop: no change
}

// Before posting, Plan shows what would change on the device.
func ExampleClient_Plan() {
	c, stop := lab()
	defer stop()
	ctx := context.Background()

	decl := &f5.Declaration{SchemaVersion: "3.50.0", Tenants: map[string]*f5.Tenant{"Shop": {Applications: map[string]*f5.Application{
		"web": {Items: map[string]f5.Object{"web_pool": &f5.Pool{Members: []f5.PoolMember{{ServicePort: 80, ServerAddresses: []string{"198.51.100.11"}}}}}},
	}}}}
	if _, err := c.Declare(ctx, decl, &f5.DeclareOptions{Sync: true}); err != nil {
		log.Fatal(err)
	}
	pool := decl.Tenants["Shop"].Applications["web"].Items["web_pool"].(*f5.Pool)
	pool.Members[0].ServerAddresses = append(pool.Members[0].ServerAddresses, "198.51.100.12")
	diff, err := c.Plan(ctx, decl)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(diff)
	// Output:
	// ~ /Shop/web/web_pool/members/0/serverAddresses: ["198.51.100.11"] -> ["198.51.100.11","198.51.100.12"]
}

// Disabling a pool member for maintenance: existing connections drain, no
// new ones arrive. ForcedOffline would also refuse persistent ones.
func ExampleClient_SetPoolMemberState() {
	c, stop := lab()
	defer stop()
	ctx := context.Background()

	if err := c.CreatePool(ctx, &f5.LTMPool{Name: "web", Monitor: "/Common/http"}); err != nil {
		log.Fatal(err)
	}
	if err := c.AddPoolMember(ctx, "/Common/web", &f5.LTMPoolMember{Name: "198.51.100.11:8080"}); err != nil {
		log.Fatal(err)
	}
	if err := c.SetPoolMemberState(ctx, "/Common/web", "/Common/198.51.100.11:8080", f5.Disabled); err != nil {
		log.Fatal(err)
	}
	m, err := c.PoolMember(ctx, "/Common/web", "/Common/198.51.100.11:8080")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.FullPath, m.Session, m.State, f5.StateOf(m.Session, m.State))
	// Output:
	// /Common/198.51.100.11:8080 user-disabled user-up disabled
}

// Renewing a certificate: find what expires within 30 days, install the
// new key and certificate under the same names, and save the config.
func ExampleClient_InstallCertificate() {
	c, stop := lab()
	defer stop()
	ctx := context.Background()

	oldCert, oldKey := issue("www.example.net", 10*24*time.Hour)
	must(c.InstallKey(ctx, "/Common/www.example.net.key", oldKey))
	must(c.InstallCertificate(ctx, "/Common/www.example.net.crt", oldCert))

	expiring, err := c.ExpiringCertificates(ctx, 30)
	must(err)
	for _, ci := range expiring {
		fmt.Println("renewing", ci.FullPath)
		newCert, newKey := issue("www.example.net", 90*24*time.Hour)
		must(c.InstallKey(ctx, "/Common/www.example.net.key", newKey))
		must(c.InstallCertificate(ctx, ci.FullPath, newCert))
	}
	must(c.SaveConfig(ctx))

	expiring, err = c.ExpiringCertificates(ctx, 30)
	must(err)
	fmt.Println("expiring within 30 days:", len(expiring))
	// Output:
	// renewing /Common/www.example.net.crt
	// expiring within 30 days: 0
}

// Transactions apply several LTM changes all or nothing.
func ExampleClient_BeginTransaction() {
	c, stop := lab()
	defer stop()
	ctx := context.Background()

	tx, err := c.BeginTransaction(ctx)
	must(err)
	must(tx.Client.CreatePool(ctx, &f5.LTMPool{Name: "api"}))
	must(tx.Client.AddPoolMember(ctx, "api", &f5.LTMPoolMember{Name: "198.51.100.21:443"}))
	must(tx.Client.CreateVirtualServer(ctx, &f5.VirtualServer{Name: "api_vs", Destination: "/Common/192.0.2.21:443", Pool: "/Common/api", IPProtocol: "tcp"}))
	must(tx.Commit(ctx))

	vs, err := c.VirtualServer(ctx, "api_vs")
	must(err)
	fmt.Println(vs.FullPath, "->", vs.Pool)
	// Output:
	// /Common/api_vs -> /Common/api
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// issue makes a self-signed certificate valid for d from now.
func issue(cn string, d time.Duration) (certPEM, keyPEM []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(d), DNSNames: []string{cn}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(err)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	must(err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}
