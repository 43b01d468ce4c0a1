package infrahub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
)

// BenchmarkWebhookVerifyDecode verifies and decodes a ~2 KB node.updated
// event into the typed Event.
func BenchmarkWebhookVerifyDecode(b *testing.B) {
	attrs := map[string]any{}
	for i := range 11 {
		name := fmt.Sprintf("attr_%d", i)
		attrs[name] = map[string]any{
			"kind": "Text", "name": name, "value": fmt.Sprintf("value %d", i), "properties": map[string]any{},
			"value_previous": fmt.Sprintf("previous %d", i), "value_update_status": "updated",
		}
	}
	body, err := json.Marshal(map[string]any{
		"data": map[string]any{
			"kind": "InfraDevice", "action": "updated", "fields": []string{"attr_0", "attr_1"},
			"node_id": "182c697c-9915-aa00-39b7-c5181aeb3367",
			"changelog": map[string]any{
				"node_id": "182c697c-9915-aa00-39b7-c5181aeb3367", "node_kind": "InfraDevice",
				"attributes": attrs, "display_label": "atl1-edge1", "relationships": map[string]any{},
			},
		},
		"id": "67acc7ea-93b1-4175-a69b-801c869aea07", "branch": "main",
		"account_id": "182c6918-8880-5252-3611-c51ae7e0d6a5",
		"occured_at": "2025-03-13 16:36:25.688038+00:00", "event": infrahub.EventNodeUpdated,
	})
	if err != nil {
		b.Fatal(err)
	}
	if len(body) < 1800 || len(body) > 2400 {
		b.Fatalf("body is %d bytes, want ~2 KB", len(body))
	}
	key := []byte("supersecretkey")
	now := time.Unix(1741883474, 0)
	h := http.Header{}
	h.Set(infrahub.HeaderWebhookID, "msg_1")
	h.Set(infrahub.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	h.Set(infrahub.HeaderWebhookSignature, infrahub.Sign(key, "msg_1", now.Unix(), body))
	v, err := infrahub.NewVerifier(key, infrahub.WithClock(func() time.Time { return now }))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	decoded := 0
	cpu0, cpuOK := processCPUTime()
	for b.Loop() {
		if err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
		ev, err := infrahub.DecodeEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		if len(ev.Data.(*infrahub.NodeData).Changelog.Attributes) == 11 {
			decoded++
		}
	}
	if cpu1, _ := processCPUTime(); cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
	}
	if decoded != b.N {
		b.Fatalf("decoded %d events, want %d", decoded, b.N)
	}
}
