//! Competitors and their appended snapshots (counters and posts).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use store::{
    AccountId, Competitor, CompetitorCapture, CompetitorFailure, CompetitorId,
    CompetitorMediaSnapshot, CompetitorSnapshot, CompetitorStatus, NewCompetitor, Result,
    StoreError,
};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{RowExt, chunked_values, micros};

const COLUMNS: &str = "id, username, via_account_id, ig_user_id, name, status, last_reason, \
     last_error, last_error_at, last_success_at, created_at";

fn competitor_from(row: &SqliteRow) -> Result<Competitor> {
    let status: String = row.col("status")?;
    Ok(Competitor {
        id: row.col("id")?,
        username: row.col("username")?,
        via_account_id: AccountId::new(row.col("via_account_id")?),
        ig_user_id: row.col("ig_user_id")?,
        name: row.col("name")?,
        status: CompetitorStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("competitor status {status:?}")))?,
        last_reason: row.col("last_reason")?,
        last_error: row.col("last_error")?,
        last_error_at: row.time_opt("last_error_at")?,
        last_success_at: row.time_opt("last_success_at")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) async fn add(db: &SqliteStore, c: NewCompetitor) -> Result<Competitor> {
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, c.via_account_id).await?;
    let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM competitors WHERE username = ?")
        .bind(&c.username)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
    if taken.is_some() {
        return Err(StoreError::Conflict {
            message: format!("competitor {} is already tracked", c.username),
        });
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO competitors (username, via_account_id, status, created_at)
         VALUES (?, ?, 'pending', ?) RETURNING {COLUMNS}"
    )))
    .bind(&c.username)
    .bind(c.via_account_id.get())
    .bind(micros(c.created_at))
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let out = competitor_from(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

pub(crate) async fn list(db: &SqliteStore) -> Result<Vec<Competitor>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM competitors ORDER BY username"
    )))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(competitor_from)
    .collect()
}

pub(crate) async fn remove(db: &SqliteStore, id: CompetitorId) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query("DELETE FROM competitors WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn capture(db: &SqliteStore, c: CompetitorCapture) -> Result<()> {
    let s = &c.snapshot;
    if c.media.iter().any(|m| m.competitor_id != s.competitor_id) {
        return Err(StoreError::invalid(
            "a competitor capture with another competitor's posts",
        ));
    }
    let at = micros(s.captured_at);
    let mut tx = db.write().await?;
    let updated = sqlx::query(
        "UPDATE competitors SET ig_user_id = ?, name = coalesce(?, name), status = 'ok',
             last_success_at = ? WHERE id = ?",
    )
    .bind(&c.ig_user_id)
    .bind(&c.name)
    .bind(at)
    .bind(s.competitor_id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::not_found(format!(
            "competitor {}",
            s.competitor_id
        )));
    }
    sqlx::query(
        "INSERT INTO competitor_snapshots
             (competitor_id, captured_at, followers_count, follows_count, media_count)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (competitor_id, captured_at) DO UPDATE SET
             followers_count = excluded.followers_count,
             follows_count = excluded.follows_count,
             media_count = excluded.media_count",
    )
    .bind(s.competitor_id)
    .bind(at)
    .bind(s.followers_count)
    .bind(s.follows_count)
    .bind(s.media_count)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    chunked_values(
        &mut tx,
        "INSERT INTO competitor_media_snapshots (competitor_id, media_id, captured_at, posted_at,
             media_type, media_product_type, like_count, comments_count, permalink)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (competitor_id, media_id, captured_at) DO UPDATE SET
             like_count = excluded.like_count, comments_count = excluded.comments_count",
        &c.media,
        |q, m| {
            q.bind(m.competitor_id)
                .bind(m.media_id.clone())
                .bind(micros(m.captured_at))
                .bind(micros(m.posted_at))
                .bind(m.media_type.clone())
                .bind(m.media_product_type.clone())
                .bind(m.like_count)
                .bind(m.comments_count)
                .bind(m.permalink.clone())
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn fail(db: &SqliteStore, f: CompetitorFailure) -> Result<()> {
    let mut tx = db.write().await?;
    let updated = sqlx::query(
        "UPDATE competitors SET status = 'error', last_reason = ?, last_error = ?,
             last_error_at = ? WHERE id = ?",
    )
    .bind(&f.reason)
    .bind(&f.message)
    .bind(micros(f.at))
    .bind(f.competitor_id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::not_found(format!(
            "competitor {}",
            f.competitor_id
        )));
    }
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn snapshots(
    db: &SqliteStore,
    id: CompetitorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CompetitorSnapshot>> {
    sqlx::query(
        "SELECT competitor_id, captured_at, followers_count, follows_count, media_count
         FROM competitor_snapshots WHERE competitor_id = ? AND captured_at BETWEEN ? AND ?
         ORDER BY captured_at",
    )
    .bind(id)
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok(CompetitorSnapshot {
            competitor_id: r.col("competitor_id")?,
            captured_at: r.time("captured_at")?,
            followers_count: r.col("followers_count")?,
            follows_count: r.col("follows_count")?,
            media_count: r.col("media_count")?,
        })
    })
    .collect()
}

pub(crate) async fn media_snapshots(
    db: &SqliteStore,
    id: CompetitorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CompetitorMediaSnapshot>> {
    sqlx::query(
        "SELECT competitor_id, media_id, captured_at, posted_at, media_type, media_product_type,
             like_count, comments_count, permalink
         FROM competitor_media_snapshots
         WHERE competitor_id = ? AND captured_at BETWEEN ? AND ?
         ORDER BY captured_at, posted_at DESC, media_id",
    )
    .bind(id)
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(|r| {
        Ok(CompetitorMediaSnapshot {
            competitor_id: r.col("competitor_id")?,
            media_id: r.col("media_id")?,
            captured_at: r.time("captured_at")?,
            posted_at: r.time("posted_at")?,
            media_type: r.col("media_type")?,
            media_product_type: r.col("media_product_type")?,
            like_count: r.col("like_count")?,
            comments_count: r.col("comments_count")?,
            permalink: r.col("permalink")?,
        })
    })
    .collect()
}
