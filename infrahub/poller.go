package infrahub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxEventPageSize is the largest page of events Infrahub returns: the
// InfrahubEvent query refuses a limit above 50, Prefect's own limit
// (opsmill/infrahub backend/infrahub/graphql/queries/event.py).
const MaxEventPageSize = 50

// EventQuery selects events of Infrahub's event log (the InfrahubEvent
// query).
type EventQuery struct {
	// Since returns events that occurred at or after this time (zero:
	// Infrahub's default, 180 days back).
	Since time.Time
	// EventTypes limits the event types ("infrahub.node.updated", ...).
	EventTypes []string
	// Branches limits the branches.
	Branches []string
	// Limit is the page size: default MaxEventPageSize, at most
	// MaxEventPageSize.
	Limit int
	// Offset skips that many events of the selection.
	Offset int
}

// Events reads one page of events, oldest first. Node events carry their
// typed Data (NodeData) when Infrahub includes the payload; other events
// carry the envelope fields (ID, Type, Branch, AccountID, OccurredAt).
func (c *Client) Events(ctx context.Context, q EventQuery) ([]*Event, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = MaxEventPageSize
	case limit > MaxEventPageSize:
		return nil, fmt.Errorf("infrahub events: field Limit is %d, Infrahub returns at most %d events a page", limit, MaxEventPageSize)
	}
	if q.Offset < 0 {
		return nil, fmt.Errorf("infrahub events: field Offset is negative (%d)", q.Offset)
	}
	parts := []string{fmt.Sprintf("limit: %d", limit), "order: ASC"}
	if q.Offset > 0 {
		parts = append(parts, fmt.Sprintf("offset: %d", q.Offset))
	}
	filters := []struct {
		name string
		v    any
		set  bool
	}{
		{"since", q.Since.UTC().Format(time.RFC3339Nano), !q.Since.IsZero()},
		{"event_type", q.EventTypes, len(q.EventTypes) > 0},
		{"branches", q.Branches, len(q.Branches) > 0},
	}
	for _, f := range filters {
		if !f.set {
			continue
		}
		lit, err := literal(f.v)
		if err != nil {
			return nil, fmt.Errorf("infrahub events: %s: %w", f.name, err)
		}
		parts = append(parts, f.name+": "+lit)
	}
	query := "query { InfrahubEvent(" + strings.Join(parts, ", ") + ") { count edges { node { id event branch account_id occurred_at " +
		"primary_node { id kind } ... on NodeMutatedEvent { payload } } } } }"
	var out struct {
		InfrahubEvent struct {
			Edges []struct {
				Node struct {
					ID          string          `json:"id"`
					Event       string          `json:"event"`
					Branch      *string         `json:"branch"`
					AccountID   *string         `json:"account_id"`
					OccurredAt  string          `json:"occurred_at"`
					Payload     json.RawMessage `json:"payload"`
					PrimaryNode *struct {
						ID   string `json:"id"`
						Kind string `json:"kind"`
					} `json:"primary_node"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"InfrahubEvent"`
	}
	if err := c.Query(ctx, "", query, nil, &out); err != nil {
		return nil, err
	}
	events := make([]*Event, 0, len(out.InfrahubEvent.Edges))
	for _, e := range out.InfrahubEvent.Edges {
		n := e.Node
		t, err := ParseTime(n.OccurredAt)
		if err != nil {
			return nil, fmt.Errorf("infrahub events: event %s: %w", n.ID, err)
		}
		ev := &Event{ID: n.ID, Type: n.Event, Branch: deref(n.Branch), AccountID: deref(n.AccountID), OccurredAt: t}
		if d, ok := newEventData(n.Event).(*NodeData); ok && len(n.Payload) > 0 {
			if err := json.Unmarshal(n.Payload, d); err == nil {
				ev.Data = d
			}
		}
		events = append(events, ev)
	}
	return events, nil
}

// DefaultPollOverlap is how far back of its cursor a Poller looks again.
// Infrahub's event store (Prefect's) writes events in batches, at least
// every 5 s (PREFECT_API_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL), and an
// event's time is taken where it was emitted, on any of Infrahub's
// workers: an event can appear in the log after later ones were read. A
// minute covers the flush interval, queueing and clock skew between
// workers.
const DefaultPollOverlap = time.Minute

// Poller is the alternative to webhooks for sites Infrahub cannot reach:
// it reads the event log every Interval and hands new events to OnEvent.
//
// Events are not stored in the order they occurred (see
// DefaultPollOverlap), so each poll reads again from Overlap before its
// cursor (the latest occurrence time handed on) and skips the events it
// has already handed on, by id. An event stored more than Overlap late is
// missed. Events are handed on oldest first within a poll; one stored late
// comes after later ones handed on by an earlier poll. OnEvent should
// still deduplicate on Event.DedupKey: a restarted poller hands on again
// the events of the Overlap before its starting point.
type Poller struct {
	Client *Client
	// Query selects the events; Query.Since is the starting point and
	// advances as events are handed on (Query.Offset is not used).
	Query EventQuery
	// Interval between polls (default 10s).
	Interval time.Duration
	// Overlap is how far back of the cursor each poll reads again
	// (default DefaultPollOverlap).
	Overlap time.Duration
	// OnEvent receives each event; an error stops Run and is returned, so
	// the caller can restart from its own durable cursor.
	OnEvent func(ctx context.Context, ev *Event) error

	// seen holds the ids handed on that occurred within Overlap of the
	// cursor, with their times.
	seen map[string]time.Time
}

// Run polls until ctx is done (returning nil) or OnEvent or a
// non-retryable read fails. Read errors that retrying cannot fix
// (unauthorized, GraphQL errors, a bad query) stop Run; others are
// retried on the next tick.
func (p *Poller) Run(ctx context.Context) error {
	if p.Client == nil || p.OnEvent == nil {
		return errors.New("infrahub poller: Client and OnEvent are required")
	}
	interval := p.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if err := p.Poll(ctx); err != nil {
			var gqlErr *GraphQLError
			var readErr *pollReadError
			switch {
			case ctx.Err() != nil:
				return nil
			case !errors.As(err, &readErr), errors.Is(err, ErrUnauthorized), errors.As(err, &gqlErr):
				return err
			}
			// Transient read error: try again next tick.
		}
		timer.Reset(interval)
	}
}

// pollReadError marks an error reading the event log (as opposed to one
// returned by OnEvent).
type pollReadError struct{ err error }

func (e *pollReadError) Error() string { return e.err.Error() }
func (e *pollReadError) Unwrap() error { return e.err }

// Poll reads the event log once, from Overlap before the cursor to its
// end, and hands on the events not handed on before. Run calls it every
// Interval; call it yourself to poll on your own schedule. It is not safe
// for concurrent use.
func (p *Poller) Poll(ctx context.Context) error {
	if p.Client == nil || p.OnEvent == nil {
		return errors.New("infrahub poller: Client and OnEvent are required")
	}
	overlap := p.Overlap
	if overlap <= 0 {
		overlap = DefaultPollOverlap
	}
	if p.seen == nil {
		p.seen = map[string]time.Time{}
	}
	q := p.Query
	q.Offset = 0
	if q.Limit <= 0 || q.Limit > MaxEventPageSize {
		q.Limit = MaxEventPageSize
	}
	if !q.Since.IsZero() {
		q.Since = q.Since.Add(-overlap)
	}
	// Page with offsets through the window: the re-read part can hold
	// more than a page of events already handed on.
	for {
		events, err := p.Client.Events(ctx, q)
		if err != nil {
			return fmt.Errorf("infrahub poller: %w", &pollReadError{err})
		}
		for _, ev := range events {
			if _, done := p.seen[ev.ID]; done {
				continue
			}
			if err := p.OnEvent(ctx, ev); err != nil {
				return fmt.Errorf("infrahub poller: event %s: %w", ev.ID, err)
			}
			p.seen[ev.ID] = ev.OccurredAt
			if ev.OccurredAt.After(p.Query.Since) {
				p.Query.Since = ev.OccurredAt
			}
		}
		if len(events) < q.Limit {
			break
		}
		q.Offset += len(events)
	}
	// Forget what no later poll can return again.
	horizon := p.Query.Since.Add(-overlap)
	for id, at := range p.seen {
		if at.Before(horizon) {
			delete(p.seen, id)
		}
	}
	return nil
}
