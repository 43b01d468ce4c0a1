package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// RegisterFlow implements store.Flows.
func (db *DB) RegisterFlow(ctx context.Context, f store.Flow) error {
	if strings.TrimSpace(f.Name) == "" {
		return invalid("name", "empty")
	}
	if err := checkText("name", f.Name, "version", f.Version, "description", f.Description); err != nil {
		return err
	}
	schema, err := jsonText("parameters", f.Parameters)
	if err != nil {
		return err
	}
	if f.Registered.IsZero() {
		f.Registered = db.now()
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.execTx(ctx, tx, `INSERT INTO flows (name, version, description, parameters, registered) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name, version) DO UPDATE SET description = excluded.description, parameters = excluded.parameters, registered = excluded.registered`,
			f.Name, f.Version, f.Description, schema, micros(f.Registered))
		if err != nil {
			return fmt.Errorf("register flow %q: %w", f.Name, err)
		}
		return nil
	})
}

const flowCols = `name, version, description, parameters, registered`

func scanFlow(s scanner) (store.Flow, error) {
	var (
		f      store.Flow
		schema string
		reg    int64
	)
	if err := s.Scan(&f.Name, &f.Version, &f.Description, &schema, &reg); err != nil {
		return f, err
	}
	f.Parameters = rawJSON(schema)
	f.Registered = fromMicros(reg)
	return f, nil
}

