package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

// keyFor returns the store's current key, or a *store.KeyRequiredError.
func (db *DB) keyFor() (*store.Key, error) {
	if db.keys.Current == nil {
		return nil, &store.KeyRequiredError{}
	}
	return db.keys.Current, nil
}

// SaveBlock implements store.Configs.
func (db *DB) SaveBlock(ctx context.Context, b store.Block) error {
	if strings.TrimSpace(b.Name) == "" {
		return invalid("name", "empty")
	}
	if err := checkText("name", b.Name, "type", b.Type); err != nil {
		return err
	}
	if err := jsonObject("data", b.Data); err != nil {
		return fmt.Errorf("block %q: %w", b.Name, err)
	}
	data, err := jsonText("data", b.Data)
	if err != nil {
		return fmt.Errorf("block %q: %w", b.Name, err)
	}
	fields := slices.Sorted(maps.Keys(b.Secrets))
	var sealed []byte
	if len(b.Secrets) > 0 {
		key, err := db.keyFor()
		if err != nil {
			return fmt.Errorf("block %q: %w", b.Name, err)
		}
		plain := make(map[string]string, len(b.Secrets))
		for k, v := range b.Secrets {
			plain[k] = v.Reveal()
		}
		sealed = key.Seal([]byte(mustJSON(plain)), blockWhere(b.Name))
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.execTx(ctx, tx, `INSERT INTO blocks (name, type, data, secret_fields, secrets, updated) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (name) DO UPDATE SET type = excluded.type, data = excluded.data, secret_fields = excluded.secret_fields,
				secrets = excluded.secrets, updated = excluded.updated`,
			b.Name, b.Type, data, mustJSON(fields), sealed, micros(db.now()))
		if err != nil {
			return fmt.Errorf("save block %q: %w", b.Name, err)
		}
		// Runs held by a calendar in this block are checked again.
		users, err := db.calendarUsers(ctx, tx, b.Name)
		if err != nil {
			return err
		}
		return db.recheckWindows(ctx, tx, users, db.now())
	})
}

func blockWhere(name string) string { return "block " + fmt.Sprintf("%q", name) }

// GetBlock implements store.Configs.
func (db *DB) GetBlock(ctx context.Context, name string) (store.Block, error) {
	var (
		b            store.Block
		data, fields string
		sealed       []byte
		updated      int64
	)
	err := db.row(ctx, nil, `SELECT name, type, data, secret_fields, secrets, updated FROM blocks WHERE name = $1`, name).
		Scan(&b.Name, &b.Type, &data, &fields, &sealed, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return b, notFound("block", name)
	}
	if err != nil {
		return b, fmt.Errorf("read block %q: %w", name, err)
	}
	b.Data, b.Updated = json.RawMessage(data), fromMicros(updated)
	if err := json.Unmarshal([]byte(fields), &b.SecretFields); err != nil {
		return b, fmt.Errorf("block %q: decode secret fields: %w", name, err)
	}
	if sealed == nil {
		return b, nil
	}
	plain, err := db.keys.Open(sealed, blockWhere(name))
	if errors.Is(err, store.ErrKeyRequired) {
		return b, fmt.Errorf("block %q: %w", name, err)
	}
	if err != nil {
		return b, err
	}
	var m map[string]string
	if err := json.Unmarshal(plain, &m); err != nil {
		return b, fmt.Errorf("block %q: decode decrypted secrets: malformed", name)
	}
	b.Secrets = make(map[string]store.Secret, len(m))
	for k, v := range m {
		b.Secrets[k] = store.NewSecret(v)
	}
	return b, nil
}

// ListBlocks implements store.Configs.
func (db *DB) ListBlocks(ctx context.Context) ([]store.Block, error) {
	return queryAll(ctx, db, "list blocks", func(s scanner) (store.Block, error) {
		var (
			b            store.Block
			data, fields string
			updated      int64
		)
		if err := s.Scan(&b.Name, &b.Type, &data, &fields, &updated); err != nil {
			return b, err
		}
		b.Data, b.Updated = json.RawMessage(data), fromMicros(updated)
		return b, json.Unmarshal([]byte(fields), &b.SecretFields)
	}, `SELECT name, type, data, secret_fields, updated FROM blocks ORDER BY name`)
}

