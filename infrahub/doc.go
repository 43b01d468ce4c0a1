// Package infrahub talks to Infrahub (OpsMill), the source of truth netauto
// flows read devices, applications and artifacts from and write results
// back to, and receives the webhooks Infrahub sends.
//
// # Webhooks
//
// Infrahub signs each delivery with three headers: webhook-id,
// webhook-timestamp and webhook-signature ("v1,<base64 HMAC-SHA256>" over
// id + "." + timestamp + "." + body, keyed with the shared key's raw bytes).
// A [Verifier] checks them; [DecodeEvent] turns the body into an [Event]
// with a typed payload ([NodeData], [ArtifactData], [BranchData], ...).
// [WebhookHandler] combines both behind an http.Handler:
//
//	v, err := infrahub.NewVerifier([]byte(os.Getenv("INFRAHUB_WEBHOOK_KEY")))
//	...
//	http.Handle("POST /webhooks/infrahub", &infrahub.WebhookHandler{
//		Verifier: v,
//		OnEvent: func(ctx context.Context, ev *infrahub.Event) error {
//			// store ev keyed on ev.DedupKey(), then return nil
//		},
//	})
//
// Two details of Infrahub's behaviour are handled for you. Infrahub signs
// JSON serialized with non-ASCII characters escaped as \uXXXX but its HTTP
// client sends raw UTF-8; Verify checks the escaped form when the raw body
// does not verify. And Infrahub makes a new webhook-id for every retry of
// the same event, so deduplication must use the body's "id"
// ([Event.DedupKey]), never the header.
//
// # Seam for the runtime's event intake
//
// The runtime owns durability and deduplication; this package owns the
// wire format. An intake that does its own HTTP handling calls
//
//	ev, err := infrahub.ReadWebhook(r, verifier, maxBytes)
//
// and maps errors with errors.Is: [ErrBodyTooLarge] → 413,
// [ErrInvalidSignature] → 401, [ErrMalformedEvent] → 400. It then stores
// the event keyed on ev.DedupKey() in the same transaction that makes it
// durable (ignoring a key it already has), and answers 202. Or it mounts a
// [WebhookHandler] whose OnEvent does that store; the handler keeps no
// state of its own. [Verifier.Verify] (headers + body) and [DecodeEvent]
// are usable on their own as well.
package infrahub
