package flow

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// MemoryStore is an in-memory [Recorder] and [ResultStore]. Everything it
// records is durable for as long as the process lives, so Flush returns at
// once. It keeps every run, state, log record and result it is given:
// meant for tests, scripts and examples, not for a process that runs
// forever (use the runtime's store there).
//
// Its query methods ([MemoryStore.Runs], [MemoryStore.History],
// [MemoryStore.Logs]) are what flowtest assertions read.
type MemoryStore struct {
	mu      sync.Mutex
	runs    map[string]*memRun
	order   []string
	results map[string]map[string]json.RawMessage // flow run → task key → value
	cache   map[string]memCached
	logs    []LogRecord

	// The run and flow run last written to: a run's states usually
	// arrive one after another, and a flow run's results too.
	lastRun     *memRun
	lastFlowID  string
	lastResults map[string]json.RawMessage
}

type memRun struct {
	rec     RunRecord
	history []State
	first   [3]State // backs history for the usual Pending, Running, final
}

type memCached struct {
	value   json.RawMessage
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		runs:    make(map[string]*memRun),
		results: make(map[string]map[string]json.RawMessage),
		cache:   make(map[string]memCached),
	}
}

// CreateRun implements [Recorder].
func (m *MemoryStore) CreateRun(_ context.Context, run *RunRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.runs[run.ID]; ok {
		r.rec = *run
		return nil
	}
	r := &memRun{rec: *run}
	r.history = r.first[:0]
	m.runs[run.ID] = r
	m.order = append(m.order, run.ID)
	m.lastRun = r
	return nil
}

// SetState implements [Recorder].
func (m *MemoryStore) SetState(_ context.Context, runID string, s State, res *Result) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.lastRun
	if r == nil || r.rec.ID != runID {
		var ok bool
		if r, ok = m.runs[runID]; !ok {
			r = &memRun{rec: RunRecord{ID: runID}}
			m.runs[runID] = r
			m.order = append(m.order, runID)
		}
		m.lastRun = r
	}
	r.history = append(r.history, s)
	if res != nil {
		if res.TaskKey != "" {
			byKey := m.lastResults
			if byKey == nil || m.lastFlowID != res.FlowRunID {
				if byKey = m.results[res.FlowRunID]; byKey == nil {
					byKey = make(map[string]json.RawMessage)
					m.results[res.FlowRunID] = byKey
				}
				m.lastFlowID, m.lastResults = res.FlowRunID, byKey
			}
			byKey[res.TaskKey] = res.Value
		}
		if res.CacheKey != "" {
			m.cache[res.CacheKey] = memCached{value: res.Value, expires: res.CacheExpires}
		}
	}
	return nil
}

// Log implements [Recorder].
func (m *MemoryStore) Log(_ context.Context, rec LogRecord) {
	m.mu.Lock()
	m.logs = append(m.logs, rec)
	m.mu.Unlock()
}

// Flush implements [Recorder]; memory needs no flush.
func (m *MemoryStore) Flush(context.Context) error { return nil }

// RunResults implements [ResultStore].
func (m *MemoryStore) RunResults(_ context.Context, flowRunID string) (map[string]json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]json.RawMessage, len(m.results[flowRunID]))
	for k, v := range m.results[flowRunID] {
		out[k] = v
	}
	return out, nil
}

// CachedResult implements [ResultStore].
func (m *MemoryStore) CachedResult(_ context.Context, key string, now time.Time) (json.RawMessage, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cache[key]
	if !ok || (!c.expires.IsZero() && !now.Before(c.expires)) {
		return nil, false, nil
	}
	return c.value, true, nil
}

// Runs returns the records of every run, in the order they were created.
func (m *MemoryStore) Runs() []RunRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]RunRecord, 0, len(m.order))
	for _, id := range m.order {
		out = append(out, m.runs[id].rec)
	}
	return out
}

// Run returns one run's record.
func (m *MemoryStore) Run(id string) (RunRecord, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[id]
	if !ok {
		return RunRecord{}, false
	}
	return r.rec, true
}

// History returns a run's states, oldest first.
func (m *MemoryStore) History(runID string) []State {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.runs[runID]; ok {
		return slices.Clone(r.history)
	}
	return nil
}

// Logs returns the log records of a run, or of every run if runID is "".
func (m *MemoryStore) Logs(runID string) []LogRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []LogRecord
	for _, l := range m.logs {
		if runID == "" || l.RunID == runID {
			out = append(out, l)
		}
	}
	return out
}
