// Package ui is netauto's web UI: server-rendered HTML pages
// (html/template) with a little hand-written JavaScript for the live parts
// (EventSource), all embedded in the binary: no external assets, no build
// step, works offline.
//
// [Mount] serves it under /ui/ on an [api.Server] (and redirects / there).
// It reads the API's store for its pages and makes every change through
// the API's own routes in-process ([api.Server.ServeAs]) as the signed-in
// key, so that validation and authorisation are the API's:
//
//   - Sign-in exchanges an API key for a session cookie (random ID,
//     HttpOnly, SameSite=Strict, Secure over TLS); the key is checked
//     once ([api.Server.Authenticate]) and not kept. Sessions live in
//     memory (12 h by default) and end at sign-out or restart.
//   - Every form carries the session's CSRF token, checked on every POST;
//     cross-origin requests are refused ([api.Server.CheckBrowser]).
//   - Pages offer only the buttons the key's role may use, and the API
//     refuses what the role may not do anyway.
//
// Pages: dashboard (runs by state over 24 hours, failing deployments,
// late runs, workers' health), runs (filters, paging, bulk cancel, retry
// and set-state), a run (parameters, state timeline, task runs as a Gantt
// chart with retries and cached steps, result, live state and logs over
// Server-Sent Events, cancel and retry), deployments (schedules, next
// runs, pause and resume, a run-now form generated from the flow's
// parameter JSON Schema), approvals (the runs waiting at an approval
// gate; a gate's prompt with its diff coloured and an answer form made
// from the gate's JSON Schema, approve or reject with a reason through the
// API, whose refusals are shown in its words), flows, pools with queues, workers and tag slots,
// events, and blocks, variables and secrets with secret values masked.
package ui
