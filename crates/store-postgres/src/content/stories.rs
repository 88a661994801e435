//! Stories: their rows and their insight history.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use store::{AccountId, InsightSnapshot, MediaType, Result, Story, StoryBatch, StoryRecord};

use crate::accounts::get;
use crate::error::{corrupt, db};

use super::insights::{Owner, account_owns, insights_apply};
use super::latest_from;
use super::media::dedup_last;

// ----- stories -----

pub(crate) async fn stories_apply(pool: &PgPool, batch: StoryBatch) -> Result<u64> {
    let stories = dedup_last(batch.stories, |s| s.ig_media_id.clone());
    let n = stories.len();
    let mut ids = Vec::with_capacity(n);
    let mut mts = Vec::with_capacity(n);
    let mut published = Vec::with_capacity(n);
    let mut permalinks = Vec::with_capacity(n);
    let mut captions = Vec::with_capacity(n);
    let mut urls = Vec::with_capacity(n);
    for s in stories {
        ids.push(s.ig_media_id);
        mts.push(s.media_type.as_str());
        published.push(s.published_at);
        permalinks.push(s.permalink);
        captions.push(s.caption);
        urls.push(s.media_url);
    }
    let mut tx = pool.begin().await.map_err(db)?;
    account_owns(&mut tx, Owner::Story, batch.account_id, &ids).await?;
    let mut written = 0;
    if n > 0 {
        let done = sqlx::query(
            "INSERT INTO stories (account_id, ig_media_id, media_type, published_at, permalink,
                 caption, media_url, first_seen_at, last_seen_at)
             SELECT $1, u.id, u.mt, u.pa, u.pl, u.cap, u.mu, $2, $2
             FROM UNNEST($3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[],
                 $8::text[]) AS u(id, mt, pa, pl, cap, mu)
             ON CONFLICT (ig_media_id) DO UPDATE SET
                 media_type = EXCLUDED.media_type,
                 published_at = EXCLUDED.published_at,
                 permalink = EXCLUDED.permalink,
                 caption = EXCLUDED.caption,
                 media_url = EXCLUDED.media_url,
                 last_seen_at = GREATEST(stories.last_seen_at, EXCLUDED.last_seen_at)
             WHERE stories.account_id = EXCLUDED.account_id",
        )
        .bind(batch.account_id.get())
        .bind(batch.captured_at)
        .bind(&ids)
        .bind(&mts)
        .bind(&published)
        .bind(&permalinks)
        .bind(&captions)
        .bind(&urls)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        written += done.rows_affected();
    }
    written += insights_apply(
        &mut tx,
        Owner::Story,
        batch.account_id,
        batch.captured_at,
        batch.rows,
        batch.errors,
        &batch.origin,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(written)
}

pub(crate) async fn story_list(
    pool: &PgPool,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Story>> {
    let rows = sqlx::query(
        "SELECT account_id, ig_media_id, media_type, published_at, permalink, caption, media_url,
             first_seen_at, last_seen_at, insights_captured_at, insights_error, latest
         FROM stories
         WHERE account_id = $1 AND published_at >= $2 AND published_at <= $3
         ORDER BY published_at DESC, id DESC",
    )
    .bind(account_id.get())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            let mt: String = get(r, "media_type")?;
            Ok(Story {
                account_id: AccountId::new(get(r, "account_id")?),
                record: StoryRecord {
                    ig_media_id: get(r, "ig_media_id")?,
                    media_type: MediaType::parse(&mt)
                        .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
                    published_at: get(r, "published_at")?,
                    permalink: get(r, "permalink")?,
                    caption: get(r, "caption")?,
                    media_url: get(r, "media_url")?,
                },
                first_seen_at: get(r, "first_seen_at")?,
                last_seen_at: get(r, "last_seen_at")?,
                insights_captured_at: get(r, "insights_captured_at")?,
                insights_error: get(r, "insights_error")?,
                latest: latest_from(r)?,
            })
        })
        .collect()
}

pub(crate) async fn story_insight_history(
    pool: &PgPool,
    ig_media_ids: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let rows = sqlx::query(
        "SELECT s.ig_media_id, i.metric, i.breakdown, i.captured_at, i.value, i.confirmed_at
         FROM story_insight_snapshots i JOIN stories s ON s.id = i.story_id
         WHERE s.ig_media_id = ANY($1)",
    )
    .bind(ig_media_ids)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    super::insights::sorted_snapshots(&rows)
}
