-- Fivetran-compatible views of igsync's history (the source tables of Fivetran's Instagram
-- Business connector, as read by the dbt package `fivetran/dbt_instagram_business`). These
-- live beside igsync's tables under `fivetran_*` names; `igsync migrate` exposes them in the
-- warehouse schema (setting `warehouse.schema`, default `instagram_business`) as
-- `user_history`, `media_history`, `media_insights`, `user_insights` and
-- `user_lifetime_insights`. Column names and types follow docs/warehouse.md. Metrics are
-- what Meta said (rounded to whole numbers, as Fivetran's Long columns); a metric Meta did not
-- give is NULL, never 0. Columns igsync has no source for are present and NULL.

-- Instagram ids are decimal strings; the warehouse carries them as bigint. An id that is not
-- a number in bigint's range becomes NULL rather than failing every read of the view.
CREATE FUNCTION igsync_ig_bigint(id text) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE
        WHEN id ~ '^[0-9]{1,18}$' THEN id::bigint
        WHEN id ~ '^[0-9]{19}$' AND id <= '9223372036854775807' THEN id::bigint
    END
$$;

-- UTC wall-clock time: Fivetran's `timestamp` columns are timestamps without time zone.
CREATE FUNCTION igsync_utc(t timestamptz) RETURNS timestamp
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT t AT TIME ZONE 'UTC' $$;

-- One row per profile snapshot: each is a version of the user as igsync captured it.
CREATE VIEW fivetran_user_history AS
SELECT
    'user:' || a.ig_user_id || ':' || to_char(igsync_utc(p.captured_at), 'YYYYMMDD"T"HH24MISS.US')
        AS _fivetran_id,
    igsync_utc(p.captured_at) AS _fivetran_synced,
    p.followers_count::bigint AS followers_count,
    p.follows_count::bigint AS follows_count,
    igsync_ig_bigint(a.ig_user_id) AS id,
    NULL::bigint AS ig_id,
    p.media_count::bigint AS media_count,
    a.name::text AS name,
    a.username::text AS username,
    NULL::text AS website
FROM profile_snapshots p
JOIN accounts a ON a.id = p.account_id;

-- Posts and stories. igsync keeps one version of a media item's descriptive fields (the
-- latest seen), so each media item is one row, synced when it was last seen.
CREATE VIEW fivetran_media_history AS
SELECT
    'media:' || m.ig_media_id AS _fivetran_id,
    igsync_utc(m.last_seen_at) AS _fivetran_synced,
    m.caption AS caption,
    NULL::bigint AS carousel_album_id,
    igsync_utc(m.published_at) AS created_time,
    igsync_ig_bigint(m.ig_media_id) AS id,
    NULL::bigint AS ig_id,
    NULL::boolean AS is_comment_enabled,
    false AS is_story,
    m.media_type AS media_type,
    m.media_url AS media_url,
    m.permalink AS permalink,
    m.shortcode AS shortcode,
    m.thumbnail_url AS thumbnail_url,
    igsync_ig_bigint(a.ig_user_id) AS user_id,
    a.username AS username
FROM media m
JOIN accounts a ON a.id = m.account_id
UNION ALL
SELECT
    'story:' || s.ig_media_id,
    igsync_utc(s.last_seen_at),
    s.caption,
    NULL::bigint,
    igsync_utc(s.published_at),
    igsync_ig_bigint(s.ig_media_id),
    NULL::bigint,
    NULL::boolean,
    true,
    s.media_type,
    s.media_url,
    s.permalink,
    NULL::text,
    NULL::text,
    igsync_ig_bigint(a.ig_user_id),
    a.username
FROM stories s
JOIN accounts a ON a.id = s.account_id;

