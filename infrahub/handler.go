package infrahub

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
)

// DefaultMaxWebhookBytes is the body size limit of a WebhookHandler whose
// MaxBodyBytes is zero.
const DefaultMaxWebhookBytes = 1 << 20

// ErrBodyTooLarge is returned by ReadWebhook when the body exceeds the limit;
// the handler answers it with 413.
var ErrBodyTooLarge = errors.New("infrahub webhook body too large")

// WebhookHandler is an http.Handler receiving Infrahub webhooks. It limits
// the body size, verifies the signature, decodes the event and passes it to
// OnEvent. Answers: 202 when OnEvent returned nil, 401 bad or missing
// signature, 400 malformed JSON, 413 body too large, 405 not a POST, 500
// when OnEvent failed (Infrahub then retries the delivery).
//
// The handler keeps no deduplication state: OnEvent should store the event
// keyed on Event.DedupKey (ignoring a key it already has) before returning.
type WebhookHandler struct {
	// Verifier checks signatures; required.
	Verifier *Verifier
	// OnEvent receives each verified event; required. The context is the
	// request's.
	OnEvent func(ctx context.Context, ev *Event) error
	// MaxBodyBytes limits the body; zero means DefaultMaxWebhookBytes.
	MaxBodyBytes int64
	// Logger receives one line per rejected delivery; nil means
	// slog.Default(). Signatures and keys are never logged.
	Logger *slog.Logger
}

// ReadWebhook reads at most maxBytes of r's body, verifies it with v and
// decodes it. It is the building block of WebhookHandler for receivers that
// do their own HTTP handling. Errors wrap ErrBodyTooLarge,
// ErrInvalidSignature or ErrMalformedEvent.
func ReadWebhook(r *http.Request, v *Verifier, maxBytes int64) (*Event, error) {
	if v == nil {
		return nil, errors.New("infrahub webhook: no verifier configured")
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxWebhookBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > maxBytes {
		return nil, ErrBodyTooLarge
	}
	if err := v.Verify(r.Header, body); err != nil {
		return nil, err
	}
	return DecodeEvent(body)
}

// ServeHTTP implements http.Handler.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	if h.Verifier == nil || h.OnEvent == nil {
		log.ErrorContext(r.Context(), "infrahub webhook: handler has no Verifier or OnEvent")
		http.Error(w, "webhook receiver misconfigured", http.StatusInternalServerError)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	ev, err := ReadWebhook(r, h.Verifier, h.MaxBodyBytes)
	if err != nil {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, ErrBodyTooLarge):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, ErrInvalidSignature):
			status = http.StatusUnauthorized
		case errors.Is(err, ErrMalformedEvent):
		default:
			log.WarnContext(r.Context(), "infrahub webhook: read body", "err", err)
		}
		log.InfoContext(r.Context(), "infrahub webhook rejected", "status", status, "err", err)
		http.Error(w, err.Error(), status)
		return
	}
	if err := h.OnEvent(r.Context(), ev); err != nil {
		log.ErrorContext(r.Context(), "infrahub webhook: event not accepted", "event", ev.Type, "id", ev.DedupKey(), "err", err)
		http.Error(w, "event not accepted", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
