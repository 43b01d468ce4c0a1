package f5

import (
	"crypto/x509"
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
