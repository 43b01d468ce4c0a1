package client

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// A server started without API keys (NETAUTO_API_KEYS unset) makes a
// local admin key on first start, in a file only its user reads, and
// listens on loopback only. So that the command line on the same machine
// finds that key by itself, the server records, under the user's
// configuration directory, which file holds the key of which listen
// address; [LocalKey] follows that record. Nothing but the user (and
// root) can read either file: a web page in a browser cannot.

// localKeyDir is the directory of the records: one file per listen
// address, holding the path of the key file.
func localKeyDir() (string, error) {
	if d := os.Getenv("NETAUTO_LOCAL_KEYS_DIR"); d != "" {
		return d, nil
	}
	cfg, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cfg, "netauto", "local-keys"), nil
}

// recordName is the record file of a host and port.
func recordName(host, port string) string {
	return strings.NewReplacer(":", "_", "[", "", "]", "", "/", "_").Replace(host) + "_" + port
}

// RegisterLocalKey records that the server listening on addr (host:port,
// the address it actually listens on) keeps its local admin key in
// keyFile, and returns a function removing the record. Only a server
// without configured keys calls it.
func RegisterLocalKey(addr, keyFile string) (unregister func(), err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("local key record: %w", err)
	}
	abs, err := filepath.Abs(keyFile)
	if err != nil {
		return nil, fmt.Errorf("local key record: %w", err)
	}
	dir, err := localKeyDir()
	if err != nil {
		return nil, fmt.Errorf("local key record: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("local key record: %w", err)
	}
	path := filepath.Join(dir, recordName(host, port))
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(abs+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("local key record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("local key record: %w", err)
	}
	return func() {
		// Remove the record only if it is still ours (another server may
		// have taken the port since).
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == abs {
			os.Remove(path)
		}
	}, nil
}

// LocalKey returns the local admin key of the server at baseURL when it
// is on this machine (a loopback address or localhost) and runs without
// configured API keys; "" otherwise. The command line uses it when no
// key is given, so that a laptop's `server`, `deploy` and `run` work with
// no configuration.
func LocalKey(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return ""
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	hosts := []string{host}
	switch ip := net.ParseIP(host); {
	case strings.EqualFold(host, "localhost"):
		hosts = append(hosts, "127.0.0.1", "::1")
	case ip == nil || !ip.IsLoopback():
		return ""
	}
	dir, err := localKeyDir()
	if err != nil {
		return ""
	}
	for _, h := range hosts {
		b, err := os.ReadFile(filepath.Join(dir, recordName(h, port)))
		if err != nil {
			continue
		}
		if k, err := ReadKeyFile(strings.TrimSpace(string(b))); err == nil {
			return k
		}
	}
	return ""
}

// ReadKeyFile reads an API key from a file (trailing white space
// trimmed). A file that others than its owner may read is refused.
func ReadKeyFile(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("key file %s: readable or writable by others (mode %v): chmod 600 it", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", errors.New("key file " + path + ": empty")
	}
	return k, nil
}
