package api

import (
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// deliveryLogSize is how many refused or duplicate deliveries a server
// remembers.
const deliveryLogSize = 500

// deliveryLog remembers the last event deliveries that made no new event:
// refused ones (unknown source, bad signature, malformed, rate-limited)
// and duplicates. Refused deliveries are kept in memory only, by each
// server: their senders are not authenticated, so a flood of them must
// cost a bounded ring and never database writes. Stored events (accepted,
// matched or not) are in the store.
type deliveryLog struct {
	mu   sync.Mutex
	ring []wire.EventDelivery
	next int
}

func (l *deliveryLog) add(d wire.EventDelivery) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ring) < deliveryLogSize {
		l.ring = append(l.ring, d)
		return
	}
	l.ring[l.next] = d
	l.next = (l.next + 1) % deliveryLogSize
}

// recent returns up to limit deliveries, newest first.
func (l *deliveryLog) recent(limit int) []wire.EventDelivery {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.ring)
	if limit <= 0 || limit > n {
		limit = n
	}
	out := make([]wire.EventDelivery, 0, limit)
	for i := 0; i < limit; i++ {
		j := n - 1 - i // not full yet: the newest is the last appended
		if n == deliveryLogSize {
			j = ((l.next-1-i)%n + n) % n // full: the newest is just before next
		}
		out = append(out, l.ring[j])
	}
	return out
}

// noteDelivery records a delivery that made no new event. The event ID
// a refused delivery's body claims is kept (cut to 128 bytes) to help find
// the sender's retry; its body is not.
func (s *Server) noteDelivery(r *http.Request, src, outcome, reason, eventID string, runIDs []string) {
	if len(eventID) > 128 {
		eventID = eventID[:128]
	}
	if !utf8.ValidString(eventID) {
		eventID = ""
	}
	if len(src) > 128 || !utf8.ValidString(src) {
		src = "(invalid)"
	}
	s.deliveries.add(wire.EventDelivery{Time: s.opts.Now().UTC().Truncate(time.Millisecond), Source: src, Outcome: outcome,
		Reason: reason, EventID: eventID, RunIDs: runIDs, Remote: r.RemoteAddr})
}

// RecentDeliveries returns, newest first, up to limit of the last event
// deliveries this server refused or found duplicate (see
// GET /api/v1/events/deliveries).
func (s *Server) RecentDeliveries(limit int) []wire.EventDelivery {
	return s.deliveries.recent(limit)
}

// listDeliveries answers GET /api/v1/events/deliveries?limit=N.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	limit, err := intParam(r.URL.Query().Get("limit"), "limit", deliveryLogSize)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wire.EventDeliveries{Deliveries: s.deliveries.recent(limit)})
}
