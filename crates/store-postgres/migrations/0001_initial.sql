-- igsync on PostgreSQL: accounts, synced content and its history, sync runs, the job
-- queue, operational records. All times are timestamptz (UTC, microseconds).

CREATE TABLE accounts (
    id                  bigserial PRIMARY KEY,
    ig_user_id          text NOT NULL UNIQUE,
    username            text NOT NULL,
    name                text,
    account_type        text NOT NULL,
    login               text NOT NULL,
    page_id             text,
    timezone            text NOT NULL DEFAULT 'UTC',
    token               bytea,
    token_expires_at    timestamptz,
    token_refreshed_at  timestamptz,
    status              text NOT NULL DEFAULT 'idle'
        CHECK (status IN ('idle', 'syncing', 'failed', 'paused', 'needs_reauth')),
    last_synced_at      timestamptz,
    last_sync_error     text,
    followers_count     bigint,
    follows_count       bigint,
    media_count         bigint,
    profile_picture_url text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

CREATE TABLE profile_snapshots (
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    captured_at     timestamptz NOT NULL,
    followers_count bigint NOT NULL,
    follows_count   bigint NOT NULL,
    media_count     bigint NOT NULL,
    PRIMARY KEY (account_id, captured_at)
);

CREATE TABLE media (
    id                   bigserial PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_media_id          text NOT NULL UNIQUE,
    media_type           text NOT NULL,
    product_type         text NOT NULL,
    published_at         timestamptz NOT NULL,
    caption              text,
    permalink            text,
    media_url            text,
    thumbnail_url        text,
    shortcode            text,
    like_count           bigint,
    comments_count       bigint,
    children             jsonb NOT NULL DEFAULT '[]',
    first_seen_at        timestamptz NOT NULL,
    last_seen_at         timestamptz NOT NULL,
    deleted_at           timestamptz,
    insights_captured_at timestamptz,
    insights_error       text,
    latest               jsonb NOT NULL DEFAULT '{}'
) WITH (fillfactor = 80); -- room for in-place (HOT) updates of latest values on every sync
CREATE INDEX media_account_published ON media (account_id, published_at DESC);

-- Long format: a metric Meta adds or removes needs no migration. Appended, never
-- overwritten: the key includes captured_at. The highest-volume table: instead of a
-- foreign key checked row by row, writers lock the media rows they resolve (FOR KEY SHARE)
-- and a statement trigger on media deletes the snapshots of deleted media.
CREATE TABLE media_insight_snapshots (
    media_id    bigint NOT NULL,
    metric      text NOT NULL,
    breakdown   text NOT NULL DEFAULT '',
    captured_at timestamptz NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (media_id, metric, breakdown, captured_at)
);

CREATE TABLE stories (
    id                   bigserial PRIMARY KEY,
    account_id           bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ig_media_id          text NOT NULL UNIQUE,
    media_type           text NOT NULL,
    published_at         timestamptz NOT NULL,
    permalink            text,
    caption              text,
    media_url            text,
    first_seen_at        timestamptz NOT NULL,
    last_seen_at         timestamptz NOT NULL,
    insights_captured_at timestamptz,
    insights_error       text,
    latest               jsonb NOT NULL DEFAULT '{}'
) WITH (fillfactor = 80);
CREATE INDEX stories_account_published ON stories (account_id, published_at DESC);

CREATE TABLE story_insight_snapshots (
    story_id    bigint NOT NULL,
    metric      text NOT NULL,
    breakdown   text NOT NULL DEFAULT '',
    captured_at timestamptz NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (story_id, metric, breakdown, captured_at)
);

CREATE FUNCTION igsync_media_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM media_insight_snapshots s USING gone WHERE s.media_id = gone.id;
    RETURN NULL;
END $$;
CREATE TRIGGER media_deleted AFTER DELETE ON media
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION igsync_media_deleted();

CREATE FUNCTION igsync_stories_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM story_insight_snapshots s USING gone WHERE s.story_id = gone.id;
    RETURN NULL;
END $$;
CREATE TRIGGER stories_deleted AFTER DELETE ON stories
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION igsync_stories_deleted();

-- Days of the settling window are updated in place; days are never deleted.
CREATE TABLE account_insight_days (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    metric     text NOT NULL,
    day        date NOT NULL,
    breakdown  text NOT NULL DEFAULT '',
    key        text NOT NULL DEFAULT '',
    value      double precision NOT NULL,
    fetched_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, metric, day, breakdown, key)
);

CREATE TABLE demographic_snapshots (
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    metric      text NOT NULL,
    breakdown   text NOT NULL,
    timeframe   text NOT NULL DEFAULT '',
    key         text NOT NULL,
    captured_on date NOT NULL,
    value       double precision NOT NULL,
    PRIMARY KEY (account_id, captured_on, metric, breakdown, timeframe, key)
);

