// Package trigger is the orchestrator's trigger table: which received
// events start which deployments, with which parameters. It replaces the
// original webhook dispatcher's (event, kind) → deployment mapping.
//
// A [Trigger] names an event type (exact, a "prefix.*" family, or "*"), a
// target kind (exact or "*") and a deployment, with optional conditions on
// payload fields, parameters mapped from the payload and a per-key
// throttle. [New] validates a set of triggers into a [Table]; errors are
// *[fielderr.Error] values naming the field ("triggers[2].throttle.within").
//
// # Matching
//
// The kind is read where each event carries it: by default where
// Infrahub, the default source, puts it ([KindPath]: artifact events in
// data.target_kind, node and group events in data.kind); a table made
// [Table.WithKinds] asks the event's source instead (runtime.App does so
// for sources implementing api.EventKinder).
// For one event, triggers naming its exact kind take precedence over "*"
// triggers; every trigger that fires creates a run, so one event may start
// several deployments. [Table.Match] states the rules in full.
//
// # Wiring into the store
//
// The event intake stores an event and creates its runs in one
// transaction with [store.Events.AcceptEvent]; [Table.Matcher] gives the
// match function it needs, built from the deployments as stored (for their
// default parameters):
//
//	tab, err := trigger.New(triggers...)
//	deps, err := st.ListDeployments(ctx)
//	acc, err := st.AcceptEvent(ctx, ev, tab.Matcher(deps))
//
// The matcher calls no store, as AcceptEvent requires. An event matching
// nothing is accepted with no runs and listed as unmatched.
//
// # Parameters
//
// A run's parameters are the deployment's defaults overridden by the
// parameters mapped from the event ([schedule.MergeParameters]); the run
// request layer comes on top where the API creates runs. Map selected
// fields with [Trigger.Parameters] (parameter name → payload path) and the
// whole event with [Trigger.EventParameter], which passes an [Event]: a
// flow started both by a schedule and by events declares it as an
// optional (pointer) parameter.
//
// # Throttling
//
// [Throttle] allows at most one run of the deployment per key (a payload
// path such as data.node_id) within a window. The decision is made by the
// store in the accepting transaction (store.RunSpec.ThrottleKey and
// Throttle), so it holds across restarts and API server replicas; a
// throttled event is accepted with no run.
package trigger
