-- netauto store schema, version 6: run lists filtered by deployment or by
-- state read the newest runs in order from an index and stop at the page
-- size, instead of sorting every run the filter matches (the UI's runs
-- page and GET /api/v1/runs: 1.2 s for a filter matching most of 100,000
-- runs before).
CREATE INDEX flow_runs_deployment_created ON flow_runs (deployment, created, id);
CREATE INDEX flow_runs_state_created ON flow_runs (state_type, created, id);
