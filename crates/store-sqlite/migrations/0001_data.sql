-- Accounts, synced content and its history, sync history and operational records.
--
-- Conventions: timestamps are INTEGER unix microseconds (UTC), days are TEXT 'YYYY-MM-DD',
-- JSON is TEXT, tokens are BLOB. Snapshot tables are keyed by their capture time so history
-- is appended, never overwritten. Everything an account owns cascades when it is deleted.

CREATE TABLE accounts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    ig_user_id          TEXT    NOT NULL UNIQUE,
    username            TEXT    NOT NULL,
    name                TEXT,
    account_type        TEXT    NOT NULL CHECK (account_type IN ('business', 'creator', 'unknown')),
    login               TEXT    NOT NULL CHECK (login IN ('facebook', 'instagram')),
    page_id             TEXT,
    timezone            TEXT    NOT NULL DEFAULT 'UTC',
    token               BLOB,
    token_expires_at    INTEGER,
    token_refreshed_at  INTEGER,
    sync_status         TEXT    NOT NULL DEFAULT 'idle'
                        CHECK (sync_status IN ('idle', 'syncing', 'failed', 'paused', 'needs_reauth')),
    last_synced_at      INTEGER,
    last_sync_error     TEXT,
    followers_count     INTEGER,
    follows_count       INTEGER,
    media_count         INTEGER,
    profile_picture_url TEXT,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

CREATE TABLE profile_snapshots (
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    captured_at     INTEGER NOT NULL,
    followers_count INTEGER NOT NULL,
    follows_count   INTEGER NOT NULL,
    media_count     INTEGER NOT NULL,
    PRIMARY KEY (account_id, captured_at)
) STRICT, WITHOUT ROWID;

-- `children` is a JSON array of {id, type, url}; `latest` a JSON object metric → value of
-- the newest capture (totals only).
CREATE TABLE media (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_media_id          TEXT    NOT NULL UNIQUE,
    media_type           TEXT    NOT NULL,
    product_type         TEXT    NOT NULL,
    published_at         INTEGER NOT NULL,
    caption              TEXT,
    permalink            TEXT,
    media_url            TEXT,
    thumbnail_url        TEXT,
    shortcode            TEXT,
    like_count           INTEGER,
    comments_count       INTEGER,
    children             TEXT    NOT NULL DEFAULT '[]',
    first_seen_at        INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    deleted_at           INTEGER,
    insights_captured_at INTEGER,
    insights_error       TEXT,
    latest               TEXT    NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX media_by_account ON media (account_id, published_at);

-- Clustered by (item, capture time): one capture of an item's metrics lands on one page,
-- appended after the item's earlier captures.
CREATE TABLE media_insight_snapshots (
    media_id    INTEGER NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    captured_at INTEGER NOT NULL,
    metric      TEXT    NOT NULL,
    breakdown   TEXT    NOT NULL,
    value       REAL    NOT NULL,
    PRIMARY KEY (media_id, captured_at, metric, breakdown)
) STRICT, WITHOUT ROWID;

CREATE TABLE stories (
    id                   INTEGER PRIMARY KEY,
    account_id           INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_media_id          TEXT    NOT NULL UNIQUE,
    media_type           TEXT    NOT NULL,
    published_at         INTEGER NOT NULL,
    permalink            TEXT,
    caption              TEXT,
    media_url            TEXT,
    first_seen_at        INTEGER NOT NULL,
    last_seen_at         INTEGER NOT NULL,
    insights_captured_at INTEGER,
    insights_error       TEXT,
    latest               TEXT    NOT NULL DEFAULT '{}'
) STRICT;

CREATE INDEX stories_by_account ON stories (account_id, published_at);

CREATE TABLE story_insight_snapshots (
    story_id    INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    captured_at INTEGER NOT NULL,
    metric      TEXT    NOT NULL,
    breakdown   TEXT    NOT NULL,
    value       REAL    NOT NULL,
    PRIMARY KEY (story_id, captured_at, metric, breakdown)
) STRICT, WITHOUT ROWID;

CREATE TABLE account_insight_days (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    metric     TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    breakdown  TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      REAL    NOT NULL,
    fetched_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, metric, day, breakdown, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE demographic_snapshots (
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    captured_on TEXT    NOT NULL,
    metric      TEXT    NOT NULL,
    breakdown   TEXT    NOT NULL,
    timeframe   TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    value       REAL    NOT NULL,
    PRIMARY KEY (account_id, captured_on, metric, breakdown, timeframe, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE sync_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    plan          TEXT    NOT NULL,
    triggered_by  TEXT    NOT NULL,
    steps_planned TEXT    NOT NULL,
    status        TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    error         TEXT
) STRICT;

CREATE INDEX sync_runs_by_account ON sync_runs (account_id, id);

CREATE TABLE sync_steps (
    run_id           INTEGER NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    step             TEXT    NOT NULL,
    position         INTEGER NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    attempts         INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    api_calls        INTEGER NOT NULL,
    rate_limit_units INTEGER NOT NULL,
    rows_written     INTEGER NOT NULL,
    expected         INTEGER,
    stored           INTEGER,
    complete         INTEGER,
    error            TEXT,
    detail           TEXT    NOT NULL,
    PRIMARY KEY (run_id, step)
) STRICT, WITHOUT ROWID;

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id      INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    severity        TEXT    NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    dedup_key       TEXT    NOT NULL UNIQUE,
    title           TEXT    NOT NULL,
    message         TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    acknowledged_at INTEGER,
    delivered_at    INTEGER,
    delivery_error  TEXT
) STRICT;

CREATE INDEX alerts_by_account ON alerts (account_id);
CREATE INDEX alerts_by_created ON alerts (created_at);

CREATE TABLE api_keys (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE TABLE sessions (
    id_hash    TEXT    PRIMARY KEY,
    api_key_id TEXT    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    csrf_token TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX sessions_by_key ON sessions (api_key_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- One row per account, plus scope 0 for the app as a whole.
CREATE TABLE api_usage (
    scope                 INTEGER PRIMARY KEY,
    account_id            INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    observed_at           INTEGER NOT NULL,
    usage_pct             REAL    NOT NULL,
    call_count_pct        REAL    NOT NULL,
    total_cputime_pct     REAL    NOT NULL,
    total_time_pct        REAL    NOT NULL,
    regain_access_minutes INTEGER,
    CHECK (scope = coalesce(account_id, 0))
) STRICT;

CREATE INDEX api_usage_by_account ON api_usage (account_id);

CREATE TABLE api_call_days (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day        TEXT    NOT NULL,
    requests   INTEGER NOT NULL,
    units      INTEGER NOT NULL,
    errors     INTEGER NOT NULL,
    PRIMARY KEY (account_id, day)
) STRICT, WITHOUT ROWID;
