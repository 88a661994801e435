//! Synced content and its history: profile snapshots, media, media insight snapshots,
//! stories, account insight days and demographics, one module per table family. Every apply
//! is one transaction of multi-row `INSERT … SELECT FROM UNNEST(…) ON CONFLICT …` statements;
//! snapshots are appended (keys include `captured_at`), never overwritten by later captures.

/// SQL of the check that account `$1` is stored, shared by `insights::account_owns` and the
/// statements that carry the check as their condition.
macro_rules! account_is_stored {
    () => {
        "EXISTS (SELECT 1 FROM accounts WHERE id = $1)"
    };
}

/// SQL that finds an item of `$table` among the Instagram ids `$ids` stored for an account
/// other than `$1`, shared like [`account_is_stored`].
macro_rules! owned_by_another {
    ($table:literal, $ids:literal) => {
        concat!(
            "SELECT ig_media_id FROM ",
            $table,
            " WHERE ig_media_id = ANY(",
            $ids,
            ") AND account_id <> $1"
        )
    };
}

mod account;
mod insights;
mod media;
mod missing;
mod stories;

pub(crate) use account::{
    account_insight_as_of, account_insight_days, account_insight_freshness,
    account_insight_last_day, account_insight_oldest_read, account_insights_apply,
    demographics_apply, demographics_latest,
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

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgRow;
use store::{AccountId, ProfileSnapshot, ProfileUpdate, Result, StoreError, StoreTotals};

use crate::accounts::get;
use crate::error::{corrupt, db};

/// The posts of a [`store::PostWindow`] as the CTE `wanted (id, ig_media_id)`: those
/// published in `$2..=$3` by account `$1`, and the `$4` newest of each product type before
/// `$2` (ties by `ig_media_id`, descending). Each product type's newest posts are the first
/// entries of the index `media_account_type_published` (migration 0016), so the baseline
/// costs its own posts, not the account's whole history. The product types are every
/// [`store::ProductType`] (a test checks the list).
const WINDOW_POSTS: &str = "WITH wanted AS (
         SELECT id, ig_media_id FROM media
         WHERE account_id = $1 AND published_at >= $2 AND published_at <= $3
         UNION ALL
         SELECT earlier.id, earlier.ig_media_id
         FROM (VALUES ('FEED'), ('REELS'), ('STORY'), ('AD')) AS t(product_type)
         CROSS JOIN LATERAL (
             SELECT id, ig_media_id FROM media
             WHERE account_id = $1 AND product_type = t.product_type AND published_at < $2
             ORDER BY published_at DESC, ig_media_id DESC
             LIMIT $4
         ) earlier
     )";

fn check_finite(values: impl IntoIterator<Item = f64>, what: &str) -> Result<()> {
    for v in values {
        if !v.is_finite() {
            return Err(StoreError::invalid(format!(
                "{what} value {v} is not a finite number"
            )));
        }
    }
    Ok(())
}

fn latest_from(row: &PgRow) -> Result<BTreeMap<String, f64>> {
    let value: serde_json::Value = get(row, "latest")?;
    let mut out = BTreeMap::new();
    if let serde_json::Value::Object(map) = value {
        for (k, v) in map {
            let n = v
                .as_f64()
                .ok_or_else(|| corrupt(format!("latest value of {k}")))?;
            out.insert(k, n);
        }
    }
    Ok(out)
}

async fn account_exists(tx: &mut sqlx::PgConnection, id: AccountId) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
        .bind(id.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::not_found(format!("account {id}"))),
    }
}

// ----- profile -----

/// A stored profile snapshot: captured_at, the three counters, api_version, source.
type ProfileRow = (DateTime<Utc>, i64, i64, i64, Option<String>, String);

