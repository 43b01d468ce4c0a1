package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
)

// localKeyName is the name of the local admin key in a server's key set.
const localKeyName = "local-admin"

// isPostgres reports whether db names a PostgreSQL store.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// localKeyPath is where the server on store db keeps its local admin
// key: $NETAUTO_LOCAL_KEY_FILE, else local-admin.key beside the SQLite
// file, else (PostgreSQL) in the default store's directory.
func localKeyPath(db string) string {
	if p := os.Getenv(EnvLocalKeyFile); p != "" {
		return p
	}
	dir := filepath.Dir(DefaultDB)
	if kind, path, err := parseStoreURL(db); err == nil && kind == "sqlite" {
		dir = filepath.Dir(path)
	}
	return filepath.Join(dir, "local-admin.key")
}

// ensureLocalKey returns the local admin key in path, making it (mode
// 0600, directory 0700) on first start. A key file others may read is
// refused rather than used.
func ensureLocalKey(path string) (string, error) {
	k, err := client.ReadKeyFile(path)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	k, err = api.GenerateKey()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return client.ReadKeyFile(path) // another server made it meanwhile
	}
	if err != nil {
		return "", fmt.Errorf("local admin key: %w", err)
	}
	if _, err := f.WriteString(k + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return "", fmt.Errorf("local admin key: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("local admin key: %w", err)
	}
	return k, nil
}

// localClientKey is the key a client command uses when given none: the
// local admin key of the server at apiURL on this machine, found through
// its record, else the one beside $NETAUTO_DB (or the default store).
func localClientKey(apiURL string) string {
	if k := client.LocalKey(apiURL); k != "" {
		return k
	}
	if !loopbackURL(apiURL) {
		return ""
	}
	k, err := client.ReadKeyFile(localKeyPath(envOr(EnvDB, DefaultDB)))
	if err != nil {
		return ""
	}
	return k
}

// loopbackURL reports whether a URL's host is localhost or a loopback
// address: the only servers a local key is sent to.
func loopbackURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// loadKeys reads the server's API keys from $NETAUTO_API_KEYS and the
// file $NETAUTO_API_KEYS_FILE names. Bare keys (the format of earlier
// versions) are accepted as admin, each with a notice saying what to
// write instead.
func loadKeys() (ks *api.KeySet, deprecated []string, err error) {
	ks, deprecated, err = api.ParseKeys(os.Getenv(EnvAPIKeys))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", EnvAPIKeys, err)
	}
	if path := os.Getenv(EnvAPIKeysFile); path != "" {
		fk, err := api.ReadKeysFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", EnvAPIKeysFile, err)
		}
		if err := ks.Merge(fk); err != nil {
			return nil, nil, fmt.Errorf("%s and %s: %w", EnvAPIKeys, EnvAPIKeysFile, err)
		}
	}
	return ks, deprecated, nil
}
