package remote

import (
	"context"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/runtime/client"
)

// KeepTokenFresh renews the run token c carries for run runID in the
// background (see [client.Client.RenewRunToken]): once at once, which
// tells the token's expiry, then when half of its remaining life is
// spent. A run token lives minutes and is renewed only while the run's
// worker renews its lease: a token copied out of a finished or abandoned
// run dies soon. A failed renewal is tried again, more slowly, until the
// token expires; a refusal (the run ended, was reaped or claimed again)
// stops the renewals. Call stop when the run is reported.
func KeepTokenFresh(ctx context.Context, c *client.Client, runID string) (stop func()) {
	return KeepTokenFreshUntil(ctx, c, runID, time.Time{})
}

// KeepTokenFreshUntil is [KeepTokenFresh] for a token known to expire at
// expires (see [wire.RunTokenExpiry]): its first renewal waits until half
// of its remaining life is spent, instead of asking at once, which saves
// a short run a request. A zero expires renews at once.
func KeepTokenFreshUntil(ctx context.Context, c *client.Client, runID string, expires time.Time) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wait := time.Duration(0)
	if !expires.IsZero() {
		wait = max(time.Until(expires)/2, time.Second)
	}
	wg.Go(func() {
		retry := time.Second
		for {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			tok, err := c.RenewRunToken(ctx, runID)
			switch {
			case err == nil:
				retry = time.Second
				wait = max(time.Until(tok.Expires)/2, time.Second)
			case client.IsTemporary(err):
				wait, retry = retry, min(2*retry, 30*time.Second)
			default:
				return // refused: nothing left to renew for
			}
		}
	})
	return func() { cancel(); wg.Wait() }
}
