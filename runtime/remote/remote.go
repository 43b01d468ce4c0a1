// Package remote reports a flow run to the netauto API server: a
// [flow.Recorder] and [flow.ResultStore] for an `execute` process (a
// child process or container running one flow run) that holds a run token
// instead of a database connection.
//
//	c, _ := client.New(apiURL, client.Options{Token: runToken})
//	rec := remote.NewRecorder(c, runID, store.RecorderOptions{})
//	defer rec.Close()
//	ctx = flow.WithEngine(ctx, &flow.Engine{Recorder: rec, Results: rec})
//	out, err := def.Execute(ctx, flow.Execution{RunID: runID, ...})
//
// Batching and group commit are [store.Recorder]'s: CreateRun, SetState
// and Log buffer; a commit sends everything buffered as one batch, applied
// by the server in one transaction; Flush returns once the server
// committed what was recorded before it, and concurrent Flush calls share
// one request. Ops the server refused on their own (an illegal
// transition, a run outside the token's run) come back from the Flush of
// their flow run.
//
// Retries are safe: each batch carries a random batch ID, and a POST that
// failed in transit (or met a server answering 502, 503 or 504 while it
// restarts) is retried with the same body until the recorder's write
// timeout (30s by default) runs out; the server remembers
// the answers of recent batch IDs and applies each batch once. When a
// commit gives up (the server stayed unreachable past the write timeout),
// its events stay buffered and the next commit resends them under a new
// batch ID; should the server have committed the first attempt after all,
// run creations are upserts and a state the run already went through (to
// the microsecond) counts as applied, but its log records are stored
// twice.
//
// A batch over the server's request size limit is split in halves, each
// sent as its own batch, until it fits; an op too large on its own (a
// huge result) fails alone. Log messages and attributes are cut at 256 KiB.
//
// The package links only the client, the wire types and the store's
// types: no database driver, no server, no schema validator.
package remote

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// RecordStore is a [store.RecordStore] over the API, for the flow run
// RunID and its subflow and task runs.
type RecordStore struct {
	c   *client.Client
	run string
}

var _ store.RecordStore = (*RecordStore)(nil)

// NewRecordStore returns a RecordStore reporting flow run runID through c.
func NewRecordStore(c *client.Client, runID string) *RecordStore {
	return &RecordStore{c: c, run: runID}
}

// NewRecorder returns a batching [store.Recorder] reporting flow run runID
// through c. Close it when the run is done.
func NewRecorder(c *client.Client, runID string, opts store.RecorderOptions) *store.Recorder {
	return store.NewRecorder(NewRecordStore(c, runID), opts)
}

// OpError is the error of one op the server did not apply.
type OpError struct {
	// Kind is one of the wire.Op* kinds: "transition", "not_found",
	// "invalid", "forbidden".
	Kind    string
	Field   string
	Message string
}

func (e *OpError) Error() string { return fmt.Sprintf("server refused op (%s): %s", e.Kind, e.Message) }

// maxLogBytes bounds the message and attributes of one log record sent:
// longer ones are cut, so that a batch always fits the server's limit
// once split small enough.
const maxLogBytes = 256 << 10

// Record implements [store.RecordStore]: one POST, retried with the same
// batch ID on network errors and 429, 502, 503 and 504 answers until ctx
// ends (the recorder's write timeout). A batch over the server's size limit (413)
// is split in two, each half sent as its own batch, until it fits; an op
// too large on its own (a huge result) gets an error of its own.
func (s *RecordStore) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	// Log ops (records logged with a fenced context) travel as plain log
	// records: the server fences the whole batch by the run token.
	var index []int // sent op → ops index, when log ops were taken out
	for i, op := range ops {
		if op.Logs != nil && index == nil {
			index = make([]int, 0, len(ops))
			for j := range i {
				index = append(index, j)
			}
		}
		if op.Logs != nil {
			logs = append(logs, op.Logs...)
		} else if index != nil {
			index = append(index, i)
		}
	}
	sent := ops
	if index != nil {
		sent = make([]store.Op, len(index))
		for k, i := range index {
			sent[k] = ops[i]
		}
	}
	for i := range logs {
		logs[i] = clip(logs[i])
	}
	errs, err := s.record(ctx, sent, logs)
	if err != nil || index == nil {
		return errs, err
	}
	out := make([]error, len(ops))
	for k, e := range errs {
		out[index[k]] = e
	}
	return out, nil
}

func (s *RecordStore) record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	errs, err := s.send(ctx, ops, logs)
	var ce *client.Error
	if err == nil || !errors.As(err, &ce) || ce.Status != http.StatusRequestEntityTooLarge {
		return errs, err
	}
	if len(ops)+len(logs) <= 1 {
		if len(ops) == 1 {
			return []error{&OpError{Kind: wire.OpInvalid, Field: "result", Message: "op over the server's request size limit: " + ce.Message}}, nil
		}
		return nil, err // a clipped log record over the limit: the limit is misconfigured
	}
	ho, hl := len(ops)/2, len(logs)/2
	if ho == 0 && hl == 0 {
		ho, hl = len(ops), 0 // one op and one log record: send them apart
	}
	first, err := s.record(ctx, ops[:ho], logs[:hl])
	if err != nil {
		return nil, err
	}
	second, err := s.record(ctx, ops[ho:], logs[hl:])
	if err != nil {
		// The first half is committed; the recorder sends both again
		// (see the package documentation on resent batches).
		return nil, err
	}
	return append(first, second...), nil
}

// clip cuts a log record's message and attributes to maxLogBytes.
func clip(rec flow.LogRecord) flow.LogRecord {
	if len(rec.Message) > maxLogBytes {
		rec.Message = strings.ToValidUTF8(rec.Message[:maxLogBytes], "") + "…(truncated)"
	}
	if len(rec.Attrs) > maxLogBytes {
		rec.Attrs = json.RawMessage(`{"truncated":true}`)
	}
	return rec
}

func (s *RecordStore) send(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("batch id: %w", err)
	}
	batch := wire.Record{BatchID: hex.EncodeToString(id), Ops: make([]wire.Op, len(ops)), Logs: logs}
	for i, op := range ops {
		batch.Ops[i] = wire.ToOp(op)
	}
	ans, err := s.c.Record(ctx, s.run, batch)
	for wait := 100 * time.Millisecond; client.IsTemporary(err); wait = min(2*wait, 2*time.Second) {
		// The same batch ID again, for as long as the commit may take:
		// an API server restarting must not fail the run.
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (gave up: %w)", err, context.Cause(ctx))
		case <-t.C:
		}
		ans, err = s.c.Record(ctx, s.run, batch)
	}
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(ops))
	for _, e := range ans.Errors {
		if e.Index < 0 || e.Index >= len(ops) {
			return nil, fmt.Errorf("record run %s: server answered an error for op %d of %d", s.run, e.Index, len(ops))
		}
		errs[e.Index] = &OpError{Kind: e.Kind, Field: e.Field, Message: e.Error}
	}
	return errs, nil
}

// RunResults implements [flow.ResultStore].
func (s *RecordStore) RunResults(ctx context.Context, flowRunID string) (map[string]json.RawMessage, error) {
	return s.c.RunResults(ctx, flowRunID)
}

// CachedResult implements [flow.ResultStore].
func (s *RecordStore) CachedResult(ctx context.Context, key string, now time.Time) (json.RawMessage, bool, error) {
	return s.c.CachedResult(ctx, key, now)
}
