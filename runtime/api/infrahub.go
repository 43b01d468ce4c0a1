package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
)

// InfrahubVerifier is the event intake's source for Infrahub webhooks:
// mount it under Options.Sources["infrahub"]. It checks the signature
// exactly as Infrahub signs (package infrahub: webhook-id,
// webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>" over
// id.timestamp and the payload as each release serializes it, raw shared
// key, timestamp tolerance), and takes the event ID from the body's "id",
// which Infrahub keeps across retries (each retry has a new webhook-id,
// timestamp and signature), so a redelivery is a duplicate. The legacy
// 1.0/1.1 envelope, which has no id, is keyed by the SHA-256 of its
// canonical JSON form, so a replay in another escaping or spacing is a
// duplicate too ([infrahub.Event.DedupKey]).
type InfrahubVerifier struct {
	Verifier *infrahub.Verifier
	// Previous are verifiers of keys being rotated out: a delivery
	// signed with any of them is accepted too. Rotate by adding the new
	// key as Verifier and the old as Previous, switching Infrahub's
	// webhook to the new key, then dropping Previous.
	Previous []*infrahub.Verifier
	// Tolerance is the timestamp tolerance the verifiers were made with
	// (default infrahub.DefaultTolerance): events are kept longer than
	// twice it, so that a replay is always a duplicate.
	Tolerance time.Duration
}

// Window implements [ReplayWindow].
func (v InfrahubVerifier) Window() time.Duration {
	if v.Tolerance > 0 {
		return v.Tolerance
	}
	return infrahub.DefaultTolerance
}

// Verify implements [Verifier]: a bad or missing signature answers 401, a
// signed body that is not an Infrahub event 400.
func (v InfrahubVerifier) Verify(r *http.Request, body []byte) (string, error) {
	if v.Verifier == nil {
		return "", &Error{Status: http.StatusInternalServerError, Msg: "infrahub source has no verifier configured"}
	}
	err := v.Verifier.Verify(r.Header, body)
	for _, p := range v.Previous {
		if err == nil {
			break
		}
		if p != nil && p.Verify(r.Header, body) == nil {
			err = nil
		}
	}
	if err != nil {
		return "", err
	}
	ev, err := infrahub.DecodeEvent(body)
	if err != nil {
		return "", &Error{Status: http.StatusBadRequest, Field: "body", Msg: "not an Infrahub event: " + err.Error()}
	}
	return ev.DedupKey(), nil
}

// EventType implements [EventTyper]: "event" in the 1.2+ envelope,
// "event_type" in the legacy one.
func (v InfrahubVerifier) EventType(_ *http.Request, body []byte) string {
	var env struct {
		Event     string `json:"event"`
		EventType string `json:"event_type"`
	}
	if json.Unmarshal(body, &env) != nil {
		return ""
	}
	if env.Event != "" {
		return env.Event
	}
	return env.EventType
}