// GetFlow implements store.Flows.
func (db *DB) GetFlow(ctx context.Context, name string) (store.Flow, error) {
	f, err := scanFlow(db.row(ctx, nil, `SELECT `+flowCols+` FROM flows WHERE name = $1 ORDER BY registered DESC, version DESC LIMIT 1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return f, notFound("flow", name)
	}
	if err != nil {
		return f, fmt.Errorf("read flow %q: %w", name, err)
	}
	return f, nil
}

// ListFlows implements store.Flows.
func (db *DB) ListFlows(ctx context.Context) ([]store.Flow, error) {
	rows, err := db.queryTx(ctx, nil, `SELECT `+flowCols+` FROM flows f WHERE NOT EXISTS (
		SELECT 1 FROM flows g WHERE g.name = f.name AND (g.registered > f.registered OR (g.registered = f.registered AND g.version > f.version)))
		ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	defer rows.Close()
	var out []store.Flow
	for rows.Next() {
		f, err := scanFlow(rows)
		if err != nil {
			return nil, fmt.Errorf("list flows: %w", err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list flows: %w", err)
	}
	return out, nil
}

func validateDeployment(d *store.Deployment) error {
	if err := checkText("name", d.Name, "flow", d.Flow, "description", d.Description, "pool", d.Pool, "queue", d.Queue); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(d.Name) == "":
		return invalid("name", "empty")
	case strings.TrimSpace(d.Flow) == "":
		return invalid("flow", "empty")
	case d.ConcurrencyLimit < 0:
		return invalid("concurrency_limit", "negative")
	case d.Retries < 0:
		return invalid("retries", "negative")
	case d.RetryDelay < 0:
		return invalid("retry_delay", "negative")
	}
	if err := checkInt32("retries", d.Retries); err != nil {
		return err
	}
	if d.Collision == "" {
		d.Collision = store.CollisionEnqueue
	}
	if d.Collision != store.CollisionEnqueue && d.Collision != store.CollisionCancelNew {
		return invalid("collision", fmt.Sprintf("%q: want %q or %q", d.Collision, store.CollisionEnqueue, store.CollisionCancelNew))
	}
	if d.LatePolicy == "" {
		d.LatePolicy = store.LateRunAll
	}
	switch d.LatePolicy {
	case store.LateRunAll, store.LateRunLatest, store.LateSkip:
	default:
		return invalid("late_policy", fmt.Sprintf("%q: want %q, %q or %q", d.LatePolicy, store.LateRunAll, store.LateRunLatest, store.LateSkip))
	}
	if err := jsonObject("parameters", d.Parameters); err != nil {
		return err
	}
	if err := jsonObject("job_variables", d.JobVariables); err != nil {
		return err
	}
	for i, s := range d.Schedules {
		field := fmt.Sprintf("schedules[%d]", i)
		switch {
		case (s.Cron == "") == (s.Interval == 0):
			return invalid(field, "set exactly one of cron and interval")
		case s.Interval < 0:
			return invalid(field+".interval", "negative")
		case s.Cron != "":
			if _, err := cron.ParseStandard(s.Cron); err != nil {
				return invalid(field+".cron", fmt.Sprintf("%q: %v", s.Cron, err))
			}
		}
		if s.Timezone != "" {
			if _, err := time.LoadLocation(s.Timezone); err != nil {
				return invalid(field+".timezone", fmt.Sprintf("%q: unknown time zone", s.Timezone))
			}
		}
		if err := jsonObject(field+".parameters", s.Parameters); err != nil {
			return err
		}
	}
	if d.Source != nil && strings.TrimSpace(d.Source.Repository) == "" {
		return invalid("source.repository", "empty")
	}
	return validateCalendar(d.Calendar)
}

// jsonObject checks that v is empty, null or a JSON object.
func jsonObject(field string, v json.RawMessage) error {
	t := bytes.TrimSpace(v)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	if !json.Valid(t) || t[0] != '{' {
		return invalid(field, "want a JSON object")
	}
	return nil
}

// ApplyDeployment implements store.Deployments.
func (db *DB) ApplyDeployment(ctx context.Context, d store.Deployment) (store.DeploymentChange, error) {
	if err := validateDeployment(&d); err != nil {
		return store.DeploymentChange{}, fmt.Errorf("deployment %q: %w", d.Name, err)
	}
	var change store.DeploymentChange
	err := db.tx(ctx, func(tx *sql.Tx) error {
		change = store.DeploymentChange{}
		now := db.now()
		old, err := db.deploymentLocked(ctx, tx, d.Name, db.d.LockRows)
		switch {
		case errors.Is(err, store.ErrNotFound):
			change.Created = true
			d.ID = flow.NewID()
			d.Created, d.Updated = now, now
			_, err = db.execTx(ctx, tx, `INSERT INTO deployments (name, id, doc, paused, plan_gen, created, updated) VALUES ($1, $2, $3, $4, 1, $5, $5)`,
				d.Name, d.ID, docJSON(d), b2i(d.Paused), micros(now))
			if err != nil {
				return fmt.Errorf("create deployment %q: %w", d.Name, err)
			}
			return nil
		case err != nil:
			return err
		}
		d.ID, d.Created, d.Updated, d.Generation = old.ID, old.Created, old.Updated, old.Generation
		change.Changed, change.Fields = diffFields(old, d)
		if len(change.Changed) == 0 {
			return nil
		}
		d.Updated = now
		// A change to what its planned runs are made of makes them stale:
		// the next plan replaces them, and they are not claimed meanwhile.
		gen := old.Generation
		if slices.ContainsFunc(change.Changed, func(f string) bool { return slices.Contains(store.PlanFields, f) }) {
			gen++
		}
		if _, err := db.execTx(ctx, tx, `UPDATE deployments SET doc = $2, paused = $3, plan_gen = $4, updated = $5 WHERE name = $1`,
			d.Name, docJSON(d), b2i(d.Paused), gen, micros(now)); err != nil {
			return fmt.Errorf("update deployment %q: %w", d.Name, err)
		}
		if slices.Contains(change.Changed, "calendar") {
			return db.recheckWindows(ctx, tx, []string{d.Name}, now)
		}
		return nil
	})
	return change, err
}

// diffFields returns the JSON names of the fields that differ, sorted,
// with their old and new values (credential-like members masked).
func diffFields(a, b store.Deployment) ([]string, []store.FieldChange) {
	var ma, mb map[string]json.RawMessage
	_ = json.Unmarshal([]byte(mustJSON(a)), &ma)
	_ = json.Unmarshal([]byte(mustJSON(b)), &mb)
	var out []string
	for k := range mergeKeys(ma, mb) {
		if !bytes.Equal(ma[k], mb[k]) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	fields := make([]store.FieldChange, len(out))
	for i, k := range out {
		fields[i] = store.FieldChange{Field: k, Old: masked(ma[k]), New: masked(mb[k])}
	}
	return out, fields
}

// masked returns v with the values of object members whose names suggest
// a credential replaced by "***", at any depth.
func masked(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return nil
	}
	var x any
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	if dec.Decode(&x) != nil {
		return nil // cannot happen: v was encoded by mustJSON
	}
	return json.RawMessage(mustJSON(maskValue(x)))
}

func maskValue(x any) any {
	switch t := x.(type) {
	case map[string]any:
		for k, v := range t {
			if secretName(k) {
				t[k] = "***"
			} else {
				t[k] = maskValue(v)
			}
		}
	case []any:
		for i, v := range t {
			t[i] = maskValue(v)
		}
	}
	return x
}

// secretName reports whether a member name suggests a credential, however
// it is spelled: case and the separators -, _, . and space are ignored
// (apiKey, api-key, X-Api-Key, private_key, privateKey).
func secretName(k string) bool {
	k = strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ':
			return -1
		}
		return r
	}, strings.ToLower(k))
	for _, s := range []string{"password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "credential", "authorization"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

func mergeKeys(a, b map[string]json.RawMessage) map[string]bool {
	m := make(map[string]bool, len(a))
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// docJSON is the stored document of a deployment: the generation is
// kept in its own column.
func docJSON(d store.Deployment) string {
	d.Generation = 0
	return mustJSON(d)
}

func (db *DB) deployment(ctx context.Context, tx *sql.Tx, name string) (store.Deployment, error) {
	return db.deploymentLocked(ctx, tx, name, "")
}

func (db *DB) deploymentLocked(ctx context.Context, tx *sql.Tx, name, lock string) (store.Deployment, error) {
	d, err := scanDeployment(db.row(ctx, tx, `SELECT doc, paused, plan_gen FROM deployments WHERE name = $1`+lock, name))
	if errors.Is(err, sql.ErrNoRows) {
		return d, notFound("deployment", name)
	}
	if err != nil {
		return d, fmt.Errorf("read deployment %q: %w", name, err)
	}
	return d, nil
}

// scanDeployment reads the columns doc, paused, plan_gen.
func scanDeployment(s scanner) (store.Deployment, error) {
	var (
		d      store.Deployment
		doc    string
		paused int
		gen    int64
	)
	if err := s.Scan(&doc, &paused, &gen); err != nil {
		return d, err
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return d, fmt.Errorf("deployment: decode: %w", err)
	}
	d.Paused = paused != 0
	d.Generation = gen
	return d, nil
}

// GetDeployment implements store.Deployments.
func (db *DB) GetDeployment(ctx context.Context, name string) (store.Deployment, error) {
	return db.deployment(ctx, nil, name)
}

// ListDeployments implements store.Deployments.
func (db *DB) ListDeployments(ctx context.Context) ([]store.Deployment, error) {
	rows, err := db.queryTx(ctx, nil, `SELECT doc, paused, plan_gen FROM deployments ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	defer rows.Close()
	var out []store.Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("list deployments: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return out, nil
}

// SetDeploymentPaused implements store.Deployments.
func (db *DB) SetDeploymentPaused(ctx context.Context, name string, paused bool) error {
	return db.execOne(ctx, "deployment", name, `UPDATE deployments SET paused = $2, updated = $3 WHERE name = $1`, name, b2i(paused), micros(db.now()))
}

// DeleteDeployment implements store.Deployments.
func (db *DB) DeleteDeployment(ctx context.Context, name string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.execTx(ctx, tx, `DELETE FROM deployments WHERE name = $1`, name)
		if err != nil {
			return fmt.Errorf("deployment %q: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("deployment", name)
		}
		// A deployment created again under the name plans afresh.
		if _, err := db.execTx(ctx, tx, `DELETE FROM schedule_states WHERE deployment = $1`, name); err != nil {
			return fmt.Errorf("deployment %q: delete planning state: %w", name, err)
		}
		// What its schedules planned goes with it, unless it started.
		if _, err := db.replacePlanned(ctx, tx, name, 0, time.Time{}, nil); err != nil {
			return fmt.Errorf("deployment %q: %w", name, err)
		}
		return nil
	})
}

// execOne runs a statement that must affect one row of kind name.
func (db *DB) execOne(ctx context.Context, kind, name, q string, args ...any) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.execTx(ctx, tx, q, args...)
		if err != nil {
			return fmt.Errorf("%s %q: %w", kind, name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound(kind, name)
		}
		return nil
	})
}
