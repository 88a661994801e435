//! Sync history: runs and their steps, with totals summed from the steps.

use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use store::{
    AccountId, NewSyncRun, Result, RunFinish, RunId, RunQuery, RunStatus, StatusChange, StepStatus,
    StoreError, SyncRun, SyncStep,
};

use crate::PgQuery;
use crate::accounts::{STATUS_SET, bind_status, get};
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

/// Opens a run for each row of the CTE `src (id)` it follows (`head`: `WITH src AS (…)`),
/// with the run's plan, trigger, steps and start bound from parameter `$first` on and the job
/// to link after them ([`bind_run`]); returns the new run's id.
fn run_open_sql(head: &str, first: usize) -> String {
    let p = |i: usize| format!("${}", first + i);
    format!(
        "{head}, run AS (
             INSERT INTO sync_runs (account_id, plan, trigger, steps_planned, status, started_at)
             SELECT id, {}, {}, {}, 'running', {} FROM src
             RETURNING id
         ), linked AS (
             UPDATE jobs SET run_id = (SELECT id FROM run) WHERE id = {} AND EXISTS (SELECT 1 FROM run)
         )
         SELECT id FROM run",
        p(0),
        p(1),
        p(2),
        p(3),
        p(4)
    )
}

/// Binds [`run_open_sql`]'s parameters.
fn bind_run<'q>(q: PgQuery<'q>, run: &'q NewSyncRun) -> PgQuery<'q> {
    q.bind(&run.plan)
        .bind(&run.trigger)
        .bind(&run.steps)
        .bind(run.started_at)
        .bind(run.job_id.map(|j| j.get()))
}

/// Closes run `${first}` with the status, error and end bound after it ([`bind_finish`]).
fn run_finish_sql(first: usize) -> String {
    format!(
        "UPDATE sync_runs SET status = ${}, error = ${}, finished_at = ${} WHERE id = ${first}",
        first + 1,
        first + 2,
        first + 3
    )
}

/// Binds [`run_finish_sql`]'s parameters.
fn bind_finish<'q>(q: PgQuery<'q>, f: &'q RunFinish) -> PgQuery<'q> {
    q.bind(f.run_id.get())
        .bind(f.status.as_str())
        .bind(&f.error)
        .bind(f.finished_at)
}

/// The new run's id, when a run was opened.
async fn opened(pool: &PgPool, q: PgQuery<'_>) -> Result<Option<RunId>> {
    let id: Option<i64> = q
        .fetch_optional(pool)
        .await
        .map_err(db)?
        .map(|row| get(&row, "id"))
        .transpose()?;
    Ok(id.map(RunId::new))
}

pub(crate) async fn create(pool: &PgPool, run: NewSyncRun) -> Result<RunId> {
    let sql = run_open_sql("WITH src AS (SELECT id FROM accounts WHERE id = $1)", 2);
    let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(run.account_id.get());
    opened(pool, bind_run(q, &run))
        .await?
        .ok_or_else(|| StoreError::not_found(format!("account {}", run.account_id)))
}

/// Marks the account and, when it was marked, opens its run: one statement.
pub(crate) async fn open(
    pool: &PgPool,
    change: StatusChange,
    run: NewSyncRun,
) -> Result<Option<RunId>> {
    let sql = run_open_sql(&format!("WITH src AS ({STATUS_SET} RETURNING id)"), 7);
    let q = bind_status(
        sqlx::query(sqlx::AssertSqlSafe(sql)),
        run.account_id,
        &change,
    );
    opened(pool, bind_run(q, &run)).await
}

/// Closes the run and sets its account's status, with the run's last step rows when there
/// are any: one statement.
pub(crate) async fn close(
    pool: &PgPool,
    account_id: AccountId,
    change: StatusChange,
    f: RunFinish,
    steps: Vec<SyncStep>,
) -> Result<bool> {
    SyncStep::all_of_run(&steps, f.run_id)?;
    let steps = SyncStep::last_of_each(steps);
    if steps.is_empty() {
        let sql = format!("WITH marked AS ({STATUS_SET}) {}", run_finish_sql(7));
        let q = bind_status(sqlx::query(sqlx::AssertSqlSafe(sql)), account_id, &change);
        let done = bind_finish(q, &f).execute(pool).await.map_err(db)?;
        return Ok(done.rows_affected() > 0);
    }
    // The rows are written only with their run (found and closed by `fin`).
    let sql = format!(
        "WITH marked AS ({STATUS_SET}), fin AS ({} RETURNING id), {}, written AS ({})
         SELECT count(*) FROM fin",
        run_finish_sql(7),
        steps_input_sql(11),
        steps_upsert_sql("EXISTS (SELECT 1 FROM fin)"),
    );
    let columns = StepColumns::of(&steps);
    let q = bind_status(sqlx::query(sqlx::AssertSqlSafe(sql)), account_id, &change);
    let found: i64 = columns
        .bind(bind_finish(q, &f))
        .fetch_one(pool)
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(db)?;
    Ok(found > 0)
}

pub(crate) async fn finish(pool: &PgPool, f: RunFinish) -> Result<bool> {
    let q = sqlx::query(sqlx::AssertSqlSafe(run_finish_sql(1)));
    let done = bind_finish(q, &f).execute(pool).await.map_err(db)?;
    Ok(done.rows_affected() > 0)
}

