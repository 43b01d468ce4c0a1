// Package retry is netauto's one retry vocabulary: a [Policy] says how many
// times a failed operation is tried again and how long to wait before each
// retry. The flow and task engine (package flow's and package task's
// WithRetries, WithBackoff and WithJitter), the Infrahub and F5 clients
// (infrahub.Config.Retry, f5.Config.Retry) and the runtime's API client
// (client.Options.Retry) all take this type, validate it with
// [Policy.Validate] and compute every wait with [Policy.Delay], so a field
// means the same thing wherever it is set. The package imports
// nothing of netauto's: a client links it without linking the engine or
// the runtime.
//
// # The policy
//
//	retry.Policy{
//		Retries: 3,                                                 // attempts after the first
//		Backoff: retry.Exponential(time.Second, 2, 30*time.Second), // 1s, 2s, 4s, ... up to 30s
//		Jitter:  0.2,                                               // each wait ±20%
//	}
//
// Its fields:
//
//   - Retries is how many attempts may follow the first one. The zero
//     value never retries; [Forever] retries until the caller's context
//     ends (the context is what bounds it, so give it a deadline). A
//     negative count is refused.
//   - Backoff is the wait before retry n, counting from 1: [Fixed] waits
//     the same each time, [Delays] follows a list and repeats its last
//     entry, [Exponential] multiplies an initial wait by a coefficient of
//     at least 1 up to a maximum. The zero Backoff retries at once.
//   - Jitter spreads each wait d uniformly over [d·(1−Jitter), d·(1+Jitter)]
//     so that many runs or clients failing together do not retry together;
//     the average wait stays d. It is between 0 and 1; 0 waits exactly d.
//
// The zero Policy is therefore "one attempt, no retry", everywhere. Every
// user validates a policy with [Policy.Validate] before using it and
// refuses it whole when it is invalid: a negative count, a jitter outside
// 0..1, a negative wait, an exponential whose initial wait is not positive
// or whose coefficient is below 1. The error is a *[PolicyError] naming the
// field.
//
// # Default, none, until the context ends
//
// A client has a default policy of its own (infrahub.DefaultRetry,
// f5.DefaultRetry, client.DefaultRetry). Its configuration takes a
// *Policy, because the zero Policy already has a meaning (no retries) and
// a field must not have two:
//
//	Retry: nil                                       // the client's default
//	Retry: &retry.Policy{}                           // one attempt, no retry
//	Retry: &retry.Policy{Retries: retry.Forever,     // until ctx ends
//		Backoff: retry.Exponential(time.Second, 2, time.Minute), Jitter: 0.5}
//
// To adjust a default, copy it: p := f5.DefaultRetry; p.Retries = 5;
// cfg.Retry = &p. A client copies the policy when it is created; changing
// it afterwards changes nothing.
//
// # What a policy does not decide
//
// A policy says how many times and when, never which failures. Which
// errors are safe to retry, and whether a server's Retry-After replaces
// the computed wait, stay each user's own decision, documented beside its
// policy field:
//
//   - flows and tasks retry a failed attempt (TimedOut included), except
//     errors marked flow.NonRetryable, panics (Crashed) and runs whose
//     context was cancelled or whose caller's deadline passed; WithRetryIf
//     narrows that further.
//   - infrahub retries idempotent calls (queries, GETs) on connection
//     errors, 429 and 5xx answers other than 501, honouring a Retry-After of
//     up to a minute; a mutation is sent again only when nothing reached the
//     server (the dial failed, or a 401 to re-login after).
//   - the runtime's API client retries idempotent calls on network errors
//     and 429, 502, 503 and 504 answers, and reopens a broken log stream.
//   - f5 retries connection errors and device-busy 503 answers (AS3's
//     device-wide lock, also when reported inside an AS3 task), never 4xx,
//     and gives up as soon as the next wait would outlast the context's
//     deadline.
package retry
