-- netauto store schema, version 5: approval gates (flow.WaitForInput).
-- One row per input request of a run: its prompt, the schema the answer
-- must match and who may answer (JSON), the deadline (Unix microseconds,
-- 0 for none) and what happens then; once answered, when (answered > 0),
-- by which key, approved or not, with the input or the reason, or
-- timed_out. A run suspended while it waits is Paused with no lease; the
-- answer (or the deadline) moves it to Scheduled (Resuming).
CREATE TABLE run_inputs (
  run_id TEXT NOT NULL,
  input_key TEXT NOT NULL,
  prompt TEXT NOT NULL DEFAULT '{}',
  input_schema TEXT NOT NULL DEFAULT 'null',
  answerers TEXT NOT NULL DEFAULT '{}',
  on_timeout TEXT NOT NULL DEFAULT 'fail',
  deadline BIGINT NOT NULL DEFAULT 0,
  created BIGINT NOT NULL,
  answered BIGINT NOT NULL DEFAULT 0,
  answered_by TEXT NOT NULL DEFAULT '',
  approved INTEGER NOT NULL DEFAULT 0,
  timed_out INTEGER NOT NULL DEFAULT 0,
  answer TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (run_id, input_key)
);
CREATE INDEX run_inputs_pending ON run_inputs (answered, deadline);
