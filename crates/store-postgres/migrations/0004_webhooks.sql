-- Meta's webhook notifications: raw events stored before they are answered (one row per
-- delivery key, so redeliveries and duplicates are stored once), refused notifications by
-- reason, per-account subscription state, each story's final numbers with their
-- provenance, comments with their text history, and mentions.

CREATE TABLE webhook_events (
    id           bigserial PRIMARY KEY,
    delivery_key text NOT NULL UNIQUE,
    body         text NOT NULL,
    received_at  timestamptz NOT NULL,
    processed_at timestamptz,
    error        text
);
CREATE INDEX webhook_events_unprocessed ON webhook_events (id) WHERE processed_at IS NULL;

CREATE TABLE webhook_rejections (
    reason  text PRIMARY KEY,
    count   bigint NOT NULL,
    last_at timestamptz NOT NULL
);

CREATE TABLE webhook_accounts (
    account_id    bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    fields        text[] NOT NULL DEFAULT '{}',
    error         text,
    checked_at    timestamptz,
    last_event_at timestamptz
);

CREATE TABLE story_finals (
    ig_media_id text PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provenance  text NOT NULL
        CHECK (provenance IN ('unavailable', 'poll', 'final_poll', 'webhook')),
    rank        integer NOT NULL,
    captured_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    metrics     jsonb NOT NULL,
    reason      text
);
CREATE INDEX story_finals_by_account ON story_finals (account_id, expires_at);

CREATE TABLE comments (
    ig_comment_id      text PRIMARY KEY,
    account_id         bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_media_id        text,
    media_product_type text,
    parent_id          text,
    from_id            text,
    from_username      text,
    text               text,
    commented_at       timestamptz NOT NULL,
    first_seen_at      timestamptz NOT NULL,
    last_seen_at       timestamptz NOT NULL
);
CREATE INDEX comments_by_account ON comments (account_id, commented_at DESC);

CREATE TABLE comment_versions (
    ig_comment_id text NOT NULL REFERENCES comments (ig_comment_id) ON DELETE CASCADE,
    text          text NOT NULL,
    seen_at       timestamptz NOT NULL,
    PRIMARY KEY (ig_comment_id, text)
);

CREATE TABLE mentions (
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    mention_key   text NOT NULL,
    ig_media_id   text NOT NULL,
    ig_comment_id text,
    mentioned_at  timestamptz NOT NULL,
    PRIMARY KEY (account_id, mention_key)
);
