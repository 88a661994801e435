//! Synced content and its history: profile snapshots, media, media insight snapshots,
//! stories, account insight days and demographics. Every apply is one transaction of
//! multi-row `INSERT … SELECT FROM UNNEST(…) ON CONFLICT …` statements; snapshots are
//! appended (keys include `captured_at`), never overwritten by later captures.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use store::{
    AccountId, AccountInsightBatch, AccountInsightDay, DemographicBatch, DemographicValue,
    InsightBatch, InsightSnapshot, Media, MediaBatch, MediaChild, MediaIndexEntry, MediaQuery,
    MediaRecord, MediaSummary, MediaType, PostWindow, ProductType, ProfileSnapshot, ProfileUpdate,
    Result, StoreError, StoreTotals, Story, StoryBatch, StoryRecord,
};

use crate::accounts::get;
use crate::error::{corrupt, db};

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
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::not_found(format!("account {id}"))),
    }
}

// ----- profile -----

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
               WHERE account_id = $1 AND captured_at > $8) AS newer
         WHERE id = $1",
    )
    .bind(s.account_id)
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
    sqlx::query(
        "INSERT INTO profile_snapshots
             (account_id, captured_at, followers_count, follows_count, media_count)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, captured_at) DO UPDATE SET
             followers_count = EXCLUDED.followers_count,
             follows_count = EXCLUDED.follows_count,
             media_count = EXCLUDED.media_count",
    )
    .bind(s.account_id)
    .bind(s.captured_at)
    .bind(s.followers_count)
    .bind(s.follows_count)
    .bind(s.media_count)
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
        "SELECT account_id, captured_at, followers_count, follows_count, media_count
         FROM profile_snapshots
         WHERE account_id = $1 AND captured_at >= $2 AND captured_at <= $3
         ORDER BY captured_at",
    )
    .bind(account_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(ProfileSnapshot {
                account_id: get(r, "account_id")?,
                captured_at: get(r, "captured_at")?,
                followers_count: get(r, "followers_count")?,
                follows_count: get(r, "follows_count")?,
                media_count: get(r, "media_count")?,
            })
        })
        .collect()
}

// ----- media -----

fn children_json(children: &[MediaChild]) -> String {
    serde_json::Value::Array(
        children
            .iter()
            .map(|c| {
                json!({
                    "ig_media_id": c.ig_media_id,
                    "media_type": c.media_type.as_str(),
                    "media_url": c.media_url,
                })
            })
            .collect(),
    )
    .to_string()
}

fn children_from(value: serde_json::Value) -> Result<Vec<MediaChild>> {
    let serde_json::Value::Array(items) = value else {
        return Err(corrupt("media children"));
    };
    items
        .into_iter()
        .map(|c| {
            let id = c["ig_media_id"]
                .as_str()
                .ok_or_else(|| corrupt("media child id"))?;
            let mt = c["media_type"].as_str().unwrap_or_default();
            Ok(MediaChild {
                ig_media_id: id.to_string(),
                media_type: MediaType::parse(mt)
                    .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
                media_url: c["media_url"].as_str().map(str::to_string),
            })
        })
        .collect()
}

const MEDIA_COLUMNS: &str = "account_id, ig_media_id, media_type, product_type, published_at, \
    caption, permalink, media_url, thumbnail_url, shortcode, like_count, comments_count, \
    children, first_seen_at, last_seen_at, deleted_at, insights_captured_at, insights_error, \
    latest";

fn media_from(row: &PgRow) -> Result<Media> {
    let mt: String = get(row, "media_type")?;
    let pt: String = get(row, "product_type")?;
    Ok(Media {
        account_id: get(row, "account_id")?,
        record: MediaRecord {
            ig_media_id: get(row, "ig_media_id")?,
            media_type: MediaType::parse(&mt)
                .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
            product_type: ProductType::parse(&pt)
                .ok_or_else(|| corrupt(format!("product type {pt:?}")))?,
            published_at: get(row, "published_at")?,
            caption: get(row, "caption")?,
            permalink: get(row, "permalink")?,
            media_url: get(row, "media_url")?,
            thumbnail_url: get(row, "thumbnail_url")?,
            shortcode: get(row, "shortcode")?,
            like_count: get(row, "like_count")?,
            comments_count: get(row, "comments_count")?,
            children: children_from(get(row, "children")?)?,
        },
        first_seen_at: get(row, "first_seen_at")?,
        last_seen_at: get(row, "last_seen_at")?,
        deleted_at: get(row, "deleted_at")?,
        insights_captured_at: get(row, "insights_captured_at")?,
        insights_error: get(row, "insights_error")?,
        latest: latest_from(row)?,
    })
}

