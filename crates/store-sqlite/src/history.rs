//! Sync history: runs and their steps. A run's cost and rows written are the sums of its
//! steps, computed when read so they can never drift.

use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::sqlite::SqliteRow;
use store::{
    AccountId, NewSyncRun, Result, RunFinish, RunId, RunQuery, RunStatus, StepStatus, StoreError,
    SyncRun, SyncStep,
};

use crate::SqliteStore;
use crate::accounts::ensure_exists;
use crate::error::{corrupt, db_err};
use crate::sql::{Arg, Filter, RowExt, micros, micros_opt};

/// A run with the sums over its steps (index range scans, only for the rows returned).
const RUN_SELECT: &str = "SELECT r.id, r.account_id, r.plan, r.triggered_by, r.steps_planned,
         r.status, r.started_at, r.finished_at, r.error,
         (SELECT coalesce(sum(api_calls), 0) FROM sync_steps WHERE run_id = r.id) AS api_calls,
         (SELECT coalesce(sum(rate_limit_units), 0) FROM sync_steps WHERE run_id = r.id)
             AS rate_limit_units,
         (SELECT coalesce(sum(rows_written), 0) FROM sync_steps WHERE run_id = r.id)
             AS rows_written
     FROM sync_runs r";

fn run_from(row: &SqliteRow) -> Result<SyncRun> {
    let steps = match row.json("steps_planned")? {
        Value::Array(items) => items
            .into_iter()
            .map(|it| match it {
                Value::String(s) => Ok(s),
                other => Err(corrupt(format!("planned step {other}"))),
            })
            .collect::<Result<Vec<_>>>()?,
        other => return Err(corrupt(format!("planned steps {other}"))),
    };
    Ok(SyncRun {
        id: RunId::new(row.col("id")?),
        account_id: AccountId::new(row.col("account_id")?),
        plan: row.col("plan")?,
        trigger: row.col("triggered_by")?,
        steps_planned: steps,
        status: row.parsed("status", RunStatus::parse)?,
        started_at: row.time("started_at")?,
        finished_at: row.time_opt("finished_at")?,
        error: row.col("error")?,
        api_calls: row.col("api_calls")?,
        rate_limit_units: row.col("rate_limit_units")?,
        rows_written: row.col("rows_written")?,
    })
}

fn step_from(row: &SqliteRow) -> Result<SyncStep> {
    Ok(SyncStep {
        run_id: RunId::new(row.col("run_id")?),
        step: row.col("step")?,
        position: row.col("position")?,
        status: row.parsed("status", StepStatus::parse)?,
        attempts: row.col("attempts")?,
        started_at: row.time("started_at")?,
        finished_at: row.time_opt("finished_at")?,
        api_calls: row.col("api_calls")?,
        rate_limit_units: row.col("rate_limit_units")?,
        rows_written: row.col("rows_written")?,
        expected: row.col("expected")?,
        stored: row.col("stored")?,
        complete: row.col("complete")?,
        error: row.col("error")?,
        detail: row.json("detail")?,
    })
}

pub(crate) async fn run_create(db: &SqliteStore, run: NewSyncRun) -> Result<RunId> {
    let steps = Value::from(run.steps.clone()).to_string();
    let mut tx = db.write().await?;
    ensure_exists(&mut tx, run.account_id).await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO sync_runs (account_id, plan, triggered_by, steps_planned, status, started_at)
         VALUES (?, ?, ?, ?, 'running', ?)
         RETURNING id",
    )
    .bind(run.account_id.get())
    .bind(&run.plan)
    .bind(&run.trigger)
    .bind(steps)
    .bind(micros(run.started_at))
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    if let Some(job) = run.job_id {
        sqlx::query("UPDATE jobs SET run_id = ? WHERE id = ?")
            .bind(id)
            .bind(job.get())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)?;
    Ok(RunId::new(id))
}