CREATE TABLE sync_runs (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    plan          text NOT NULL,
    trigger       text NOT NULL,
    steps_planned text[] NOT NULL,
    status        text NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    error         text
);
CREATE INDEX sync_runs_account ON sync_runs (account_id, id DESC);

CREATE TABLE sync_steps (
    run_id           bigint NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    step             text NOT NULL,
    position         integer NOT NULL,
    status           text NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    attempts         integer NOT NULL,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    api_calls        bigint NOT NULL,
    rate_limit_units bigint NOT NULL,
    rows_written     bigint NOT NULL,
    expected         bigint,
    stored           bigint,
    complete         boolean,
    error            text,
    detail           jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, step)
);

-- ----- the job queue -----

CREATE TABLE jobs (
    id               bigserial PRIMARY KEY,
    queue            text NOT NULL,
    kind             text NOT NULL,
    args             jsonb NOT NULL,
    account_id       bigint REFERENCES accounts (id) ON DELETE CASCADE,
    unique_key       text,
    run_id           bigint REFERENCES sync_runs (id) ON DELETE SET NULL,
    state            text NOT NULL
        CHECK (state IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    attempt          integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL,
    priority         smallint NOT NULL,
    run_at           timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    attempted_at     timestamptz,
    finished_at      timestamptz,
    locked_by        text,
    lease_expires_at timestamptz,
    errors           jsonb NOT NULL DEFAULT '[]',
    progress         jsonb,
    result           jsonb,
    snoozes          integer NOT NULL DEFAULT 0,
    snooze_reason    text
);
-- An active job holds its unique key; a finished one frees it.
CREATE UNIQUE INDEX jobs_unique_active ON jobs (unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('pending', 'running');
-- The database-enforced invariant: at most one running job per account.
CREATE UNIQUE INDEX jobs_one_running_per_account ON jobs (account_id)
    WHERE account_id IS NOT NULL AND state = 'running';
-- Claims read only pending rows, whatever the size of the finished history.
CREATE INDEX jobs_claim ON jobs (queue, priority, run_at, id) WHERE state = 'pending';
CREATE INDEX jobs_state_finished ON jobs (state, finished_at);
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE state = 'running';
CREATE INDEX jobs_account ON jobs (account_id);
CREATE INDEX jobs_run ON jobs (run_id);

-- Finished jobs per minute, queue and kind: counts and log2 histograms (milliseconds).
-- Each minute is split over a few shards (by job id) so that workers finishing jobs at the
-- same time do not queue behind one row lock; readers add the shards up.
CREATE TABLE job_metrics (
    bucket_start timestamptz NOT NULL,
    queue        text NOT NULL,
    kind         text NOT NULL,
    shard        smallint NOT NULL DEFAULT 0,
    completed    bigint NOT NULL DEFAULT 0,
    failed       bigint NOT NULL DEFAULT 0,
    wait_hist    bigint[] NOT NULL,
    run_hist     bigint[] NOT NULL,
    PRIMARY KEY (bucket_start, queue, kind, shard)
);

-- The global start limiter: one row per granted start, kept for one window.
CREATE TABLE rate_limit_grants (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    granted_at timestamptz NOT NULL
);
CREATE INDEX rate_limit_grants_name ON rate_limit_grants (name, granted_at);

CREATE TABLE schedules (
    name        text PRIMARY KEY,
    cron        text NOT NULL,
    queue       text NOT NULL,
    kind        text NOT NULL,
    args        jsonb NOT NULL,
    paused      boolean NOT NULL DEFAULT false,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz,
    last_job_id bigint
);

CREATE TABLE workers (
    id           text PRIMARY KEY,
    hostname     text NOT NULL,
    pid          bigint NOT NULL,
    queues       text[] NOT NULL,
    concurrency  integer NOT NULL,
    started_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL
);

-- ----- operations -----

CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    account_id      bigint REFERENCES accounts (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    dedup_key       text NOT NULL UNIQUE,
    title           text NOT NULL,
    message         text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    acknowledged_at timestamptz,
    delivered_at    timestamptz,
    delivery_error  text
);
CREATE INDEX alerts_account ON alerts (account_id);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    hash         text NOT NULL,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

CREATE TABLE sessions (
    id_hash    text PRIMARY KEY,
    api_key_id text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- The latest Graph API usage per account; account_id NULL is the app as a whole.
CREATE TABLE api_usage (
    account_id            bigint REFERENCES accounts (id) ON DELETE CASCADE,
    observed_at           timestamptz NOT NULL,
    usage_pct             double precision NOT NULL,
    call_count_pct        double precision NOT NULL,
    total_cputime_pct     double precision NOT NULL,
    total_time_pct        double precision NOT NULL,
    regain_access_minutes bigint
);
CREATE UNIQUE INDEX api_usage_scope ON api_usage ((COALESCE(account_id, 0)));

CREATE TABLE api_calls_days (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day        date NOT NULL,
    requests   bigint NOT NULL DEFAULT 0,
    units      bigint NOT NULL DEFAULT 0,
    errors     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);