/// Keeps the last occurrence of each key, in first-seen order.
fn dedup_last<T, K: std::hash::Hash + Eq>(items: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut index: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match index.entry(key(&item)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = item,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(item);
            }
        }
    }
    out
}

pub(crate) async fn media_apply(pool: &PgPool, batch: MediaBatch) -> Result<u64> {
    let upserts = dedup_last(batch.upserts, |m| m.ig_media_id.clone());
    let n = upserts.len();
    let mut ids = Vec::with_capacity(n);
    let mut mts = Vec::with_capacity(n);
    let mut pts = Vec::with_capacity(n);
    let mut published = Vec::with_capacity(n);
    let mut captions = Vec::with_capacity(n);
    let mut permalinks = Vec::with_capacity(n);
    let mut urls = Vec::with_capacity(n);
    let mut thumbs = Vec::with_capacity(n);
    let mut shortcodes = Vec::with_capacity(n);
    let mut likes = Vec::with_capacity(n);
    let mut comments = Vec::with_capacity(n);
    let mut children = Vec::with_capacity(n);
    for m in upserts {
        ids.push(m.ig_media_id);
        mts.push(m.media_type.as_str());
        pts.push(m.product_type.as_str());
        published.push(m.published_at);
        captions.push(m.caption);
        permalinks.push(m.permalink);
        urls.push(m.media_url);
        thumbs.push(m.thumbnail_url);
        shortcodes.push(m.shortcode);
        likes.push(m.like_count);
        comments.push(m.comments_count);
        children.push(children_json(&m.children));
    }
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, batch.account_id).await?;
    owned_elsewhere(&mut tx, Owner::Media, batch.account_id, &ids).await?;
    let mut written = 0;
    if n > 0 {
        let done = sqlx::query(
            "INSERT INTO media (account_id, ig_media_id, media_type, product_type, published_at,
                 caption, permalink, media_url, thumbnail_url, shortcode, like_count,
                 comments_count, children, first_seen_at, last_seen_at)
             SELECT $1, u.id, u.mt, u.pt, u.pa, u.cap, u.pl, u.mu, u.tu, u.sc, u.lc, u.cc,
                 u.ch::jsonb, $2, $2
             FROM UNNEST($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],
                 $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[],
                 $13::bigint[], $14::text[])
                 AS u(id, mt, pt, pa, cap, pl, mu, tu, sc, lc, cc, ch)
             ON CONFLICT (ig_media_id) DO UPDATE SET
                 media_type = EXCLUDED.media_type,
                 product_type = EXCLUDED.product_type,
                 published_at = EXCLUDED.published_at,
                 caption = EXCLUDED.caption,
                 permalink = EXCLUDED.permalink,
                 media_url = EXCLUDED.media_url,
                 thumbnail_url = EXCLUDED.thumbnail_url,
                 shortcode = EXCLUDED.shortcode,
                 like_count = EXCLUDED.like_count,
                 comments_count = EXCLUDED.comments_count,
                 children = EXCLUDED.children,
                 last_seen_at = EXCLUDED.last_seen_at,
                 deleted_at = NULL
             WHERE media.account_id = EXCLUDED.account_id",
        )
        .bind(batch.account_id)
        .bind(batch.seen_at)
        .bind(&ids)
        .bind(&mts)
        .bind(&pts)
        .bind(&published)
        .bind(&captions)
        .bind(&permalinks)
        .bind(&urls)
        .bind(&thumbs)
        .bind(&shortcodes)
        .bind(&likes)
        .bind(&comments)
        .bind(&children)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        written += done.rows_affected();
    }
    if !batch.deleted.is_empty() {
        let done = sqlx::query(
            "UPDATE media SET deleted_at = $2
             WHERE account_id = $1 AND ig_media_id = ANY($3) AND deleted_at IS NULL",
        )
        .bind(batch.account_id)
        .bind(batch.seen_at)
        .bind(&batch.deleted)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        written += done.rows_affected();
    }
    tx.commit().await.map_err(db)?;
    Ok(written)
}