pub(crate) async fn run_finish(db: &SqliteStore, finish: RunFinish) -> Result<bool> {
    let mut tx = db.write().await?;
    let done =
        sqlx::query("UPDATE sync_runs SET status = ?, error = ?, finished_at = ? WHERE id = ?")
            .bind(finish.status.as_str())
            .bind(&finish.error)
            .bind(micros(finish.finished_at))
            .bind(finish.run_id.get())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn steps_record(db: &SqliteStore, steps: Vec<SyncStep>) -> Result<()> {
    let steps = SyncStep::last_of_each(steps);
    if steps.is_empty() {
        return Ok(());
    }
    // One transaction: a missing run refuses the whole batch.
    let mut tx = db.write().await?;
    let mut known: Vec<RunId> = Vec::new();
    for step in steps {
        if !known.contains(&step.run_id) {
            let run = sqlx::query("SELECT 1 FROM sync_runs WHERE id = ?")
                .bind(step.run_id.get())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            if run.is_none() {
                return Err(StoreError::not_found(format!("sync run {}", step.run_id)));
            }
            known.push(step.run_id);
        }
        sqlx::query(
            "INSERT INTO sync_steps (run_id, step, position, status, attempts, started_at,
                 finished_at, api_calls, rate_limit_units, rows_written, expected, stored,
                 complete, error, detail)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (run_id, step) DO UPDATE SET
                 position = excluded.position,
                 status = excluded.status,
                 attempts = excluded.attempts,
                 started_at = excluded.started_at,
                 finished_at = excluded.finished_at,
                 api_calls = excluded.api_calls,
                 rate_limit_units = excluded.rate_limit_units,
                 rows_written = excluded.rows_written,
                 expected = excluded.expected,
                 stored = excluded.stored,
                 complete = excluded.complete,
                 error = excluded.error,
                 detail = excluded.detail",
        )
        .bind(step.run_id.get())
        .bind(&step.step)
        .bind(step.position)
        .bind(step.status.as_str())
        .bind(step.attempts)
        .bind(micros(step.started_at))
        .bind(micros_opt(step.finished_at))
        .bind(step.api_calls)
        .bind(step.rate_limit_units)
        .bind(step.rows_written)
        .bind(step.expected)
        .bind(step.stored)
        .bind(step.complete)
        .bind(&step.error)
        .bind(step.detail.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    }
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn run_get(
    db: &SqliteStore,
    id: RunId,
) -> Result<Option<(SyncRun, Vec<SyncStep>)>> {
    // One read transaction: the run and its steps come from the same snapshot.
    let mut tx = db.reader.begin().await.map_err(db_err)?;
    let Some(row) = sqlx::query(AssertSqlSafe(format!("{RUN_SELECT} WHERE r.id = ?")))
        .bind(id.get())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let run = run_from(&row)?;
    let steps = sqlx::query(
        "SELECT run_id, step, position, status, attempts, started_at, finished_at, api_calls,
                rate_limit_units, rows_written, expected, stored, complete, error, detail
         FROM sync_steps WHERE run_id = ? ORDER BY position, step",
    )
    .bind(id.get())
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(step_from)
    .collect::<Result<Vec<_>>>()?;
    tx.commit().await.map_err(db_err)?;
    Ok(Some((run, steps)))
}

pub(crate) async fn runs_list(db: &SqliteStore, query: RunQuery) -> Result<Vec<SyncRun>> {
    let mut filter = Filter::default();
    if let Some(account) = query.account_id {
        filter.and("r.account_id = ?", [Arg::Int(account.get())]);
    }
    if let Some(accounts) = &query.accounts {
        filter.and(
            "r.account_id IN (SELECT value FROM json_each(?))",
            [Arg::Text(crate::sql::json_ints(
                accounts.iter().map(|id| id.get()),
            ))],
        );
    }
    if let Some(status) = query.status {
        filter.and("r.status = ?", [Arg::Text(status.as_str().into())]);
    }
    if let Some(before) = query.before_id {
        filter.and("r.id < ?", [Arg::Int(before.get())]);
    }
    let sql = format!("{RUN_SELECT}{} ORDER BY r.id DESC LIMIT ?", filter.sql());
    filter
        .bind(sqlx::query(AssertSqlSafe(sql)))
        .bind(limit(query.limit))
        .fetch_all(&db.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(run_from)
        .collect()
}

/// A list limit: 0 means no limit.
pub(crate) fn limit(limit: u32) -> i64 {
    if limit == 0 { -1 } else { i64::from(limit) }
}
