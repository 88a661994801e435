//! Worker registrations: heartbeats, the list, removal.

use super::*;

pub(crate) async fn worker_heartbeat(pool: &PgPool, w: WorkerInfo) -> Result<()> {
    sqlx::query(
        "INSERT INTO workers (id, hostname, pid, queues, concurrency, started_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET
             hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, queues = EXCLUDED.queues,
             concurrency = EXCLUDED.concurrency, started_at = EXCLUDED.started_at,
             last_seen_at = GREATEST(workers.last_seen_at, EXCLUDED.last_seen_at)",
    )
    .bind(&w.id)
    .bind(&w.hostname)
    .bind(w.pid)
    .bind(&w.queues)
    .bind(w.concurrency)
    .bind(w.started_at)
    .bind(w.last_seen_at)
    .execute(pool)
    .await
    .map_err(db)?;
    Ok(())
}

pub(crate) async fn worker_list(
    pool: &PgPool,
    seen_since: DateTime<Utc>,
) -> Result<Vec<WorkerInfo>> {
    let rows = sqlx::query(
        "SELECT id, hostname, pid, queues, concurrency, started_at, last_seen_at FROM workers
         WHERE last_seen_at >= $1 ORDER BY id",
    )
    .bind(seen_since)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    rows.iter()
        .map(|r| {
            Ok(WorkerInfo {
                id: get(r, "id")?,
                hostname: get(r, "hostname")?,
                pid: get(r, "pid")?,
                queues: get(r, "queues")?,
                concurrency: get(r, "concurrency")?,
                started_at: get(r, "started_at")?,
                last_seen_at: get(r, "last_seen_at")?,
            })
        })
        .collect()
}

pub(crate) async fn worker_remove(pool: &PgPool, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM workers WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}
