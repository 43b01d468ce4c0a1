package store

// RunNotifier is implemented by stores that announce, once committed, the
// flow runs whose state changed or which got log records, so that who
// watches a run (an API log follower, a client waiting for a state) reads
// the store when something changed rather than polling it. Both SQL
// drivers implement it, in the process that made the change; PostgreSQL
// also across processes sharing the database (LISTEN/NOTIFY), when the
// driver listens.
type RunNotifier interface {
	// NotifyRuns calls fn with the ID of each flow run changed by a
	// committed transaction (a run changed several times in one
	// transaction may be announced once, and a run may be announced
	// without a visible change), including every transaction that commits
	// after NotifyRuns returned, even one that began before. fn runs on the
	// committing goroutine and must not block. cancel stops the calls.
	NotifyRuns(fn func(flowRunID string)) (cancel func())
}
