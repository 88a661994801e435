//! Scheduled reports and their delivery history.

use sqlx::PgPool;
use sqlx::postgres::PgRow;
use store::{
    AccountId, NewReportSchedule, ReportAttempt, ReportDelivery, ReportSchedule, ReportScheduleId,
    Result,
};

use crate::accounts::get;
use crate::error::db;

const SCHEDULE_COLUMNS: &str = "id, account_id, every, target, format, created_at";
const DELIVERY_COLUMNS: &str = "id, schedule_id, account_id, period_start, period_end, attempts, \
     last_error, last_attempt_at, delivered_at";

fn schedule_from(r: &PgRow) -> Result<ReportSchedule> {
    Ok(ReportSchedule {
        id: get(r, "id")?,
        schedule: NewReportSchedule {
            account_id: get::<Option<i64>>(r, "account_id")?.map(AccountId::new),
            every: get(r, "every")?,
            target: get(r, "target")?,
            format: get(r, "format")?,
            created_at: get(r, "created_at")?,
        },
    })
}

fn delivery_from(r: &PgRow) -> Result<ReportDelivery> {
    Ok(ReportDelivery {
        id: get(r, "id")?,
        schedule_id: get(r, "schedule_id")?,
        account_id: AccountId::new(get(r, "account_id")?),
        period_start: get(r, "period_start")?,
        period_end: get(r, "period_end")?,
        attempts: get(r, "attempts")?,
        last_error: get(r, "last_error")?,
        last_attempt_at: get(r, "last_attempt_at")?,
        delivered_at: get(r, "delivered_at")?,
    })
}

pub(crate) async fn schedule_insert(pool: &PgPool, s: NewReportSchedule) -> Result<ReportSchedule> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO report_schedules (account_id, every, target, format, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING {SCHEDULE_COLUMNS}"
    )))
    .bind(s.account_id.map(AccountId::get))
    .bind(&s.every)
    .bind(&s.target)
    .bind(&s.format)
    .bind(s.created_at)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    schedule_from(&row)
}

pub(crate) async fn schedule_list(pool: &PgPool) -> Result<Vec<ReportSchedule>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM report_schedules ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(schedule_from)
    .collect()
}

pub(crate) async fn schedule_remove(pool: &PgPool, id: ReportScheduleId) -> Result<bool> {
    let done = sqlx::query("DELETE FROM report_schedules WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(db)?
        .rows_affected();
    Ok(done > 0)
}

pub(crate) async fn delivery_record(pool: &PgPool, a: ReportAttempt) -> Result<ReportDelivery> {
    let delivered = a.error.is_none().then_some(a.at);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO report_deliveries AS d (schedule_id, account_id, period_start, period_end,
             attempts, last_error, last_attempt_at, delivered_at)
         VALUES ($1, $2, $3, $4, 1, $5, $6, $7)
         ON CONFLICT (schedule_id, account_id, period_start) DO UPDATE SET
             attempts = d.attempts + 1,
             last_error = coalesce(excluded.last_error, d.last_error),
             last_attempt_at = excluded.last_attempt_at,
             delivered_at = coalesce(d.delivered_at, excluded.delivered_at)
         RETURNING {DELIVERY_COLUMNS}"
    )))
    .bind(a.schedule_id)
    .bind(a.account_id.get())
    .bind(a.period_start)
    .bind(a.period_end)
    .bind(&a.error)
    .bind(a.at)
    .bind(delivered)
    .fetch_one(pool)
    .await
    .map_err(db)?;
    delivery_from(&row)
}

pub(crate) async fn delivery_list(
    pool: &PgPool,
    schedule_id: Option<ReportScheduleId>,
    limit: u32,
) -> Result<Vec<ReportDelivery>> {
    let limit = if limit == 0 {
        None
    } else {
        Some(i64::from(limit))
    };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM report_deliveries
         WHERE $1::bigint IS NULL OR schedule_id = $1
         ORDER BY period_start DESC, id DESC LIMIT $2"
    )))
    .bind(schedule_id)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db)?
    .iter()
    .map(delivery_from)
    .collect()
}
