//! Sync history: runs and their steps, with totals summed from the steps.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder};
use store::{
    AccountId, NewSyncRun, Result, RunFinish, RunId, RunQuery, RunStatus, StepStatus, StoreError,
    SyncRun, SyncStep,
};

use crate::accounts::get;
use crate::error::{corrupt, db};

const RUN_SELECT: &str = "SELECT r.id, r.account_id, r.plan, r.trigger, r.steps_planned, \
    r.status, r.started_at, r.finished_at, r.error, \
    COALESCE(s.api_calls, 0)::bigint AS api_calls, \
    COALESCE(s.rate_limit_units, 0)::bigint AS rate_limit_units, \
    COALESCE(s.rows_written, 0)::bigint AS rows_written \
    FROM sync_runs r LEFT JOIN LATERAL (SELECT sum(api_calls) AS api_calls, \
    sum(rate_limit_units) AS rate_limit_units, sum(rows_written) AS rows_written \
    FROM sync_steps WHERE run_id = r.id) s ON TRUE";

fn run_from(r: &PgRow) -> Result<SyncRun> {
    let status: String = get(r, "status")?;
    Ok(SyncRun {
        id: RunId::new(get(r, "id")?),
        account_id: AccountId::new(get(r, "account_id")?),
        plan: get(r, "plan")?,
        trigger: get(r, "trigger")?,
        steps_planned: get(r, "steps_planned")?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("run status {status:?}")))?,
        started_at: get(r, "started_at")?,
        finished_at: get(r, "finished_at")?,
        error: get(r, "error")?,
        api_calls: get(r, "api_calls")?,
        rate_limit_units: get(r, "rate_limit_units")?,
        rows_written: get(r, "rows_written")?,
    })
}

fn step_from(r: &PgRow) -> Result<SyncStep> {
    let status: String = get(r, "status")?;
    Ok(SyncStep {
        run_id: RunId::new(get(r, "run_id")?),
        step: get(r, "step")?,
        position: get(r, "position")?,
        status: StepStatus::parse(&status)
            .ok_or_else(|| corrupt(format!("step status {status:?}")))?,
        attempts: get(r, "attempts")?,
        started_at: get(r, "started_at")?,
        finished_at: get(r, "finished_at")?,
        api_calls: get(r, "api_calls")?,
        rate_limit_units: get(r, "rate_limit_units")?,
        rows_written: get(r, "rows_written")?,
        expected: get(r, "expected")?,
        stored: get(r, "stored")?,
        complete: get(r, "complete")?,
        error: get(r, "error")?,
        detail: get(r, "detail")?,
    })
}

pub(crate) async fn create(pool: &PgPool, run: NewSyncRun) -> Result<RunId> {
    let id: Option<i64> = sqlx::query_scalar(
        "WITH run AS (
             INSERT INTO sync_runs (account_id, plan, trigger, steps_planned, status, started_at)
             SELECT $1, $2, $3, $4, 'running', $5
             WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
             RETURNING id
         ), linked AS (
             UPDATE jobs SET run_id = (SELECT id FROM run) WHERE id = $6 AND EXISTS (SELECT 1 FROM run)
         )
         SELECT id FROM run",
    )
    .bind(run.account_id.get())
    .bind(&run.plan)
    .bind(&run.trigger)
    .bind(&run.steps)
    .bind(run.started_at)
    .bind(run.job_id.map(|j| j.get()))
    .fetch_optional(pool)
    .await
    .map_err(db)?;
    id.map(RunId::new)
        .ok_or_else(|| StoreError::not_found(format!("account {}", run.account_id)))
}

pub(crate) async fn finish(pool: &PgPool, f: RunFinish) -> Result<bool> {
    let done =
        sqlx::query("UPDATE sync_runs SET status = $2, error = $3, finished_at = $4 WHERE id = $1")
            .bind(f.run_id.get())
            .bind(f.status.as_str())
            .bind(&f.error)
            .bind(f.finished_at)
            .execute(pool)
            .await
            .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn step_record(pool: &PgPool, s: SyncStep) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO sync_steps (run_id, step, position, status, attempts, started_at,
             finished_at, api_calls, rate_limit_units, rows_written, expected, stored, complete,
             error, detail)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
         WHERE EXISTS (SELECT 1 FROM sync_runs WHERE id = $1)
         ON CONFLICT (run_id, step) DO UPDATE SET
             position = EXCLUDED.position, status = EXCLUDED.status,
             attempts = EXCLUDED.attempts, started_at = EXCLUDED.started_at,
             finished_at = EXCLUDED.finished_at, api_calls = EXCLUDED.api_calls,
             rate_limit_units = EXCLUDED.rate_limit_units,
             rows_written = EXCLUDED.rows_written, expected = EXCLUDED.expected,
             stored = EXCLUDED.stored, complete = EXCLUDED.complete, error = EXCLUDED.error,
             detail = EXCLUDED.detail",
    )
    .bind(s.run_id.get())
    .bind(&s.step)
    .bind(s.position)
    .bind(s.status.as_str())
    .bind(s.attempts)
    .bind(s.started_at)
    .bind(s.finished_at)
    .bind(s.api_calls)
    .bind(s.rate_limit_units)
    .bind(s.rows_written)
    .bind(s.expected)
    .bind(s.stored)
    .bind(s.complete)
    .bind(&s.error)
    .bind(&s.detail)
    .execute(pool)
    .await
    .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found(format!("sync run {}", s.run_id)));
    }
    Ok(())
}

pub(crate) async fn get_run(pool: &PgPool, id: RunId) -> Result<Option<(SyncRun, Vec<SyncStep>)>> {
    let sql = format!("{RUN_SELECT} WHERE r.id = $1");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(pool)
        .await
        .map_err(db)?
    else {
        return Ok(None);
    };
    let run = run_from(&row)?;
    let steps = sqlx::query(
        "SELECT run_id, step, position, status, attempts, started_at, finished_at, api_calls,
             rate_limit_units, rows_written, expected, stored, complete, error, detail
         FROM sync_steps WHERE run_id = $1 ORDER BY position, step",
    )
    .bind(id.get())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let steps = steps.iter().map(step_from).collect::<Result<Vec<_>>>()?;
    Ok(Some((run, steps)))
}

pub(crate) async fn list(pool: &PgPool, q: RunQuery) -> Result<Vec<SyncRun>> {
    let mut b: QueryBuilder<Postgres> = QueryBuilder::new(RUN_SELECT);
    b.push(" WHERE TRUE");
    if let Some(a) = q.account_id {
        b.push(" AND r.account_id = ").push_bind(a.get());
    }
    if let Some(accounts) = &q.accounts {
        b.push(" AND r.account_id = ANY(")
            .push_bind(accounts.iter().map(|id| id.get()).collect::<Vec<_>>())
            .push(")");
    }
    if let Some(s) = q.status {
        b.push(" AND r.status = ").push_bind(s.as_str());
    }
    if let Some(before) = q.before_id {
        b.push(" AND r.id < ").push_bind(before.get());
    }
    b.push(" ORDER BY r.id DESC");
    if q.limit > 0 {
        b.push(" LIMIT ").push_bind(i64::from(q.limit));
    }
    let rows = b.build().fetch_all(pool).await.map_err(db)?;
    rows.iter().map(run_from).collect()
}
