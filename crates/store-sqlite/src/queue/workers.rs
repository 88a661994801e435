//! Worker registrations: heartbeats, the list, removal.

use super::*;

pub(crate) async fn worker_heartbeat(db: &SqliteStore, worker: WorkerInfo) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO workers (id, hostname, pid, queues, concurrency, started_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET
             hostname = excluded.hostname,
             pid = excluded.pid,
             queues = excluded.queues,
             concurrency = excluded.concurrency,
             started_at = excluded.started_at,
             last_seen_at = excluded.last_seen_at",
    )
    .bind(&worker.id)
    .bind(&worker.hostname)
    .bind(worker.pid)
    .bind(json_texts(&worker.queues))
    .bind(worker.concurrency)
    .bind(micros(worker.started_at))
    .bind(micros(worker.last_seen_at))
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

pub(crate) async fn worker_list(
    db: &SqliteStore,
    seen_since: DateTime<Utc>,
) -> Result<Vec<WorkerInfo>> {
    let rows = sqlx::query(
        "SELECT id, hostname, pid, queues, concurrency, started_at, last_seen_at
         FROM workers WHERE last_seen_at >= ? ORDER BY id",
    )
    .bind(micros(seen_since))
    .fetch_all(&db.reader)
    .await
    .map_err(db_err)?;
    rows.iter()
        .map(|row| {
            let queues = match row.json("queues")? {
                Value::Array(items) => items
                    .iter()
                    .map(|q| {
                        q.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| corrupt(format!("worker queue {q}")))
                    })
                    .collect::<Result<Vec<_>>>()?,
                other => return Err(corrupt(format!("worker queues {other}"))),
            };
            Ok(WorkerInfo {
                id: row.col("id")?,
                hostname: row.col("hostname")?,
                pid: row.col("pid")?,
                queues,
                concurrency: row.col("concurrency")?,
                started_at: row.time("started_at")?,
                last_seen_at: row.time("last_seen_at")?,
            })
        })
        .collect()
}

pub(crate) async fn worker_remove(db: &SqliteStore, id: &str) -> Result<()> {
    let mut tx = db.write().await?;
    sqlx::query("DELETE FROM workers WHERE id = ?")
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}
