//! Scheduled reports and their delivery history.

use sqlx::sqlite::SqliteRow;
use store::{
    AccountId, NewReportSchedule, ReportAttempt, ReportDelivery, ReportSchedule, ReportScheduleId,
    Result,
};

use crate::SqliteStore;
use crate::error::db_err;
use crate::sql::{RowExt, day, micros};

fn schedule_from(row: &SqliteRow) -> Result<ReportSchedule> {
    Ok(ReportSchedule {
        id: row.col("id")?,
        schedule: NewReportSchedule {
            account_id: row.col::<Option<i64>>("account_id")?.map(AccountId::new),
            every: row.col("every")?,
            target: row.col("target")?,
            format: row.col("format")?,
            created_at: row.time("created_at")?,
        },
    })
}

fn delivery_from(row: &SqliteRow) -> Result<ReportDelivery> {
    Ok(ReportDelivery {
        id: row.col("id")?,
        schedule_id: row.col("schedule_id")?,
        account_id: AccountId::new(row.col("account_id")?),
        period_start: row.day("period_start")?,
        period_end: row.day("period_end")?,
        attempts: row.col("attempts")?,
        last_error: row.col("last_error")?,
        last_attempt_at: row.time("last_attempt_at")?,
        delivered_at: row.time_opt("delivered_at")?,
    })
}

const SCHEDULE_COLUMNS: &str = "id, account_id, every, target, format, created_at";
const DELIVERY_COLUMNS: &str = "id, schedule_id, account_id, period_start, period_end, attempts, \
     last_error, last_attempt_at, delivered_at";

pub(crate) async fn schedule_insert(
    db: &SqliteStore,
    s: NewReportSchedule,
) -> Result<ReportSchedule> {
    let mut tx = db.write().await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO report_schedules (account_id, every, target, format, created_at)
         VALUES (?, ?, ?, ?, ?) RETURNING {SCHEDULE_COLUMNS}"
    )))
    .bind(s.account_id.map(AccountId::get))
    .bind(&s.every)
    .bind(&s.target)
    .bind(&s.format)
    .bind(micros(s.created_at))
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let schedule = schedule_from(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(schedule)
}

pub(crate) async fn schedule_list(db: &SqliteStore) -> Result<Vec<ReportSchedule>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM report_schedules ORDER BY id"
    )))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(schedule_from)
    .collect()
}

pub(crate) async fn schedule_remove(db: &SqliteStore, id: ReportScheduleId) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query("DELETE FROM report_schedules WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn delivery_record(db: &SqliteStore, a: ReportAttempt) -> Result<ReportDelivery> {
    let mut tx = db.write().await?;
    let delivered = a.error.is_none().then(|| micros(a.at));
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO report_deliveries (schedule_id, account_id, period_start, period_end,
             attempts, last_error, last_attempt_at, delivered_at)
         VALUES (?, ?, ?, ?, 1, ?, ?, ?)
         ON CONFLICT (schedule_id, account_id, period_start) DO UPDATE SET
             attempts = attempts + 1,
             last_error = coalesce(excluded.last_error, last_error),
             last_attempt_at = excluded.last_attempt_at,
             delivered_at = coalesce(delivered_at, excluded.delivered_at)
         RETURNING {DELIVERY_COLUMNS}"
    )))
    .bind(a.schedule_id)
    .bind(a.account_id.get())
    .bind(day(a.period_start))
    .bind(day(a.period_end))
    .bind(&a.error)
    .bind(micros(a.at))
    .bind(delivered)
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let delivery = delivery_from(&row)?;
    tx.commit().await.map_err(db_err)?;
    Ok(delivery)
}

pub(crate) async fn delivery_list(
    db: &SqliteStore,
    schedule_id: Option<ReportScheduleId>,
    limit: u32,
) -> Result<Vec<ReportDelivery>> {
    let limit = if limit == 0 { -1 } else { i64::from(limit) };
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM report_deliveries
         WHERE ? IS NULL OR schedule_id = ?
         ORDER BY period_start DESC, id DESC LIMIT ?"
    )))
    .bind(schedule_id)
    .bind(schedule_id)
    .bind(limit)
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(delivery_from)
    .collect()
}
