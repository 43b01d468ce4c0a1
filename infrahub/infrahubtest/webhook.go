package infrahubtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
)

// Webhook delivery as Infrahub does it. Each matching event starts its own
// delivery (a Prefect flow run per event and webhook: webhook_process in
// opsmill/infrahub backend/infrahub/webhook/tasks/process.py), so
// deliveries of different events overlap and may arrive out of order. A
// delivery is one attempt plus up to three retries (@task(retries=3) on
// webhook_send; WEBHOOK_SEND_RETRIES = 3 in webhook/constants.py from 1.11,
// which also waits WEBHOOK_SEND_RETRY_DELAY_SECONDS = 120 between attempts,
// where earlier releases retry at once). An attempt fails when the
// request errs or times out (httpx with INFRAHUB_HTTP_TIMEOUT, default 10 s:
// HTTPSettings.timeout in backend/infrahub/config.py, used by
// services/adapters/http/httpx.py) or when the answer is not 2xx
// (response.raise_for_status(); httpx does not follow redirects by
// default, so a 3xx fails too). Every attempt prepares the request again:
// a new webhook-id (msg_ + uuid4 hex) and webhook-timestamp, hence a new
// signature, over the same payload, whose "id" is the event's id
// (Webhook._assign_headers in backend/infrahub/webhook/models.py).

// Delivery defaults, Infrahub's.
const (
	// DefaultWebhookTimeout is Infrahub's INFRAHUB_HTTP_TIMEOUT default.
	DefaultWebhookTimeout = 10 * time.Second
	// DefaultWebhookRetries is how often Infrahub repeats a failed
	// delivery attempt.
	DefaultWebhookRetries = 3
)

// maxAnswerBytes bounds how much of a receiver's answer the fake reads.
const maxAnswerBytes = 64 << 10

// Delivery is one delivery attempt the fake made.
type Delivery struct {
	// URL is the webhook's URL.
	URL string
	// EventID is the body's "id": the same for every attempt of an event.
	EventID string
	// EventType is the event's type, for example "infrahub.node.updated".
	EventType string
	// Attempt counts from 1; Infrahub makes at most 1 + retries.
	Attempt int
	// WebhookID and Timestamp are the attempt's webhook-id and
	// webhook-timestamp headers, new for every attempt.
	WebhookID string
	Timestamp int64
	// Status is the receiver's HTTP status, 0 when it gave none.
	Status int
	// Err is why the attempt failed; nil when the receiver answered 2xx.
	Err error
}

// Deliveries returns every delivery attempt made so far, in the order they
// ended.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.deliveries)
}

