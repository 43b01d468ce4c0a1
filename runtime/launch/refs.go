package launch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
)

var refRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_][A-Za-z0-9_.-]*)*$`)

// CheckRefs checks the {{ references }} of a templated value without
// resolving them: a name (a run field or a store variable),
// variables.NAME, secrets.NAME, blocks.NAME or blocks.NAME.FIELD.
func CheckRefs(s string) error {
	_, err := parseRefs(s)
	return err
}

// piece is a literal or a {{ reference }} of a templated value.
type piece struct {
	lit string
	ref string // set for a reference
}

// parseRefs splits s into literals and {{ references }}.
func parseRefs(s string) ([]piece, error) {
	var out []piece
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if strings.Contains(s, "}}") {
				return nil, errors.New(`"}}" without "{{"`)
			}
			if s != "" {
				out = append(out, piece{lit: s})
			}
			return out, nil
		}
		if strings.Contains(s[:i], "}}") {
			return nil, errors.New(`"}}" without "{{"`)
		}
		if i > 0 {
			out = append(out, piece{lit: s[:i]})
		}
		j := strings.Index(s[i+2:], "}}")
		if j < 0 {
			return nil, errors.New(`"{{" without "}}"`)
		}
		ref := strings.TrimSpace(s[i+2 : i+2+j])
		if !refRe.MatchString(ref) {
			return nil, fmt.Errorf("bad reference {{ %s }}: want a name, variables.NAME, secrets.NAME or blocks.NAME.FIELD", truncate(ref, 40))
		}
		switch head, _, _ := strings.Cut(ref, "."); head {
		case "secrets", "variables":
			if strings.Count(ref, ".") != 1 {
				return nil, fmt.Errorf("bad reference {{ %s }}: want %s.NAME", ref, head)
			}
		case "blocks":
			if strings.Count(ref, ".") < 1 {
				return nil, fmt.Errorf("bad reference {{ %s }}: want blocks.NAME or blocks.NAME.FIELD", ref)
			}
		}
		out = append(out, piece{ref: ref})
		s = s[i+2+j+2:]
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Resolver gives a launcher the secrets, blocks and variables that env
// values reference; a store.Store is one.
type Resolver interface {
	GetSecret(ctx context.Context, name string) (store.Secret, error)
	GetBlock(ctx context.Context, name string) (store.Block, error)
	GetVariable(ctx context.Context, name string) (json.RawMessage, error)
}

// runFields are the run's own template variables.
func runFields(run store.FlowRun) map[string]string {
	return map[string]string{
		"run_id": run.ID, "flow_run_name": run.Name, "flow": run.Flow, "deployment": run.Deployment,
		"pool": run.Pool, "queue": run.Queue, "attempt": strconv.Itoa(run.Attempt),
	}
}

// Expand resolves the references of s for run: the run's own fields
// (run_id, flow_run_name, flow, deployment, pool, queue, attempt), then
// store variables, secrets and blocks through r (nil: only run fields).
// Errors name the reference, never a resolved value; a failure to read
// the store (not a missing object) satisfies [IsTransient]. secret
// reports that a reference resolved a secret.
func Expand(ctx context.Context, s string, run store.FlowRun, r Resolver) (v string, secret bool, err error) {
	ps, err := parseRefs(s)
	if err != nil {
		return "", false, err
	}
	var b strings.Builder
	rf := runFields(run)
	for _, p := range ps {
		if p.ref == "" {
			b.WriteString(p.lit)
			continue
		}
		v, sec, err := resolveRef(ctx, p.ref, rf, r)
		if err != nil {
			return "", false, fmt.Errorf("{{ %s }}: %w", p.ref, err)
		}
		secret = secret || sec
		b.WriteString(v)
	}
	return b.String(), secret, nil
}

func resolveRef(ctx context.Context, ref string, rf map[string]string, r Resolver) (string, bool, error) {
	head, rest, dotted := strings.Cut(ref, ".")
	if !dotted {
		if v, ok := rf[ref]; ok {
			return v, false, nil
		}
		head, rest = "variables", ref
	}
	if r == nil && (head == "secrets" || head == "blocks" || head == "variables") {
		return "", false, errors.New("no resolver for store references")
	}
	switch head {
	case "secrets":
		s, err := r.GetSecret(ctx, rest)
		if err != nil {
			return "", false, fmt.Errorf("secret %q: %w", rest, resolverErr(err))
		}
		return s.Reveal(), true, nil
	case "variables":
		v, err := r.GetVariable(ctx, rest)
		if err != nil {
			return "", false, fmt.Errorf("variable %q: %w", rest, resolverErr(err))
		}
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s, false, nil
		}
		return string(v), false, nil
	case "blocks":
		name, field, _ := strings.Cut(rest, ".")
		b, err := r.GetBlock(ctx, name)
		if err != nil {
			return "", false, fmt.Errorf("block %q: %w", name, resolverErr(err))
		}
		if field == "" {
			doc, err := blockDocument(b)
			if err != nil {
				return "", false, fmt.Errorf("block %q: %w", name, err)
			}
			return doc, len(b.Secrets) > 0, nil
		}
		if s, ok := b.Secrets[field]; ok {
			return s.Reveal(), true, nil
		}
		var data any
		if err := json.Unmarshal(b.Data, &data); err == nil {
			for _, k := range strings.Split(field, ".") {
				m, ok := data.(map[string]any)
				if !ok {
					data = nil
					break
				}
				if data, ok = m[k]; !ok {
					break
				}
			}
			if data != nil {
				if s, ok := data.(string); ok {
					return s, false, nil
				}
				v, _ := json.Marshal(data)
				return string(v), false, nil
			}
		}
		return "", false, fmt.Errorf("block %q has no field %q", name, field)
	}
	return "", false, fmt.Errorf("unknown reference")
}

// IsTransient reports whether err, from [Expand], is a failure to read
// the store while resolving a reference (not a missing object): trying
// again later may succeed.
func IsTransient(err error) bool {
	var te *transientError
	return errors.As(err, &te)
}

// transientError is a failure to read the store while resolving a
// reference (not a missing object): trying again later may succeed.
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

// resolverErr marks a resolver's error transient unless the object does
// not exist.
func resolverErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return err
	}
	return &transientError{err: err}
}

// blockDocument is a block as one JSON object: its data with its secret
// fields put back at their paths.
func blockDocument(b store.Block) (string, error) {
	doc := map[string]any{}
	if len(bytes.TrimSpace(b.Data)) > 0 && string(bytes.TrimSpace(b.Data)) != "null" {
		if err := json.Unmarshal(b.Data, &doc); err != nil {
			return "", errors.New("data is not a JSON object")
		}
	}
	for path, s := range b.Secrets {
		keys := strings.Split(path, ".")
		m := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = s.Reveal()
	}
	out, err := json.Marshal(doc)
	return string(out), err
}

// SecretReferences returns the env keys of a job variables document whose
// values reference a secret or a block ({{ secrets.NAME }},
// {{ blocks.NAME.FIELD }}), sorted: what a run's command could print. The
// API lets only keys granted that permission set them per run.
func SecretReferences(vars json.RawMessage) []string {
	var doc struct {
		Env map[string]*string `json:"env"`
	}
	if json.Unmarshal(vars, &doc) != nil {
		return nil
	}
	var out []string
	for k, v := range doc.Env {
		if v == nil {
			continue
		}
		ps, _ := parseRefs(*v)
		for _, p := range ps {
			if head, _, _ := strings.Cut(p.ref, "."); head == "secrets" || head == "blocks" {
				out = append(out, k)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}