/// A batch of step rows as the arrays [`steps_input_sql`] unnests.
struct StepColumns<'a> {
    runs: Vec<i64>,
    names: Vec<&'a str>,
    positions: Vec<i32>,
    statuses: Vec<&'static str>,
    attempts: Vec<i32>,
    started: Vec<chrono::DateTime<chrono::Utc>>,
    finished: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    calls: Vec<i64>,
    units: Vec<i64>,
    rows: Vec<i64>,
    expected: Vec<Option<i64>>,
    stored: Vec<Option<i64>>,
    complete: Vec<Option<bool>>,
    errors: Vec<Option<&'a str>>,
    details: Vec<String>,
}

impl<'a> StepColumns<'a> {
    fn of(steps: &'a [SyncStep]) -> StepColumns<'a> {
        StepColumns {
            runs: steps.iter().map(|s| s.run_id.get()).collect(),
            names: steps.iter().map(|s| s.step.as_str()).collect(),
            positions: steps.iter().map(|s| s.position).collect(),
            statuses: steps.iter().map(|s| s.status.as_str()).collect(),
            attempts: steps.iter().map(|s| s.attempts).collect(),
            started: steps.iter().map(|s| s.started_at).collect(),
            finished: steps.iter().map(|s| s.finished_at).collect(),
            calls: steps.iter().map(|s| s.api_calls).collect(),
            units: steps.iter().map(|s| s.rate_limit_units).collect(),
            rows: steps.iter().map(|s| s.rows_written).collect(),
            expected: steps.iter().map(|s| s.expected).collect(),
            stored: steps.iter().map(|s| s.stored).collect(),
            complete: steps.iter().map(|s| s.complete).collect(),
            errors: steps.iter().map(|s| s.error.as_deref()).collect(),
            details: steps.iter().map(|s| s.detail.to_string()).collect(),
        }
    }

    /// Binds the fifteen arrays, in [`steps_input_sql`]'s order.
    fn bind<'q>(&'q self, q: PgQuery<'q>) -> PgQuery<'q> {
        q.bind(&self.runs)
            .bind(&self.names)
            .bind(&self.positions)
            .bind(&self.statuses)
            .bind(&self.attempts)
            .bind(&self.started)
            .bind(&self.finished)
            .bind(&self.calls)
            .bind(&self.units)
            .bind(&self.rows)
            .bind(&self.expected)
            .bind(&self.stored)
            .bind(&self.complete)
            .bind(&self.errors)
            .bind(&self.details)
    }
}

/// The CTE `input`: a batch of step rows, from the fifteen arrays bound from `$first` on
/// ([`StepColumns::bind`]).
fn steps_input_sql(first: usize) -> String {
    let types = [
        "bigint",
        "text",
        "int",
        "text",
        "int",
        "timestamptz",
        "timestamptz",
        "bigint",
        "bigint",
        "bigint",
        "bigint",
        "bigint",
        "bool",
        "text",
        "text",
    ];
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", first + i))
        .collect();
    format!(
        "input AS (
             SELECT * FROM UNNEST({})
                 AS u(run_id, step, position, status, attempts, started_at, finished_at,
                     api_calls, rate_limit_units, rows_written, expected, stored, complete,
                     error, detail)
         )",
        arrays.join(", ")
    )
}

/// The upsert of `input`'s rows, all of them when `guard` holds and none otherwise.
fn steps_upsert_sql(guard: &str) -> String {
    format!(
        "INSERT INTO sync_steps (run_id, step, position, status, attempts, started_at,
             finished_at, api_calls, rate_limit_units, rows_written, expected, stored, complete,
             error, detail)
         SELECT run_id, step, position, status, attempts, started_at, finished_at, api_calls,
             rate_limit_units, rows_written, expected, stored, complete, error, detail::jsonb
         FROM input
         WHERE {guard}
         ON CONFLICT (run_id, step) DO UPDATE SET
             position = EXCLUDED.position, status = EXCLUDED.status,
             attempts = EXCLUDED.attempts, started_at = EXCLUDED.started_at,
             finished_at = EXCLUDED.finished_at, api_calls = EXCLUDED.api_calls,
             rate_limit_units = EXCLUDED.rate_limit_units,
             rows_written = EXCLUDED.rows_written, expected = EXCLUDED.expected,
             stored = EXCLUDED.stored, complete = EXCLUDED.complete, error = EXCLUDED.error,
             detail = EXCLUDED.detail"
    )
}

pub(crate) async fn steps_record(pool: &PgPool, steps: Vec<SyncStep>) -> Result<()> {
    let steps = SyncStep::last_of_each(steps);
    if steps.is_empty() {
        return Ok(());
    }
    // One statement, so all or nothing: no row is written when a step's run is missing.
    let sql = format!(
        "WITH {} {}",
        steps_input_sql(1),
        steps_upsert_sql(
            "NOT EXISTS (SELECT 1 FROM input i
                 WHERE NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.id = i.run_id))"
        )
    );
    let columns = StepColumns::of(&steps);
    let done = columns
        .bind(sqlx::query(sqlx::AssertSqlSafe(sql)))
        .execute(pool)
        .await
        .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::not_found(missing_runs(&steps)));
    }
    Ok(())
}

/// What a refused batch of steps names: its runs, one of which does not exist.
fn missing_runs(steps: &[SyncStep]) -> String {
    let mut runs: Vec<i64> = steps.iter().map(|s| s.run_id.get()).collect();
    runs.sort_unstable();
    runs.dedup();
    let runs: Vec<String> = runs.iter().map(i64::to_string).collect();
    format!("sync run {}", runs.join(" or "))
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
