//! Operational records: alerts (deduplicated by key), API keys, dashboard sessions, the
//! latest Graph API usage and the daily API call counters.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteRow;
use store::{
    AccountId, Alert, AlertId, AlertQuery, ApiCallsDay, ApiCallsDelta, ApiKey, ApiUsage, NewAlert,
    Result, Session, Severity,
};

use crate::SqliteStore;
use crate::error::db_err;
use crate::history::limit;
use crate::sql::{Arg, Filter, RowExt, chunked_values, day, micros, micros_opt};

// ----- alerts -----

const ALERT_COLUMNS: &str = "id, account_id, kind, severity, dedup_key, title, message, payload, \
     created_at, acknowledged_at, delivered_at, delivery_error";

fn alert_from(row: &SqliteRow) -> Result<Alert> {
    Ok(Alert {
        id: row.col("id")?,
        alert: NewAlert {
            account_id: row.col::<Option<i64>>("account_id")?.map(AccountId::new),
            kind: row.col("kind")?,
            severity: row.parsed("severity", Severity::parse)?,
            dedup_key: row.col("dedup_key")?,
            title: row.col("title")?,
            message: row.col("message")?,
            payload: row.json("payload")?,
            created_at: row.time("created_at")?,
        },
        acknowledged_at: row.time_opt("acknowledged_at")?,
        delivered_at: row.time_opt("delivered_at")?,
        delivery_error: row.col("delivery_error")?,
    })
}

pub(crate) async fn alert_insert(db: &SqliteStore, alert: NewAlert) -> Result<Option<Alert>> {
    let mut tx = db.write().await?;
    let row = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO alerts (account_id, kind, severity, dedup_key, title, message, payload,
             created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (dedup_key) DO NOTHING
         RETURNING {ALERT_COLUMNS}"
    )))
    .bind(alert.account_id.map(AccountId::get))
    .bind(&alert.kind)
    .bind(alert.severity.as_str())
    .bind(&alert.dedup_key)
    .bind(&alert.title)
    .bind(&alert.message)
    .bind(alert.payload.to_string())
    .bind(micros(alert.created_at))
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    let alert = row.as_ref().map(alert_from).transpose()?;
    tx.commit().await.map_err(db_err)?;
    Ok(alert)
}

