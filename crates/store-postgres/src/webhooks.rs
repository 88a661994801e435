//! Webhook events, refusals and subscription state; stories' final numbers; comments and
//! mentions.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use store::{
    AccountId, Comment, CommentRecord, Mention, NewWebhookEvent, Provenance, Result, StoreError,
    StoryFinal, WebhookAccountStatus, WebhookApply, WebhookEvent, WebhookRejections,
    WebhookSubscriptionUpdate, story_final_metrics_json, story_final_metrics_parse,
    story_finals_check,
};

use crate::error::{corrupt, db};

fn limit_of(limit: u32) -> Option<i64> {
    if limit == 0 {
        None
    } else {
        Some(i64::from(limit))
    }
}

async fn account_exists(conn: &mut PgConnection, ids: &[AccountId]) -> Result<()> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    let stored: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let found: Vec<i64> = sqlx::query_scalar("SELECT id FROM accounts WHERE id = ANY($1)")
        .bind(&stored)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    match ids.iter().find(|id| !found.contains(&id.get())) {
        Some(id) => Err(StoreError::not_found(format!("account {id}"))),
        None => Ok(()),
    }
}

pub(crate) async fn event_insert(pool: &PgPool, e: NewWebhookEvent) -> Result<(i64, bool)> {
    if e.delivery_key.is_empty() {
        return Err(StoreError::invalid("a webhook event needs a delivery key"));
    }
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO webhook_events (delivery_key, body, received_at) VALUES ($1, $2, $3)
         ON CONFLICT (delivery_key) DO NOTHING RETURNING id",
    )
    .bind(&e.delivery_key)
    .bind(&e.body)
    .bind(e.received_at)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    if let Some(id) = inserted {
        return Ok((id, true));
    }
    let id: i64 = sqlx::query_scalar("SELECT id FROM webhook_events WHERE delivery_key = $1")
        .bind(&e.delivery_key)
        .fetch_one(pool)
        .await
        .map_err(db)?;
    Ok((id, false))
}

fn event_from(row: &PgRow) -> Result<WebhookEvent> {
    Ok(WebhookEvent {
        id: row.try_get("id").map_err(db)?,
        delivery_key: row.try_get("delivery_key").map_err(db)?,
        body: row.try_get("body").map_err(db)?,
        received_at: row.try_get("received_at").map_err(db)?,
        processed_at: row.try_get("processed_at").map_err(db)?,
        error: row.try_get("error").map_err(db)?,
    })
}

pub(crate) async fn event_get(pool: &PgPool, id: i64) -> Result<Option<WebhookEvent>> {
    let row = sqlx::query(
        "SELECT id, delivery_key, body, received_at, processed_at, error
         FROM webhook_events WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.as_ref().map(event_from).transpose()
}

pub(crate) async fn event_list(
    pool: &PgPool,
    unprocessed: bool,
    limit: u32,
) -> Result<Vec<WebhookEvent>> {
    let rows = sqlx::query(
        "SELECT id, delivery_key, body, received_at, processed_at, error
         FROM webhook_events WHERE (NOT $1 OR processed_at IS NULL)
         ORDER BY id LIMIT $2",
    )
    .bind(unprocessed)
    .bind(limit_of(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(event_from).collect()
}

async fn finals_write(conn: &mut PgConnection, finals: &[StoryFinal]) -> Result<u64> {
    story_finals_check(finals)?;
    if finals.is_empty() {
        return Ok(0);
    }
    let ids: Vec<AccountId> = finals.iter().map(|f| f.account_id).collect();
    account_exists(conn, &ids).await?;
    // One row per story: the strongest, then the latest (a statement may not touch a row twice).
    let mut best: BTreeMap<&str, &StoryFinal> = BTreeMap::new();
    for f in finals {
        let keep = best.get(f.ig_media_id.as_str()).is_none_or(|b| {
            (f.provenance.rank(), f.captured_at) >= (b.provenance.rank(), b.captured_at)
        });
        if keep {
            best.insert(&f.ig_media_id, f);
        }
    }
    let rows: Vec<&StoryFinal> = best.into_values().collect();
    let done = sqlx::query(
        "INSERT INTO story_finals (ig_media_id, account_id, provenance, rank, captured_at,
             expires_at, metrics, reason, api_version)
         SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::int[],
             $5::timestamptz[], $6::timestamptz[], $7::jsonb[], $8::text[], $9::text[])
         ON CONFLICT (ig_media_id) DO UPDATE SET
             provenance = EXCLUDED.provenance,
             rank = EXCLUDED.rank,
             captured_at = EXCLUDED.captured_at,
             expires_at = EXCLUDED.expires_at,
             metrics = EXCLUDED.metrics,
             reason = EXCLUDED.reason,
             api_version = EXCLUDED.api_version
         WHERE story_finals.account_id = EXCLUDED.account_id
           AND (EXCLUDED.rank > story_finals.rank
                OR (EXCLUDED.rank = story_finals.rank
                    AND EXCLUDED.captured_at >= story_finals.captured_at))",
    )
    .bind(
        rows.iter()
            .map(|f| f.ig_media_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|f| f.account_id.get()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|f| f.provenance.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|f| f.provenance.rank()).collect::<Vec<_>>())
    .bind(rows.iter().map(|f| f.captured_at).collect::<Vec<_>>())
    .bind(rows.iter().map(|f| f.expires_at).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|f| story_final_metrics_json(&f.metrics))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|f| f.reason.clone()).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|f| f.api_version.clone())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn finals_apply(pool: &PgPool, finals: Vec<StoryFinal>) -> Result<u64> {
    let mut tx = pool.begin().await.map_err(db)?;
    let n = finals_write(&mut tx, &finals).await?;
    tx.commit().await.map_err(db)?;
    Ok(n)
}

