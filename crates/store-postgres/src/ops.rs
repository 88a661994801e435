//! Operational records: alerts (deduplicated), API keys (hashed), dashboard sessions, and
//! the Graph API usage and call counters per account.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder};
use store::{
    AccountId, Alert, AlertId, AlertQuery, ApiCallsDay, ApiCallsDelta, ApiKey, ApiUsage, NewAlert,
    Result, Session, Severity,
};

use crate::accounts::get;
use crate::error::{corrupt, db};
use crate::{LOCK_NAMESPACE, LOCK_STATISTICS_SUFFIX};

/// `Store::statistics_refresh`: analyzes the tables of the current schema whose rows changed
/// by more than autovacuum's default analyze threshold (50 rows + 10 %) since they were last
/// analyzed, and where autovacuum is off, vacuums those past its vacuum threshold (50 dead
/// row versions + 20 %). A session advisory lock per schema keeps two workers from analyzing
/// the same tables; the one that does not get it returns nothing.
pub(crate) async fn statistics_refresh(pool: &PgPool) -> Result<Vec<String>> {
    let mut conn = pool.acquire().await.map_err(db)?;
    let locked: bool =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext(current_schema() || $2))")
            .bind(LOCK_NAMESPACE)
            .bind(LOCK_STATISTICS_SUFFIX)
            .fetch_one(&mut *conn)
            .await
            .map_err(db)?;
    if !locked {
        return Ok(Vec::new());
    }
    let outcome = analyze_stale(&mut conn).await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, hashtext(current_schema() || $2))")
        .bind(LOCK_NAMESPACE)
        .bind(LOCK_STATISTICS_SUFFIX)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        // A connection that may still hold the lock must not go back to the pool.
        conn.detach();
    }
    outcome
}

async fn analyze_stale(conn: &mut sqlx::PgConnection) -> Result<Vec<String>> {
    // Autovacuum's default thresholds: statistics after 50 rows + 10 % changed; dead row
    // versions reclaimed after 50 + 20 %, but only here where the server's autovacuum is off
    // (for the server, or for the table): left alone, an hourly upsert's old versions pile up
    // in the indexes and every later lookup of the row walks them all.
    let stale: Vec<(String, bool)> = sqlx::query_as(
        "SELECT relname, needs_vacuum FROM ( \
             SELECT s.relname::text AS relname, \
                    s.n_mod_since_analyze > 50 + 0.1 * greatest(s.n_live_tup, 0) AS needs_analyze, \
                    s.n_dead_tup > 50 + 0.2 * greatest(s.n_live_tup, 0) \
                    AND (current_setting('autovacuum') = 'off' \
                         OR coalesce(c.reloptions, '{}') @> ARRAY['autovacuum_enabled=false']) \
                    AS needs_vacuum \
             FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid \
             WHERE s.schemaname = current_schema()) t \
         WHERE needs_analyze OR needs_vacuum ORDER BY relname",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    let mut done = Vec::with_capacity(stale.len());
    for (table, vacuum) in stale {
        // The name comes from the catalog; quoting it keeps any name a single identifier.
        let quoted = format!("\"{}\"", table.replace('"', "\"\""));
        let sql = if vacuum {
            format!("VACUUM (ANALYZE) {quoted}")
        } else {
            format!("ANALYZE {quoted}")
        };
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *conn)
            .await
            .map_err(db)?;
        done.push(table);
    }
    Ok(done)
}

const ALERT_COLUMNS: &str = "id, account_id, kind, severity, dedup_key, title, message, payload, \
    created_at, acknowledged_at, delivered_at, delivery_error";

fn alert_from(r: &PgRow) -> Result<Alert> {
    let severity: String = get(r, "severity")?;
    Ok(Alert {
        id: get(r, "id")?,
        alert: NewAlert {
            account_id: get::<Option<i64>>(r, "account_id")?.map(AccountId::new),
            kind: get(r, "kind")?,
            severity: Severity::parse(&severity)
                .ok_or_else(|| corrupt(format!("severity {severity:?}")))?,
            dedup_key: get(r, "dedup_key")?,
            title: get(r, "title")?,
            message: get(r, "message")?,
            payload: get(r, "payload")?,
            created_at: get(r, "created_at")?,
        },
        acknowledged_at: get(r, "acknowledged_at")?,
        delivered_at: get(r, "delivered_at")?,
        delivery_error: get(r, "delivery_error")?,
    })
}

