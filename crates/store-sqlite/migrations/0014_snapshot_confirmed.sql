-- Lossless history without repeated rows. A snapshot identical to the newest one of its
-- series (every value, `api_version` and `source` equal) is not appended again: the newest
-- row's `confirmed_at` (`confirmed_on` for demographics, captured per day) moves to the
-- new read's time instead. A row stands for its value from `captured_at` through
-- `coalesce(confirmed_at, captured_at)`, so the value as of any time is still the newest row
-- captured at or before it. NULL: never read again with the same values (and every row from
-- before this migration).

ALTER TABLE profile_snapshots ADD COLUMN confirmed_at INTEGER;
ALTER TABLE media_insight_snapshots ADD COLUMN confirmed_at INTEGER;
ALTER TABLE story_insight_snapshots ADD COLUMN confirmed_at INTEGER;
ALTER TABLE demographic_snapshots ADD COLUMN confirmed_on TEXT;
