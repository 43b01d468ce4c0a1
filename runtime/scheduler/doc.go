// Package scheduler is the orchestrator's scheduler loop: it turns the
// schedules of deployments into runs ahead of time and reaps the runs of
// workers that lost their lease.
//
// # Usage
//
// The server runs one [Scheduler] per process on its store:
//
//	sc := scheduler.New(st, scheduler.Options{Logger: logger})
//	go sc.Run(ctx) // a pass every 10s, a reap every 5s, until ctx is done
//
// Tests and tools call one pass directly with their own clock:
// [Scheduler.Pass] (ctx, now) and [Scheduler.Reap] (ctx, now).
//
// # A pass
//
// For every deployment that has schedules and is not paused, a pass
//
//   - compiles its schedules into a [schedule.Timetable], cached per
//     deployment version (ID and Updated), so a steady-state pass parses
//     nothing;
//   - plans with [schedule.Timetable.Plan] from the stored planned-through
//     state, one hour ahead and at least the next run ([Options.Window]);
//   - applies the deployment's late policy: run-all, run-latest or skip
//     (with [Options.LateGrace]);
//   - creates the runs with [store.Runs.CreateScheduledRuns], batched
//     across deployments, each unique per deployment and scheduled time;
//   - marks created runs whose time has passed Late (with how late they
//     were planned) and records each skipped occurrence as a run that never
//     ran: Cancelled, its message naming the policy and the lateness;
//   - stores the new planned-through state.
//
// Parameters are the deployment's defaults overridden by the schedule's
// ([schedule.MergeParameters]).
//
// # Restarts and replicas
//
// The planned-through state lives in the store, one variable per
// deployment under [ThroughPrefix] (the store has no field for it), written
// after the runs, never moved back. A restarted scheduler continues where
// the state says; what was due meanwhile comes back Late for the late
// policy. Several schedulers on one store never duplicate a run: the store
// keeps one run per deployment and scheduled time whoever creates it, and
// a scheduler that crashes between creating runs and storing the state
// re-plans the same runs, which the store then skips.
//
// A paused deployment is not planned; when resumed, the runs its schedules
// missed meanwhile are late and its late policy decides.
package scheduler