pub(crate) async fn media_index(
    pool: &PgPool,
    account_id: AccountId,
) -> Result<Vec<MediaIndexEntry>> {
    let rows = sqlx::query(
        "SELECT ig_media_id, media_type, product_type, published_at, deleted_at,
             insights_captured_at, insights_error
         FROM media WHERE account_id = $1
         ORDER BY published_at DESC, ig_media_id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            let mt: String = get(r, "media_type")?;
            let pt: String = get(r, "product_type")?;
            let deleted: Option<DateTime<Utc>> = get(r, "deleted_at")?;
            Ok(MediaIndexEntry {
                ig_media_id: get(r, "ig_media_id")?,
                media_type: MediaType::parse(&mt)
                    .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
                product_type: ProductType::parse(&pt)
                    .ok_or_else(|| corrupt(format!("product type {pt:?}")))?,
                published_at: get(r, "published_at")?,
                deleted: deleted.is_some(),
                insights_captured_at: get(r, "insights_captured_at")?,
                insights_error: get(r, "insights_error")?,
            })
        })
        .collect()
}

pub(crate) async fn media_list(pool: &PgPool, q: MediaQuery) -> Result<Vec<Media>> {
    let mut b: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    b.push(MEDIA_COLUMNS).push(" FROM media WHERE TRUE");
    if let Some(a) = q.account_id {
        b.push(" AND account_id = ").push_bind(a);
    }
    if let Some(from) = q.published_from {
        b.push(" AND published_at >= ").push_bind(from);
    }
    if let Some(to) = q.published_to {
        b.push(" AND published_at <= ").push_bind(to);
    }
    if let Some(pt) = q.product_type {
        b.push(" AND product_type = ").push_bind(pt.as_str());
    }
    if !q.include_deleted {
        b.push(" AND deleted_at IS NULL");
    }
    b.push(" ORDER BY published_at DESC, id DESC");
    if let Some(limit) = q.limit {
        b.push(" LIMIT ").push_bind(i64::from(limit));
    }
    b.push(" OFFSET ").push_bind(i64::from(q.offset));
    let rows = b.build().fetch_all(pool).await.map_err(db)?;
    rows.iter().map(media_from).collect()
}

/// Every post of an account with what the analytics need, newest first. Columns are read
/// by position, `latest` as text parsed straight into the map, and the rows are ordered
/// here: for ten thousand posts, per-row decoding and the server-side sort of wide rows
/// were most of the time.
pub(crate) async fn media_summaries(
    pool: &PgPool,
    account_id: AccountId,
) -> Result<Vec<MediaSummary>> {
    // Two halves (by row id parity) fetched and decoded on two tasks: decoding, not the
    // query, is the cost, and it then runs on two cores.
    let half = |part: i64| {
        let pool = pool.clone();
        tokio::spawn(async move { summaries_part(&pool, account_id, part).await })
    };
    let (a, b) = tokio::join!(half(0), half(1));
    let join = |e: tokio::task::JoinError| StoreError::Other {
        message: format!("reading post summaries: {e}"),
    };
    let mut out = a.map_err(join)??;
    out.extend(b.map_err(join)??);
    out.sort_unstable_by_key(|it| std::cmp::Reverse((it.1.published_at, it.0)));
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

/// The summaries of the posts whose row id modulo 2 is `part`, with their row ids.
async fn summaries_part(
    pool: &PgPool,
    account_id: AccountId,
    part: i64,
) -> Result<Vec<(i64, MediaSummary)>> {
    let rows = sqlx::query(
        "SELECT id, ig_media_id, media_type, product_type, published_at, caption, permalink,
                deleted_at IS NOT NULL, like_count, comments_count, latest::text
         FROM media WHERE account_id = $1 AND id % 2 = $2",
    )
    .bind(account_id)
    .bind(part)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut out: Vec<(i64, MediaSummary)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let mt: &str = row.try_get(2).map_err(db)?;
        let pt: &str = row.try_get(3).map_err(db)?;
        let latest: &str = row.try_get(10).map_err(db)?;
        out.push((
            row.try_get(0).map_err(db)?,
            MediaSummary {
                ig_media_id: row.try_get(1).map_err(db)?,
                media_type: MediaType::parse(mt)
                    .ok_or_else(|| corrupt(format!("media type {mt:?}")))?,
                product_type: ProductType::parse(pt)
                    .ok_or_else(|| corrupt(format!("product type {pt:?}")))?,
                published_at: row.try_get(4).map_err(db)?,
                caption: row.try_get(5).map_err(db)?,
                permalink: row.try_get(6).map_err(db)?,
                deleted: row.try_get(7).map_err(db)?,
                like_count: row.try_get(8).map_err(db)?,
                comments_count: row.try_get(9).map_err(db)?,
                latest: serde_json::from_str(latest)
                    .map_err(|e| corrupt(format!("latest values: {e}")))?,
            },
        ));
    }
    Ok(out)
}

