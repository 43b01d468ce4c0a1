package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// MemoryInputs is an in-memory [InputBroker], for tests, scripts and
// examples that run flows in one process: answer with [MemoryInputs.Answer]
// from another goroutine. The runtime's store is the durable one.
type MemoryInputs struct {
	// Creator, when set, names the key that created a run, for four-eyes
	// requests ([FourEyes]).
	Creator func(runID string) string
	// OnRequest, when set, is called with each new request once it is
	// stored (tests await it instead of polling).
	OnRequest func(InputRequest)

	mu   sync.Mutex
	reqs map[string]*memInput // run ID + "\x00" + key
}

type memInput struct {
	req    InputRequest
	answer *Answer
	done   chan struct{} // closed once answered
}

// NewMemoryInputs returns an empty MemoryInputs.
func NewMemoryInputs() *MemoryInputs { return &MemoryInputs{reqs: make(map[string]*memInput)} }

// ErrInputNotFound is returned for an answer to a request that does not
// exist.
var ErrInputNotFound = errors.New("no such input request")

// ErrAnswered is returned for an answer to a request already answered.
var ErrAnswered = errors.New("input request already answered")

func (m *MemoryInputs) entry(runID, key string) *memInput {
	return m.reqs[runID+"\x00"+key]
}

// RequestInput implements [InputBroker].
func (m *MemoryInputs) RequestInput(_ context.Context, req InputRequest) (InputRequest, *Answer, error) {
	m.mu.Lock()
	if e := m.entry(req.RunID, req.Key); e != nil {
		defer m.mu.Unlock()
		return e.req, e.answer, nil
	}
	m.reqs[req.RunID+"\x00"+req.Key] = &memInput{req: req, done: make(chan struct{})}
	m.mu.Unlock()
	if m.OnRequest != nil {
		m.OnRequest(req)
	}
	return req, nil, nil
}

// WaitInput implements [InputBroker].
func (m *MemoryInputs) WaitInput(ctx context.Context, runID, key string) (*Answer, error) {
	m.mu.Lock()
	e := m.entry(runID, key)
	m.mu.Unlock()
	if e == nil {
		return nil, fmt.Errorf("run %s input %s: %w", runID, key, ErrInputNotFound)
	}
	select {
	case <-e.done:
		m.mu.Lock()
		defer m.mu.Unlock()
		return e.answer, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// ExpireInput implements [InputBroker].
func (m *MemoryInputs) ExpireInput(_ context.Context, runID, key string, now time.Time) (*Answer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entry(runID, key)
	if e == nil {
		return nil, fmt.Errorf("run %s input %s: %w", runID, key, ErrInputNotFound)
	}
	if e.answer == nil {
		e.answer = &Answer{TimedOut: true, At: now}
		close(e.done)
	}
	return e.answer, nil
}

// Pending returns the unanswered requests, oldest first.
func (m *MemoryInputs) Pending() []InputRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []InputRequest
	for _, e := range m.reqs {
		if e.answer == nil {
			out = append(out, e.req)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].RunID+out[i].Key < out[j].RunID+out[j].Key
	})
	return out
}

// Answer answers a request as who: a.Approved with a.Input (JSON), or a
// rejection with a.Reason. It checks who against the request's
// [Answerers] (an *[AnswererError]) and that the input is one JSON value;
// the engine decodes it into the requested type strictly.
func (m *MemoryInputs) Answer(_ context.Context, runID, key string, who Responder, a Answer) error {
	creator := ""
	if m.Creator != nil {
		creator = m.Creator(runID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entry(runID, key)
	switch {
	case e == nil:
		return fmt.Errorf("run %s input %s: %w", runID, key, ErrInputNotFound)
	case e.answer != nil:
		return fmt.Errorf("run %s input %s: %w", runID, key, ErrAnswered)
	}
	if err := e.req.Answerers.Allows(who, creator); err != nil {
		return fmt.Errorf("run %s input %s: %w", runID, key, err)
	}
	if len(a.Input) > 0 && !json.Valid(a.Input) {
		return fmt.Errorf("run %s input %s: %w", runID, key, &InputError{Key: key, Err: errors.New("not valid JSON")})
	}
	a.By, a.TimedOut = who.Key, false
	if a.At.IsZero() {
		a.At = time.Now()
	}
	e.answer = &a
	close(e.done)
	return nil
}
