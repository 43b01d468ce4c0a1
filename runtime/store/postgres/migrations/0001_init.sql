-- netauto store schema, version 1 (PostgreSQL). Times are Unix microseconds,
-- 0 when unset; JSON is stored as text.
CREATE TABLE flows (
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  parameters TEXT NOT NULL DEFAULT 'null',
  registered BIGINT NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE INDEX flows_registered ON flows (name, registered);

CREATE TABLE deployments (
  name TEXT PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  doc TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);

CREATE TABLE pools (
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  job_template TEXT NOT NULL DEFAULT 'null',
  paused INTEGER NOT NULL DEFAULT 0,
  concurrency_limit INTEGER NOT NULL DEFAULT 0,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);

CREATE TABLE queues (
  pool TEXT NOT NULL REFERENCES pools (name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  paused INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (pool, name)
);

CREATE TABLE workers (
  name TEXT PRIMARY KEY,
  pool TEXT NOT NULL,
  info TEXT NOT NULL DEFAULT 'null',
  last_seen BIGINT NOT NULL
);

CREATE TABLE flow_runs (
  id TEXT PRIMARY KEY,
  flow TEXT NOT NULL DEFAULT '',
  flow_version TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL DEFAULT '',
  deployment TEXT NOT NULL DEFAULT '',
  pool TEXT NOT NULL DEFAULT '',
  queue TEXT NOT NULL DEFAULT '',
  parameters TEXT NOT NULL DEFAULT 'null',
  tags TEXT NOT NULL DEFAULT '[]',
  state_type TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL DEFAULT '{}',
  state_seq INTEGER NOT NULL DEFAULT 0,
  scheduled_at BIGINT NOT NULL DEFAULT 0,
  schedule_slot BIGINT,
  attempt INTEGER NOT NULL DEFAULT 1,
  retries INTEGER NOT NULL DEFAULT 0,
  retry_delay BIGINT NOT NULL DEFAULT 0,
  parent_id TEXT NOT NULL DEFAULT '',
  idempotency_key TEXT,
  throttle_key TEXT,
  worker TEXT NOT NULL DEFAULT '',
  lease_expires BIGINT NOT NULL DEFAULT 0,
  infrastructure_id TEXT NOT NULL DEFAULT '',
  source_commit TEXT NOT NULL DEFAULT '',
  job_variables TEXT NOT NULL DEFAULT 'null',
  event_id TEXT NOT NULL DEFAULT '',
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);
CREATE UNIQUE INDEX flow_runs_slot ON flow_runs (deployment, schedule_slot);
CREATE UNIQUE INDEX flow_runs_idempotency ON flow_runs (deployment, idempotency_key);
CREATE INDEX flow_runs_due ON flow_runs (pool, state_type, scheduled_at);
CREATE INDEX flow_runs_active ON flow_runs (deployment, state_type);
CREATE INDEX flow_runs_lease ON flow_runs (lease_expires);
CREATE INDEX flow_runs_created ON flow_runs (created, id);
CREATE INDEX flow_runs_throttle ON flow_runs (deployment, throttle_key, created);
CREATE INDEX flow_runs_parent ON flow_runs (parent_id);

CREATE TABLE flow_run_states (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  state TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
);

CREATE TABLE task_runs (
  id TEXT PRIMARY KEY,
  flow_run_id TEXT NOT NULL,
  parent_id TEXT NOT NULL DEFAULT '',
  name TEXT NOT NULL,
  run_name TEXT NOT NULL DEFAULT '',
  version TEXT NOT NULL DEFAULT '',
  task_key TEXT NOT NULL DEFAULT '',
  tags TEXT NOT NULL DEFAULT '[]',
  -- history holds every state, the current one last
  history TEXT NOT NULL DEFAULT '[]',
  -- result is the task run's reusable result (results holds the others)
  result TEXT,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);
CREATE INDEX task_runs_flow_run ON task_runs (flow_run_id, created);

CREATE TABLE results (
  flow_run_id TEXT NOT NULL,
  task_key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (flow_run_id, task_key)
);

CREATE TABLE cache (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE logs (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id TEXT NOT NULL,
  flow_run_id TEXT NOT NULL,
  time BIGINT NOT NULL,
  level INTEGER NOT NULL,
  message TEXT NOT NULL,
  attrs TEXT
);
CREATE INDEX logs_flow_run ON logs (flow_run_id, id);

CREATE TABLE tag_limits (
  tag TEXT PRIMARY KEY,
  lim INTEGER NOT NULL
);

CREATE TABLE slots (
  holder TEXT NOT NULL,
  tag TEXT NOT NULL,
  expires BIGINT NOT NULL,
  PRIMARY KEY (holder, tag)
);
CREATE INDEX slots_tag ON slots (tag, expires);

CREATE TABLE blocks (
  name TEXT PRIMARY KEY,
  type TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL,
  secret_fields TEXT NOT NULL DEFAULT '[]',
  secrets BYTEA,
  updated BIGINT NOT NULL
);

CREATE TABLE secrets (
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL,
  created BIGINT NOT NULL,
  updated BIGINT NOT NULL
);

CREATE TABLE variables (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated BIGINT NOT NULL
);

CREATE TABLE events (
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  type TEXT NOT NULL DEFAULT '',
  payload TEXT NOT NULL,
  received BIGINT NOT NULL,
  run_ids TEXT NOT NULL DEFAULT '[]',
  matched INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source, id)
);
CREATE INDEX events_received ON events (received, source, id);
