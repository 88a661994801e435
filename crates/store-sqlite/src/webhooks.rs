//! Webhook events, refusals and subscription state; stories' final numbers; comments and
//! mentions.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use store::{
    AccountId, Comment, CommentRecord, Mention, NewWebhookEvent, Provenance, Result, StoreError,
    StoryFinal, WebhookAccountStatus, WebhookApply, WebhookEvent, WebhookRejections,
    WebhookSubscriptionUpdate, story_final_metrics_json, story_final_metrics_parse,
    story_finals_check,
};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{RowExt, chunked_values, micros};

fn limit_of(limit: u32) -> i64 {
    if limit == 0 { -1 } else { i64::from(limit) }
}

pub(crate) async fn event_insert(db: &SqliteStore, e: NewWebhookEvent) -> Result<(i64, bool)> {
    if e.delivery_key.is_empty() {
        return Err(StoreError::invalid("a webhook event needs a delivery key"));
    }
    let mut tx = db.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO webhook_events (delivery_key, body, received_at) VALUES (?, ?, ?)
         ON CONFLICT (delivery_key) DO NOTHING RETURNING id",
    )
    .bind(&e.delivery_key)
    .bind(&e.body)
    .bind(micros(e.received_at))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let out = match inserted {
        Some(row) => (row.col::<i64>("id")?, true),
        None => {
            let row = sqlx::query("SELECT id FROM webhook_events WHERE delivery_key = ?")
                .bind(&e.delivery_key)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            (row.col::<i64>("id")?, false)
        }
    };
    tx.commit().await.map_err(db_err)?;
    Ok(out)
}

fn event_from(row: &sqlx::sqlite::SqliteRow) -> Result<WebhookEvent> {
    Ok(WebhookEvent {
        id: row.col("id")?,
        delivery_key: row.col("delivery_key")?,
        body: row.col("body")?,
        received_at: row.time("received_at")?,
        processed_at: row.time_opt("processed_at")?,
        error: row.col("error")?,
    })
}

pub(crate) async fn event_get(db: &SqliteStore, id: i64) -> Result<Option<WebhookEvent>> {
    let row = sqlx::query(
        "SELECT id, delivery_key, body, received_at, processed_at, error
         FROM webhook_events WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?;
    row.as_ref().map(event_from).transpose()
}

pub(crate) async fn event_list(
    db: &SqliteStore,
    unprocessed: bool,
    limit: u32,
) -> Result<Vec<WebhookEvent>> {
    let rows = sqlx::query(
        "SELECT id, delivery_key, body, received_at, processed_at, error
         FROM webhook_events WHERE (? = 0 OR processed_at IS NULL)
         ORDER BY id LIMIT ?",
    )
    .bind(i64::from(unprocessed))
    .bind(limit_of(limit))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter().map(event_from).collect()
}

async fn finals_write(conn: &mut SqliteConnection, finals: &[StoryFinal]) -> Result<u64> {
    story_finals_check(finals)?;
    let mut accounts: Vec<AccountId> = finals.iter().map(|f| f.account_id).collect();
    accounts.sort_unstable();
    accounts.dedup();
    for a in accounts {
        ensure_exists(conn, a).await?;
    }
    chunked_values(
        conn,
        "INSERT INTO story_finals (ig_media_id, account_id, provenance, rank, captured_at,
             expires_at, metrics, reason, api_version)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (ig_media_id) DO UPDATE SET
             provenance = excluded.provenance,
             rank = excluded.rank,
             captured_at = excluded.captured_at,
             expires_at = excluded.expires_at,
             metrics = excluded.metrics,
             reason = excluded.reason,
             api_version = excluded.api_version
         WHERE story_finals.account_id = excluded.account_id
           AND (excluded.rank > story_finals.rank
                OR (excluded.rank = story_finals.rank
                    AND excluded.captured_at >= story_finals.captured_at))",
        finals,
        |q, f| {
            q.bind(f.ig_media_id.clone())
                .bind(f.account_id.get())
                .bind(f.provenance.as_str())
                .bind(f.provenance.rank())
                .bind(micros(f.captured_at))
                .bind(micros(f.expires_at))
                .bind(story_final_metrics_json(&f.metrics).to_string())
                .bind(f.reason.clone())
                .bind(f.api_version.clone())
        },
    )
    .await
}

pub(crate) async fn finals_apply(db: &SqliteStore, finals: Vec<StoryFinal>) -> Result<u64> {
    let mut tx = db.write().await?;
    let n = finals_write(&mut tx, &finals).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(n)
}