pub(crate) async fn profile_apply(pool: &PgPool, u: ProfileUpdate) -> Result<()> {
    let s = &u.snapshot;
    let mut tx = pool.begin().await.map_err(db)?;
    let done = sqlx::query(
        "UPDATE accounts SET
             username = CASE WHEN newer.t IS NULL THEN $2 ELSE username END,
             name = CASE WHEN newer.t IS NULL THEN $3 ELSE name END,
             profile_picture_url = CASE WHEN newer.t IS NULL THEN $4 ELSE profile_picture_url END,
             followers_count = CASE WHEN newer.t IS NULL THEN $5 ELSE followers_count END,
             follows_count = CASE WHEN newer.t IS NULL THEN $6 ELSE follows_count END,
             media_count = CASE WHEN newer.t IS NULL THEN $7 ELSE media_count END,
             updated_at = GREATEST(updated_at, $8)
         FROM (SELECT max(captured_at) AS t FROM profile_snapshots
               WHERE account_id = $1
                 AND coalesce(confirmed_at, captured_at) > $8) AS newer
         WHERE id = $1",
    )
    .bind(s.account_id.get())
    .bind(&u.username)
    .bind(&u.name)
    .bind(&u.profile_picture_url)
    .bind(s.followers_count)
    .bind(s.follows_count)
    .bind(s.media_count)
    .bind(s.captured_at)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found(format!("account {}", s.account_id)));
    }
    // The same counters and provenance as the newest snapshot confirm it instead of
    // appending a row (`store::plan_snapshot_writes`).
    let newest: Option<ProfileRow> = sqlx::query_as(
        "SELECT captured_at, followers_count, follows_count, media_count, api_version, source
         FROM profile_snapshots WHERE account_id = $1 ORDER BY captured_at DESC LIMIT 1",
    )
    .bind(s.account_id.get())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let value = (
        s.followers_count,
        s.follows_count,
        s.media_count,
        u.origin.api_version.clone(),
        u.origin.source.as_str().to_string(),
    );
    let plan = store::plan_snapshot_writes(
        newest
            .into_iter()
            .map(|(t, f, g, m, a, src)| ((), (t, (f, g, m, a, src))))
            .collect(),
        &[((), s.captured_at, value)],
    );
    if let store::SnapshotWrite::Confirm { row } = plan[0] {
        sqlx::query(
            "UPDATE profile_snapshots SET confirmed_at = $3
             WHERE account_id = $1 AND captured_at = $2
               AND (confirmed_at IS NULL OR confirmed_at < $3)",
        )
        .bind(s.account_id.get())
        .bind(row)
        .bind(s.captured_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        return tx.commit().await.map_err(db);
    }
    sqlx::query(
        "INSERT INTO profile_snapshots
             (account_id, captured_at, followers_count, follows_count, media_count,
              api_version, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (account_id, captured_at) DO UPDATE SET
             followers_count = EXCLUDED.followers_count,
             follows_count = EXCLUDED.follows_count,
             media_count = EXCLUDED.media_count,
             api_version = EXCLUDED.api_version,
             source = EXCLUDED.source",
    )
    .bind(s.account_id.get())
    .bind(s.captured_at)
    .bind(s.followers_count)
    .bind(s.follows_count)
    .bind(s.media_count)
    .bind(&u.origin.api_version)
    .bind(u.origin.source.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)
}

pub(crate) async fn profile_snapshots(
    pool: &PgPool,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<ProfileSnapshot>> {
    let rows = sqlx::query(
        "SELECT account_id, captured_at, followers_count, follows_count, media_count,
                confirmed_at
         FROM profile_snapshots
         WHERE account_id = $1 AND coalesce(confirmed_at, captured_at) >= $2
           AND captured_at <= $3",
    )
    .bind(account_id.get())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let stored = rows
        .iter()
        .map(|r| {
            Ok((
                get::<DateTime<Utc>>(r, "captured_at")?,
                get::<Option<DateTime<Utc>>>(r, "confirmed_at")?,
                (
                    get::<i64>(r, "followers_count")?,
                    get::<i64>(r, "follows_count")?,
                    get::<i64>(r, "media_count")?,
                ),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(store::expand_profile_history(account_id, stored, from, to))
}

pub(crate) async fn totals(pool: &PgPool) -> Result<StoreTotals> {
    let r = sqlx::query(
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
    .fetch_one(pool)
    .await
    .map_err(db)?;
    Ok(StoreTotals {
        accounts: get(&r, "accounts")?,
        profile_snapshots: get(&r, "profile_snapshots")?,
        media: get(&r, "media")?,
        media_deleted: get(&r, "media_deleted")?,
        media_insight_snapshots: get(&r, "media_insight_snapshots")?,
        stories: get(&r, "stories")?,
        story_insight_snapshots: get(&r, "story_insight_snapshots")?,
        account_insight_days: get(&r, "account_insight_days")?,
        demographic_values: get(&r, "demographic_values")?,
        sync_runs: get(&r, "sync_runs")?,
        alerts: get(&r, "alerts")?,
    })
}

#[cfg(test)]
mod tests {
    use store::ProductType;

    #[test]
    fn the_window_posts_cover_every_product_type() {
        for t in ProductType::ALL {
            let value = format!("('{}')", t.as_str());
            assert!(
                super::WINDOW_POSTS.contains(&value),
                "{value} is missing from WINDOW_POSTS"
            );
        }
    }
}
