package f5flows

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

func parseCert(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return c, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// certName is the BIG-IP object name of a certificate: its common name,
// made safe for an object name.
func certName(c *x509.Certificate) string {
	n := c.Subject.CommonName
	if n == "" && len(c.DNSNames) > 0 {
		n = c.DNSNames[0]
	}
	n = strings.TrimPrefix(n, "*.")
	if n == "" {
		n = "certificate"
	}
	return unsafeName.ReplaceAllString(n, "_")
}

// keyMatches checks that keyPEM is the private key of certPEM's first
// certificate, so that a pair that cannot handshake is never installed. An
// encrypted key cannot be checked without its passphrase and is let
// through. The error never holds key material.
func keyMatches(certPEM, keyPEM []byte) error {
	if b, _ := pem.Decode(keyPEM); b != nil && strings.Contains(b.Type, "ENCRYPTED") {
		return nil
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return errors.New("the private key does not match the certificate (or does not parse)")
	}
	return nil
}