-- One row per insight capture of a post or story: its lifetime totals as of that capture,
-- in the column family of its product type (feed images and videos: video_photo_*, feed
-- carousels: carousel_album_*, reels: reel_*, stories: story_*). Fivetran's `engagement`
-- columns carry Meta's `total_interactions`, the metric that replaced `engagement`.
CREATE VIEW fivetran_media_insights AS
WITH post_captures AS (
    SELECT
        s.media_id,
        s.captured_at,
        round(max(s.value) FILTER (WHERE s.metric = 'likes'))::bigint AS likes,
        round(max(s.value) FILTER (WHERE s.metric = 'comments'))::bigint AS comments,
        round(max(s.value) FILTER (WHERE s.metric = 'reach'))::bigint AS reach,
        round(max(s.value) FILTER (WHERE s.metric = 'saved'))::bigint AS saved,
        round(max(s.value) FILTER (WHERE s.metric = 'shares'))::bigint AS shares,
        round(max(s.value) FILTER (WHERE s.metric = 'views'))::bigint AS views,
        round(max(s.value) FILTER (WHERE s.metric = 'total_interactions'))::bigint AS interactions
    FROM media_insight_snapshots s
    WHERE s.breakdown = ''
    GROUP BY s.media_id, s.captured_at
),
captures AS (
    -- like_count and comment_count are the media object's counts where Meta's insights
    -- did not give them: at the latest capture, or on the one row of a post whose insights
    -- were never captured (synced when the post was last seen).
    SELECT
        m.ig_media_id,
        CASE
            WHEN m.product_type = 'REELS' THEN 'reel'
            WHEN m.media_type = 'CAROUSEL_ALBUM' THEN 'carousel'
            ELSE 'video_photo'
        END AS family,
        coalesce(c.captured_at, m.last_seen_at) AS captured_at,
        coalesce(c.likes, CASE WHEN c.captured_at IS NULL
            OR c.captured_at = max(c.captured_at) OVER (PARTITION BY m.id) THEN m.like_count END)
            AS likes,
        coalesce(c.comments, CASE WHEN c.captured_at IS NULL
            OR c.captured_at = max(c.captured_at) OVER (PARTITION BY m.id) THEN m.comments_count END)
            AS comments,
        c.reach, c.saved, c.shares, c.views, c.interactions,
        NULL::bigint AS replies
    FROM media m
    LEFT JOIN post_captures c ON c.media_id = m.id
    UNION ALL
    SELECT
        st.ig_media_id,
        'story',
        s.captured_at,
        NULL, NULL,
        round(max(s.value) FILTER (WHERE s.metric = 'reach'))::bigint,
        NULL,
        round(max(s.value) FILTER (WHERE s.metric = 'shares'))::bigint,
        round(max(s.value) FILTER (WHERE s.metric = 'views'))::bigint,
        NULL,
        round(max(s.value) FILTER (WHERE s.metric = 'replies'))::bigint
    FROM story_insight_snapshots s
    JOIN stories st ON st.id = s.story_id
    WHERE s.breakdown = ''
    GROUP BY st.ig_media_id, s.captured_at
)
SELECT
    'insights:' || c.ig_media_id || ':' || to_char(igsync_utc(c.captured_at), 'YYYYMMDD"T"HH24MISS.US')
        AS _fivetran_id,
    igsync_utc(c.captured_at) AS _fivetran_synced,
    igsync_ig_bigint(c.ig_media_id) AS id,
    c.likes AS like_count,
    c.comments AS comment_count,
    CASE WHEN c.family = 'carousel' THEN c.interactions END AS carousel_album_engagement,
    CASE WHEN c.family = 'carousel' THEN c.reach END AS carousel_album_reach,
    CASE WHEN c.family = 'carousel' THEN c.saved END AS carousel_album_saved,
    CASE WHEN c.family = 'carousel' THEN c.shares END AS carousel_album_shares,
    CASE WHEN c.family = 'carousel' THEN c.views END AS carousel_album_views,
    NULL::bigint AS story_exits,
    CASE WHEN c.family = 'story' THEN c.reach END AS story_reach,
    CASE WHEN c.family = 'story' THEN c.replies END AS story_replies,
    NULL::bigint AS story_taps_back,
    NULL::bigint AS story_taps_forward,
    CASE WHEN c.family = 'story' THEN c.shares END AS story_shares,
    CASE WHEN c.family = 'story' THEN c.views END AS story_views,
    CASE WHEN c.family = 'video_photo' THEN c.interactions END AS video_photo_engagement,
    CASE WHEN c.family = 'video_photo' THEN c.reach END AS video_photo_reach,
    CASE WHEN c.family = 'video_photo' THEN c.saved END AS video_photo_saved,
    CASE WHEN c.family = 'video_photo' THEN c.shares END AS video_photo_shares,
    CASE WHEN c.family = 'video_photo' THEN c.views END AS video_photo_views,
    CASE WHEN c.family = 'reel' THEN c.comments END AS reel_comments,
    CASE WHEN c.family = 'reel' THEN c.likes END AS reel_likes,
    CASE WHEN c.family = 'reel' THEN c.reach END AS reel_reach,
    CASE WHEN c.family = 'reel' THEN c.shares END AS reel_shares,
    CASE WHEN c.family = 'reel' THEN c.interactions END AS reel_total_interactions,
    CASE WHEN c.family = 'reel' THEN c.views END AS reel_views,
    -- Removed by Meta (Graph API v22.0, 2025): present for compatibility, always NULL.
    NULL::bigint AS carousel_album_impressions,
    NULL::bigint AS carousel_album_video_views,
    NULL::bigint AS story_impressions,
    NULL::bigint AS video_photo_impressions,
    NULL::bigint AS video_views,
    NULL::bigint AS reel_plays
