package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

// A sensitive result (flow.Result.Sensitive) is kept in its text column
// as "sealed:" and the base64 of its JSON sealed with the store's key,
// bound to where it is stored. No JSON text starts with "s", so a sealed
// value is never mistaken for a plain one, and no migration was needed.
const sealedPrefix = "sealed:"

func resultWhere(flowRun, taskKey string) string {
	return "result " + strconv.Quote(flowRun+"/"+taskKey)
}

func cacheWhere(key string) string { return "cache " + strconv.Quote(key) }

// resultText is the text a result value is stored as: its JSON, sealed
// at where when sensitive. A sensitive value without a key is an op
// error: it is refused rather than kept in plaintext.
func (db *DB) resultText(field string, v json.RawMessage, sensitive bool, where string) (string, error) {
	t, err := jsonText(field, v)
	if err != nil || !sensitive {
		return t, err
	}
	if db.keys.Current == nil {
		return "", invalid(field, "a sensitive result needs the store's secret key to be encrypted with ("+store.EnvSecretKey+")")
	}
	return sealedPrefix + base64.StdEncoding.EncodeToString(db.keys.Current.Seal([]byte(t), where)), nil
}

// openResult returns the JSON of a stored result text, opening a sealed
// one.
func (db *DB) openResult(text, where string) (json.RawMessage, error) {
	b64, sealed := strings.CutPrefix(text, sealedPrefix)
	if !sealed {
		return json.RawMessage(text), nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, &store.DecryptError{What: where}
	}
	plain, err := db.keys.Open(raw, where)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(plain), nil
}

// RotateKey implements store.KeyRotator: every secret, secret block field
// and sensitive result not sealed with to is opened with the store's keys
// and sealed again with to, in one transaction; the store then seals with
// to and still opens with the keys it had.
func (db *DB) RotateKey(ctx context.Context, to *store.Key) (store.RotateReport, error) {
	if to == nil {
		return store.RotateReport{}, invalid("key", "no key to rotate to")
	}
	ring := store.Keyring{Current: to, Previous: append([]*store.Key{db.keys.Current}, db.keys.Previous...)}
	rep := store.RotateReport{Key: to.ID()}
	from := map[string]bool{}
	reseal := func(sealed []byte, where string) ([]byte, bool, error) {
		id, ok := store.SealedKeyID(sealed)
		if ok && id == to.ID() {
			return nil, false, nil
		}
		if !ok {
			id = "(unnamed)"
		}
		from[id] = true
		plain, err := ring.Open(sealed, where)
		if err != nil {
			return nil, false, err
		}
		return to.Seal(plain, where), true, nil
	}
	resealText := func(text, where string) (string, bool, error) {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(text, sealedPrefix))
		if err != nil {
			return "", false, &store.DecryptError{What: where}
		}
		out, changed, err := reseal(raw, where)
		if err != nil || !changed {
			return "", false, err
		}
		return sealedPrefix + base64.StdEncoding.EncodeToString(out), true, nil
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		rep.Secrets, rep.Blocks, rep.Results = 0, 0, 0
		clear(from)
		type row struct {
			k1, k2, k3 string
			sealed     []byte
		}
		readAll := func(q string, scan func(*sql.Rows, *row) error) ([]row, error) {
			rows, err := db.queryTx(ctx, tx, q)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []row
			for rows.Next() {
				var r row
				if err := scan(rows, &r); err != nil {
					return nil, err
				}
				out = append(out, r)
			}
			return out, rows.Err()
		}
		secrets, err := readAll(`SELECT name, value FROM secrets`, func(rs *sql.Rows, r *row) error { return rs.Scan(&r.k1, &r.sealed) })
		if err != nil {
			return fmt.Errorf("read secrets: %w", err)
		}
		for _, r := range secrets {
			out, changed, err := reseal(r.sealed, secretWhere(r.k1))
			if err != nil {
				return err
			}
			if changed {
				if _, err := db.execTx(ctx, tx, `UPDATE secrets SET value = $2 WHERE name = $1`, r.k1, out); err != nil {
					return fmt.Errorf("rewrite secret %q: %w", r.k1, err)
				}
				rep.Secrets++
			}
		}
		blocks, err := readAll(`SELECT name, secrets FROM blocks WHERE secrets IS NOT NULL`, func(rs *sql.Rows, r *row) error { return rs.Scan(&r.k1, &r.sealed) })
		if err != nil {
			return fmt.Errorf("read blocks: %w", err)
		}
		for _, r := range blocks {
			out, changed, err := reseal(r.sealed, blockWhere(r.k1))
			if err != nil {
				return err
			}
			if changed {
				if _, err := db.execTx(ctx, tx, `UPDATE blocks SET secrets = $2 WHERE name = $1`, r.k1, out); err != nil {
					return fmt.Errorf("rewrite block %q: %w", r.k1, err)
				}
				rep.Blocks++
			}
		}
		scan4 := func(rs *sql.Rows, r *row) error { return rs.Scan(&r.k1, &r.k2, &r.k3, &r.sealed) }
		for _, t := range []struct {
			sel   string
			where func(row) string
			write func(out string, r row) error
		}{
			{`SELECT flow_run_id, task_key, '', value FROM results WHERE value LIKE 'sealed:%'`,
				func(r row) string { return resultWhere(r.k1, r.k2) },
				func(out string, r row) error {
					_, err := db.execTx(ctx, tx, `UPDATE results SET value = $1 WHERE flow_run_id = $2 AND task_key = $3`, out, r.k1, r.k2)
					return err
				}},
			{`SELECT flow_run_id, task_key, id, result FROM task_runs WHERE result LIKE 'sealed:%'`,
				func(r row) string { return resultWhere(r.k1, r.k2) },
				func(out string, r row) error {
					_, err := db.execTx(ctx, tx, `UPDATE task_runs SET result = $1 WHERE id = $2`, out, r.k3)
					return err
				}},
			{`SELECT key, '', '', value FROM cache WHERE value LIKE 'sealed:%'`,
				func(r row) string { return cacheWhere(r.k1) },
				func(out string, r row) error {
					_, err := db.execTx(ctx, tx, `UPDATE cache SET value = $1 WHERE key = $2`, out, r.k1)
					return err
				}},
		} {
			rows, err := readAll(t.sel, scan4)
			if err != nil {
				return fmt.Errorf("read sensitive results: %w", err)
			}
			for _, r := range rows {
				out, changed, err := resealText(string(r.sealed), t.where(r))
				if err != nil {
					return err
				}
				if !changed {
					continue
				}
				if err := t.write(out, r); err != nil {
					return fmt.Errorf("rewrite sensitive result: %w", err)
				}
				rep.Results++
			}
		}
		return nil
	})
	if err != nil {
		return store.RotateReport{}, fmt.Errorf("rotate secret key: %w", err)
	}
	for id := range from {
		rep.From = append(rep.From, id)
	}
	db.keys = ring
	return rep, nil
}
