-- The durable job queue: jobs, persisted per-minute metrics, the global start limiter,
-- schedules and worker registrations.
--
-- Every queue write runs in a BEGIN IMMEDIATE transaction, so SQLite's single writer
-- serializes claims; the partial unique indexes below are the database-enforced invariants.

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    queue            TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    args             TEXT    NOT NULL,
    account_id       INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    unique_key       TEXT,
    run_id           INTEGER REFERENCES sync_runs (id) ON DELETE SET NULL,
    state            TEXT    NOT NULL
                     CHECK (state IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    priority         INTEGER NOT NULL,
    run_at           INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    attempted_at     INTEGER,
    finished_at      INTEGER,
    locked_by        TEXT,
    lease_expires_at INTEGER,
    errors           TEXT    NOT NULL DEFAULT '[]',
    progress         TEXT,
    result           TEXT,
    snoozes          INTEGER NOT NULL DEFAULT 0,
    snooze_reason    TEXT
) STRICT;

-- An active job holds its unique key; a finished one frees it.
CREATE UNIQUE INDEX jobs_unique_active ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('pending', 'running');
-- At most one running job per account.
CREATE UNIQUE INDEX jobs_one_running_per_account ON jobs (account_id)
    WHERE account_id IS NOT NULL AND state = 'running';
-- Claims read only pending rows, however long the finished history grows.
CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_state_finished ON jobs (state, finished_at);
CREATE INDEX jobs_state_queue ON jobs (state, queue, run_at);
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_account ON jobs (account_id);
CREATE INDEX jobs_run ON jobs (run_id);

-- Finished jobs per minute, queue and kind: counts and log2 histograms in milliseconds
-- (JSON arrays of store::HISTOGRAM_BUCKETS counts).
CREATE TABLE job_metrics (
    bucket_start INTEGER NOT NULL,
    queue        TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    completed    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    wait_hist    TEXT    NOT NULL,
    run_hist     TEXT    NOT NULL,
    PRIMARY KEY (bucket_start, queue, kind)
) STRICT, WITHOUT ROWID;

-- The global start limiter: one row per granted start, kept for one window.
CREATE TABLE rate_limit_grants (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    granted_at INTEGER NOT NULL
) STRICT;

CREATE INDEX rate_limit_grants_by_name ON rate_limit_grants (name, granted_at);

CREATE TABLE schedules (
    name        TEXT    PRIMARY KEY,
    cron        TEXT    NOT NULL,
    queue       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    args        TEXT    NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0,
    next_run_at INTEGER NOT NULL,
    last_run_at INTEGER,
    last_job_id INTEGER
) STRICT;

-- `queues` is a JSON array of queue names.
CREATE TABLE workers (
    id           TEXT    PRIMARY KEY,
    hostname     TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    queues       TEXT    NOT NULL,
    concurrency  INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT;