func newWebhookClient() *http.Client {
	return &http.Client{
		// httpx.AsyncClient does not follow redirects unless asked to.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// enqueue records events in the event log and starts their deliveries to
// the matching webhooks. The caller holds s.mu, so events are logged in
// commit order; deliveries run outside the lock, each on its own.
func (s *Server) enqueue(events []pendingEvent) {
	for i := range events {
		if events[i].id == "" {
			events[i].id = newID()
		}
		if events[i].at.IsZero() {
			events[i].at = s.opts.Clock()
		}
	}
	s.eventLog = append(s.eventLog, events...)
	if s.ctx.Err() != nil {
		return // closed: nothing new starts
	}
	for _, wh := range s.opts.Webhooks {
		for _, ev := range events {
			if (len(wh.Events) == 0 || slices.Contains(wh.Events, ev.typ)) && (wh.Branch == "" || ev.branch != nil && *ev.branch == wh.Branch) {
				s.bg.Add(1)
				go func() {
					defer s.bg.Done()
					if err := s.deliver(s.ctx, wh, ev); err != nil && s.ctx.Err() == nil {
						s.log.Warn("infrahubtest: webhook delivery failed", "url", wh.URL, "event", ev.typ, "id", ev.id, "err", err)
					}
				}()
			}
		}
	}
}

// wireEvent is the 1.2+ envelope, fields in Infrahub's order: "data"
// first, then EventContext's fields (Webhook._prepare_payload).
type wireEvent struct {
	Data      any     `json:"data"`
	ID        string  `json:"id"`
	Branch    *string `json:"branch"`
	AccountID string  `json:"account_id"`
	OccuredAt string  `json:"occured_at"`
	Event     string  `json:"event"`
}

// SendEvent delivers one event to a webhook now, as Infrahub does
// (retries included), and returns the last attempt's error. The event is
// not added to the event log.
func (s *Server) SendEvent(ctx context.Context, wh Webhook, eventType, branch string, data map[string]any) error {
	var b *string
	if branch != "" {
		b = &branch
	}
	return s.deliver(ctx, wh, pendingEvent{id: newID(), at: s.opts.Clock(), typ: eventType, branch: b, data: data})
}

// deliver makes the attempts of one event's delivery. It stops early when
// ctx or the server is done.
func (s *Server) deliver(ctx context.Context, wh Webhook, ev pendingEvent) error {
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("infrahubtest: closed: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()
	// The body is the same for every attempt: the payload is prepared
	// once per event, with the event's own id and time.
	body, err := encodeCompact(wireEvent{Data: ev.data, ID: ev.id, Branch: ev.branch, AccountID: s.accountID(),
		OccuredAt: ev.at.UTC().Format("2006-01-02 15:04:05.000000-07:00"), Event: ev.typ})
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		d := s.attempt(ctx, wh, ev, body, attempt)
		s.mu.Lock()
		s.deliveries = append(s.deliveries, d)
		s.mu.Unlock()
		if s.opts.OnDelivery != nil {
			s.opts.OnDelivery(d)
		}
		if d.Err == nil {
			return nil
		}
		if attempt > s.opts.WebhookRetries || ctx.Err() != nil {
			return fmt.Errorf("event %s to %s: %d attempts: %w", ev.id, wh.URL, attempt, d.Err)
		}
		if s.opts.WebhookRetryDelay > 0 {
			t := time.NewTimer(s.opts.WebhookRetryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("event %s to %s: %d attempts: %w", ev.id, wh.URL, attempt, d.Err)
			case <-t.C:
			}
		}
	}
}

// attempt sends one signed request: the body on the wire is compact JSON
// with raw UTF-8 (httpx 0.28's json=), the signature covers the same JSON
// with non-ASCII escaped (json.dumps with ensure_ascii, Infrahub 1.7.5+).
func (s *Server) attempt(ctx context.Context, wh Webhook, ev pendingEvent, body []byte, n int) Delivery {
	msgID := "msg_" + strings.ReplaceAll(newID(), "-", "")
	ts := s.opts.Clock().Unix()
	d := Delivery{URL: wh.URL, EventID: ev.id, EventType: ev.typ, Attempt: n, WebhookID: msgID, Timestamp: ts}
	ctx, cancel := context.WithTimeout(ctx, s.opts.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		d.Err = err
		return d
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "python-httpx/0.28.1") // the httpx Infrahub 1.7+ pins
	req.Header.Set(infrahub.HeaderWebhookID, msgID)
	req.Header.Set(infrahub.HeaderWebhookTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(infrahub.HeaderWebhookSignature, infrahub.Sign(wh.SharedKey, msgID, ts, infrahub.EscapeNonASCII(body)))
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			err = fmt.Errorf("timed out after %s: %w", s.opts.WebhookTimeout, err)
		}
		d.Err = err
		return d
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerBytes))
	resp.Body.Close()
	d.Status = resp.StatusCode
	switch {
	case resp.StatusCode/100 != 2:
		d.Err = fmt.Errorf("receiver answered %s", resp.Status)
	case err != nil:
		d.Err = fmt.Errorf("read answer: %w", err)
	}
	return d
}

// accountID is the fake's single account.
func (s *Server) accountID() string { return "18000000-0000-0000-0000-00000000ad01" }

// encodeCompact is json.Marshal without Go's HTML escaping (Python's
// json.dumps does not escape <, > and &).
func encodeCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
