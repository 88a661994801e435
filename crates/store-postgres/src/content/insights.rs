//! Insight snapshots of media and stories: appended per capture, with each item's latest
//! values kept beside it, and read back as history.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use store::{
    AccountId, Breakdown, InsightBatch, InsightSnapshot, Origin, PostWindow, Result, StoreError,
};

use crate::accounts::get;
use crate::error::db;

use super::media::dedup_last;
use super::{WINDOW_POSTS, account_exists, check_finite};

/// A snapshot row's natural key: media or story id, metric, breakdown, capture time.
type SnapshotKey<'a> = (&'a str, &'a str, Option<&'a Breakdown>, DateTime<Utc>);

/// Which table family an insight batch goes to.
#[derive(Clone, Copy)]
pub(super) enum Owner {
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

/// Fails with `NotFound` when the account is not stored, then with `Conflict` when any of
/// the ids belongs to another account: one statement for both checks.
pub(super) async fn account_owns(
    tx: &mut sqlx::PgConnection,
    owner: Owner,
    account_id: AccountId,
    ig_ids: &[String],
) -> Result<()> {
    if ig_ids.is_empty() {
        return account_exists(tx, account_id).await;
    }
    macro_rules! checks_of {
        ($table:literal) => {
            concat!(
                "SELECT ",
                account_is_stored!(),
                ", (",
                owned_by_another!($table, "$2"),
                " LIMIT 1)"
            )
        };
    }
    let sql = match owner {
        Owner::Media => checks_of!("media"),
        Owner::Story => checks_of!("stories"),
    };
    let (exists, taken): (bool, Option<String>) = sqlx::query_as(sql)
        .bind(account_id.get())
        .bind(ig_ids)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
    if !exists {
        return Err(StoreError::not_found(format!("account {account_id}")));
    }
    match taken {
        Some(id) => Err(StoreError::Conflict {
            message: format!("{} {id} belongs to another account", owner.noun()),
        }),
        None => Ok(()),
    }
}

/// Resolves Instagram ids of one account to row ids, locking the rows against deletion
/// until the transaction ends; fails naming the first unknown one, or with `NotFound` when
/// the account itself is not stored (checked only then: a stored id proves its account).
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
        .bind(account_id.get())
        .bind(ig_ids)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    let mut map = HashMap::with_capacity(rows.len());
    for r in &rows {
        map.insert(get::<String>(r, "ig_media_id")?, get::<i64>(r, "id")?);
    }
    if let Some(missing) = ig_ids.iter().find(|id| !map.contains_key(*id)) {
        account_exists(tx, account_id).await?;
        return Err(StoreError::invalid(format!(
            "{} {missing} is not stored for account {account_id}",
            owner.noun()
        )));
    }
    Ok(map)
}

/// The newest stored row of each series named: series → (captured_at, value, api_version,
/// source).
#[allow(clippy::type_complexity)]
async fn newest_rows(
    tx: &mut sqlx::PgConnection,
    table: &str,
    column: &str,
    series: &[(i64, &str, &str)],
) -> Result<HashMap<(i64, String, String), (DateTime<Utc>, f64, Option<String>, String)>> {
    let mut wanted: Vec<(i64, &str, &str)> = series.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT u.id, u.m, u.b, s.captured_at, s.value, s.api_version, s.source
         FROM UNNEST($1::bigint[], $2::text[], $3::text[]) AS u(id, m, b)
         JOIN LATERAL (SELECT captured_at, value, api_version, source FROM {table} s
                       WHERE s.{column} = u.id AND s.metric = u.m AND s.breakdown = u.b
                       ORDER BY s.captured_at DESC LIMIT 1) s ON true"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(wanted.iter().map(|w| w.0).collect::<Vec<_>>())
        .bind(wanted.iter().map(|w| w.1).collect::<Vec<_>>())
        .bind(wanted.iter().map(|w| w.2).collect::<Vec<_>>())
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
    let mut out = HashMap::with_capacity(rows.len());
    for r in &rows {
        out.insert(
            (
                r.try_get::<i64, _>(0).map_err(db)?,
                r.try_get::<String, _>(1).map_err(db)?,
                r.try_get::<String, _>(2).map_err(db)?,
            ),
            (
                r.try_get(3).map_err(db)?,
                r.try_get(4).map_err(db)?,
                r.try_get(5).map_err(db)?,
                r.try_get(6).map_err(db)?,
            ),
        );
    }
    Ok(out)
}

