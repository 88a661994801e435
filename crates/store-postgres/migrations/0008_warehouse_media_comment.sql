-- Fivetran's `media_comment` table as a view beside igsync's tables (`fivetran_media_comment`),
-- exposed by `igsync migrate` in the warehouse schema as `media_comment`. Columns and types
-- follow the connector's schema (docs/warehouse.md): `_fivetran_id` String, `media_id` Long,
-- `created_time` Instant (timestamp with time zone on PostgreSQL), `hidden` Boolean, `id`
-- Long, `like_count` Long, `owner_id` Long, `owner_username` String, `parent_id` Long,
-- `text` String; plus `_fivetran_synced` as in the other views.
--
-- One row per captured version of a comment: each distinct text igsync received for it
-- (an edited comment has one row per text), synced when that text was first received; a
-- comment whose notifications carried no text is one row with a NULL text, synced when it
-- was last heard of. Meta's comment notifications carry neither a creation time nor the
-- `hidden` flag or the like count: `created_time` is the time of the earliest notification
-- of the comment, and `hidden` and `like_count` are NULL.
CREATE VIEW fivetran_media_comment AS
WITH versions AS (
    SELECT v.ig_comment_id, v.text, v.seen_at AS synced_at
    FROM comment_versions v
    UNION ALL
    SELECT c.ig_comment_id, NULL::text, c.last_seen_at
    FROM comments c
    WHERE NOT EXISTS (SELECT 1 FROM comment_versions v WHERE v.ig_comment_id = c.ig_comment_id)
)
SELECT
    'comment:' || c.ig_comment_id || ':' || coalesce(md5(v.text), 'none') AS _fivetran_id,
    igsync_utc(v.synced_at) AS _fivetran_synced,
    igsync_ig_bigint(c.ig_media_id) AS media_id,
    least(c.commented_at,
          (SELECT min(w.seen_at) FROM comment_versions w WHERE w.ig_comment_id = c.ig_comment_id))
        AS created_time,
    NULL::boolean AS hidden,
    igsync_ig_bigint(c.ig_comment_id) AS id,
    NULL::bigint AS like_count,
    igsync_ig_bigint(c.from_id) AS owner_id,
    c.from_username AS owner_username,
    igsync_ig_bigint(c.parent_id) AS parent_id,
    v.text AS text
FROM versions v
JOIN comments c ON c.ig_comment_id = v.ig_comment_id;
