//! The synced content and its history: profile snapshots, media and their insight
//! snapshots, stories, account insight days and demographics, one module per table family.
//! Every `*_apply` is one write transaction of chunked multi-row statements.

mod account;
mod insights;
mod media;
mod missing;
mod stories;

pub(crate) use account::{
    account_insight_as_of, account_insight_days, account_insight_last_day,
    account_insight_oldest_read, account_insights_apply, demographics_apply, demographics_latest,
};
pub(crate) use insights::{
    media_insight_history, media_insight_history_window, media_insights_apply,
};
pub(crate) use media::{
    media_apply, media_get, media_index, media_list, media_summaries, media_summaries_window,
};
pub(crate) use missing::{
    catalog_decisions_list, catalog_decisions_record, missing_apply, missing_list,
};
pub(crate) use stories::{stories_apply, story_insight_history, story_list};

use chrono::{DateTime, Utc};
use store::{AccountId, ProfileSnapshot, ProfileUpdate, Result, StoreTotals};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::db_err;
use crate::sql::{RowExt, micros};

/// The posts of a [`store::PostWindow`] as the CTE `wanted (id, ig_media_id)`: those
/// published in `?2..=?3` (microseconds) by account `?1`, and the `?4` newest of each
/// product type before `?2` (ties by `ig_media_id`, descending).
const WINDOW_POSTS: &str = "WITH wanted AS (
         SELECT id, ig_media_id FROM media
         WHERE account_id = ?1 AND published_at >= ?2 AND published_at <= ?3
         UNION ALL
         SELECT id, ig_media_id FROM (
             SELECT id, ig_media_id, row_number() OVER (
                 PARTITION BY product_type ORDER BY published_at DESC, ig_media_id DESC) AS n
             FROM media WHERE account_id = ?1 AND published_at < ?2
         ) WHERE n <= ?4
     )";

// ----- profile -----

pub(crate) async fn profile_apply(db: &SqliteStore, update: ProfileUpdate) -> Result<()> {
    let snap = &update.snapshot;
    let at = micros(snap.captured_at);
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, snap.account_id).await?;
    // The same counters and provenance as the newest snapshot confirm it instead of
    // appending a row (`store::plan_snapshot_writes`).
    let newest: Option<(i64, i64, i64, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT captured_at, followers_count, follows_count, media_count, api_version, source
         FROM profile_snapshots WHERE account_id = ? ORDER BY captured_at DESC LIMIT 1",
    )
    .bind(snap.account_id.get())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let value = (
        snap.followers_count,
        snap.follows_count,
        snap.media_count,
        update.origin.api_version.clone(),
        update.origin.source.as_str().to_string(),
    );
    let plan = store::plan_snapshot_writes(
        newest
            .into_iter()
            .map(|(t, f, g, m, a, src)| ((), (t, (f, g, m, a, src))))
            .collect(),
        &[((), at, value)],
    );
    if let store::SnapshotWrite::Confirm { row } = plan[0] {
        sqlx::query(
            "UPDATE profile_snapshots SET confirmed_at = ?3
             WHERE account_id = ?1 AND captured_at = ?2
               AND (confirmed_at IS NULL OR confirmed_at < ?3)",
        )
        .bind(snap.account_id.get())
        .bind(row)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    } else {
        sqlx::query(
            "INSERT INTO profile_snapshots
                 (account_id, captured_at, followers_count, follows_count, media_count,
                  api_version, source)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (account_id, captured_at) DO UPDATE SET
                 followers_count = excluded.followers_count,
                 follows_count = excluded.follows_count,
                 media_count = excluded.media_count,
                 api_version = excluded.api_version,
                 source = excluded.source",
        )
        .bind(snap.account_id.get())
        .bind(at)
        .bind(snap.followers_count)
        .bind(snap.follows_count)
        .bind(snap.media_count)
        .bind(&update.origin.api_version)
        .bind(update.origin.source.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    // The account shows the newest read: an older snapshot applied late only adds history.
    sqlx::query(
        "UPDATE accounts SET
             username = ?2, name = ?3, profile_picture_url = ?4,
             followers_count = ?5, follows_count = ?6, media_count = ?7,
             updated_at = max(updated_at, ?8)
         WHERE id = ?1
           AND NOT EXISTS (SELECT 1 FROM profile_snapshots
                           WHERE account_id = ?1
                             AND coalesce(confirmed_at, captured_at) > ?8)",
    )
    .bind(snap.account_id.get())
    .bind(&update.username)
    .bind(&update.name)
    .bind(&update.profile_picture_url)
    .bind(snap.followers_count)
    .bind(snap.follows_count)
    .bind(snap.media_count)
    .bind(at)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn profile_snapshots(
    db: &SqliteStore,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ProfileSnapshot>> {
    let rows = sqlx::query(
        "SELECT captured_at, followers_count, follows_count, media_count, confirmed_at
         FROM profile_snapshots
         WHERE account_id = ? AND coalesce(confirmed_at, captured_at) >= ?
           AND captured_at <= ?",
    )
    .bind(account_id.get())
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    let stored = rows
        .iter()
        .map(|row| {
            Ok((
                row.time("captured_at")?,
                row.time_opt("confirmed_at")?,
                (
                    row.col::<i64>("followers_count")?,
                    row.col::<i64>("follows_count")?,
                    row.col::<i64>("media_count")?,
                ),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(store::expand_profile_history(account_id, stored, from, to))
}

// ----- totals -----

pub(crate) async fn totals(db: &SqliteStore) -> Result<StoreTotals> {
    let row = sqlx::query(
        "SELECT
             (SELECT count(*) FROM accounts) AS accounts,
             (SELECT count(*) FROM profile_snapshots) AS profile_snapshots,
             (SELECT count(*) FROM media) AS media,
             (SELECT count(*) FROM media WHERE deleted_at IS NOT NULL) AS media_deleted,
             (SELECT count(*) FROM media_insight_snapshots) AS media_insight_snapshots,
             (SELECT count(*) FROM stories) AS stories,
             (SELECT count(*) FROM story_insight_snapshots) AS story_insight_snapshots,
             (SELECT count(*) FROM account_insight_days) AS account_insight_days,
             (SELECT count(*) FROM demographic_snapshots) AS demographic_values,
             (SELECT count(*) FROM sync_runs) AS sync_runs,
             (SELECT count(*) FROM alerts) AS alerts",
    )
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)?;
    Ok(StoreTotals {
        accounts: row.col("accounts")?,
        profile_snapshots: row.col("profile_snapshots")?,
        media: row.col("media")?,
        media_deleted: row.col("media_deleted")?,
        media_insight_snapshots: row.col("media_insight_snapshots")?,
        stories: row.col("stories")?,
        story_insight_snapshots: row.col("story_insight_snapshots")?,
        account_insight_days: row.col("account_insight_days")?,
        demographic_values: row.col("demographic_values")?,
        sync_runs: row.col("sync_runs")?,
        alerts: row.col("alerts")?,
    })
}