pub(crate) async fn media_get(pool: &PgPool, ig_media_id: &str) -> Result<Option<Media>> {
    let sql = format!("SELECT {MEDIA_COLUMNS} FROM media WHERE ig_media_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ig_media_id)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(media_from).transpose()
}

/// Which table family an insight batch goes to.
#[derive(Clone, Copy)]
enum Owner {
    Media,
    Story,
}

impl Owner {
    fn noun(self) -> &'static str {
        match self {
            Owner::Media => "media",
            Owner::Story => "story",
        }
    }
}

/// Fails with `Conflict` when any of the ids belongs to another account.
async fn owned_elsewhere(
    tx: &mut sqlx::PgConnection,
    owner: Owner,
    account_id: AccountId,
    ig_ids: &[String],
) -> Result<()> {
    if ig_ids.is_empty() {
        return Ok(());
    }
    let sql = match owner {
        Owner::Media => {
            "SELECT ig_media_id FROM media WHERE ig_media_id = ANY($2) AND account_id <> $1 LIMIT 1"
        }
        Owner::Story => {
            "SELECT ig_media_id FROM stories WHERE ig_media_id = ANY($2) AND account_id <> $1 LIMIT 1"
        }
    };
    let taken: Option<String> = sqlx::query_scalar(sql)
        .bind(account_id)
        .bind(ig_ids)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
    match taken {
        Some(id) => Err(StoreError::Conflict {
            message: format!("{} {id} belongs to another account", owner.noun()),
        }),
        None => Ok(()),
    }
}

