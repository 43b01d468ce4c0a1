-- netauto store schema, version 3: what created each run (origin), and the
-- generation of a deployment its planned runs were made under, so that a
-- change to the deployment replaces its planned runs that have not started.
ALTER TABLE flow_runs ADD COLUMN origin_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE flow_runs ADD COLUMN origin TEXT NOT NULL DEFAULT '{}';
ALTER TABLE flow_runs ADD COLUMN plan_gen BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN plan_gen BIGINT NOT NULL DEFAULT 1;
ALTER TABLE schedule_states ADD COLUMN gen BIGINT NOT NULL DEFAULT 1;

-- What can be told of the runs stored before: the scheduler's runs hold a
-- slot, a trigger's an event, a subflow a parent.
UPDATE flow_runs SET origin_kind = 'schedule', origin = '{"kind":"schedule"}', plan_gen = 1 WHERE schedule_slot IS NOT NULL;
UPDATE flow_runs SET origin_kind = 'trigger', origin = '{"kind":"trigger"}' WHERE schedule_slot IS NULL AND event_id <> '';
UPDATE flow_runs SET origin_kind = 'subflow', origin = '{"kind":"subflow"}' WHERE schedule_slot IS NULL AND event_id = '' AND parent_id <> '';

CREATE INDEX flow_runs_origin ON flow_runs (origin_kind, created);
