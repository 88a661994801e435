-- Competitors read through Business Discovery and their history, appended as snapshots.

CREATE TABLE competitors (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    username        TEXT    NOT NULL UNIQUE,
    via_account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_user_id      TEXT,
    name            TEXT,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'ok', 'error')),
    last_reason     TEXT,
    last_error      TEXT,
    last_error_at   INTEGER,
    last_success_at INTEGER,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE TABLE competitor_snapshots (
    competitor_id   INTEGER NOT NULL REFERENCES competitors (id) ON DELETE CASCADE,
    captured_at     INTEGER NOT NULL,
    followers_count INTEGER,
    follows_count   INTEGER,
    media_count     INTEGER,
    PRIMARY KEY (competitor_id, captured_at)
) STRICT;

CREATE TABLE competitor_media_snapshots (
    competitor_id      INTEGER NOT NULL REFERENCES competitors (id) ON DELETE CASCADE,
    media_id           TEXT    NOT NULL,
    captured_at        INTEGER NOT NULL,
    posted_at          INTEGER NOT NULL,
    media_type         TEXT    NOT NULL,
    media_product_type TEXT,
    like_count         INTEGER,
    comments_count     INTEGER,
    permalink          TEXT,
    PRIMARY KEY (competitor_id, media_id, captured_at)
) STRICT;

CREATE INDEX competitor_media_snapshots_time
    ON competitor_media_snapshots (competitor_id, captured_at);