pub(crate) async fn alert_list(db: &SqliteStore, query: AlertQuery) -> Result<Vec<Alert>> {
    let mut filter = Filter::default();
    if let Some(account) = query.account_id {
        filter.and("account_id = ?", [Arg::Int(account.get())]);
    }
    if let Some(kind) = query.kind {
        filter.and("kind = ?", [Arg::Text(kind)]);
    }
    if query.unacknowledged_only {
        filter.and("acknowledged_at IS NULL", []);
    }
    let sql = format!(
        "SELECT {ALERT_COLUMNS} FROM alerts{} ORDER BY created_at DESC, id DESC LIMIT ?",
        filter.sql()
    );
    filter
        .bind(sqlx::query(AssertSqlSafe(sql)))
        .bind(limit(query.limit))
        .fetch_all(&db.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(alert_from)
        .collect()
}

pub(crate) async fn alert_ack(db: &SqliteStore, id: AlertId, at: DateTime<Utc>) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "UPDATE alerts SET acknowledged_at = coalesce(acknowledged_at, ?) WHERE id = ?",
    )
    .bind(micros(at))
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn alert_delivery_set(
    db: &SqliteStore,
    id: AlertId,
    delivered_at: Option<DateTime<Utc>>,
    error: Option<String>,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query("UPDATE alerts SET delivered_at = ?, delivery_error = ? WHERE id = ?")
        .bind(micros_opt(delivered_at))
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

// ----- API keys and sessions -----

fn key_from(row: &SqliteRow) -> Result<ApiKey> {
    Ok(ApiKey {
        id: row.col("id")?,
        name: row.col("name")?,
        hash: row.col("hash")?,
        created_at: row.time("created_at")?,
        last_used_at: row.time_opt("last_used_at")?,
        revoked_at: row.time_opt("revoked_at")?,
        workspace_id: row.col("workspace_id")?,
        role: row.parsed("role", store::Role::parse)?,
    })
}

pub(crate) async fn api_key_insert(db: &SqliteStore, key: ApiKey) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO api_keys (id, name, hash, created_at, last_used_at, revoked_at,
                               workspace_id, role)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&key.id)
    .bind(&key.name)
    .bind(&key.hash)
    .bind(micros(key.created_at))
    .bind(micros_opt(key.last_used_at))
    .bind(micros_opt(key.revoked_at))
    .bind(key.workspace_id)
    .bind(key.role.as_str())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn api_key_get(db: &SqliteStore, id: &str) -> Result<Option<ApiKey>> {
    sqlx::query(
        "SELECT id, name, hash, created_at, last_used_at, revoked_at, workspace_id, role
           FROM api_keys WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(key_from)
    .transpose()
}

pub(crate) async fn api_key_list(db: &SqliteStore) -> Result<Vec<ApiKey>> {
    sqlx::query(
        "SELECT id, name, hash, created_at, last_used_at, revoked_at, workspace_id, role
           FROM api_keys ORDER BY created_at, id",
    )
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(key_from)
    .collect()
}

pub(crate) async fn api_key_revoke(db: &SqliteStore, id: &str, at: DateTime<Utc>) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?")
        .bind(micros(at))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn api_key_touch(db: &SqliteStore, id: &str, at: DateTime<Utc>) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?1), ?1) WHERE id = ?2",
    )
    .bind(micros(at))
    .bind(id)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn api_key_rehash(
    db: &SqliteStore,
    id: &str,
    old_hash: &str,
    new_hash: &str,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query("UPDATE api_keys SET hash = ? WHERE id = ? AND hash = ?")
        .bind(new_hash)
        .bind(id)
        .bind(old_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn session_insert(db: &SqliteStore, session: Session) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO sessions (id_hash, api_key_id, csrf_token, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&session.id_hash)
    .bind(&session.api_key_id)
    .bind(&session.csrf_token)
    .bind(micros(session.created_at))
    .bind(micros(session.expires_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn session_get(db: &SqliteStore, id_hash: &str) -> Result<Option<Session>> {
    let row = sqlx::query(
        "SELECT id_hash, api_key_id, csrf_token, created_at, expires_at FROM sessions
         WHERE id_hash = ?",
    )
    .bind(id_hash)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?;
    row.map(|row| {
        Ok(Session {
            id_hash: row.col("id_hash")?,
            api_key_id: row.col("api_key_id")?,
            csrf_token: row.col("csrf_token")?,
            created_at: row.time("created_at")?,
            expires_at: row.time("expires_at")?,
        })
    })
    .transpose()
}

pub(crate) async fn session_delete(db: &SqliteStore, id_hash: &str) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
        .bind(id_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn session_prune(db: &SqliteStore, now: DateTime<Utc>) -> Result<u64> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "DELETE FROM sessions
         WHERE expires_at <= ?
            OR api_key_id IN (SELECT id FROM api_keys WHERE revoked_at IS NOT NULL)",
    )
    .bind(micros(now))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done)
}

// ----- Graph API usage -----

pub(crate) async fn api_usage_record(db: &SqliteStore, usage: Vec<ApiUsage>) -> Result<()> {
    ApiUsage::check_all(&usage)?;
    let mut tx = db.write().await?;
    // Only a newer observation replaces the stored one.
    chunked_values(
        &mut tx,
        "INSERT INTO api_usage (scope, account_id, observed_at, usage_pct, call_count_pct,
             total_cputime_pct, total_time_pct, regain_access_minutes)",
        "(?, ?, ?, ?, ?, ?, ?, ?)",
        "ON CONFLICT (scope) DO UPDATE SET
             observed_at = excluded.observed_at,
             usage_pct = excluded.usage_pct,
             call_count_pct = excluded.call_count_pct,
             total_cputime_pct = excluded.total_cputime_pct,
             total_time_pct = excluded.total_time_pct,
             regain_access_minutes = excluded.regain_access_minutes
         WHERE excluded.observed_at >= api_usage.observed_at",
        &usage,
        |q, u| {
            q.bind(u.account_id.map_or(0, AccountId::get))
                .bind(u.account_id.map(AccountId::get))
                .bind(micros(u.observed_at))
                .bind(u.usage_pct)
                .bind(u.call_count_pct)
                .bind(u.total_cputime_pct)
                .bind(u.total_time_pct)
                .bind(u.regain_access_minutes)
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn api_usage_latest(db: &SqliteStore) -> Result<Vec<ApiUsage>> {
    let rows = sqlx::query(
        "SELECT account_id, observed_at, usage_pct, call_count_pct, total_cputime_pct,
                total_time_pct, regain_access_minutes
         FROM api_usage ORDER BY scope",
    )
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(ApiUsage {
                account_id: row.col::<Option<i64>>("account_id")?.map(AccountId::new),
                observed_at: row.time("observed_at")?,
                usage_pct: row.col("usage_pct")?,
                call_count_pct: row.col("call_count_pct")?,
                total_cputime_pct: row.col("total_cputime_pct")?,
                total_time_pct: row.col("total_time_pct")?,
                regain_access_minutes: row.col("regain_access_minutes")?,
            })
        })
        .collect()
}

pub(crate) async fn api_calls_add(db: &SqliteStore, deltas: Vec<ApiCallsDelta>) -> Result<()> {
    let mut tx = db.write().await?;
    chunked_values(
        &mut tx,
        "INSERT INTO api_call_days (account_id, day, requests, units, errors)",
        "(?, ?, ?, ?, ?)",
        "ON CONFLICT (account_id, day) DO UPDATE SET
             requests = api_call_days.requests + excluded.requests,
             units = api_call_days.units + excluded.units,
             errors = api_call_days.errors + excluded.errors",
        &deltas,
        |q, d| {
            q.bind(d.account_id.get())
                .bind(day(d.day))
                .bind(d.requests)
                .bind(d.units)
                .bind(d.errors)
        },
    )
    .await?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn api_calls_days(
    db: &SqliteStore,
    account_id: Option<AccountId>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<ApiCallsDay>> {
    let rows = sqlx::query(
        "SELECT account_id, day, requests, units, errors FROM api_call_days
         WHERE (?1 IS NULL OR account_id = ?1) AND day BETWEEN ?2 AND ?3
         ORDER BY account_id, day",
    )
    .bind(account_id.map(AccountId::get))
    .bind(day(from))
    .bind(day(to))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            Ok(ApiCallsDay {
                account_id: AccountId::new(row.col("account_id")?),
                day: row.day("day")?,
                requests: row.col("requests")?,
                units: row.col("units")?,
                errors: row.col("errors")?,
            })
        })
        .collect()
}