pub(crate) async fn final_list(
    pool: &PgPool,
    account_id: AccountId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoryFinal>> {
    let rows = sqlx::query(
        "SELECT ig_media_id, account_id, provenance, captured_at, expires_at, metrics, reason,
                api_version
         FROM story_finals WHERE account_id = $1 AND expires_at BETWEEN $2 AND $3
         ORDER BY expires_at, ig_media_id",
    )
    .bind(account_id.get())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|row| {
            let metrics: serde_json::Value = row.try_get("metrics").map_err(db)?;
            let provenance: String = row.try_get("provenance").map_err(db)?;
            Ok(StoryFinal {
                account_id: AccountId::new(row.try_get("account_id").map_err(db)?),
                ig_media_id: row.try_get("ig_media_id").map_err(db)?,
                provenance: Provenance::parse(&provenance)
                    .ok_or_else(|| corrupt(format!("provenance {provenance:?}")))?,
                captured_at: row.try_get("captured_at").map_err(db)?,
                expires_at: row.try_get("expires_at").map_err(db)?,
                metrics: story_final_metrics_parse(&metrics)
                    .ok_or_else(|| corrupt("story_finals.metrics"))?,
                reason: row.try_get("reason").map_err(db)?,
                api_version: row.try_get("api_version").map_err(db)?,
            })
        })
        .collect()
}