// DeleteBlock implements store.Configs.
func (db *DB) DeleteBlock(ctx context.Context, name string) error {
	return db.execOne(ctx, "block", name, `DELETE FROM blocks WHERE name = $1`, name)
}

func secretWhere(name string) string { return "secret " + fmt.Sprintf("%q", name) }

// PutSecret implements store.Configs.
func (db *DB) PutSecret(ctx context.Context, name string, value store.Secret) error {
	if strings.TrimSpace(name) == "" {
		return invalid("name", "empty")
	}
	if err := checkText("name", name); err != nil {
		return err
	}
	key, err := db.keyFor()
	if err != nil {
		return fmt.Errorf("secret %q: %w", name, err)
	}
	sealed := key.Seal([]byte(value.Reveal()), secretWhere(name))
	now := micros(db.now())
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.execTx(ctx, tx, `INSERT INTO secrets (name, value, created, updated) VALUES ($1, $2, $3, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated`, name, sealed, now)
		if err != nil {
			return fmt.Errorf("store secret %q: %w", name, err)
		}
		return nil
	})
}

// GetSecret implements store.Configs.
func (db *DB) GetSecret(ctx context.Context, name string) (store.Secret, error) {
	var sealed []byte
	err := db.row(ctx, nil, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Secret{}, notFound("secret", name)
	}
	if err != nil {
		return store.Secret{}, fmt.Errorf("read secret %q: %w", name, err)
	}
	plain, err := db.keys.Open(sealed, secretWhere(name))
	if errors.Is(err, store.ErrKeyRequired) {
		return store.Secret{}, fmt.Errorf("secret %q: %w", name, err)
	}
	if err != nil {
		return store.Secret{}, err
	}
	return store.NewSecret(string(plain)), nil
}

// ListSecrets implements store.Configs.
func (db *DB) ListSecrets(ctx context.Context) ([]store.SecretInfo, error) {
	return queryAll(ctx, db, "list secrets", func(s scanner) (store.SecretInfo, error) {
		var (
			i          store.SecretInfo
			created, u int64
		)
		err := s.Scan(&i.Name, &created, &u)
		i.Created, i.Updated = fromMicros(created), fromMicros(u)
		return i, err
	}, `SELECT name, created, updated FROM secrets ORDER BY name`)
}

// DeleteSecret implements store.Configs.
func (db *DB) DeleteSecret(ctx context.Context, name string) error {
	return db.execOne(ctx, "secret", name, `DELETE FROM secrets WHERE name = $1`, name)
}

// SetVariable implements store.Configs.
func (db *DB) SetVariable(ctx context.Context, name string, value json.RawMessage) error {
	if strings.TrimSpace(name) == "" {
		return invalid("name", "empty")
	}
	if err := checkText("name", name); err != nil {
		return err
	}
	if len(value) == 0 || !json.Valid(value) {
		return invalid("value", "not valid JSON")
	}
	if _, err := jsonText("value", value); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.execTx(ctx, tx, `INSERT INTO variables (name, value, updated) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated`, name, string(value), micros(db.now()))
		if err != nil {
			return fmt.Errorf("set variable %q: %w", name, err)
		}
		return nil
	})
}

// GetVariable implements store.Configs.
func (db *DB) GetVariable(ctx context.Context, name string) (json.RawMessage, error) {
	var v string
	err := db.row(ctx, nil, `SELECT value FROM variables WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("variable", name)
	}
	if err != nil {
		return nil, fmt.Errorf("read variable %q: %w", name, err)
	}
	return json.RawMessage(v), nil
}

// ListVariables implements store.Configs.
func (db *DB) ListVariables(ctx context.Context) (map[string]json.RawMessage, error) {
	type kv struct {
		k string
		v json.RawMessage
	}
	all, err := queryAll(ctx, db, "list variables", func(s scanner) (kv, error) {
		var (
			p kv
			v string
		)
		err := s.Scan(&p.k, &v)
		p.v = json.RawMessage(v)
		return p, err
	}, `SELECT name, value FROM variables`)
	if err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(all))
	for _, p := range all {
		out[p.k] = p.v
	}
	return out, nil
}

// DeleteVariable implements store.Configs.
func (db *DB) DeleteVariable(ctx context.Context, name string) error {
	return db.execOne(ctx, "variable", name, `DELETE FROM variables WHERE name = $1`, name)
}