/// Resolves Instagram ids of one account to row ids, locking the rows against deletion
/// until the transaction ends; fails naming the first unknown one.
async fn resolve_ids(
    tx: &mut sqlx::PgConnection,
    owner: Owner,
    account_id: AccountId,
    ig_ids: &[String],
) -> Result<HashMap<String, i64>> {
    let sql = match owner {
        Owner::Media => {
            "SELECT id, ig_media_id FROM media WHERE account_id = $1 AND ig_media_id = ANY($2)
             FOR KEY SHARE"
        }
        Owner::Story => {
            "SELECT id, ig_media_id FROM stories WHERE account_id = $1 AND ig_media_id = ANY($2)
             FOR KEY SHARE"
        }
    };
    let rows = sqlx::query(sql)
        .bind(account_id)
        .bind(ig_ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    let mut map = HashMap::with_capacity(rows.len());
    for r in &rows {
        map.insert(get::<String>(r, "ig_media_id")?, get::<i64>(r, "id")?);
    }
    if let Some(missing) = ig_ids.iter().find(|id| !map.contains_key(*id)) {
        return Err(StoreError::invalid(format!(
            "{} {missing} is not stored for account {account_id}",
            owner.noun()
        )));
    }
    Ok(map)
}

/// Appends insight snapshots and refreshes each item's latest values and error. Returns
/// snapshot rows written (a re-applied identical row is not written again).
async fn insights_apply(
    tx: &mut sqlx::PgConnection,
    owner: Owner,
    account_id: AccountId,
    captured_at: DateTime<Utc>,
    rows: Vec<InsightSnapshot>,
    errors: Vec<(String, String)>,
) -> Result<u64> {
    check_finite(rows.iter().map(|r| r.value), "insight")?;
    if rows.iter().any(|r| r.metric.trim().is_empty()) {
        return Err(StoreError::invalid("an insight row needs a metric name"));
    }
    let mut wanted: Vec<String> = {
        let set: HashSet<&str> = rows
            .iter()
            .map(|r| r.ig_media_id.as_str())
            .chain(errors.iter().map(|e| e.0.as_str()))
            .collect();
        set.into_iter().map(str::to_string).collect()
    };
    wanted.sort();
    if wanted.is_empty() {
        return Ok(0);
    }
    let ids = resolve_ids(tx, owner, account_id, &wanted).await?;
    // The last occurrence of a key within the batch wins (one statement cannot write a
    // row twice).
    let mut last: HashMap<(&str, &str, &str, DateTime<Utc>), usize> =
        HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(
            (
                r.ig_media_id.as_str(),
                r.metric.as_str(),
                r.breakdown.as_str(),
                r.captured_at,
            ),
            i,
        );
    }
    let keep: Vec<bool> = if last.len() == rows.len() {
        vec![true; rows.len()]
    } else {
        let mut keep = vec![false; rows.len()];
        for i in last.values() {
            keep[*i] = true;
        }
        keep
    };
    drop(last);
    let rows: Vec<&InsightSnapshot> = rows
        .iter()
        .zip(&keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect();

    let n = rows.len();
    let mut owner_ids = Vec::with_capacity(n);
    let mut metrics = Vec::with_capacity(n);
    let mut breakdowns = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    // Latest total per item and metric within this batch.
    let mut latest: HashMap<i64, BTreeMap<&str, (DateTime<Utc>, f64)>> = HashMap::new();
    for r in rows.iter().copied() {
        let id = ids[&r.ig_media_id];
        owner_ids.push(id);
        metrics.push(r.metric.as_str());
        breakdowns.push(r.breakdown.as_str());
        times.push(r.captured_at);
        values.push(r.value);
        if r.breakdown.is_empty() {
            let slot = latest.entry(id).or_default();
            match slot.get(r.metric.as_str()) {
                Some((t, _)) if *t > r.captured_at => {}
                _ => {
                    slot.insert(r.metric.as_str(), (r.captured_at, r.value));
                }
            }
        }
        latest.entry(id).or_default();
    }
    let mut written = 0;
    if n > 0 {
        let sql = match owner {
            Owner::Media => {
                "INSERT INTO media_insight_snapshots (media_id, metric, breakdown, captured_at, value)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::timestamptz[],
                     $5::float8[])
                 ON CONFLICT (media_id, metric, breakdown, captured_at) DO UPDATE
                     SET value = EXCLUDED.value
                     WHERE media_insight_snapshots.value IS DISTINCT FROM EXCLUDED.value"
            }
            Owner::Story => {
                "INSERT INTO story_insight_snapshots (story_id, metric, breakdown, captured_at, value)
                 SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::timestamptz[],
                     $5::float8[])
                 ON CONFLICT (story_id, metric, breakdown, captured_at) DO UPDATE
                     SET value = EXCLUDED.value
                     WHERE story_insight_snapshots.value IS DISTINCT FROM EXCLUDED.value"
            }
        };
        let done = sqlx::query(sql)
            .bind(&owner_ids)
            .bind(&metrics)
            .bind(&breakdowns)
            .bind(&times)
            .bind(&values)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        written = done.rows_affected();

        let mut lid = Vec::with_capacity(latest.len());
        let mut ljson = Vec::with_capacity(latest.len());
        for (id, metrics) in &latest {
            lid.push(*id);
            let obj: serde_json::Map<String, serde_json::Value> = metrics
                .iter()
                .map(|(k, (_, v))| ((*k).to_string(), json!(v)))
                .collect();
            ljson.push(serde_json::Value::Object(obj).to_string());
        }
        // Fresher captures win; an older batch only fills metrics not known yet.
        let sql = match owner {
            Owner::Media => {
                "UPDATE media AS t SET
                     latest = CASE WHEN t.insights_captured_at IS NULL
                                    OR t.insights_captured_at <= $3
                               THEN t.latest || u.l::jsonb ELSE u.l::jsonb || t.latest END,
                     insights_captured_at = GREATEST(t.insights_captured_at, $3),
                     insights_error = NULL
                 FROM UNNEST($1::bigint[], $2::text[]) AS u(id, l)
                 WHERE t.id = u.id"
            }
            Owner::Story => {
                "UPDATE stories AS t SET
                     latest = CASE WHEN t.insights_captured_at IS NULL
                                    OR t.insights_captured_at <= $3
                               THEN t.latest || u.l::jsonb ELSE u.l::jsonb || t.latest END,
                     insights_captured_at = GREATEST(t.insights_captured_at, $3),
                     insights_error = NULL
                 FROM UNNEST($1::bigint[], $2::text[]) AS u(id, l)
                 WHERE t.id = u.id"
            }
        };
        sqlx::query(sql)
            .bind(&lid)
            .bind(&ljson)
            .bind(captured_at)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    if !errors.is_empty() {
        let errors = dedup_last(errors, |e| e.0.clone());
        let eid: Vec<i64> = errors.iter().map(|e| ids[&e.0]).collect();
        let emsg: Vec<&str> = errors.iter().map(|e| e.1.as_str()).collect();
        let sql = match owner {
            Owner::Media => {
                "UPDATE media AS t SET insights_error = u.e
                 FROM UNNEST($1::bigint[], $2::text[]) AS u(id, e) WHERE t.id = u.id"
            }
            Owner::Story => {
                "UPDATE stories AS t SET insights_error = u.e
                 FROM UNNEST($1::bigint[], $2::text[]) AS u(id, e) WHERE t.id = u.id"
            }
        };
        sqlx::query(sql)
            .bind(&eid)
            .bind(&emsg)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    Ok(written)
}

pub(crate) async fn media_insights_apply(pool: &PgPool, batch: InsightBatch) -> Result<u64> {
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, batch.account_id).await?;
    let written = insights_apply(
        &mut tx,
        Owner::Media,
        batch.account_id,
        batch.captured_at,
        batch.rows,
        batch.errors,
    )
    .await?;
    tx.commit().await.map_err(db)?;
    Ok(written)
}

