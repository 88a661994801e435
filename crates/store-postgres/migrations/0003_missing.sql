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

-- Revisions of account insight days: a day's row holds the latest value Meta gave; every
-- change of it appends the earlier value here (with when it was read and when the change
-- was), so the value as known at any time can be answered.
ALTER TABLE account_insight_days ADD COLUMN first_fetched_at timestamptz;
UPDATE account_insight_days SET first_fetched_at = fetched_at;

CREATE TABLE account_insight_revisions (
    account_id          bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    metric              text NOT NULL,
    day                 date NOT NULL,
    breakdown           text NOT NULL,
    key                 text NOT NULL,
    revised_at          timestamptz NOT NULL,
    previous_value      double precision NOT NULL,
    previous_fetched_at timestamptz NOT NULL,
    value               double precision NOT NULL,
    PRIMARY KEY (account_id, metric, day, breakdown, key, revised_at)
);

CREATE FUNCTION account_insight_days_revised() RETURNS trigger AS $$
BEGIN
    INSERT INTO account_insight_revisions
        (account_id, metric, day, breakdown, key, revised_at, previous_value,
         previous_fetched_at, value)
    VALUES (OLD.account_id, OLD.metric, OLD.day, OLD.breakdown, OLD.key, NEW.fetched_at,
            OLD.value, OLD.fetched_at, NEW.value)
    ON CONFLICT (account_id, metric, day, breakdown, key, revised_at)
    DO UPDATE SET value = EXCLUDED.value;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER account_insight_days_revised
AFTER UPDATE OF value ON account_insight_days
FOR EACH ROW WHEN (NEW.value IS DISTINCT FROM OLD.value)
EXECUTE FUNCTION account_insight_days_revised();

-- Metrics the Graph API refused, per API version, login flavour and catalog scope: learnt
-- once, shared by every process and kept across restarts.
CREATE TABLE catalog_decisions (
    api_version text NOT NULL,
    login       text NOT NULL,
    scope       text NOT NULL,
    metric      text NOT NULL,
    reason      text NOT NULL,
    decided_at  timestamptz NOT NULL,
    PRIMARY KEY (api_version, login, scope, metric)
);
