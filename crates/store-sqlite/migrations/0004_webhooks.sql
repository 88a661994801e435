-- Meta's webhook notifications: raw events stored before they are answered (one row per
-- delivery key, so redeliveries and duplicates are stored once), refused notifications by
-- reason, per-account subscription state, each story's final numbers with their
-- provenance, comments with their text history, and mentions.

CREATE TABLE webhook_events (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_key TEXT    NOT NULL UNIQUE,
    body         TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    error        TEXT
) STRICT;

CREATE INDEX webhook_events_unprocessed ON webhook_events (id) WHERE processed_at IS NULL;

CREATE TABLE webhook_rejections (
    reason  TEXT    PRIMARY KEY,
    count   INTEGER NOT NULL,
    last_at INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_accounts (
    account_id    INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    fields        TEXT    NOT NULL DEFAULT '[]',
    error         TEXT,
    checked_at    INTEGER,
    last_event_at INTEGER
) STRICT;

CREATE TABLE story_finals (
    ig_media_id TEXT    PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provenance  TEXT    NOT NULL
                CHECK (provenance IN ('unavailable', 'poll', 'final_poll', 'webhook')),
    rank        INTEGER NOT NULL,
    captured_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    metrics     TEXT    NOT NULL,
    reason      TEXT
) STRICT;

CREATE INDEX story_finals_by_account ON story_finals (account_id, expires_at);

CREATE TABLE comments (
    ig_comment_id      TEXT    PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_media_id        TEXT,
    media_product_type TEXT,
    parent_id          TEXT,
    from_id            TEXT,
    from_username      TEXT,
    text               TEXT,
    commented_at       INTEGER NOT NULL,
    first_seen_at      INTEGER NOT NULL,
    last_seen_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX comments_by_account ON comments (account_id, commented_at);

CREATE TABLE comment_versions (
    ig_comment_id TEXT    NOT NULL REFERENCES comments (ig_comment_id) ON DELETE CASCADE,
    text          TEXT    NOT NULL,
    seen_at       INTEGER NOT NULL,
    PRIMARY KEY (ig_comment_id, text)
) STRICT;

CREATE TABLE mentions (
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mention_key   TEXT    NOT NULL,
    ig_media_id   TEXT    NOT NULL,
    ig_comment_id TEXT,
    mentioned_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, mention_key)
) STRICT;
