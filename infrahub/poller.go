package infrahub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventQuery selects events of Infrahub's event log (the InfrahubEvent
// query).
type EventQuery struct {
	// Since returns events that occurred at or after this time (zero: all).
	Since time.Time
	// EventTypes limits the event types ("infrahub.node.updated", ...).
	EventTypes []string
	// Branches limits the branches.
	Branches []string
	// Limit is the page size (default 50).
	Limit int
}

// Events reads one page of events, oldest first. Node events carry their
// typed Data (NodeData) when Infrahub includes the payload; other events
// carry the envelope fields (ID, Type, Branch, AccountID, OccurredAt).
func (c *Client) Events(ctx context.Context, q EventQuery) ([]*Event, error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	parts := []string{fmt.Sprintf("limit: %d", limit), "order: ASC"}
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

// Poller is the alternative to webhooks for sites Infrahub cannot reach:
// it reads the event log every Interval and hands new events to OnEvent in
// the order they occurred. Deduplicate on Event.DedupKey as for webhooks;
// the poller itself only skips events it has already passed on since it
// started.
type Poller struct {
	Client *Client
	// Query selects the events; Query.Since is the starting point and
	// advances as events are handed on.
	Query EventQuery
	// Interval between polls (default 10s).
	Interval time.Duration
	// OnEvent receives each event; an error stops Run and is returned, so
	// the caller can restart from its own durable cursor.
	OnEvent func(ctx context.Context, ev *Event) error
}

// Run polls until ctx is done (returning nil) or OnEvent or a
// non-retryable read fails. Read errors that retrying cannot fix
// (unauthorized, GraphQL errors) stop Run; others are retried on the next
// tick.
func (p *Poller) Run(ctx context.Context) error {
	if p.Client == nil || p.OnEvent == nil {
		return errors.New("infrahub poller: Client and OnEvent are required")
	}
	interval := p.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	// seen holds the ids handed on at the cursor's timestamp: since is
	// inclusive, so they come back on the next poll.
	seen := map[string]bool{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		for {
			events, err := p.Client.Events(ctx, p.Query)
			if err != nil {
				var gqlErr *GraphQLError
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, ErrUnauthorized) || errors.As(err, &gqlErr) {
					return fmt.Errorf("infrahub poller: %w", err)
				}
				break // transient: try again next tick
			}
			fresh := 0
			for _, ev := range events {
				if seen[ev.ID] {
					continue
				}
				if err := p.OnEvent(ctx, ev); err != nil {
					return fmt.Errorf("infrahub poller: event %s: %w", ev.ID, err)
				}
				fresh++
				if ev.OccurredAt.After(p.Query.Since) {
					p.Query.Since = ev.OccurredAt
					seen = map[string]bool{}
				}
				seen[ev.ID] = true
			}
			limit := p.Query.Limit
			if limit <= 0 {
				limit = DefaultPageSize
			}
			if fresh == 0 || len(events) < limit {
				break // caught up
			}
		}
		timer.Reset(interval)
	}
}
