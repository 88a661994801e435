-- Values Meta does not give, each with its reason (never stored as 0). The key columns are
-- empty strings where they do not apply to the kind (day: '' or YYYY-MM-DD), so the
-- natural key has no NULLs.
CREATE TABLE missing_values (
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind          text NOT NULL,
    object_id     text NOT NULL,
    day           text NOT NULL,
    metric        text NOT NULL,
    timeframe     text NOT NULL,
    breakdown     text NOT NULL,
    reason        text NOT NULL,
    dropped       bigint,
    detail        text NOT NULL,
    since         timestamptz NOT NULL,
    checked_at    timestamptz NOT NULL,
    next_retry_at timestamptz,
    PRIMARY KEY (account_id, kind, object_id, day, metric, timeframe, breakdown)
);