pub(crate) async fn final_list(
    db: &SqliteStore,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoryFinal>> {
    let rows = sqlx::query(
        "SELECT ig_media_id, account_id, provenance, captured_at, expires_at, metrics, reason,
                api_version
         FROM story_finals WHERE account_id = ? AND expires_at BETWEEN ? AND ?
         ORDER BY expires_at, ig_media_id",
    )
    .bind(account_id.get())
    .bind(micros(from))
    .bind(micros(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            let metrics = row.json("metrics")?;
            Ok(StoryFinal {
                account_id: AccountId::new(row.col("account_id")?),
                ig_media_id: row.col("ig_media_id")?,
                provenance: row.parsed("provenance", Provenance::parse)?,
                captured_at: row.time("captured_at")?,
                expires_at: row.time("expires_at")?,
                metrics: story_final_metrics_parse(&metrics)
                    .ok_or_else(|| corrupt("story_finals.metrics"))?,
                reason: row.col("reason")?,
                api_version: row.col("api_version")?,
            })
        })
        .collect()
}

pub(crate) async fn apply(db: &SqliteStore, a: WebhookApply) -> Result<u64> {
    let mut tx = db.write().await?;
    let mut accounts: Vec<AccountId> = a
        .comments
        .iter()
        .map(|c| c.account_id)
        .chain(a.mentions.iter().map(|m| m.account_id))
        .chain(a.heard.iter().map(|h| h.0))
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    for id in accounts {
        ensure_exists(&mut tx, id).await?;
    }
    let mut n = finals_write(&mut tx, &a.finals).await?;
    let seen = micros(a.processed_at);
    n += chunked_values(
        &mut tx,
        "INSERT INTO comments (ig_comment_id, account_id, ig_media_id, media_product_type,
             parent_id, from_id, from_username, text, commented_at, first_seen_at, last_seen_at)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (ig_comment_id) DO UPDATE SET
             ig_media_id = coalesce(excluded.ig_media_id, comments.ig_media_id),
             media_product_type = coalesce(excluded.media_product_type,
                 comments.media_product_type),
             parent_id = coalesce(excluded.parent_id, comments.parent_id),
             from_id = coalesce(excluded.from_id, comments.from_id),
             from_username = coalesce(excluded.from_username, comments.from_username),
             text = CASE WHEN excluded.commented_at >= comments.commented_at
                         THEN coalesce(excluded.text, comments.text) ELSE comments.text END,
             commented_at = max(comments.commented_at, excluded.commented_at),
             last_seen_at = max(comments.last_seen_at, excluded.last_seen_at)
         WHERE comments.account_id = excluded.account_id",
        &a.comments,
        |q, c: &CommentRecord| {
            q.bind(c.ig_comment_id.clone())
                .bind(c.account_id.get())
                .bind(c.ig_media_id.clone())
                .bind(c.media_product_type.clone())
                .bind(c.parent_id.clone())
                .bind(c.from_id.clone())
                .bind(c.from_username.clone())
                .bind(c.text.clone())
                .bind(micros(c.commented_at))
                .bind(seen)
                .bind(seen)
        },
    )
    .await?;
    let texts: Vec<&CommentRecord> = a.comments.iter().filter(|c| c.text.is_some()).collect();
    chunked_values(
        &mut tx,
        "INSERT INTO comment_versions (ig_comment_id, text, seen_at)",
        "(?, ?, ?)",
        "ON CONFLICT (ig_comment_id, text) DO NOTHING",
        &texts,
        |q, c| {
            q.bind(c.ig_comment_id.clone())
                .bind(c.text.clone())
                .bind(micros(c.commented_at))
        },
    )
    .await?;
    n += chunked_values(
        &mut tx,
        "INSERT INTO mentions (account_id, mention_key, ig_media_id, ig_comment_id,
             mentioned_at)",
        "(?, ?, ?, ?, ?)",
        "ON CONFLICT (account_id, mention_key) DO NOTHING",
        &a.mentions,
        |q, m: &Mention| {
            q.bind(m.account_id.get())
                .bind(
                    m.ig_comment_id
                        .clone()
                        .unwrap_or_else(|| m.ig_media_id.clone()),
                )
                .bind(m.ig_media_id.clone())
                .bind(m.ig_comment_id.clone())
                .bind(micros(m.mentioned_at))
        },
    )
    .await?;
    chunked_values(
        &mut tx,
        "INSERT INTO webhook_accounts (account_id, last_event_at)",
        "(?, ?)",
        "ON CONFLICT (account_id) DO UPDATE SET
             last_event_at = max(coalesce(webhook_accounts.last_event_at, 0),
                                 excluded.last_event_at)",
        &a.heard,
        |q, (id, at)| q.bind(id.get()).bind(micros(*at)),
    )
    .await?;
    let marked = sqlx::query("UPDATE webhook_events SET processed_at = ?, error = ? WHERE id = ?")
        .bind(micros(a.processed_at))
        .bind(a.error.clone())
        .bind(a.event_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    if marked.rows_affected() == 0 {
        return Err(StoreError::not_found(format!(
            "webhook event {}",
            a.event_id
        )));
    }
    tx.commit().await.map_err(db_err)?;
    Ok(n)
}

