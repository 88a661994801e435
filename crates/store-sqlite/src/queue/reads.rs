//! Reads: one job, filtered pages with plain-text search, the queue snapshot.

use super::*;

pub(crate) async fn get(db: &SqliteStore, id: JobId) -> Result<Option<Job>> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"
    )))
    .bind(id.get())
    .fetch_optional(&db.reader)
    .await
    .map_err(db_err)?
    .as_ref()
    .map(job_from)
    .transpose()
}

/// `text` as a `LIKE` pattern that matches it literally, anywhere.
pub(super) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(super) fn job_filter(query: &JobQuery) -> Filter {
    let mut filter = Filter::default();
    if !query.states.is_empty() {
        let states: Vec<&str> = query.states.iter().map(|s| s.as_str()).collect();
        filter.and(
            "state IN (SELECT value FROM json_each(?))",
            [Arg::Text(json_texts(&states))],
        );
    }
    if let Some(queue) = &query.queue {
        filter.and("queue = ?", [Arg::Text(queue.clone())]);
    }
    if let Some(kind) = &query.kind {
        filter.and("kind = ?", [Arg::Text(kind.clone())]);
    }
    if let Some(account) = query.account_id {
        filter.and("account_id = ?", [Arg::Int(account.get())]);
    }
    if let Some(run) = query.run_id {
        filter.and("run_id = ?", [Arg::Int(run.get())]);
    }
    if !query.ids.is_empty() {
        filter.and(
            "id IN (SELECT value FROM json_each(?))",
            [Arg::Text(json_ints(query.ids.iter().map(|id| id.get())))],
        );
    }
    if let Some(accounts) = &query.accounts {
        filter.and(
            "account_id IN (SELECT value FROM json_each(?))",
            [Arg::Text(json_ints(accounts.iter().map(|id| id.get())))],
        );
    }
    if let Some(search) = query.search.as_deref().filter(|s| !s.is_empty()) {
        let pattern = contains_pattern(search);
        filter.and(
            "(kind LIKE ? ESCAPE '\\' OR args LIKE ? ESCAPE '\\'
              OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(jobs.errors)
                                                 THEN jobs.errors ELSE '[]' END) e
                         WHERE CASE WHEN e.type = 'object'
                                    THEN json_extract(e.value, '$.error') END
                               LIKE ? ESCAPE '\\'))",
            [
                Arg::Text(pattern.clone()),
                Arg::Text(pattern.clone()),
                Arg::Text(pattern),
            ],
        );
    }
    filter
}

pub(super) fn selector_filter(selector: &JobSelector) -> Filter {
    match selector {
        JobSelector::Ids(ids) => {
            let mut filter = Filter::default();
            filter.and(
                "id IN (SELECT value FROM json_each(?))",
                [Arg::Text(json_ints(ids.iter().map(|id| id.get())))],
            );
            filter
        }
        JobSelector::Filter(query) => job_filter(query),
    }
}

pub(crate) async fn list(db: &SqliteStore, query: JobQuery) -> Result<JobPage> {
    let filter = job_filter(&query);
    let where_sql = filter.sql();
    let mut tx = db.reader.begin().await.map_err(db_err)?;
    let total: i64 = filter
        .bind(sqlx::query(AssertSqlSafe(format!(
            "SELECT count(*) AS total FROM jobs{where_sql}"
        ))))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .col("total")?;
    let jobs = filter
        .bind(sqlx::query(AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs{where_sql} ORDER BY id DESC LIMIT ? OFFSET ?"
        ))))
        .bind(limit(query.limit))
        .bind(i64::from(query.offset))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(job_from)
        .collect::<Result<Vec<_>>>()?;
    tx.commit().await.map_err(db_err)?;
    Ok(JobPage { jobs, total })
}

pub(crate) async fn snapshot(
    db: &SqliteStore,
    now: DateTime<Utc>,
    accounts: Option<&[AccountId]>,
) -> Result<QueueSnapshot> {
    let now = micros(now);
    // Every job, or only those of the accounts named (`?1` NULL: no narrowing).
    let accounts = accounts.map(|ids| json_ints(ids.iter().map(|id| id.get())));
    let mut tx = db.reader.begin().await.map_err(db_err)?;
    let mut counts = sqlx::query(
        "SELECT queue, state, count(*) AS n FROM jobs
         WHERE ?1 IS NULL OR account_id IN (SELECT value FROM json_each(?1))
         GROUP BY queue, state",
    )
    .bind(accounts.clone())
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| {
        Ok(JobCount {
            queue: row.col("queue")?,
            state: row.parsed("state", JobState::parse)?,
            count: row.col("n")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    counts.sort_by(|a, b| (&a.queue, a.state).cmp(&(&b.queue, b.state)));
    let scheduled = sqlx::query(
        "SELECT queue, count(*) AS n FROM jobs
         WHERE state = 'pending' AND run_at > ?2
           AND (?1 IS NULL OR account_id IN (SELECT value FROM json_each(?1)))
         GROUP BY queue ORDER BY queue",
    )
    .bind(accounts.clone())
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| Ok((row.col("queue")?, row.col("n")?)))
    .collect::<Result<Vec<_>>>()?;
    let oldest_due = sqlx::query(
        "SELECT queue, min(run_at) AS oldest FROM jobs
         WHERE state = 'pending' AND run_at <= ?2
           AND (?1 IS NULL OR account_id IN (SELECT value FROM json_each(?1)))
         GROUP BY queue ORDER BY queue",
    )
    .bind(accounts.clone())
    .bind(now)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?
    .iter()
    .map(|row| Ok((row.col("queue")?, row.time("oldest")?)))
    .collect::<Result<Vec<_>>>()?;
    tx.commit().await.map_err(db_err)?;
    Ok(QueueSnapshot {
        counts,
        scheduled,
        oldest_due,
    })
}

pub(crate) async fn due_count(db: &SqliteStore, now: DateTime<Utc>) -> Result<i64> {
    // Each count reads one partial index (`jobs_claim`, `jobs_lease`), never the finished
    // jobs.
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM jobs WHERE state = 'pending' AND run_at <= ?1)
              + (SELECT count(*) FROM jobs WHERE state = 'running')",
    )
    .bind(micros(now))
    .fetch_one(&db.reader)
    .await
    .map_err(db_err)
}
