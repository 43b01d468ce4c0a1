package f5

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// UploadChunkSize is the largest chunk sent per upload request; BIG-IP's
// file-transfer endpoint refuses chunks above 1 MiB.
const UploadChunkSize = 512 << 10

const uploadPath = "/mgmt/shared/file-transfer/uploads/"

// remoteUploadDir is where uploaded files land on the device.
const remoteUploadDir = "/var/config/rest/downloads/"

// UploadFile sends data to the device in chunks with Content-Range headers
// and returns the path it was stored at (for "from-local-file").
func (c *Client) UploadFile(ctx context.Context, name string, data []byte) (string, error) {
	if name == "" || strings.ContainsAny(name, "/\\?#% ") || name == "." || name == ".." {
		return "", fmt.Errorf("upload: file name %q is invalid", name)
	}
	if len(data) == 0 {
		return "", fmt.Errorf("upload %s: empty file", name)
	}
	total := len(data)
	for start := 0; start < total; start += UploadChunkSize {
		end := min(start+UploadChunkSize, total) - 1
		h := http.Header{}
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Range", fmt.Sprintf("%d-%d/%d", start, end, total))
		req := request{method: http.MethodPost, path: uploadPath + url.PathEscape(name), raw: data[start : end+1], header: h}
		if _, err := c.do(ctx, req); err != nil {
			return "", fmt.Errorf("upload %s bytes %d-%d/%d: %w", name, start, end, total, err)
		}
	}
	return remoteUploadDir + name, nil
}

// CertificateInfo is an installed certificate (/mgmt/tm/sys/file/ssl-cert).
type CertificateInfo struct {
	Name        string
	Partition   string
	FullPath    string
	Subject     string
	Issuer      string
	Fingerprint string
	Expiration  time.Time
}

type sslCert struct {
	Name           string `json:"name"`
	Partition      string `json:"partition"`
	FullPath       string `json:"fullPath"`
	Subject        string `json:"subject"`
	Issuer         string `json:"issuer"`
	Fingerprint    string `json:"fingerprint"`
	ExpirationDate int64  `json:"expirationDate"`
}

// InstallCertificate uploads a PEM certificate (chain allowed) and installs
// it as ssl-cert name (e.g. "/Common/www.example.net.crt"), replacing an
// existing one of that name.
func (c *Client) InstallCertificate(ctx context.Context, name string, certPEM []byte) error {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("install certificate %s: certPEM holds no PEM CERTIFICATE block", name)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return fmt.Errorf("install certificate %s: certPEM: %w", name, err)
	}
	return c.install(ctx, "cert", name, certPEM)
}

// InstallKey uploads a PEM private key and installs it as ssl-key name. The
// key never appears in errors.
func (c *Client) InstallKey(ctx context.Context, name string, keyPEM []byte) error {
	block, _ := pem.Decode(keyPEM)
	if block == nil || !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return fmt.Errorf("install key %s: keyPEM holds no PEM PRIVATE KEY block", name)
	}
	return c.install(ctx, "key", name, keyPEM)
}

func (c *Client) install(ctx context.Context, kind, name string, data []byte) error {
	if _, err := TildePath(name); err != nil {
		return fmt.Errorf("install %s: %w", kind, err)
	}
	file := "netauto-" + strings.ReplaceAll(strings.TrimPrefix(name, "/"), "/", "_") + "." + kind
	local, err := c.UploadFile(ctx, file, data)
	if err != nil {
		return fmt.Errorf("install %s %s: %w", kind, name, err)
	}
	body := map[string]string{"command": "install", "name": name, "from-local-file": local}
	if _, err := c.do(ctx, request{method: http.MethodPost, path: tmPath + "sys/crypto/" + kind, body: body}); err != nil {
		return fmt.Errorf("install %s %s: %w", kind, name, err)
	}
	return nil
}

// Certificates lists installed certificates with their expiration.
func (c *Client) Certificates(ctx context.Context) ([]CertificateInfo, error) {
	raw, err := listItems[sslCert](ctx, c, "sys/file/ssl-cert")
	if err != nil {
		return nil, err
	}
	out := make([]CertificateInfo, 0, len(raw))
	for _, r := range raw {
		out = append(out, CertificateInfo{
			Name: r.Name, Partition: r.Partition, FullPath: r.FullPath, Subject: r.Subject, Issuer: r.Issuer,
			Fingerprint: r.Fingerprint, Expiration: time.Unix(r.ExpirationDate, 0).UTC(),
		})
	}
	return out, nil
}

// ExpiringWithin returns the certificates that expire within days of now
// (already expired ones included), soonest first.
func ExpiringWithin(certs []CertificateInfo, days int, now time.Time) []CertificateInfo {
	limit := now.Add(time.Duration(days) * 24 * time.Hour)
	var out []CertificateInfo
	for _, c := range certs {
		if !c.Expiration.After(limit) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b CertificateInfo) int { return a.Expiration.Compare(b.Expiration) })
	return out
}

// ExpiringCertificates lists the device's certificates expiring within
// days from now.
func (c *Client) ExpiringCertificates(ctx context.Context, days int) ([]CertificateInfo, error) {
	if days < 0 {
		return nil, errors.New("expiring certificates: days must not be negative")
	}
	certs, err := c.Certificates(ctx)
	if err != nil {
		return nil, err
	}
	return ExpiringWithin(certs, days, c.now()), nil
}

// DeleteCertificate deletes an ssl-cert; BIG-IP refuses while a profile
// uses it.
func (c *Client) DeleteCertificate(ctx context.Context, name string) error {
	return c.deleteItem(ctx, "sys/file/ssl-cert", name)
}

// DeleteKey deletes an ssl-key.
func (c *Client) DeleteKey(ctx context.Context, name string) error {
	return c.deleteItem(ctx, "sys/file/ssl-key", name)
}

// SaveConfig saves the running configuration (tmsh save sys config), so
// that LTM and certificate changes survive a reboot. AS3 saves on its own.
func (c *Client) SaveConfig(ctx context.Context) error {
	if _, err := c.do(ctx, request{method: http.MethodPost, path: tmPath + "sys/config", body: map[string]string{"command": "save"}}); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}
