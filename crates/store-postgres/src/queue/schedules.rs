//! Schedules: upserts, pause and resume, exactly-once fires.

use super::*;

pub(super) const SCHEDULE_COLUMNS: &str =
    "name, cron, queue, kind, args, paused, next_run_at, last_run_at, last_job_id";

pub(super) fn schedule_from(r: &PgRow) -> Result<Schedule> {
    Ok(Schedule {
        def: ScheduleDef {
            name: get(r, "name")?,
            cron: get(r, "cron")?,
            queue: get(r, "queue")?,
            kind: get(r, "kind")?,
            args: get(r, "args")?,
        },
        paused: get(r, "paused")?,
        next_run_at: get(r, "next_run_at")?,
        last_run_at: get(r, "last_run_at")?,
        last_job_id: get::<Option<i64>>(r, "last_job_id")?.map(JobId::new),
    })
}

pub(crate) async fn schedule_upsert(
    pool: &PgPool,
    def: ScheduleDef,
    next_run_at: DateTime<Utc>,
) -> Result<()> {
    if def.name.trim().is_empty() {
        return Err(StoreError::invalid("a schedule needs a name"));
    }
    sqlx::query(
        "INSERT INTO schedules (name, cron, queue, kind, args, next_run_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (name) DO UPDATE SET
             cron = EXCLUDED.cron, queue = EXCLUDED.queue, kind = EXCLUDED.kind,
             args = EXCLUDED.args,
             next_run_at = CASE WHEN schedules.cron IS DISTINCT FROM EXCLUDED.cron
                                THEN EXCLUDED.next_run_at ELSE schedules.next_run_at END",
    )
    .bind(&def.name)
    .bind(&def.cron)
    .bind(&def.queue)
    .bind(&def.kind)
    .bind(&def.args)
    .bind(next_run_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn schedule_list(pool: &PgPool) -> Result<Vec<Schedule>> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(pool)
        .await
        .map_err(db)?;
    rows.iter().map(schedule_from).collect()
}

pub(crate) async fn schedule_get(pool: &PgPool, name: &str) -> Result<Option<Schedule>> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE name = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(schedule_from).transpose()
}

pub(crate) async fn schedule_set_paused(
    pool: &PgPool,
    name: &str,
    paused: bool,
    next_run_at: DateTime<Utc>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE schedules SET paused = $2,
             next_run_at = CASE WHEN $2 THEN next_run_at ELSE $3 END
         WHERE name = $1",
    )
    .bind(name)
    .bind(paused)
    .bind(next_run_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn schedule_fire(
    pool: &PgPool,
    fire: ScheduleFire,
) -> Result<Option<InsertOutcome>> {
    let mut tx = pool.begin().await.map_err(db)?;
    // The row lock taken by this update makes a racing caller wait, then see the new
    // next_run_at and match nothing.
    let won = sqlx::query(
        "UPDATE schedules SET next_run_at = $3, last_run_at = $4
         WHERE name = $1 AND NOT paused AND next_run_at = $2",
    )
    .bind(&fire.name)
    .bind(fire.expected_next_run_at)
    .bind(fire.new_next_run_at)
    .bind(fire.now)
    .execute(&mut *tx)
    .await
    .map_err(db)?;
    if won.rows_affected() == 0 {
        return Ok(None);
    }
    let outcome = insert_jobs(&mut tx, std::slice::from_ref(&fire.job))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| corrupt("schedule job insert returned nothing"))?;
    sqlx::query("UPDATE schedules SET last_job_id = $2 WHERE name = $1")
        .bind(&fire.name)
        .bind(outcome.id().get())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok(Some(outcome))
}
