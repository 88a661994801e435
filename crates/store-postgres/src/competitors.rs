//! Competitors and their appended snapshots (counters and posts).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgRow;
use store::{
    AccountId, Competitor, CompetitorCapture, CompetitorFailure, CompetitorId,
    CompetitorMediaSnapshot, CompetitorSnapshot, CompetitorStatus, NewCompetitor, Result,
    StoreError,
};

use crate::accounts::get;
use crate::error::db;

const COLUMNS: &str = "id, username, via_account_id, ig_user_id, name, status, last_reason, \
     last_error, last_error_at, last_success_at, created_at";

fn competitor_from(r: &PgRow) -> Result<Competitor> {
    let status: String = get(r, "status")?;
    Ok(Competitor {
        id: get(r, "id")?,
        username: get(r, "username")?,
        via_account_id: AccountId::new(get(r, "via_account_id")?),
        ig_user_id: get(r, "ig_user_id")?,
        name: get(r, "name")?,
        status: CompetitorStatus::parse(&status).ok_or_else(|| StoreError::Other {
            message: format!("stored competitor status {status:?} is not one igsync writes"),
        })?,
        last_reason: get(r, "last_reason")?,
        last_error: get(r, "last_error")?,
        last_error_at: get(r, "last_error_at")?,
        last_success_at: get(r, "last_success_at")?,
        created_at: get(r, "created_at")?,
    })
}

pub(crate) async fn add(pool: &PgPool, c: NewCompetitor) -> Result<Competitor> {
    let mut tx = pool.begin().await.map_err(db)?;
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = $1")
        .bind(c.via_account_id.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    if exists.is_none() {
        return Err(StoreError::not_found(format!(
            "account {}",
            c.via_account_id
        )));
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO competitors (username, via_account_id, status, created_at)
         VALUES ($1, $2, 'pending', $3)
         ON CONFLICT (username) DO NOTHING RETURNING {COLUMNS}"
    )))
    .bind(&c.username)
    .bind(c.via_account_id.get())
    .bind(c.created_at)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db)?;
    let Some(row) = row else {
        return Err(StoreError::Conflict {
            message: format!("competitor {} is already tracked", c.username),
        });
    };
    let out = competitor_from(&row)?;
    tx.commit().await.map_err(db)?;
    Ok(out)
}

pub(crate) async fn list(pool: &PgPool) -> Result<Vec<Competitor>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM competitors ORDER BY username"
    )))
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(competitor_from)
    .collect()
}

pub(crate) async fn remove(pool: &PgPool, id: CompetitorId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM competitors WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(db)?
        .rows_affected();
    Ok(done > 0)
}

