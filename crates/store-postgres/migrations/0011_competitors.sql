-- Competitors read through Business Discovery and their history, appended as snapshots.

CREATE TABLE competitors (
    id              bigserial PRIMARY KEY,
    username        text    NOT NULL UNIQUE,
    via_account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_user_id      text,
    name            text,
    status          text    NOT NULL CHECK (status IN ('pending', 'ok', 'error')),
    last_reason     text,
    last_error      text,
    last_error_at   timestamptz,
    last_success_at timestamptz,
    created_at      timestamptz NOT NULL
);

CREATE TABLE competitor_snapshots (
    competitor_id   bigint NOT NULL REFERENCES competitors (id) ON DELETE CASCADE,
    captured_at     timestamptz NOT NULL,
    followers_count bigint,
    follows_count   bigint,
    media_count     bigint,
    PRIMARY KEY (competitor_id, captured_at)
);

CREATE TABLE competitor_media_snapshots (
    competitor_id      bigint NOT NULL REFERENCES competitors (id) ON DELETE CASCADE,
    media_id           text    NOT NULL,
    captured_at        timestamptz NOT NULL,
    posted_at          timestamptz NOT NULL,
    media_type         text    NOT NULL,
    media_product_type text,
    like_count         bigint,
    comments_count     bigint,
    permalink          text,
    PRIMARY KEY (competitor_id, media_id, captured_at)
);

CREATE INDEX competitor_media_snapshots_time
    ON competitor_media_snapshots (competitor_id, captured_at);
