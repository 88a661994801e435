-- Lossless history without repeated rows. A snapshot identical to the newest one of its
-- series (every value, `api_version` and `source` equal) is not appended again: the newest
-- row's `confirmed_at` (`confirmed_on` for demographics, captured per day) moves to the
-- new read's time instead. A row stands for its value from `captured_at` through
-- `coalesce(confirmed_at, captured_at)`, so the value as of any time is still the newest row
-- captured at or before it. NULL: never read again with the same values (and every row from
-- before this migration).

ALTER TABLE profile_snapshots ADD COLUMN confirmed_at timestamptz;
ALTER TABLE media_insight_snapshots ADD COLUMN confirmed_at timestamptz;
ALTER TABLE story_insight_snapshots ADD COLUMN confirmed_at timestamptz;
ALTER TABLE demographic_snapshots ADD COLUMN confirmed_on date;

-- The warehouse views read every snapshot as a row per read, as before: each row stands for
-- its value at every read of its item (a capture or a confirmation of any of the item's
-- series) from its capture through its confirmation, before the next row of its series.

CREATE VIEW igsync_profile_reads AS
SELECT account_id, captured_at, followers_count, follows_count, media_count
FROM profile_snapshots
UNION ALL
SELECT p.account_id, p.confirmed_at, p.followers_count, p.follows_count, p.media_count
FROM profile_snapshots p
WHERE p.confirmed_at > p.captured_at
  AND NOT EXISTS (SELECT 1 FROM profile_snapshots n
                  WHERE n.account_id = p.account_id AND n.captured_at > p.captured_at
                    AND n.captured_at <= p.confirmed_at);

CREATE VIEW igsync_media_insight_reads AS
WITH reads AS (
    SELECT media_id, captured_at AS t FROM media_insight_snapshots
    UNION
    SELECT media_id, confirmed_at FROM media_insight_snapshots WHERE confirmed_at IS NOT NULL
)
SELECT media_id, metric, breakdown, captured_at, value
FROM media_insight_snapshots WHERE confirmed_at IS NULL
UNION ALL
SELECT s.media_id, s.metric, s.breakdown, r.t, s.value
FROM media_insight_snapshots s
JOIN reads r ON r.media_id = s.media_id AND r.t >= s.captured_at AND r.t <= s.confirmed_at
WHERE s.confirmed_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM media_insight_snapshots n
                  WHERE n.media_id = s.media_id AND n.metric = s.metric
                    AND n.breakdown = s.breakdown AND n.captured_at > s.captured_at
                    AND n.captured_at <= r.t);

CREATE VIEW igsync_story_insight_reads AS
WITH reads AS (
    SELECT story_id, captured_at AS t FROM story_insight_snapshots
    UNION
    SELECT story_id, confirmed_at FROM story_insight_snapshots WHERE confirmed_at IS NOT NULL
)
SELECT story_id, metric, breakdown, captured_at, value
FROM story_insight_snapshots WHERE confirmed_at IS NULL
UNION ALL
SELECT s.story_id, s.metric, s.breakdown, r.t, s.value
FROM story_insight_snapshots s
JOIN reads r ON r.story_id = s.story_id AND r.t >= s.captured_at AND r.t <= s.confirmed_at
WHERE s.confirmed_at IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM story_insight_snapshots n
                  WHERE n.story_id = s.story_id AND n.metric = s.metric
                    AND n.breakdown = s.breakdown AND n.captured_at > s.captured_at
                    AND n.captured_at <= r.t);

CREATE VIEW igsync_demographic_reads AS
WITH reads AS (
    SELECT account_id, captured_on AS d FROM demographic_snapshots
    UNION
    SELECT account_id, confirmed_on FROM demographic_snapshots WHERE confirmed_on IS NOT NULL
)
SELECT account_id, metric, breakdown, timeframe, key, captured_on, value
FROM demographic_snapshots WHERE confirmed_on IS NULL
UNION ALL
SELECT s.account_id, s.metric, s.breakdown, s.timeframe, s.key, r.d, s.value
FROM demographic_snapshots s
JOIN reads r ON r.account_id = s.account_id AND r.d >= s.captured_on AND r.d <= s.confirmed_on
WHERE s.confirmed_on IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM demographic_snapshots n
                  WHERE n.account_id = s.account_id AND n.metric = s.metric
                    AND n.breakdown = s.breakdown AND n.timeframe = s.timeframe
                    AND n.key = s.key AND n.captured_on > s.captured_on
                    AND n.captured_on <= r.d);

CREATE OR REPLACE VIEW fivetran_user_history AS
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
FROM igsync_profile_reads p
JOIN accounts a ON a.id = p.account_id;

CREATE OR REPLACE VIEW fivetran_media_insights AS
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
    FROM igsync_media_insight_reads s
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
    FROM igsync_story_insight_reads s
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

CREATE OR REPLACE VIEW fivetran_user_lifetime_insights AS
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
FROM igsync_demographic_reads d
JOIN accounts a ON a.id = d.account_id;