pub(crate) async fn alert_insert(pool: &PgPool, a: NewAlert) -> Result<Option<Alert>> {
    let sql = format!(
        "INSERT INTO alerts (account_id, kind, severity, dedup_key, title, message, payload,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (dedup_key) DO NOTHING
         RETURNING {ALERT_COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(a.account_id.map(AccountId::get))
        .bind(&a.kind)
        .bind(a.severity.as_str())
        .bind(&a.dedup_key)
        .bind(&a.title)
        .bind(&a.message)
        .bind(&a.payload)
        .bind(a.created_at)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(alert_from).transpose()
}

pub(crate) async fn alert_list(pool: &PgPool, q: AlertQuery) -> Result<Vec<Alert>> {
    let mut b: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    b.push(ALERT_COLUMNS).push(" FROM alerts WHERE TRUE");
    if let Some(a) = q.account_id {
        b.push(" AND account_id = ").push_bind(a.get());
    }
    if let Some(k) = q.kind {
        b.push(" AND kind = ").push_bind(k);
    }
    if q.unacknowledged_only {
        b.push(" AND acknowledged_at IS NULL");
    }
    b.push(" ORDER BY created_at DESC, id DESC");
    if q.limit > 0 {
        b.push(" LIMIT ").push_bind(i64::from(q.limit));
    }
    let rows = b.build().fetch_all(pool).await.map_err(db)?;
    rows.iter().map(alert_from).collect()
}

pub(crate) async fn alert_ack(pool: &PgPool, id: AlertId, at: DateTime<Utc>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE alerts SET acknowledged_at = COALESCE(acknowledged_at, $2) WHERE id = $1",
    )
    .bind(id)
    .bind(at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn alert_delivery_set(
    pool: &PgPool,
    id: AlertId,
    delivered_at: Option<DateTime<Utc>>,
    error: Option<String>,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE alerts SET delivered_at = $2, delivery_error = $3 WHERE id = $1")
            .bind(id)
            .bind(delivered_at)
            .bind(error)
            .execute(pool)
            .await
            .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

fn key_from(r: &PgRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: get(r, "id")?,
        name: get(r, "name")?,
        hash: get(r, "hash")?,
        created_at: get(r, "created_at")?,
        last_used_at: get(r, "last_used_at")?,
        revoked_at: get(r, "revoked_at")?,
        workspace_id: get(r, "workspace_id")?,
        role: {
            let role: String = get(r, "role")?;
            store::Role::parse(&role).ok_or_else(|| corrupt(format!("role {role:?}")))?
        },
    })
}

pub(crate) async fn api_key_insert(pool: &PgPool, k: ApiKey) -> Result<()> {
    sqlx::query(
        "INSERT INTO api_keys (id, name, hash, created_at, last_used_at, revoked_at,
                               workspace_id, role)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&k.id)
    .bind(&k.name)
    .bind(&k.hash)
    .bind(k.created_at)
    .bind(k.last_used_at)
    .bind(k.revoked_at)
    .bind(k.workspace_id)
    .bind(k.role.as_str())
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn api_key_get(pool: &PgPool, id: &str) -> Result<Option<ApiKey>> {
    let row = sqlx::query(
        "SELECT id, name, hash, created_at, last_used_at, revoked_at, workspace_id, role
           FROM api_keys WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.as_ref().map(key_from).transpose()
}

pub(crate) async fn api_key_list(pool: &PgPool) -> Result<Vec<ApiKey>> {
    let rows = sqlx::query(
        "SELECT id, name, hash, created_at, last_used_at, revoked_at, workspace_id, role
           FROM api_keys ORDER BY created_at, id",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter().map(key_from).collect()
}

pub(crate) async fn api_key_revoke(pool: &PgPool, id: &str, at: DateTime<Utc>) -> Result<bool> {
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(pool)
            .await
            .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn api_key_touch(pool: &PgPool, id: &str, at: DateTime<Utc>) -> Result<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1")
        .bind(id)
        .bind(at)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn api_key_rehash(
    pool: &PgPool,
    id: &str,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool> {
    let done = sqlx::query("UPDATE api_keys SET hash = $3 WHERE id = $1 AND hash = $2")
        .bind(id)
        .bind(old_hash)
        .bind(new_hash)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn session_insert(pool: &PgPool, s: Session) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, api_key_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&s.id_hash)
    .bind(&s.api_key_id)
    .bind(&s.csrf_token)
    .bind(s.created_at)
    .bind(s.expires_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn session_get(pool: &PgPool, id_hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT id_hash, api_key_id, csrf_token, created_at, expires_at FROM sessions
         WHERE id_hash = $1",
    )
    .bind(id_hash)
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    row.as_ref()
        .map(|r| {
            Ok(Session {
                id_hash: get(r, "id_hash")?,
                api_key_id: get(r, "api_key_id")?,
                csrf_token: get(r, "csrf_token")?,
                created_at: get(r, "created_at")?,
                expires_at: get(r, "expires_at")?,
            })
        })
        .transpose()
}

pub(crate) async fn session_delete(pool: &PgPool, id_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

pub(crate) async fn session_prune(pool: &PgPool, now: DateTime<Utc>) -> Result<u64> {
    let done = sqlx::query(
        "DELETE FROM sessions s WHERE s.expires_at <= $1
             OR EXISTS (SELECT 1 FROM api_keys k
                        WHERE k.id = s.api_key_id AND k.revoked_at IS NOT NULL)",
    )
    .bind(now)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected())
}

/// The latest observation per scope (the account, or the app as a whole), as the columns
/// [`usage_upsert`] binds; None when there is none.
struct UsageColumns {
    accounts: Vec<Option<i64>>,
    observed: Vec<DateTime<Utc>>,
    usage_pct: Vec<f64>,
    calls: Vec<f64>,
    cpu: Vec<f64>,
    time: Vec<f64>,
    regain: Vec<Option<i64>>,
}

impl UsageColumns {
    fn of(usage: Vec<ApiUsage>) -> Result<Option<UsageColumns>> {
        ApiUsage::check_all(&usage)?;
        let mut latest: HashMap<Option<AccountId>, ApiUsage> = HashMap::new();
        for u in usage {
            match latest.get(&u.account_id) {
                Some(prev) if prev.observed_at > u.observed_at => {}
                _ => {
                    latest.insert(u.account_id, u);
                }
            }
        }
        if latest.is_empty() {
            return Ok(None);
        }
        let rows: Vec<ApiUsage> = latest.into_values().collect();
        Ok(Some(UsageColumns {
            accounts: rows
                .iter()
                .map(|u| u.account_id.map(AccountId::get))
                .collect(),
            observed: rows.iter().map(|u| u.observed_at).collect(),
            usage_pct: rows.iter().map(|u| u.usage_pct).collect(),
            calls: rows.iter().map(|u| u.call_count_pct).collect(),
            cpu: rows.iter().map(|u| u.total_cputime_pct).collect(),
            time: rows.iter().map(|u| u.total_time_pct).collect(),
            regain: rows.iter().map(|u| u.regain_access_minutes).collect(),
        }))
    }

    fn bind<'q>(&'q self, q: crate::PgQuery<'q>) -> crate::PgQuery<'q> {
        q.bind(&self.accounts)
            .bind(&self.observed)
            .bind(&self.usage_pct)
            .bind(&self.calls)
            .bind(&self.cpu)
            .bind(&self.time)
            .bind(&self.regain)
    }
}

/// The upsert of [`UsageColumns`] bound from parameter `$first` on: only a newer
/// observation replaces the stored one.
fn usage_upsert(first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "INSERT INTO api_usage (account_id, observed_at, usage_pct, call_count_pct,
             total_cputime_pct, total_time_pct, regain_access_minutes)
         SELECT * FROM UNNEST({}::bigint[], {}::timestamptz[], {}::float8[], {}::float8[],
             {}::float8[], {}::float8[], {}::bigint[])
         ON CONFLICT ((COALESCE(account_id, 0))) DO UPDATE SET
             observed_at = EXCLUDED.observed_at, usage_pct = EXCLUDED.usage_pct,
             call_count_pct = EXCLUDED.call_count_pct,
             total_cputime_pct = EXCLUDED.total_cputime_pct,
             total_time_pct = EXCLUDED.total_time_pct,
             regain_access_minutes = EXCLUDED.regain_access_minutes
         WHERE api_usage.observed_at <= EXCLUDED.observed_at",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4),
        p(5),
        p(6)
    )
}

pub(crate) async fn api_usage_record(pool: &PgPool, usage: Vec<ApiUsage>) -> Result<()> {
    api_spend_record(pool, Vec::new(), usage).await
}

pub(crate) async fn api_usage_latest(pool: &PgPool) -> Result<Vec<ApiUsage>> {
    let rows = sqlx::query(
        "SELECT account_id, observed_at, usage_pct, call_count_pct, total_cputime_pct,
             total_time_pct, regain_access_minutes
         FROM api_usage ORDER BY account_id NULLS FIRST",
    )
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(ApiUsage {
                account_id: get::<Option<i64>>(r, "account_id")?.map(AccountId::new),
                observed_at: get(r, "observed_at")?,
                usage_pct: get(r, "usage_pct")?,
                call_count_pct: get(r, "call_count_pct")?,
                total_cputime_pct: get(r, "total_cputime_pct")?,
                total_time_pct: get(r, "total_time_pct")?,
                regain_access_minutes: get(r, "regain_access_minutes")?,
            })
        })
        .collect()
}

/// Call counters summed per account and day, as the columns [`CALLS_ADD`] binds; None
/// when there are none.
struct CallColumns {
    accounts: Vec<i64>,
    days: Vec<NaiveDate>,
    requests: Vec<i64>,
    units: Vec<i64>,
    errors: Vec<i64>,
}

impl CallColumns {
    fn of(deltas: Vec<ApiCallsDelta>) -> Option<CallColumns> {
        let mut sums: HashMap<(AccountId, NaiveDate), (i64, i64, i64)> = HashMap::new();
        for d in deltas {
            let e = sums.entry((d.account_id, d.day)).or_default();
            e.0 = e.0.saturating_add(d.requests);
            e.1 = e.1.saturating_add(d.units);
            e.2 = e.2.saturating_add(d.errors);
        }
        if sums.is_empty() {
            return None;
        }
        let mut c = CallColumns {
            accounts: Vec::with_capacity(sums.len()),
            days: Vec::with_capacity(sums.len()),
            requests: Vec::with_capacity(sums.len()),
            units: Vec::with_capacity(sums.len()),
            errors: Vec::with_capacity(sums.len()),
        };
        for ((a, d), (r, u, e)) in sums {
            c.accounts.push(a.get());
            c.days.push(d);
            c.requests.push(r);
            c.units.push(u);
            c.errors.push(e);
        }
        Some(c)
    }

    fn bind<'q>(&'q self, q: crate::PgQuery<'q>) -> crate::PgQuery<'q> {
        q.bind(&self.accounts)
            .bind(&self.days)
            .bind(&self.requests)
            .bind(&self.units)
            .bind(&self.errors)
    }
}

/// Adds [`CallColumns`] (parameters `$1` to `$5`) to the daily counters.
const CALLS_ADD: &str = "INSERT INTO api_calls_days (account_id, day, requests, units, errors)
     SELECT * FROM UNNEST($1::bigint[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[])
     ON CONFLICT (account_id, day) DO UPDATE SET
         requests = api_calls_days.requests + EXCLUDED.requests,
         units = api_calls_days.units + EXCLUDED.units,
         errors = api_calls_days.errors + EXCLUDED.errors";

pub(crate) async fn api_calls_add(pool: &PgPool, deltas: Vec<ApiCallsDelta>) -> Result<()> {
    api_spend_record(pool, deltas, Vec::new()).await
}

/// A job's calls and the usage it saw, in one statement (the usage checked first).
pub(crate) async fn api_spend_record(
    pool: &PgPool,
    deltas: Vec<ApiCallsDelta>,
    usage: Vec<ApiUsage>,
) -> Result<()> {
    let query = |sql: String| sqlx::query(sqlx::AssertSqlSafe(sql));
    let done = match (CallColumns::of(deltas), UsageColumns::of(usage)?) {
        (Some(calls), Some(usage)) => {
            let sql = format!("WITH calls AS ({CALLS_ADD}) {}", usage_upsert(6));
            usage.bind(calls.bind(query(sql))).execute(pool).await
        }
        (Some(calls), None) => calls.bind(sqlx::query(CALLS_ADD)).execute(pool).await,
        (None, Some(usage)) => usage.bind(query(usage_upsert(1))).execute(pool).await,
        (None, None) => return Ok(()),
    };
    done.map(drop).map_err(db)
}

pub(crate) async fn api_calls_days(
    pool: &PgPool,
    account_id: Option<AccountId>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ApiCallsDay>> {
    let rows = sqlx::query(
        "SELECT account_id, day, requests, units, errors FROM api_calls_days
         WHERE ($1::bigint IS NULL OR account_id = $1) AND day >= $2 AND day <= $3
         ORDER BY day, account_id",
    )
    .bind(account_id.map(AccountId::get))
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(ApiCallsDay {
                account_id: AccountId::new(get(r, "account_id")?),
                day: get(r, "day")?,
                requests: get(r, "requests")?,
                units: get(r, "units")?,
                errors: get(r, "errors")?,
            })
        })
        .collect()
}