fn snapshot_from(r: &PgRow) -> Result<InsightSnapshot> {
    Ok(InsightSnapshot {
        ig_media_id: get(r, "ig_media_id")?,
        metric: get(r, "metric")?,
        breakdown: get(r, "breakdown")?,
        captured_at: get(r, "captured_at")?,
        value: get(r, "value")?,
    })
}

/// Snapshot history of the given media, ordered here rather than by the server.
pub(crate) async fn media_insight_history(
    pool: &PgPool,
    ig_media_ids: &[String],
    metrics: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let rows = sqlx::query(
        "SELECT m.ig_media_id, s.metric, s.breakdown, s.captured_at, s.value
         FROM media_insight_snapshots s JOIN media m ON m.id = s.media_id
         WHERE m.ig_media_id = ANY($1) AND (cardinality($2::text[]) = 0 OR s.metric = ANY($2))",
    )
    .bind(ig_media_ids)
    .bind(metrics)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    sorted_snapshots(&rows)
}

pub(crate) async fn media_insight_history_window(
    pool: &PgPool,
    window: PostWindow,
    metrics: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let baseline = i64::try_from(window.baseline).unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "WITH wanted AS (
             SELECT id, ig_media_id FROM media
             WHERE account_id = $1 AND published_at >= $2 AND published_at <= $3
             UNION ALL
             SELECT id, ig_media_id FROM (
                 SELECT id, ig_media_id, row_number() OVER (
                     PARTITION BY product_type ORDER BY published_at DESC, ig_media_id DESC) AS n
                 FROM media WHERE account_id = $1 AND published_at < $2
             ) earlier WHERE n <= $4
         )
         SELECT w.ig_media_id, s.metric, s.breakdown, s.captured_at, s.value
         FROM wanted w JOIN media_insight_snapshots s ON s.media_id = w.id
         WHERE cardinality($5::text[]) = 0 OR s.metric = ANY($5)",
    )
    .bind(window.account_id)
    .bind(window.from)
    .bind(window.to)
    .bind(baseline)
    .bind(metrics)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    sorted_snapshots(&rows)
}

