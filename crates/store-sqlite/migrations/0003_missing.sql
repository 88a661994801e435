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

-- Revisions of account insight days: a day's row holds the latest value Meta gave; every
-- change of it appends the earlier value here (with when it was read and when the change
-- was), so the value as known at any time can be answered.
ALTER TABLE account_insight_days ADD COLUMN first_fetched_at INTEGER;
UPDATE account_insight_days SET first_fetched_at = fetched_at;

CREATE TABLE account_insight_revisions (
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    metric              TEXT    NOT NULL,
    day                 TEXT    NOT NULL,
    breakdown           TEXT    NOT NULL,
    key                 TEXT    NOT NULL,
    revised_at          INTEGER NOT NULL,
    previous_value      REAL    NOT NULL,
    previous_fetched_at INTEGER NOT NULL,
    value               REAL    NOT NULL,
    PRIMARY KEY (account_id, metric, day, breakdown, key, revised_at)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER account_insight_days_revised
AFTER UPDATE OF value ON account_insight_days
WHEN NEW.value IS NOT OLD.value
BEGIN
    INSERT INTO account_insight_revisions
        (account_id, metric, day, breakdown, key, revised_at, previous_value,
         previous_fetched_at, value)
    VALUES (OLD.account_id, OLD.metric, OLD.day, OLD.breakdown, OLD.key, NEW.fetched_at,
            OLD.value, OLD.fetched_at, NEW.value)
    ON CONFLICT (account_id, metric, day, breakdown, key, revised_at)
    DO UPDATE SET value = excluded.value;
END;

-- Metrics the Graph API refused, per API version, login flavour and catalog scope: learnt
-- once, shared by every process and kept across restarts.
CREATE TABLE catalog_decisions (
    api_version TEXT    NOT NULL,
    login       TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    metric      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    decided_at  INTEGER NOT NULL,
    PRIMARY KEY (api_version, login, scope, metric)
) STRICT, WITHOUT ROWID;
