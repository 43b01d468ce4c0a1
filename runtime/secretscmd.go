package runtime

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

// cmdSecrets is `secrets rotate --new-key-file PATH [--generate]`: every
// secret, secret block field and sensitive result of the store is sealed
// again with the new key, in one transaction. The store is opened with
// the current key (NETAUTO_SECRET_KEY or _FILE) and the keys rotated out
// before (NETAUTO_SECRET_KEY_PREVIOUS). --generate first writes a new
// random key to PATH (mode 0600), which must not exist.
func cmdSecrets(e *env, args []string) error {
	if !slices.Contains(args, "rotate") {
		sub, rest := subcommand(args, "list")
		switch sub {
		case "list", "set", "delete":
			return cmdSecretsAPI(e, sub, rest)
		}
		return usagef("unknown secrets command %q: want list, set, delete or rotate", sub)
	}
	fs := e.flags("secrets")
	db := dbFlag(fs)
	newKeyFile := fs.String("new-key-file", "", "file holding the new key (32 bytes, standard base64); required")
	generate := fs.Bool("generate", false, "write a new random key to --new-key-file first (the file must not exist)")
	pos, err := parse(fs, args, "rotate")
	if err != nil {
		return err
	}
	if pos[0] != "rotate" {
		return usagef("unknown secrets command %q: want list, set, delete or rotate", pos[0])
	}
	if *newKeyFile == "" {
		return usagef("--new-key-file is required")
	}
	if *generate {
		if err := writeNewKey(*newKeyFile); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(*newKeyFile)
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	newKey, err := store.ParseKey(string(b))
	if err != nil {
		return fmt.Errorf("new key %s: %w", *newKeyFile, err)
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err := store.CheckKeyBytes("--new-key-file", raw); err != nil {
		return err
	}
	st, err := openStore(e.ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	rot, ok := store.As[store.KeyRotator](st)
	if !ok {
		return errors.New("this store cannot rotate its key")
	}
	rep, err := rot.RotateKey(e.ctx, newKey)
	if err != nil {
		return err
	}
	from := "none"
	if len(rep.From) > 0 {
		from = strings.Join(rep.From, ", ")
	}
	fmt.Fprintf(e.stdout, "sealed again under key %s (was %s): %d secrets, %d blocks, %d sensitive results\n", rep.Key, from, rep.Secrets, rep.Blocks, rep.Results)
	fmt.Fprintf(e.stdout, "now give every server and worker the new key (%s=%s, or its value in %s), keep the old one in %s until all restarted, then run rotate again and drop it\n",
		store.EnvSecretKeyFile, *newKeyFile, store.EnvSecretKey, store.EnvSecretKeyPrevious)
	return nil
}

// writeNewKey writes a new random key to path, which must not exist.
func writeNewKey(path string) error {
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return usagef("--generate: %s exists; give a new file", path)
	}
	if err != nil {
		return fmt.Errorf("new key: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(raw) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("new key: %w", err)
	}
	return f.Close()
}
