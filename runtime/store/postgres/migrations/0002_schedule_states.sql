-- netauto store schema, version 2: each deployment's planning state (how
-- far its schedules' runs are created), written in the transaction that
-- creates the runs, compare-and-set. Version 1 kept it in variables.
CREATE TABLE schedule_states (
  deployment TEXT PRIMARY KEY,
  -- through: JSON object, schedule key -> planned-through instant
  through TEXT NOT NULL,
  updated BIGINT NOT NULL
);

INSERT INTO schedule_states (deployment, through, updated)
  SELECT substr(name, 27), value, updated FROM variables
  WHERE substr(name, 1, 26) = 'netauto.scheduler.through/';

DELETE FROM variables WHERE substr(name, 1, 26) = 'netauto.scheduler.through/';
