package infrahub_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
)

// Receiving a webhook: verify the signature, decode the typed event and
// hand it on, keyed for deduplication on the body's id.
func ExampleWebhookHandler() {
	key := []byte("supersecretkey")
	verifier, err := infrahub.NewVerifier(key)
	if err != nil {
		panic(err)
	}
	handler := &infrahub.WebhookHandler{
		Verifier: verifier,
		OnEvent: func(ctx context.Context, ev *infrahub.Event) error {
			if d, ok := ev.Data.(*infrahub.NodeData); ok {
				fmt.Printf("%s %s on branch %s: %v (dedup %s)\n", ev.Type, d.Kind, ev.Branch, d.Fields, ev.DedupKey())
			}
			return nil
		},
	}

	// What Infrahub would send.
	body := []byte(`{"data":{"kind":"InfraDevice","action":"updated","fields":["description"],"node_id":"n1","changelog":{"node_id":"n1","node_kind":"InfraDevice","attributes":{},"display_label":"atl1-edge1","relationships":{}}},"id":"e1","branch":"main","account_id":"a1","occured_at":"2025-03-13 16:36:25.688038+00:00","event":"infrahub.node.updated"}`)
	now := time.Now().Unix()
	req := httptest.NewRequest(http.MethodPost, "/webhooks/infrahub", bytes.NewReader(body))
	req.Header.Set(infrahub.HeaderWebhookID, "msg_1")
	req.Header.Set(infrahub.HeaderWebhookTimestamp, strconv.FormatInt(now, 10))
	req.Header.Set(infrahub.HeaderWebhookSignature, infrahub.Sign(key, "msg_1", now, infrahub.EscapeNonASCII(body)))

	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// infrahub.node.updated InfraDevice on branch main: [description] (dedup e1)
	// 202
}
