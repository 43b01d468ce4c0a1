-- netauto store schema, version 4: each pool's lease and heartbeat (how
-- fast a dead worker's runs are detected; microseconds, 0 for the
-- default), and the runs whose state hooks the runtime owes: a run it
-- ended itself (Crashed when its process, container or worker died,
-- Cancelled when it died while cancelling) gets its flow's hooks run by a
-- worker of its pool. hooks_due is 0 when nothing is owed, else when the
-- hooks are due (Unix microseconds; a worker running them moves it on by
-- its lease, so that they run again if that worker dies).
ALTER TABLE pools ADD COLUMN lease BIGINT NOT NULL DEFAULT 0;
ALTER TABLE pools ADD COLUMN heartbeat BIGINT NOT NULL DEFAULT 0;
ALTER TABLE flow_runs ADD COLUMN hooks_due BIGINT NOT NULL DEFAULT 0;
CREATE INDEX flow_runs_hooks ON flow_runs (pool, hooks_due) WHERE hooks_due > 0;