/// Snapshot rows (media id, metric, breakdown, captured_at, value) ordered by media,
/// metric, breakdown and time: sorting here is cheaper than on the server.
fn sorted_snapshots(rows: &[PgRow]) -> Result<Vec<InsightSnapshot>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(InsightSnapshot {
            ig_media_id: row.try_get(0).map_err(db)?,
            metric: row.try_get(1).map_err(db)?,
            breakdown: row.try_get(2).map_err(db)?,
            captured_at: row.try_get(3).map_err(db)?,
            value: row.try_get(4).map_err(db)?,
        });
    }
    out.sort_unstable_by(|a, b| {
        (&a.ig_media_id, &a.metric, &a.breakdown, a.captured_at).cmp(&(
            &b.ig_media_id,
            &b.metric,
            &b.breakdown,
            b.captured_at,
        ))
    });
    Ok(out)
}

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
    account_exists(&mut tx, batch.account_id).await?;
    owned_elsewhere(&mut tx, Owner::Story, batch.account_id, &ids).await?;
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
        .bind(batch.account_id)
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
    .bind(account_id)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            let mt: String = get(r, "media_type")?;
            Ok(Story {
                account_id: get(r, "account_id")?,
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
        "SELECT s.ig_media_id, i.metric, i.breakdown, i.captured_at, i.value
         FROM story_insight_snapshots i JOIN stories s ON s.id = i.story_id
         WHERE s.ig_media_id = ANY($1)
         ORDER BY s.ig_media_id, i.metric, i.breakdown, i.captured_at",
    )
    .bind(ig_media_ids)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(snapshot_from).collect()
}

// ----- account insights and demographics -----

pub(crate) async fn account_insights_apply(
    pool: &PgPool,
    batch: AccountInsightBatch,
) -> Result<u64> {
    check_finite(batch.rows.iter().map(|r| r.value), "account insight")?;
    let rows = dedup_last(batch.rows, |r| {
        (r.metric.clone(), r.day, r.breakdown.clone(), r.key.clone())
    });
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, batch.account_id).await?;
    if rows.is_empty() {
        tx.commit().await.map_err(db)?;
        return Ok(0);
    }
    let metrics: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
    let days: Vec<NaiveDate> = rows.iter().map(|r| r.day).collect();
    let breakdowns: Vec<&str> = rows.iter().map(|r| r.breakdown.as_str()).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    let done = sqlx::query(
        "INSERT INTO account_insight_days (account_id, metric, day, breakdown, key, value, fetched_at)
         SELECT $1, u.m, u.d, u.b, u.k, u.v, $2
         FROM UNNEST($3::text[], $4::date[], $5::text[], $6::text[], $7::float8[])
             AS u(m, d, b, k, v)
         ON CONFLICT (account_id, metric, day, breakdown, key) DO UPDATE
             SET value = EXCLUDED.value, fetched_at = EXCLUDED.fetched_at
             WHERE account_insight_days.fetched_at < EXCLUDED.fetched_at
                OR (account_insight_days.fetched_at = EXCLUDED.fetched_at
                    AND account_insight_days.value IS DISTINCT FROM EXCLUDED.value)",
    )
    .bind(batch.account_id)
    .bind(batch.fetched_at)
    .bind(&metrics)
    .bind(&days)
    .bind(&breakdowns)
    .bind(&keys)
    .bind(&values)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(done.rows_affected())
}

