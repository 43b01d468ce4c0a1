package api

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

// Role is what the holder of an API key may do. A key has exactly one.
type Role string

// The roles. Each grants the permissions [Role.Can] lists.
const (
	// RoleViewer reads everything the API shows (secret values never).
	RoleViewer Role = "viewer"
	// RoleOperator reads, creates and cancels runs, and pauses and
	// unpauses deployments.
	RoleOperator Role = "operator"
	// RoleApprover reads and resumes runs waiting for an approval, and
	// lets runs waiting for their change window start outside it.
	RoleApprover Role = "approver"
	// RoleWorker claims runs of its pools, heartbeats, renews leases and
	// mints the run tokens of the runs it claimed; it reads, and
	// administers nothing.
	RoleWorker Role = "worker"
	// RoleAdmin may do everything.
	RoleAdmin Role = "admin"
)

// Roles lists the roles, least powerful first.
var Roles = []Role{RoleViewer, RoleOperator, RoleApprover, RoleWorker, RoleAdmin}

// Permission is what a route needs of the caller's role.
type Permission string

// The permissions.
const (
	// PermRead reads flows, deployments, runs, logs, pools, workers,
	// blocks (secrets masked), variables, events and metrics.
	PermRead Permission = "read"
	// PermRunsCreate creates runs of deployments.
	PermRunsCreate Permission = "runs.create"
	// PermRunsCancel cancels runs.
	PermRunsCancel Permission = "runs.cancel"
	// PermDeploymentsPause pauses and unpauses deployments.
	PermDeploymentsPause Permission = "deployments.pause"
	// PermRunsResume resumes runs paused for an approval.
	PermRunsResume Permission = "runs.resume"
	// PermRunsOverrideWindow lets a run waiting for its change window
	// (AwaitingWindow) start at once, with a reason.
	PermRunsOverrideWindow Permission = "runs.override-window"
	// PermRunSecrets lets a run's own job variables reference secrets
	// and blocks ({{ secrets.NAME }}, {{ blocks.NAME.FIELD }}): what the
	// run's command may then print into its logs.
	PermRunSecrets Permission = "runs.secret-references"
	// PermWork claims runs, heartbeats, renews leases and mints run
	// tokens, for the pools of the key (every pool when it names none).
	PermWork Permission = "work"
	// PermAdmin applies flows, deployments, pools, queues, blocks,
	// variables and tag limits, sets run states and reads the engine's
	// results and cache.
	PermAdmin Permission = "admin"
)

// Can reports whether the role grants p.
func (r Role) Can(p Permission) bool {
	switch r {
	case RoleAdmin:
		return true
	case RoleViewer:
		return p == PermRead
	case RoleOperator:
		return p == PermRead || p == PermRunsCreate || p == PermRunsCancel || p == PermDeploymentsPause
	case RoleApprover:
		return p == PermRead || p == PermRunsResume || p == PermRunsOverrideWindow
	case RoleWorker:
		return p == PermRead || p == PermWork
	}
	return false
}

// Valid reports whether r is one of [Roles].
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// KeyInfo is an API key's identity: what is recorded on what it does and
// shown by the API. It never holds the key.
type KeyInfo struct {
	// Name identifies the key holder ("ci-deploy", "worker-1").
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Pools restricts a worker key to these work pools; empty means all.
	Pools []string `json:"pools,omitempty"`
}

var keyNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (k KeyInfo) check() error {
	if !keyNameRe.MatchString(k.Name) {
		return errors.New("key name: want 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if !k.Role.Valid() {
		return fmt.Errorf("role %q: want one of viewer, operator, approver, worker, admin", truncateName(string(k.Role)))
	}
	if len(k.Pools) > 0 && k.Role != RoleWorker {
		return errors.New("only worker keys are restricted to pools")
	}
	for _, p := range k.Pools {
		if strings.TrimSpace(p) == "" {
			return errors.New("empty pool name")
		}
	}
	return nil
}

// allowsPool reports whether the key may work on pool.
func (k KeyInfo) allowsPool(pool string) bool {
	return len(k.Pools) == 0 || slices.Contains(k.Pools, pool)
}

// KeySet holds named API keys as SHA-256 hashes; the keys themselves are
// never kept. A plain hash (no salt, no key stretching) is enough because
// keys are 256-bit random values ([GenerateKey]): nobody can guess one
// from its hash, so a leaked hash list does not leak the keys, and
// checking a key stays one hash per request. Do not use it for passwords
// people choose.
type KeySet struct {
	entries []keyEntry
}

type keyEntry struct {
	hash [sha256.Size]byte
	info KeyInfo
}

// NewKeySet returns a KeySet accepting, as admin, the keys whose hashes
// are given, as [HashKey] prints them ("sha256:" and 64 hex digits). Each
// is named "key-" and the first 8 hex digits of its hash.
func NewKeySet(hashes ...string) (*KeySet, error) {
	ks := &KeySet{}
	for i, h := range hashes {
		sum, err := parseHash(h)
		if err != nil {
			return nil, fmt.Errorf("api key hash %d: %w", i, err)
		}
		if err := ks.add(sum, KeyInfo{Name: anonName(sum), Role: RoleAdmin}); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

// KeySetFromKeys returns a KeySet accepting the given plain keys as
// admin, each named like [NewKeySet]'s; only their hashes are kept. Keys
// shorter than 16 characters are refused: they could be guessed.
func KeySetFromKeys(keys ...string) (*KeySet, error) {
	ks := &KeySet{}
	for i, k := range keys {
		if len(k) < 16 {
			return nil, fmt.Errorf("api key %d: shorter than 16 characters", i)
		}
		sum := sha256.Sum256([]byte(k))
		if err := ks.add(sum, KeyInfo{Name: anonName(sum), Role: RoleAdmin}); err != nil {
			return nil, err
		}
	}
	return ks, nil
}

func anonName(sum [sha256.Size]byte) string { return "key-" + hex.EncodeToString(sum[:4]) }

func parseHash(h string) ([sha256.Size]byte, error) {
	raw, ok := strings.CutPrefix(strings.TrimSpace(h), "sha256:")
	b, err := hex.DecodeString(raw)
	if !ok || err != nil || len(b) != sha256.Size {
		return [sha256.Size]byte{}, errors.New("want sha256: and 64 hex digits")
	}
	return [sha256.Size]byte(b), nil
}

// Add adds a plain key (at least 16 characters) under info.
func (ks *KeySet) Add(info KeyInfo, key string) error {
	if len(key) < 16 {
		return errors.New("key shorter than 16 characters")
	}
	return ks.add(sha256.Sum256([]byte(key)), info)
}

// AddHash adds a key by its hash ([HashKey]'s form) under info.
func (ks *KeySet) AddHash(info KeyInfo, hash string) error {
	sum, err := parseHash(hash)
	if err != nil {
		return fmt.Errorf("key hash: %w", err)
	}
	return ks.add(sum, info)
}

func (ks *KeySet) add(sum [sha256.Size]byte, info KeyInfo) error {
	if err := info.check(); err != nil {
		return err
	}
	for _, e := range ks.entries {
		switch {
		case e.info.Name == info.Name:
			return errors.New("key name given twice")
		case e.hash == sum:
			return errors.New("the same key twice, under two names")
		}
	}
	info.Pools = slices.Clone(info.Pools)
	ks.entries = append(ks.entries, keyEntry{hash: sum, info: info})
	return nil
}

// Merge adds every key of other.
func (ks *KeySet) Merge(other *KeySet) error {
	if other == nil {
		return nil
	}
	for _, e := range other.entries {
		if err := ks.add(e.hash, e.info); err != nil {
			return err
		}
	}
	return nil
}

// Len returns how many keys the set accepts; a nil set accepts none.
func (ks *KeySet) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.entries)
}

// Lookup returns the identity of key, if the set holds it. It compares
// with every stored hash in constant time, so the answer time says
// nothing about which hash came close.
func (ks *KeySet) Lookup(key string) (KeyInfo, bool) {
	if ks == nil {
		return KeyInfo{}, false
	}
	h := sha256.Sum256([]byte(key))
	found := -1
	for i := range ks.entries {
		if subtle.ConstantTimeCompare(h[:], ks.entries[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return KeyInfo{}, false
	}
	return ks.entries[found].info, true
}

// Accepts reports whether key is in the set (see [KeySet.Lookup]).
func (ks *KeySet) Accepts(key string) bool {
	_, ok := ks.Lookup(key)
	return ok
}

// Keys returns the identities of the keys, in the order added.
func (ks *KeySet) Keys() []KeyInfo {
	if ks == nil {
		return nil
	}
	out := make([]KeyInfo, len(ks.entries))
	for i, e := range ks.entries {
		out[i] = e.info
	}
	return out
}

// String describes the set without any hash.
func (ks *KeySet) String() string { return fmt.Sprintf("%d API keys", ks.Len()) }

// ParseKeys reads the NETAUTO_API_KEYS format: comma-separated entries,
// each
//
//	NAME:ROLE:KEY            a plain key (at least 16 characters)
//	NAME:ROLE:sha256:HEX     a key by its hash (HashKey's form)
//
// where ROLE is viewer, operator, approver, admin or worker (a plain key
// that is an example's placeholder or has little entropy is refused,
// see [store.CheckSecretValue]), and a worker
// key may be restricted to pools with worker@POOL+POOL. An entry without
// any ':' is the format of earlier versions: a plain admin key, accepted
// with a deprecation notice in deprecated (the line to write instead
// names it as [NewKeySet] does, key-<hash prefix>). Errors name the
// entry by position, never by its key.
func ParseKeys(spec string) (ks *KeySet, deprecated []string, err error) {
	ks = &KeySet{}
	n := 0
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		n++
		if !strings.Contains(entry, ":") {
			if len(entry) < 16 {
				return nil, nil, fmt.Errorf("api key entry %d: shorter than 16 characters", n)
			}
			if err := store.CheckSecretValue(fmt.Sprintf("api key entry %d", n), entry); err != nil {
				return nil, nil, err
			}
			sum := sha256.Sum256([]byte(entry))
			info := KeyInfo{Name: anonName(sum), Role: RoleAdmin}
			if err := ks.add(sum, info); err != nil {
				return nil, nil, fmt.Errorf("api key entry %d: %w", n, err)
			}
			deprecated = append(deprecated, fmt.Sprintf("api key entry %d is a bare key, accepted as admin %q; write it as NAME:ROLE:KEY (%s:admin:<the key>, or a narrower role)", n, info.Name, info.Name))
			continue
		}
		name, rest, _ := strings.Cut(entry, ":")
		role, key, ok := strings.Cut(rest, ":")
		if !ok || key == "" {
			return nil, nil, fmt.Errorf("api key entry %d: want NAME:ROLE:KEY or NAME:ROLE:sha256:HEX", n)
		}
		info := KeyInfo{Name: name, Role: Role(role)}
		if r, pools, ok := strings.Cut(role, "@"); ok {
			info.Role, info.Pools = Role(r), strings.Split(pools, "+")
		}
		if strings.HasPrefix(key, "sha256:") {
			err = ks.AddHash(info, key)
		} else if err = store.CheckSecretValue("key", key); err == nil {
			err = ks.Add(info, key)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("api key entry %d: %w", n, err)
		}
	}
	return ks, deprecated, nil
}

// ReadKeysFile reads a keys file: one key per line, fields separated by
// white space,
//
//	NAME ROLE sha256:HEX [POOL...]
//
// (pools only for worker keys), blank lines and lines starting with '#'
// ignored. The file holds hashes only, never keys; [HashKey] or the
// `keys new` command print the hash of a key. A file that others than
// its owner may write is refused: whoever writes it chooses the keys.
func ReadKeysFile(path string) (*KeySet, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("api keys file: %w", err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("api keys file %s: writable by group or others (mode %v): chmod go-w it", path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("api keys file: %w", err)
	}
	defer f.Close()
	ks := &KeySet{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 3 {
			return nil, fmt.Errorf("api keys file %s:%d: want NAME ROLE sha256:HEX [POOL...]", path, line)
		}
		info := KeyInfo{Name: fields[0], Role: Role(fields[1]), Pools: fields[3:]}
		if err := ks.AddHash(info, fields[2]); err != nil {
			return nil, fmt.Errorf("api keys file %s:%d (%s): %w", path, line, truncateName(info.Name), err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("api keys file %s: %w", path, err)
	}
	return ks, nil
}

// truncateName keeps an echoed value short: a mistyped entry may have a
// key where a role belongs.
func truncateName(s string) string {
	if len(s) > 12 {
		return "…"
	}
	return s
}

// KeyLine returns the keys-file line of a key (its hash, never the key).
func KeyLine(info KeyInfo, key string) string {
	line := info.Name + " " + string(info.Role) + " " + HashKey(key)
	for _, p := range info.Pools {
		line += " " + p
	}
	return line
}