FROM captures c;

-- One row per account and day: the account's daily metrics (totals without breakdown),
-- synced when the day was last read.
CREATE VIEW fivetran_user_insights AS
SELECT
    'user_insights:' || a.ig_user_id || ':' || d.day::text AS _fivetran_id,
    igsync_utc(max(d.fetched_at)) AS _fivetran_synced,
    igsync_ig_bigint(a.ig_user_id) AS id,
    d.day AS date,
    round(max(d.value) FILTER (WHERE d.metric = 'follower_count'))::bigint AS follower_count,
    round(max(d.value) FILTER (WHERE d.metric = 'reach'))::bigint AS reach,
    round(max(d.value) FILTER (WHERE d.metric = 'profile_views'))::bigint AS profile_views,
    round(max(d.value) FILTER (WHERE d.metric = 'website_clicks'))::bigint AS website_clicks,
    round(max(d.value) FILTER (WHERE d.metric = 'email_contacts'))::bigint AS email_contacts,
    round(max(d.value) FILTER (WHERE d.metric = 'phone_call_clicks'))::bigint AS phone_call_clicks,
    round(max(d.value) FILTER (WHERE d.metric = 'text_message_clicks'))::bigint AS text_message_clicks,
    round(max(d.value) FILTER (WHERE d.metric = 'get_directions_clicks'))::bigint AS get_directions_clicks,
    round(max(d.value) FILTER (WHERE d.metric = 'accounts_engaged'))::bigint AS accounts_engaged,
    round(max(d.value) FILTER (WHERE d.metric = 'comments'))::bigint AS comments,
    round(max(d.value) FILTER (WHERE d.metric = 'likes'))::bigint AS likes,
    round(max(d.value) FILTER (WHERE d.metric = 'replies'))::bigint AS replies,
    round(max(d.value) FILTER (WHERE d.metric = 'saves'))::bigint AS saves,
    round(max(d.value) FILTER (WHERE d.metric = 'shares'))::bigint AS shares,
    round(max(d.value) FILTER (WHERE d.metric = 'total_interactions'))::bigint AS total_interactions,
    round(max(d.value) FILTER (WHERE d.metric = 'views'))::bigint AS views,
    NULL::bigint AS unfollower_count,
    -- Removed by Meta (Graph API v22.0, 2025): present for compatibility, always NULL.
    NULL::bigint AS impressions
FROM account_insight_days d
JOIN accounts a ON a.id = d.account_id
WHERE d.breakdown = ''
GROUP BY a.ig_user_id, d.day
HAVING count(*) FILTER (WHERE d.metric <> 'online_followers') > 0;

-- Audience demographics in long format: one row per captured value. `metric` is Meta's
-- metric, `breakdown` its dimension (age, city, country, gender), `timeframe` its window
-- ('' for follower_demographics), `key` the dimension value.
CREATE VIEW fivetran_user_lifetime_insights AS
SELECT
    'user_lifetime_insights:' || a.ig_user_id || ':' || d.captured_on::text || ':' || d.metric
        || ':' || d.breakdown || ':' || d.timeframe || ':' || d.key AS _fivetran_id,
    d.captured_on::timestamp AS _fivetran_synced,
    igsync_ig_bigint(a.ig_user_id) AS id,
    d.captured_on AS date,
    d.metric AS metric,
    d.breakdown AS breakdown,
    d.timeframe AS timeframe,
    d.key AS key,
    round(d.value)::bigint AS value
FROM demographic_snapshots d
JOIN accounts a ON a.id = d.account_id;
