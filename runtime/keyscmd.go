package runtime

import (
	"fmt"
	"strings"

	"github.com/netauto-dev/netauto/runtime/api"
)

// cmdKeys makes a new API key: `keys new NAME [--role ROLE] [--pools
// P,...]` prints the key (once: only its hash is ever stored), the
// NETAUTO_API_KEYS entry holding its hash, and its keys-file line.
func cmdKeys(e *env, args []string) error {
	fs := e.flags("keys")
	role := fs.String("role", string(api.RoleOperator), "role: viewer, operator, approver, worker or admin")
	pools := fs.String("pools", "", "worker keys: the pools the key may work on, comma-separated (default every pool)")
	pos, err := parse(fs, args, "new", "NAME")
	if err != nil {
		return err
	}
	if pos[0] != "new" {
		return usagef("unknown keys command %q: want new", pos[0])
	}
	info := api.KeyInfo{Name: pos[1], Role: api.Role(*role), Pools: splitList(*pools)}
	key, err := api.GenerateKey()
	if err != nil {
		return err
	}
	if err := (&api.KeySet{}).Add(info, key); err != nil {
		return &UsageError{Msg: err.Error()}
	}
	role2 := string(info.Role)
	if len(info.Pools) > 0 {
		role2 += "@" + strings.Join(info.Pools, "+")
	}
	fmt.Fprintf(e.stdout, "key (give it to %s; it is not shown again):\n  %s\n", info.Name, key)
	fmt.Fprintf(e.stdout, "server, in %s (hash only):\n  %s:%s:%s\n", EnvAPIKeys, info.Name, role2, api.HashKey(key))
	fmt.Fprintf(e.stdout, "or as a line of the file %s names:\n  %s\n", EnvAPIKeysFile, api.KeyLine(info, key))
	return nil
}
