//! Schedules: upserts, pause and resume, exactly-once fires.

use super::*;

pub(super) fn schedule_from(row: &SqliteRow) -> Result<Schedule> {
    Ok(Schedule {
        def: ScheduleDef {
            name: row.col("name")?,
            cron: row.col("cron")?,
            queue: row.col("queue")?,
            kind: row.col("kind")?,
            args: row.json("args")?,
        },
        paused: row.col("paused")?,
        next_run_at: row.time("next_run_at")?,
        last_run_at: row.time_opt("last_run_at")?,
        last_job_id: row.col::<Option<i64>>("last_job_id")?.map(JobId::new),
    })
}

pub(super) const SCHEDULE_COLUMNS: &str =
    "name, cron, queue, kind, args, paused, next_run_at, last_run_at, last_job_id";

pub(crate) async fn schedule_upsert(
    db: &SqliteStore,
    def: ScheduleDef,
    next_run_at: DateTime<Utc>,
) -> Result<()> {
    if def.name.trim().is_empty() {
        return Err(StoreError::invalid("a schedule needs a name"));
    }
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO schedules (name, cron, queue, kind, args, next_run_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET
             cron = excluded.cron,
             queue = excluded.queue,
             kind = excluded.kind,
             args = excluded.args,
             next_run_at = CASE WHEN schedules.cron <> excluded.cron
                                THEN excluded.next_run_at ELSE schedules.next_run_at END",
    )
    .bind(&def.name)
    .bind(&def.cron)
    .bind(&def.queue)
    .bind(&def.kind)
    .bind(def.args.to_string())
    .bind(micros(next_run_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn schedule_list(db: &SqliteStore) -> Result<Vec<Schedule>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name"
    )))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?
    .iter()
    .map(schedule_from)
    .collect()
}

pub(crate) async fn schedule_get(db: &SqliteStore, name: &str) -> Result<Option<Schedule>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE name = ?"
    )))
    .bind(name)
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(schedule_from)
    .transpose()
}

pub(crate) async fn schedule_set_paused(
    db: &SqliteStore,
    name: &str,
    paused: bool,
    next_run_at: DateTime<Utc>,
) -> Result<bool> {
    let mut tx = db.write().await?;
    let done = sqlx::query(
        "UPDATE schedules SET paused = ?1,
             next_run_at = CASE WHEN ?1 THEN next_run_at ELSE ?2 END
         WHERE name = ?3",
    )
    .bind(paused)
    .bind(micros(next_run_at))
    .bind(name)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    tx.commit().await.map_err(db_err)?;
    Ok(done > 0)
}

pub(crate) async fn schedule_fire(
    db: &SqliteStore,
    fire: ScheduleFire,
) -> Result<Option<InsertOutcome>> {
    check_job(&fire.job)?;
    let mut tx = db.write().await?;
    let won = sqlx::query(
        "UPDATE schedules SET last_run_at = ?, next_run_at = ?
         WHERE name = ? AND paused = 0 AND next_run_at = ?",
    )
    .bind(micros(fire.now))
    .bind(micros(fire.new_next_run_at))
    .bind(&fire.name)
    .bind(micros(fire.expected_next_run_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?
    .rows_affected();
    if won == 0 {
        return Ok(None);
    }
    let outcome = insert_jobs(&mut tx, std::slice::from_ref(&fire.job))
        .await?
        .pop()
        .ok_or_else(|| corrupt("no outcome for a scheduled job"))?;
    sqlx::query("UPDATE schedules SET last_job_id = ? WHERE name = ?")
        .bind(outcome.id().get())
        .bind(&fire.name)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    Ok(Some(outcome))
}
