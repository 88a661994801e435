-- Values Meta does not give, each with its reason (never stored as 0). The key columns are
-- empty strings where they do not apply to the kind (day: '' or YYYY-MM-DD), so the
-- natural key has no NULLs.
CREATE TABLE missing_values (
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    object_id     TEXT    NOT NULL,
    day           TEXT    NOT NULL,
    metric        TEXT    NOT NULL,
    timeframe     TEXT    NOT NULL,
    breakdown     TEXT    NOT NULL,
    reason        TEXT    NOT NULL,
    dropped       INTEGER,
    detail        TEXT    NOT NULL,
    since         INTEGER NOT NULL,
    checked_at    INTEGER NOT NULL,
    next_retry_at INTEGER,
    PRIMARY KEY (account_id, kind, object_id, day, metric, timeframe, breakdown)
) STRICT, WITHOUT ROWID;