pub(crate) async fn apply(pool: &PgPool, a: WebhookApply) -> Result<u64> {
    let mut tx = pool.begin().await.map_err(db)?;
    let ids: Vec<AccountId> = a
        .comments
        .iter()
        .map(|c| c.account_id)
        .chain(a.mentions.iter().map(|m| m.account_id))
        .chain(a.heard.iter().map(|h| h.0))
        .collect();
    account_exists(&mut tx, &ids).await?;
    let mut n = finals_write(&mut tx, &a.finals).await?;
    // The latest notification of each comment (a statement may not touch a row twice).
    let mut last: BTreeMap<&str, &CommentRecord> = BTreeMap::new();
    for c in &a.comments {
        if last
            .get(c.ig_comment_id.as_str())
            .is_none_or(|b| c.commented_at >= b.commented_at)
        {
            last.insert(&c.ig_comment_id, c);
        }
    }
    let cs: Vec<&CommentRecord> = last.into_values().collect();
    if !cs.is_empty() {
        let done = sqlx::query(
            "INSERT INTO comments (ig_comment_id, account_id, ig_media_id, media_product_type,
                 parent_id, from_id, from_username, text, commented_at, first_seen_at,
                 last_seen_at)
             SELECT u.*, $10, $10 FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[],
                 $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[]) AS u
             ON CONFLICT (ig_comment_id) DO UPDATE SET
                 ig_media_id = coalesce(EXCLUDED.ig_media_id, comments.ig_media_id),
                 media_product_type = coalesce(EXCLUDED.media_product_type,
                     comments.media_product_type),
                 parent_id = coalesce(EXCLUDED.parent_id, comments.parent_id),
                 from_id = coalesce(EXCLUDED.from_id, comments.from_id),
                 from_username = coalesce(EXCLUDED.from_username, comments.from_username),
                 text = CASE WHEN EXCLUDED.commented_at >= comments.commented_at
                             THEN coalesce(EXCLUDED.text, comments.text)
                             ELSE comments.text END,
                 commented_at = GREATEST(comments.commented_at, EXCLUDED.commented_at),
                 last_seen_at = GREATEST(comments.last_seen_at, EXCLUDED.last_seen_at)
             WHERE comments.account_id = EXCLUDED.account_id",
        )
        .bind(
            cs.iter()
                .map(|c| c.ig_comment_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(cs.iter().map(|c| c.account_id.get()).collect::<Vec<_>>())
        .bind(cs.iter().map(|c| c.ig_media_id.clone()).collect::<Vec<_>>())
        .bind(
            cs.iter()
                .map(|c| c.media_product_type.clone())
                .collect::<Vec<_>>(),
        )
        .bind(cs.iter().map(|c| c.parent_id.clone()).collect::<Vec<_>>())
        .bind(cs.iter().map(|c| c.from_id.clone()).collect::<Vec<_>>())
        .bind(
            cs.iter()
                .map(|c| c.from_username.clone())
                .collect::<Vec<_>>(),
        )
        .bind(cs.iter().map(|c| c.text.clone()).collect::<Vec<_>>())
        .bind(cs.iter().map(|c| c.commented_at).collect::<Vec<_>>())
        .bind(a.processed_at)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        n += done.rows_affected();
        let texts: Vec<&CommentRecord> = a.comments.iter().filter(|c| c.text.is_some()).collect();
        sqlx::query(
            "INSERT INTO comment_versions (ig_comment_id, text, seen_at)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::timestamptz[])
             ON CONFLICT (ig_comment_id, text) DO NOTHING",
        )
        .bind(
            texts
                .iter()
                .map(|c| c.ig_comment_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(texts.iter().map(|c| c.text.clone()).collect::<Vec<_>>())
        .bind(texts.iter().map(|c| c.commented_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    if !a.mentions.is_empty() {
        let ms = &a.mentions;
        let done = sqlx::query(
            "INSERT INTO mentions (account_id, mention_key, ig_media_id, ig_comment_id,
                 mentioned_at)
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[],
                 $5::timestamptz[])
             ON CONFLICT (account_id, mention_key) DO NOTHING",
        )
        .bind(ms.iter().map(|m| m.account_id.get()).collect::<Vec<_>>())
        .bind(
            ms.iter()
                .map(|m| {
                    m.ig_comment_id
                        .clone()
                        .unwrap_or_else(|| m.ig_media_id.clone())
                })
                .collect::<Vec<_>>(),
        )
        .bind(ms.iter().map(|m| m.ig_media_id.clone()).collect::<Vec<_>>())
        .bind(
            ms.iter()
                .map(|m| m.ig_comment_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(ms.iter().map(|m| m.mentioned_at).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        n += done.rows_affected();
    }
    let mut heard: BTreeMap<AccountId, DateTime<Utc>> = BTreeMap::new();
    for (id, at) in &a.heard {
        let e = heard.entry(*id).or_insert(*at);
        *e = (*e).max(*at);
    }
    if !heard.is_empty() {
        sqlx::query(
            "INSERT INTO webhook_accounts (account_id, last_event_at)
             SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[])
             ON CONFLICT (account_id) DO UPDATE SET last_event_at =
                 GREATEST(webhook_accounts.last_event_at, EXCLUDED.last_event_at)",
        )
        .bind(heard.keys().map(|id| id.get()).collect::<Vec<_>>())
        .bind(heard.values().copied().collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    let marked =
        sqlx::query("UPDATE webhook_events SET processed_at = $1, error = $2 WHERE id = $3")
            .bind(a.processed_at)
            .bind(a.error.clone())
            .bind(a.event_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    if marked.rows_affected() == 0 {
        return Err(StoreError::not_found(format!(
            "webhook event {}",
            a.event_id
        )));
    }
    tx.commit().await.map_err(db)?;
    Ok(n)
}

pub(crate) async fn rejection_record(pool: &PgPool, reason: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO webhook_rejections (reason, count, last_at) VALUES ($1, 1, $2)
         ON CONFLICT (reason) DO UPDATE SET count = webhook_rejections.count + 1,
             last_at = GREATEST(webhook_rejections.last_at, EXCLUDED.last_at)",
    )
    .bind(reason)
    .bind(at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn rejections(pool: &PgPool) -> Result<Vec<WebhookRejections>> {
    let rows = sqlx::query("SELECT reason, count, last_at FROM webhook_rejections ORDER BY reason")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(WebhookRejections {
                reason: r.try_get("reason").map_err(db)?,
                count: r.try_get("count").map_err(db)?,
                last_at: r.try_get("last_at").map_err(db)?,
            })
        })
        .collect()
}

pub(crate) async fn subscription_set(pool: &PgPool, u: WebhookSubscriptionUpdate) -> Result<()> {
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, &[u.account_id]).await?;
    sqlx::query(
        "INSERT INTO webhook_accounts (account_id, fields, error, checked_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (account_id) DO UPDATE SET fields = EXCLUDED.fields,
             error = EXCLUDED.error, checked_at = EXCLUDED.checked_at",
    )
    .bind(u.account_id.get())
    .bind(&u.fields)
    .bind(u.error)
    .bind(u.checked_at)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(())
}

pub(crate) async fn account_status(pool: &PgPool) -> Result<Vec<WebhookAccountStatus>> {
    let rows = sqlx::query(
        "SELECT account_id, fields, error, checked_at, last_event_at
         FROM webhook_accounts ORDER BY account_id",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(WebhookAccountStatus {
                account_id: AccountId::new(r.try_get("account_id").map_err(db)?),
                fields: r.try_get("fields").map_err(db)?,
                error: r.try_get("error").map_err(db)?,
                checked_at: r.try_get("checked_at").map_err(db)?,
                last_event_at: r.try_get("last_event_at").map_err(db)?,
            })
        })
        .collect()
}

pub(crate) async fn comment_list(
    pool: &PgPool,
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
         WHERE c.account_id = $1 AND ($2::text IS NULL OR c.ig_media_id = $2)
         ORDER BY c.commented_at DESC, c.ig_comment_id DESC LIMIT $3",
    )
    .bind(account_id.get())
    .bind(ig_media_id)
    .bind(limit_of(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                record: CommentRecord {
                    account_id: AccountId::new(r.try_get("account_id").map_err(db)?),
                    ig_comment_id: r.try_get("ig_comment_id").map_err(db)?,
                    ig_media_id: r.try_get("ig_media_id").map_err(db)?,
                    media_product_type: r.try_get("media_product_type").map_err(db)?,
                    parent_id: r.try_get("parent_id").map_err(db)?,
                    from_id: r.try_get("from_id").map_err(db)?,
                    from_username: r.try_get("from_username").map_err(db)?,
                    text: r.try_get("text").map_err(db)?,
                    commented_at: r.try_get("commented_at").map_err(db)?,
                },
                first_seen_at: r.try_get("first_seen_at").map_err(db)?,
                last_seen_at: r.try_get("last_seen_at").map_err(db)?,
                versions: r.try_get("versions").map_err(db)?,
            })
        })
        .collect()
}

pub(crate) async fn mention_list(
    pool: &PgPool,
    account_id: AccountId,
    limit: u32,
) -> Result<Vec<Mention>> {
    let rows = sqlx::query(
        "SELECT account_id, ig_media_id, ig_comment_id, mentioned_at FROM mentions
         WHERE account_id = $1 ORDER BY mentioned_at DESC, mention_key DESC LIMIT $2",
    )
    .bind(account_id.get())
    .bind(limit_of(limit))
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(Mention {
                account_id: AccountId::new(r.try_get("account_id").map_err(db)?),
                ig_media_id: r.try_get("ig_media_id").map_err(db)?,
                ig_comment_id: r.try_get("ig_comment_id").map_err(db)?,
                mentioned_at: r.try_get("mentioned_at").map_err(db)?,
            })
        })
        .collect()
}