/// Days of account insights, ordered here (see [`media_insight_history`]).
pub(crate) async fn account_insight_days(
    pool: &PgPool,
    account_id: AccountId,
    metrics: &[String],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<AccountInsightDay>> {
    let rows = sqlx::query(
        "SELECT metric, day, breakdown, key, value FROM account_insight_days
         WHERE account_id = $1 AND (cardinality($2::text[]) = 0 OR metric = ANY($2))
             AND day >= $3 AND day <= $4",
    )
    .bind(account_id)
    .bind(metrics)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(AccountInsightDay {
            metric: row.try_get(0).map_err(db)?,
            day: row.try_get(1).map_err(db)?,
            breakdown: row.try_get(2).map_err(db)?,
            key: row.try_get(3).map_err(db)?,
            value: row.try_get(4).map_err(db)?,
        });
    }
    out.sort_unstable_by(|a, b| {
        (&a.metric, a.day, &a.breakdown, &a.key).cmp(&(&b.metric, b.day, &b.breakdown, &b.key))
    });
    Ok(out)
}

pub(crate) async fn account_insight_last_day(
    pool: &PgPool,
    account_id: AccountId,
    metric: &str,
) -> Result<Option<NaiveDate>> {
    sqlx::query_scalar(
        "SELECT max(day) FROM account_insight_days WHERE account_id = $1 AND metric = $2",
    )
    .bind(account_id)
    .bind(metric)
    .fetch_one(pool)
    .await
    .map_err(db)
}

pub(crate) async fn demographics_apply(pool: &PgPool, batch: DemographicBatch) -> Result<u64> {
    check_finite(batch.rows.iter().map(|r| r.value), "demographic")?;
    let rows = dedup_last(batch.rows, |r| {
        (
            r.metric.clone(),
            r.breakdown.clone(),
            r.timeframe.clone(),
            r.key.clone(),
        )
    });
    let mut tx = pool.begin().await.map_err(db)?;
    account_exists(&mut tx, batch.account_id).await?;
    if rows.is_empty() {
        tx.commit().await.map_err(db)?;
        return Ok(0);
    }
    let metrics: Vec<&str> = rows.iter().map(|r| r.metric.as_str()).collect();
    let breakdowns: Vec<&str> = rows.iter().map(|r| r.breakdown.as_str()).collect();
    let timeframes: Vec<&str> = rows.iter().map(|r| r.timeframe.as_str()).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let values: Vec<f64> = rows.iter().map(|r| r.value).collect();
    let done = sqlx::query(
        "INSERT INTO demographic_snapshots
             (account_id, captured_on, metric, breakdown, timeframe, key, value)
         SELECT $1, $2, u.m, u.b, u.t, u.k, u.v
         FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::float8[])
             AS u(m, b, t, k, v)
         ON CONFLICT (account_id, captured_on, metric, breakdown, timeframe, key) DO UPDATE
             SET value = EXCLUDED.value
             WHERE demographic_snapshots.value IS DISTINCT FROM EXCLUDED.value",
    )
    .bind(batch.account_id)
    .bind(batch.captured_on)
    .bind(&metrics)
    .bind(&breakdowns)
    .bind(&timeframes)
    .bind(&keys)
    .bind(&values)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(done.rows_affected())
}

pub(crate) async fn demographics_latest(
    pool: &PgPool,
    account_id: AccountId,
) -> Result<Option<(NaiveDate, Vec<DemographicValue>)>> {
    let rows = sqlx::query(
        "SELECT captured_on, metric, breakdown, timeframe, key, value FROM demographic_snapshots
         WHERE account_id = $1 AND captured_on =
             (SELECT max(captured_on) FROM demographic_snapshots WHERE account_id = $1)
         ORDER BY metric, breakdown, timeframe, key",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let day: NaiveDate = get(first, "captured_on")?;
    let values = rows
        .iter()
        .map(|r| {
            Ok(DemographicValue {
                metric: get(r, "metric")?,
                breakdown: get(r, "breakdown")?,
                timeframe: get(r, "timeframe")?,
                key: get(r, "key")?,
                value: get(r, "value")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some((day, values)))
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
