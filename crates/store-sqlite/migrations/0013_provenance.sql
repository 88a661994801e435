-- Provenance of every stored number: the Graph API version the request used (`api_version`,
-- NULL for values stored before provenance was recorded, and for values no Graph API read
-- produced) and where the value came from (`source`: 'poll' a Graph API read, 'webhook' one
-- of Meta's notifications, 'derived' computed by igsync). The fetch time is each table's
-- capture time; whether a value is settled is derived from it when read, never stored.
-- Rows from before are poll reads of an unrecorded version.

ALTER TABLE profile_snapshots ADD COLUMN api_version TEXT;
ALTER TABLE profile_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'poll'
    CHECK (source IN ('poll', 'webhook', 'derived'));

ALTER TABLE media_insight_snapshots ADD COLUMN api_version TEXT;
ALTER TABLE media_insight_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'poll'
    CHECK (source IN ('poll', 'webhook', 'derived'));

ALTER TABLE story_insight_snapshots ADD COLUMN api_version TEXT;
ALTER TABLE story_insight_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'poll'
    CHECK (source IN ('poll', 'webhook', 'derived'));

ALTER TABLE account_insight_days ADD COLUMN api_version TEXT;
ALTER TABLE account_insight_days ADD COLUMN source TEXT NOT NULL DEFAULT 'poll'
    CHECK (source IN ('poll', 'webhook', 'derived'));

ALTER TABLE demographic_snapshots ADD COLUMN api_version TEXT;
ALTER TABLE demographic_snapshots ADD COLUMN source TEXT NOT NULL DEFAULT 'poll'
    CHECK (source IN ('poll', 'webhook', 'derived'));

-- A story's final numbers keep their provenance (poll, final_poll, webhook) beside the
-- version of the read that gave them (NULL for a webhook: Meta sent them).
ALTER TABLE story_finals ADD COLUMN api_version TEXT;

-- A revision keeps the provenance of the value it replaced, so a day as known at any time
-- answers the version and source of that value.
ALTER TABLE account_insight_revisions ADD COLUMN previous_api_version TEXT;
ALTER TABLE account_insight_revisions ADD COLUMN previous_source TEXT NOT NULL DEFAULT 'poll'
    CHECK (previous_source IN ('poll', 'webhook', 'derived'));

DROP TRIGGER account_insight_days_revised;

CREATE TRIGGER account_insight_days_revised
AFTER UPDATE OF value ON account_insight_days
WHEN NEW.value IS NOT OLD.value
BEGIN
    INSERT INTO account_insight_revisions
        (account_id, metric, day, breakdown, key, revised_at, previous_value,
         previous_fetched_at, value, previous_api_version, previous_source)
    VALUES (OLD.account_id, OLD.metric, OLD.day, OLD.breakdown, OLD.key, NEW.fetched_at,
            OLD.value, OLD.fetched_at, NEW.value, OLD.api_version, OLD.source)
    ON CONFLICT (account_id, metric, day, breakdown, key, revised_at)
    DO UPDATE SET value = excluded.value;
END;