pub(crate) async fn capture(pool: &PgPool, c: CompetitorCapture) -> Result<()> {
    let s = &c.snapshot;
    if c.media.iter().any(|m| m.competitor_id != s.competitor_id) {
        return Err(StoreError::invalid(
            "a competitor capture with another competitor's posts",
        ));
    }
    let mut tx = pool.begin().await.map_err(db)?;
    let updated = sqlx::query(
        "UPDATE competitors SET ig_user_id = $1, name = coalesce($2, name), status = 'ok',
             last_success_at = $3 WHERE id = $4",
    )
    .bind(&c.ig_user_id)
    .bind(&c.name)
    .bind(s.captured_at)
    .bind(s.competitor_id)
    .execute(&mut *tx)
    .await
    .map_err(db)?
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
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (competitor_id, captured_at) DO UPDATE SET
             followers_count = EXCLUDED.followers_count,
             follows_count = EXCLUDED.follows_count,
             media_count = EXCLUDED.media_count",
    )
    .bind(s.competitor_id)
    .bind(s.captured_at)
    .bind(s.followers_count)
    .bind(s.follows_count)
    .bind(s.media_count)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if !c.media.is_empty() {
        let ids: Vec<&str> = c.media.iter().map(|m| m.media_id.as_str()).collect();
        let captured: Vec<DateTime<Utc>> = c.media.iter().map(|m| m.captured_at).collect();
        let posted: Vec<DateTime<Utc>> = c.media.iter().map(|m| m.posted_at).collect();
        let types: Vec<&str> = c.media.iter().map(|m| m.media_type.as_str()).collect();
        let products: Vec<Option<&str>> = c
            .media
            .iter()
            .map(|m| m.media_product_type.as_deref())
            .collect();
        let likes: Vec<Option<i64>> = c.media.iter().map(|m| m.like_count).collect();
        let comments: Vec<Option<i64>> = c.media.iter().map(|m| m.comments_count).collect();
        let links: Vec<Option<&str>> = c.media.iter().map(|m| m.permalink.as_deref()).collect();
        sqlx::query(
            "INSERT INTO competitor_media_snapshots (competitor_id, media_id, captured_at,
                 posted_at, media_type, media_product_type, like_count, comments_count, permalink)
             SELECT $1, u.id, u.c, u.p, u.t, u.pt, u.l, u.cm, u.pl
             FROM UNNEST($2::text[], $3::timestamptz[], $4::timestamptz[], $5::text[],
                         $6::text[], $7::bigint[], $8::bigint[], $9::text[])
                 AS u(id, c, p, t, pt, l, cm, pl)
             ON CONFLICT (competitor_id, media_id, captured_at) DO UPDATE SET
                 like_count = EXCLUDED.like_count, comments_count = EXCLUDED.comments_count",
        )
        .bind(s.competitor_id)
        .bind(&ids)
        .bind(&captured)
        .bind(&posted)
        .bind(&types)
        .bind(&products)
        .bind(&likes)
        .bind(&comments)
        .bind(&links)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)?;
    Ok(())
}

pub(crate) async fn fail(pool: &PgPool, f: CompetitorFailure) -> Result<()> {
    let updated = sqlx::query(
        "UPDATE competitors SET status = 'error', last_reason = $1, last_error = $2,
             last_error_at = $3 WHERE id = $4",
    )
    .bind(&f.reason)
    .bind(&f.message)
    .bind(f.at)
    .bind(f.competitor_id)
    .execute(pool)
    .await
    .map_err(db)?
    .rows_affected();
    if updated == 0 {
        return Err(StoreError::not_found(format!(
            "competitor {}",
            f.competitor_id
        )));
    }
    Ok(())
}

pub(crate) async fn snapshots(
    pool: &PgPool,
    id: CompetitorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CompetitorSnapshot>> {
    sqlx::query(
        "SELECT competitor_id, captured_at, followers_count, follows_count, media_count
         FROM competitor_snapshots WHERE competitor_id = $1 AND captured_at BETWEEN $2 AND $3
         ORDER BY captured_at",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(CompetitorSnapshot {
            competitor_id: get(r, "competitor_id")?,
            captured_at: get(r, "captured_at")?,
            followers_count: get(r, "followers_count")?,
            follows_count: get(r, "follows_count")?,
            media_count: get(r, "media_count")?,
        })
    })
    .collect()
}

pub(crate) async fn media_snapshots(
    pool: &PgPool,
    id: CompetitorId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<CompetitorMediaSnapshot>> {
    sqlx::query(
        "SELECT competitor_id, media_id, captured_at, posted_at, media_type, media_product_type,
             like_count, comments_count, permalink
         FROM competitor_media_snapshots
         WHERE competitor_id = $1 AND captured_at BETWEEN $2 AND $3
         ORDER BY captured_at, posted_at DESC, media_id",
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(|r| {
        Ok(CompetitorMediaSnapshot {
            competitor_id: get(r, "competitor_id")?,
            media_id: get(r, "media_id")?,
            captured_at: get(r, "captured_at")?,
            posted_at: get(r, "posted_at")?,
            media_type: get(r, "media_type")?,
            media_product_type: get(r, "media_product_type")?,
            like_count: get(r, "like_count")?,
            comments_count: get(r, "comments_count")?,
            permalink: get(r, "permalink")?,
        })
    })
    .collect()
}
