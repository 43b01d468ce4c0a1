package flow

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Definition is a flow seen without its type parameters: what the runtime
// registers, describes, validates parameters against and executes. Every
// *[Flow] is a Definition.
type Definition interface {
	Describe() Description
	Execute(ctx context.Context, ex Execution) (json.RawMessage, error)
}

// Description is a flow's self-description.
type Description struct {
	Name        string   `json:"name"`
	Version     string   `json:"version,omitempty"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Parameters and Result are JSON Schemas (draft 2020-12) derived from
	// the Go types P and R; see [SchemaFor].
	Parameters json.RawMessage `json:"parameters"`
	Result     json.RawMessage `json:"result"`
}

// Describe returns the flow's description, parameter schema included.
func (f *Flow[P, R]) Describe() Description {
	return Description{
		Name:        f.name,
		Version:     f.cfg.version,
		Description: f.cfg.description,
		Tags:        f.cfg.tags,
		Parameters:  SchemaFor[P](),
		Result:      SchemaFor[R](),
	}
}

// Execution asks [Definition.Execute] to run a flow run the runtime
// created.
type Execution struct {
	RunID   string
	RunName string
	Tags    []string
	// Params are the run's parameters as JSON; null or empty means the
	// zero value.
	Params json.RawMessage
	// State is the run's current state in the store (Pending once a worker
	// claimed it); the zero State for a run not recorded yet.
	State State
	// Attempt is the number of this execution, from 1. The runtime passes
	// more than 1 when it runs again a run that crashed (its worker,
	// process or container was lost); Attempts is how many executions it
	// makes at most, the run's retries plus one (0 when unknown). This
	// budget is the runtime's and stays apart from the flow's own retry
	// policy ([WithRetries]), whose attempts count from 1 in every
	// execution; state messages say which one a retry belongs to.
	Attempt, Attempts int
	// Resume loads the results of the run's completed task runs from the
	// engine's ResultStore, so that they are reused, not run again.
	Resume bool
}

// Execute runs the flow run ex describes with its JSON parameters and
// returns its result as JSON. Parameters that do not decode into P give a
// *[ParamsError] naming the field, and no run is recorded.
func (f *Flow[P, R]) Execute(ctx context.Context, ex Execution) (json.RawMessage, error) {
	if f.err != nil {
		return nil, f.err
	}
	if ex.RunID == "" {
		return nil, &ParamsError{Flow: f.name, Field: "run_id", Err: errors.New("empty")}
	}
	params, err := DecodeParams[P](f.name, ex.Params)
	if err != nil {
		return nil, err
	}
	raw := ex.Params
	if len(bytes.TrimSpace(raw)) == 0 {
		raw, _ = json.Marshal(params)
	}
	rec := RunRecord{
		ID:         ex.RunID,
		Kind:       KindFlow,
		Name:       f.name,
		RunName:    ex.RunName,
		Version:    f.cfg.version,
		Tags:       append(append([]string(nil), f.cfg.tags...), ex.Tags...),
		Parameters: raw,
	}
	if rec.RunName == "" {
		rec.RunName = f.runName(ctx, params, ex.RunID)
	}
	ctx, run, err := startRun(ctx, rec, ex.State)
	if err != nil {
		return nil, err
	}
	if ex.Resume {
		// Before the first attempt; later attempts reload by themselves.
		if err := run.loadPrior(); err != nil {
			return nil, err
		}
	}
	out, err := f.execute(ctx, run, params, max(ex.Attempt, 1), ex.Attempts)
	if err != nil {
		return nil, err
	}
	v, merr := json.Marshal(out)
	if merr != nil {
		return nil, fmt.Errorf("flow %q run %s: encode result: %w", f.name, ex.RunID, merr)
	}
	return v, nil
}

// DecodeParams decodes JSON parameters for flow into P strictly: unknown
// fields and wrong types are a *[ParamsError] naming the field. Empty
// input or null gives P's zero value.
func DecodeParams[P any](flow string, raw json.RawMessage) (P, error) {
	var p P
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, paramsError(flow, err)
	}
	if dec.More() {
		return p, &ParamsError{Flow: flow, Err: errors.New("trailing data after the JSON value")}
	}
	return p, nil
}

func paramsError(flow string, err error) *ParamsError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		return &ParamsError{Flow: flow, Field: field, Err: fmt.Errorf("got JSON %s, want %s", te.Value, typeName(te.Type))}
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return &ParamsError{Flow: flow, Field: name, Err: errors.New("unknown field")}
	}
	return &ParamsError{Flow: flow, Err: err}
}

func typeName(t reflect.Type) string {
	if t == nil {
		return "?"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
