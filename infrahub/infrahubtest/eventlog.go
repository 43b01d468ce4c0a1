package infrahubtest

import (
	"maps"
	"time"
)

// LoggedEvent is an event for LogEvent.
type LoggedEvent struct {
	// ID is the event id; empty makes a new one.
	ID string
	// Type is the event type, for example "infrahub.node.updated".
	Type string
	// Branch is the event's branch; empty for none.
	Branch string
	// OccurredAt is when the event happened; zero means the fake's clock.
	OccurredAt time.Time
	// Data is the event's payload ("data" of a webhook body).
	Data map[string]any
}

// LogEvent adds an event to the event log the InfrahubEvent query reads,
// without sending webhooks, and returns its id.
//
// It reproduces how Infrahub's event log fills: events are stored by
// Prefect's event persister in batches (up to 20 events, at least every 5
// s: PREFECT_API_SERVICES_EVENT_PERSISTER_BATCH_SIZE and _FLUSH_INTERVAL
// in prefect/settings.py) while an event's time is set where it was
// emitted, on any worker. So an event can become visible after later ones
// have been read: log it with an earlier OccurredAt to test a reader of the
// log (infrahub.Poller) against that.
func (s *Server) LogEvent(ev LoggedEvent) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pe := pendingEvent{id: ev.ID, typ: ev.Type, at: ev.OccurredAt, data: maps.Clone(ev.Data)}
	if pe.id == "" {
		pe.id = newID()
	}
	if pe.at.IsZero() {
		pe.at = s.opts.Clock()
	}
	if pe.data == nil {
		pe.data = map[string]any{}
	}
	if ev.Branch != "" {
		b := ev.Branch
		pe.branch = &b
	}
	s.eventLog = append(s.eventLog, pe)
	return pe.id
}
