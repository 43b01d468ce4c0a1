// Package schedule is the time logic of the orchestrator's scheduler: cron
// and interval schedules with IANA time zones, their run times across
// daylight-saving changes, and the planning of upcoming runs. It is pure:
// no store, no clock, no goroutines. The scheduler loop reads state from
// its store, calls this package, and writes the result back in one
// transaction.
package schedule
