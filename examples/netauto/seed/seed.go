// Package seed holds the demo data of the netauto example, embedded so the
// demo runs from any directory: the fake Infrahub's seed (artifact
// definitions, an F5 application, an LTM configuration and a certificate
// with their artifacts), the AS3 declarations of the demo's changes, and
// helpers that create what depends on the lab at run time (routing
// configurations of lab devices, a fresh certificate artifact).
package seed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

//go:embed infrahub.yml
var infrahubSeed []byte

// Infrahub returns the seed for infrahubtest.Options.Seed (load it with the
// schemas of schema.FakeSchemas).
func Infrahub() []byte { return append([]byte(nil), infrahubSeed...) }

// Names of seeded objects.
const (
	Application     = "web-shop"
	Tenant          = "Shop"
	LTMConfig       = "shared-pools"
	CertificateName = "shop.example.net"
)

// AS3 returns the web-shop AS3 declaration with the given pool members
// ("address" strings, port 8080); with no members it is the demo's broken
// change: valid AS3 that leaves the pool empty, which the post-check
// refuses.
func AS3(label string, members ...string) []byte {
	pool := map[string]any{"class": "Pool", "monitors": []string{"http"}}
	if len(members) > 0 {
		pool["members"] = []any{map[string]any{"servicePort": 8080, "serverAddresses": members}}
	} else {
		pool["members"] = []any{}
	}
	decl := map[string]any{
		"class": "ADC", "schemaVersion": "3.50.0", "id": Application, "label": label,
		Tenant: map[string]any{
			"class": "Tenant",
			"web_shop": map[string]any{
				"class":    "Application",
				"service":  map[string]any{"class": "Service_HTTP", "virtualAddresses": []string{"10.1.10.10"}, "virtualPort": 80, "pool": "web_pool"},
				"web_pool": pool,
			},
		},
	}
	b, _ := json.Marshal(decl)
	return b
}

// Artifact creates a CoreArtifact for target (kind, id) holding content,
// as Infrahub's generator would, and returns its id and storage id.
func Artifact(fake *infrahubtest.Server, definition, name, targetKind, targetID string, content []byte) (id, storageID string, err error) {
	storageID = fake.PutObject(content)
	id, err = fake.Create("", "CoreArtifact", map[string]any{
		"name": name, "status": "Ready", "content_type": "text/plain", "storage_id": storageID,
		"checksum":   fmt.Sprintf("%x", len(content)),
		"object":     targetID,
		"definition": map[string]any{"hfid": []any{definition}},
	})
	return id, storageID, err
}

// ArtifactValidator creates a CoreArtifactValidator of definition (by
// name) with one CoreArtifactCheck per artifact (by id), as Infrahub does
// when a proposed change regenerates the definition's artifacts; the
// validation flow validates the devices these artifacts are about. It
// needs the validator kinds of schema.FakeSchemas.
func ArtifactValidator(fake *infrahubtest.Server, definition string, artifactIDs []string) (string, error) {
	id, err := fake.Create("", "CoreArtifactValidator", map[string]any{
		"label": "Artifact Validator: " + definition, "state": "in_progress",
		"definition": map[string]any{"hfid": []any{definition}},
	})
	if err != nil {
		return "", err
	}
	for _, a := range artifactIDs {
		if _, err := fake.Create("", "CoreArtifactCheck", map[string]any{"name": a, "artifact_id": a, "changed": true, "validator": id}); err != nil {
			return "", err
		}
	}
	return id, nil
}

// RoutingConfig creates the NetautoRoutingConfig of a device (by id).
func RoutingConfig(fake *infrahubtest.Server, name, deviceID string, localAS int64, routerID string) (string, error) {
	return fake.Create("", schema.KindNetautoRoutingConfig, map[string]any{
		"name": name, "local_as": localAS, "router_id": routerID, "device": map[string]any{"id": deviceID},
	})
}

// Certificate returns a self-signed certificate for cn valid until
// notAfter, followed by its private key, as one PEM bundle: the content of
// a certificate artifact.
func Certificate(cn string, notAfter time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"netauto demo"}},
		DNSNames:     []string{cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})...), nil
}
