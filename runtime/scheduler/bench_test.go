package scheduler

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

// BenchmarkSchedulerPassStore measures one steady-state pass over 10,000
// deployments with cron schedules on SQLite: runs are already created an
// hour ahead, and each pass (one simulated minute later) adds the next run
// of the sixtieth of the deployments whose minute came up.
func BenchmarkSchedulerPassStore(b *testing.B) {
	const n = 10_000
	s := openStore(b)
	ctx := context.Background()
	for i := range n {
		apply(b, s, store.Deployment{Name: fmt.Sprintf("dep-%05d", i), Schedules: []store.Schedule{
			{Cron: fmt.Sprintf("%d * * * *", i%60), Timezone: "Europe/Berlin"},
		}})
	}
	sc := New(s, Options{})
	now := t0
	if res := pass(b, sc, now); res.Created < n {
		b.Fatalf("warm-up pass created %d runs, want at least %d", res.Created, n)
	}
	created := 0
	for b.Loop() {
		now = now.Add(time.Minute)
		res, err := sc.Pass(ctx, now)
		if err != nil || len(res.Errors) > 0 || res.Deployments != n {
			b.Fatalf("pass: %v %v, %d deployments", err, res.Errors, res.Deployments)
		}
		created += res.Created
	}
	b.StopTimer()
	// Each simulated minute brings one new run to n/60 deployments.
	if want := int(now.Sub(t0)/time.Minute) * n / 60; created < want-n/60 || created > want+n/60 {
		b.Fatalf("created %d runs over %d passes, want about %d", created, b.N, want)
	}
	b.ReportMetric(float64(created)/float64(b.N), "runs/pass")
}