/// Appends insight snapshots and refreshes each item's latest values and error. Returns
/// snapshot rows written (a re-applied identical row is not written again).
pub(super) async fn insights_apply(
    tx: &mut sqlx::PgConnection,
    owner: Owner,
    account_id: AccountId,
    captured_at: DateTime<Utc>,
    rows: Vec<InsightSnapshot>,
    errors: Vec<(String, String)>,
    origin: &Origin,
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
    let mut last: HashMap<SnapshotKey<'_>, usize> = HashMap::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        last.insert(
            (
                r.ig_media_id.as_str(),
                r.metric.as_str(),
                r.breakdown.as_ref(),
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

    let (table, column) = match owner {
        Owner::Media => ("media_insight_snapshots", "media_id"),
        Owner::Story => ("story_insight_snapshots", "story_id"),
    };
    // A snapshot equal to the newest row of its series confirms that row instead of
    // appending a new one (`store::plan_snapshot_writes`).
    let columns: Vec<String> = rows
        .iter()
        .map(|r| Breakdown::to_column(r.breakdown.as_ref()))
        .collect();
    let series: Vec<(i64, &str, &str)> = rows
        .iter()
        .zip(&columns)
        .map(|(r, b)| (ids[&r.ig_media_id], r.metric.as_str(), b.as_str()))
        .collect();
    let newest = newest_rows(tx, table, column, &series).await?;
    let stored = origin.source.as_str();
    let incoming: Vec<(_, DateTime<Utc>, _)> = rows
        .iter()
        .zip(&series)
        .map(|(r, k)| {
            (
                *k,
                r.captured_at,
                (r.value, origin.api_version.as_deref(), stored),
            )
        })
        .collect();
    let plan = store::plan_snapshot_writes(
        newest
            .iter()
            .map(|(k, (t, v, a, s))| {
                (
                    (k.0, k.1.as_str(), k.2.as_str()),
                    (*t, (*v, a.as_deref(), s.as_str())),
                )
            })
            .collect(),
        &incoming,
    );
    let keys: Vec<(_, DateTime<Utc>)> = incoming.iter().map(|(k, t, _)| (*k, *t)).collect();
    let confirmed = store::confirmations(&keys, &plan);

    let n = rows.len();
    let mut owner_ids = Vec::with_capacity(n);
    let mut metrics = Vec::with_capacity(n);
    let mut breakdowns = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    let mut values = Vec::with_capacity(n);
    // Latest total per item and metric within this batch.
    let mut latest: HashMap<i64, BTreeMap<&str, (DateTime<Utc>, f64)>> = HashMap::new();
    for ((r, write), column) in rows.iter().copied().zip(&plan).zip(&columns) {
        let id = ids[&r.ig_media_id];
        if *write == store::SnapshotWrite::Insert {
            owner_ids.push(id);
            metrics.push(r.metric.as_str());
            breakdowns.push(column.as_str());
            times.push(r.captured_at);
            values.push(r.value);
        }
        if r.breakdown.is_none() {
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
    if !confirmed.is_empty() {
        let sql = format!(
            "UPDATE {table} AS s SET confirmed_at = u.t
             FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::timestamptz[],
                 $5::timestamptz[]) AS u(id, m, b, c, t)
             WHERE s.{column} = u.id AND s.metric = u.m AND s.breakdown = u.b
               AND s.captured_at = u.c AND (s.confirmed_at IS NULL OR s.confirmed_at < u.t)"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(confirmed.iter().map(|c| c.0.0).collect::<Vec<_>>())
            .bind(confirmed.iter().map(|c| c.0.1).collect::<Vec<_>>())
            .bind(confirmed.iter().map(|c| c.0.2).collect::<Vec<_>>())
            .bind(confirmed.iter().map(|c| c.1).collect::<Vec<_>>())
            .bind(confirmed.iter().map(|c| c.2).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        written += done.rows_affected();
    }
    if !owner_ids.is_empty() {
        let sql = format!(
            "INSERT INTO {table} ({column}, metric, breakdown, captured_at, value, api_version,
                 source)
             SELECT u.*, $6, $7 FROM UNNEST($1::bigint[], $2::text[], $3::text[],
                 $4::timestamptz[], $5::float8[]) AS u
             ON CONFLICT ({column}, metric, breakdown, captured_at) DO UPDATE
                 SET value = EXCLUDED.value, api_version = EXCLUDED.api_version,
                     source = EXCLUDED.source
                 WHERE {table}.value IS DISTINCT FROM EXCLUDED.value
                    OR {table}.api_version IS DISTINCT FROM EXCLUDED.api_version
                    OR {table}.source IS DISTINCT FROM EXCLUDED.source"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&owner_ids)
            .bind(&metrics)
            .bind(&breakdowns)
            .bind(&times)
            .bind(&values)
            .bind(&origin.api_version)
            .bind(origin.source.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        written += done.rows_affected();
    }
    if n > 0 {
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
    // A batch with posts proves its account as it resolves them (`resolve_ids`).
    if batch.rows.is_empty() && batch.errors.is_empty() {
        account_exists(&mut tx, batch.account_id).await?;
    }
    let written = insights_apply(
        &mut tx,
        Owner::Media,
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

/// Snapshot history of the given media, ordered here rather than by the server.
pub(crate) async fn media_insight_history(
    pool: &PgPool,
    ig_media_ids: &[String],
    metrics: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let sql = format!(
        "SELECT m.ig_media_id, s.metric, s.breakdown, s.captured_at, s.value, s.confirmed_at
         FROM media_insight_snapshots s JOIN media m ON m.id = s.media_id
         WHERE m.ig_media_id = ANY($1) {}",
        named_metrics(metrics, "AND", 2)
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ig_media_ids);
    let rows = bind_named_metrics(query, metrics)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    sorted_snapshots(&rows)
}

/// The condition on the snapshots' metric for `metrics` bound as parameter `$param`, or
/// nothing (and no parameter to bind) when every metric is wanted. Named metrics are a
/// condition of the key's index (`media_id, metric, …`), so the other metrics' rows are never
/// fetched; a `cardinality(…) = 0 OR` in one statement would hide that from the planner.
fn named_metrics(metrics: &[String], keyword: &str, param: u8) -> String {
    if metrics.is_empty() {
        String::new()
    } else {
        format!("{keyword} s.metric = ANY(${param})")
    }
}

/// Binds `metrics` for [`named_metrics`]' condition: the last parameter, and only when the
/// condition is there.
fn bind_named_metrics<'q>(query: crate::PgQuery<'q>, metrics: &'q [String]) -> crate::PgQuery<'q> {
    if metrics.is_empty() {
        query
    } else {
        query.bind(metrics)
    }
}

pub(crate) async fn media_insight_history_window(
    pool: &PgPool,
    window: PostWindow,
    metrics: &[String],
) -> Result<Vec<InsightSnapshot>> {
    let baseline = i64::try_from(window.baseline).unwrap_or(i64::MAX);
    let filter = named_metrics(metrics, "WHERE", 5);
    let sql = format!(
        "{WINDOW_POSTS}
         SELECT w.ig_media_id, s.metric, s.breakdown, s.captured_at, s.value, s.confirmed_at
         FROM wanted w JOIN media_insight_snapshots s ON s.media_id = w.id
         {filter}"
    );
    let query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(window.account_id.get())
        .bind(window.from)
        .bind(window.to)
        .bind(baseline);
    let rows = bind_named_metrics(query, metrics)
        .fetch_all(pool)
        .await
        .map_err(db)?;
    sorted_snapshots(&rows)
}

/// Snapshot rows (media id, metric, breakdown, captured_at, value, confirmed_at) as the
/// points of every read, ordered by media, metric, breakdown and time
/// (`store::expand_insight_history`): sorting here is cheaper than on the server.
pub(super) fn sorted_snapshots(rows: &[PgRow]) -> Result<Vec<InsightSnapshot>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push((
            InsightSnapshot {
                ig_media_id: row.try_get(0).map_err(db)?,
                metric: row.try_get(1).map_err(db)?,
                breakdown: Breakdown::from_column(row.try_get(2).map_err(db)?)?,
                captured_at: row.try_get(3).map_err(db)?,
                value: row.try_get(4).map_err(db)?,
            },
            row.try_get(5).map_err(db)?,
        ));
    }
    Ok(store::expand_insight_history(out))
}