pub(crate) async fn rejection_record(
    db: &SqliteStore,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO webhook_rejections (reason, count, last_at) VALUES (?, 1, ?)
         ON CONFLICT (reason) DO UPDATE SET count = webhook_rejections.count + 1,
             last_at = max(webhook_rejections.last_at, excluded.last_at)",
    )
    .bind(reason)
    .bind(micros(at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn rejections(db: &SqliteStore) -> Result<Vec<WebhookRejections>> {
    let rows = sqlx::query("SELECT reason, count, last_at FROM webhook_rejections ORDER BY reason")
        .fetch_all(&db.reader)
        .await
        .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(WebhookRejections {
                reason: r.col("reason")?,
                count: r.col("count")?,
                last_at: r.time("last_at")?,
            })
        })
        .collect()
}

pub(crate) async fn subscription_set(db: &SqliteStore, u: WebhookSubscriptionUpdate) -> Result<()> {
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, u.account_id).await?;
    sqlx::query(
        "INSERT INTO webhook_accounts (account_id, fields, error, checked_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET fields = excluded.fields,
             error = excluded.error, checked_at = excluded.checked_at",
    )
    .bind(u.account_id.get())
    .bind(serde_json::Value::from_iter(u.fields.iter().map(String::as_str)).to_string())
    .bind(u.error)
    .bind(micros(u.checked_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(())
}

pub(crate) async fn account_status(db: &SqliteStore) -> Result<Vec<WebhookAccountStatus>> {
    let rows = sqlx::query(
        "SELECT account_id, fields, error, checked_at, last_event_at
         FROM webhook_accounts ORDER BY account_id",
    )
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let fields = r.json("fields")?;
            Ok(WebhookAccountStatus {
                account_id: AccountId::new(r.col("account_id")?),
                fields: fields
                    .as_array()
                    .ok_or_else(|| corrupt("webhook_accounts.fields"))?
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect(),
                error: r.col("error")?,
                checked_at: r.time_opt("checked_at")?,
                last_event_at: r.time_opt("last_event_at")?,
            })
        })
        .collect()
}

pub(crate) async fn comment_list(
    db: &SqliteStore,
    account_id: AccountId,
    ig_media_id: Option<&str>,
    limit: u32,
) -> Result<Vec<Comment>> {
    let rows = sqlx::query(
        "SELECT c.ig_comment_id, c.account_id, c.ig_media_id, c.media_product_type,
                c.parent_id, c.from_id, c.from_username, c.text, c.commented_at,
                c.first_seen_at, c.last_seen_at,
                (SELECT count(*) FROM comment_versions v
                 WHERE v.ig_comment_id = c.ig_comment_id) AS versions
         FROM comments c
         WHERE c.account_id = ? AND (? IS NULL OR c.ig_media_id = ?)
         ORDER BY c.commented_at DESC, c.ig_comment_id DESC LIMIT ?",
    )
    .bind(account_id.get())
    .bind(ig_media_id)
    .bind(ig_media_id)
    .bind(limit_of(limit))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                record: CommentRecord {
                    account_id: AccountId::new(r.col("account_id")?),
                    ig_comment_id: r.col("ig_comment_id")?,
                    ig_media_id: r.col("ig_media_id")?,
                    media_product_type: r.col("media_product_type")?,
                    parent_id: r.col("parent_id")?,
                    from_id: r.col("from_id")?,
                    from_username: r.col("from_username")?,
                    text: r.col("text")?,
                    commented_at: r.time("commented_at")?,
                },
                first_seen_at: r.time("first_seen_at")?,
                last_seen_at: r.time("last_seen_at")?,
                versions: r.col("versions")?,
            })
        })
        .collect()
}

pub(crate) async fn mention_list(
    db: &SqliteStore,
    account_id: AccountId,
    limit: u32,
) -> Result<Vec<Mention>> {
    let rows = sqlx::query(
        "SELECT account_id, ig_media_id, ig_comment_id, mentioned_at FROM mentions
         WHERE account_id = ? ORDER BY mentioned_at DESC, mention_key DESC LIMIT ?",
    )
    .bind(account_id.get())
    .bind(limit_of(limit))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|r| {
            Ok(Mention {
                account_id: AccountId::new(r.col("account_id")?),
                ig_media_id: r.col("ig_media_id")?,
                ig_comment_id: r.col("ig_comment_id")?,
                mentioned_at: r.time("mentioned_at")?,
            })
        })
        .collect()
}
