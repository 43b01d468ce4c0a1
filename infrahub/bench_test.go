package infrahub_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
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

// BenchmarkWebhookVerifyOldestRelease verifies a ~2 KB body signed as
// Infrahub up to 1.2.9 signs (the dict's repr), the last form Verify
// tries: the cost of a delivery from an old release, or of a bad
// signature.
func BenchmarkWebhookVerifyOldestRelease(b *testing.B) {
	vs, err := os.ReadFile("testdata/webhooks/versions/version-vectors.json")
	if err != nil {
		b.Fatal(err)
	}
	var vectors []struct {
		Name      string `json:"name"`
		Release   string `json:"release"`
		Key       string `json:"shared_key"`
		ID        string `json:"webhook-id"`
		Timestamp string `json:"webhook-timestamp"`
		Wire      string `json:"wire_body"`
		Expected  string `json:"expected_signature"`
	}
	if err := json.Unmarshal(vs, &vectors); err != nil {
		b.Fatal(err)
	}
	for _, v := range vectors {
		if v.Release != "1.0-1.2.9" || !strings.HasPrefix(v.Name, "tricky") {
			continue
		}
		h := http.Header{}
		h.Set(infrahub.HeaderWebhookID, v.ID)
		h.Set(infrahub.HeaderWebhookTimestamp, v.Timestamp)
		h.Set(infrahub.HeaderWebhookSignature, v.Expected)
		vf, err := infrahub.NewVerifier([]byte(v.Key), infrahub.WithTolerance(0))
		if err != nil {
			b.Fatal(err)
		}
		body := []byte(v.Wire)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if err := vf.Verify(h, body); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.Fatal("no 1.0-1.2.9 vector")
}
