//! Stories: their rows and their insight history.

use chrono::{DateTime, Utc};
use store::{
    AccountId, InsightSnapshot, MediaType, Result, StoreError, Story, StoryBatch, StoryRecord,
};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::db_err;
use crate::sql::{RowExt, chunked_values, json_texts, micros};

use super::insights::{STORY_INSIGHTS, apply_insights, check_rows, snapshot_from};
use super::media::require_ids;

// ----- stories -----

pub(crate) async fn stories_apply(db: &SqliteStore, batch: StoryBatch) -> Result<u64> {
    require_ids(
        "story",
        batch.stories.iter().map(|s| s.ig_media_id.as_str()),
    )?;
    check_rows("story", &batch.rows)?;
    let seen = micros(batch.captured_at);
    let account = batch.account_id;
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, account).await?;
    let upserted = chunked_values(
        &mut tx,
        "INSERT INTO stories (account_id, ig_media_id, media_type, published_at, permalink,
             caption, media_url, first_seen_at, last_seen_at)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (ig_media_id) DO UPDATE SET
             media_type = excluded.media_type,
             published_at = excluded.published_at,
             permalink = excluded.permalink,
             caption = excluded.caption,
             media_url = excluded.media_url,
             last_seen_at = max(stories.last_seen_at, excluded.last_seen_at)
         WHERE stories.account_id = excluded.account_id",
        &batch.stories,
        |q, s| {
            q.bind(account.get())
                .bind(s.ig_media_id.clone())
                .bind(s.media_type.as_str())
                .bind(micros(s.published_at))
                .bind(s.permalink.clone())
                .bind(s.caption.clone())
                .bind(s.media_url.clone())
                .bind(seen)
                .bind(seen)
        },
    )
    .await?;
    if upserted < batch.stories.len() as u64 {
        return Err(StoreError::Conflict {
            message: format!("a listed story id of account {account} belongs to another account"),
        });
    }
    let written = apply_insights(
        &mut tx,
        &STORY_INSIGHTS,
        account,
        batch.captured_at,
        &batch.rows,
        &batch.errors,
        &batch.origin,
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(upserted + written)
}

pub(crate) async fn story_list(
    db: &SqliteStore,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Story>> {
    let rows = sqlx::query(
        "SELECT account_id, ig_media_id, media_type, published_at, permalink, caption,
                media_url, first_seen_at, last_seen_at, insights_captured_at, insights_error,
                latest
         FROM stories
         WHERE account_id = ? AND published_at BETWEEN ? AND ?
         ORDER BY published_at DESC, id DESC",
    )
    .bind(account_id.get())
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(Story {
                account_id: AccountId::new(row.col("account_id")?),
                record: StoryRecord {
                    ig_media_id: row.col("ig_media_id")?,
                    media_type: row.parsed("media_type", MediaType::parse)?,
                    published_at: row.time("published_at")?,
                    permalink: row.col("permalink")?,
                    caption: row.col("caption")?,
                    media_url: row.col("media_url")?,
                },
                first_seen_at: row.time("first_seen_at")?,
                last_seen_at: row.time("last_seen_at")?,
                insights_captured_at: row.time_opt("insights_captured_at")?,
                insights_error: row.col("insights_error")?,
                latest: row.metrics("latest")?,
            })
        })
        .collect()
}

pub(crate) async fn story_insight_history(
    db: &SqliteStore,
    ig_media_ids: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let rows = sqlx::query(
        "SELECT st.ig_media_id, s.metric, s.breakdown, s.captured_at, s.value, s.confirmed_at
         FROM stories st JOIN story_insight_snapshots s ON s.story_id = st.id
         WHERE st.ig_media_id IN (SELECT value FROM json_each(?))
         ORDER BY st.ig_media_id, s.metric, s.breakdown, s.captured_at",
    )
    .bind(json_texts(ig_media_ids))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    let rows = rows
        .iter()
        .map(|row| Ok((snapshot_from(row)?, row.time_opt("confirmed_at")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(store::expand_insight_history(rows))
}
