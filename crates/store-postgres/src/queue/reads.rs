//! Reads: one job, filtered pages with plain-text search, the queue snapshot.

use super::*;

pub(crate) async fn get_job(pool: &PgPool, id: JobId) -> Result<Option<Job>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id.get())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.as_ref().map(job_from).transpose()
}

/// `LIKE` pattern matching `text` anywhere, with `\`, `%` and `_` taken literally.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Appends ` AND …` conditions on the jobs table aliased `j` (fixed fragments; every
/// value bound).
pub(super) fn push_filter(b: &mut QueryBuilder<Postgres>, q: &JobQuery) {
    if !q.states.is_empty() {
        let states: Vec<&str> = q.states.iter().map(|s| s.as_str()).collect();
        b.push(" AND j.state = ANY(").push_bind(states).push(")");
    }
    if let Some(queue) = &q.queue {
        b.push(" AND j.queue = ").push_bind(queue.clone());
    }
    if let Some(kind) = &q.kind {
        b.push(" AND j.kind = ").push_bind(kind.clone());
    }
    if let Some(a) = q.account_id {
        b.push(" AND j.account_id = ").push_bind(a.get());
    }
    if let Some(r) = q.run_id {
        b.push(" AND j.run_id = ").push_bind(r.get());
    }
    if !q.ids.is_empty() {
        b.push(" AND j.id = ANY(")
            .push_bind(q.ids.iter().map(|id| id.get()).collect::<Vec<_>>())
            .push(")");
    }
    if let Some(accounts) = &q.accounts {
        b.push(" AND j.account_id = ANY(")
            .push_bind(accounts.iter().map(|id| id.get()).collect::<Vec<_>>())
            .push(")");
    }
    if let Some(search) = q.search.as_deref().filter(|s| !s.is_empty()) {
        let p = contains_pattern(search);
        b.push(" AND (j.kind ILIKE ")
            .push_bind(p.clone())
            .push(" ESCAPE '\\' OR j.args::text ILIKE ")
            .push_bind(p.clone())
            .push(
                " ESCAPE '\\' OR EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN \
                 jsonb_typeof(j.errors) = 'array' THEN j.errors ELSE '[]'::jsonb END) AS e \
                 WHERE e->>'error' ILIKE ",
            )
            .push_bind(p)
            .push(" ESCAPE '\\'))");
    }
}

pub(super) fn push_selector(b: &mut QueryBuilder<Postgres>, selector: &JobSelector) {
    match selector {
        JobSelector::Ids(ids) => {
            b.push(" AND j.id = ANY(")
                .push_bind(ids.iter().map(|id| id.get()).collect::<Vec<_>>())
                .push(")");
        }
        JobSelector::Filter(q) => push_filter(b, q),
    }
}

pub(crate) async fn list(pool: &PgPool, q: JobQuery) -> Result<JobPage> {
    let mut count: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT count(*) FROM jobs j WHERE TRUE");
    push_filter(&mut count, &q);
    let total: i64 = count
        .build_query_scalar()
        .fetch_one(pool)
        .await
        .map_err(db)?;
    let mut page: QueryBuilder<Postgres> = QueryBuilder::new("SELECT ");
    page.push(JOB_COLUMNS).push(" FROM jobs j WHERE TRUE");
    push_filter(&mut page, &q);
    page.push(" ORDER BY j.id DESC");
    if q.limit > 0 {
        page.push(" LIMIT ").push_bind(i64::from(q.limit));
    }
    page.push(" OFFSET ").push_bind(i64::from(q.offset));
    let rows = page.build().fetch_all(pool).await.map_err(db)?;
    let jobs = rows.iter().map(job_from).collect::<Result<Vec<_>>>()?;
    Ok(JobPage { jobs, total })
}

pub(crate) async fn snapshot(
    pool: &PgPool,
    now: DateTime<Utc>,
    accounts: Option<&[AccountId]>,
) -> Result<QueueSnapshot> {
    // Every job, or only those of the accounts named (`$1` NULL: no narrowing).
    let accounts: Option<Vec<i64>> = accounts.map(|ids| ids.iter().map(|id| id.get()).collect());
    let counts: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT queue, state, count(*) FROM jobs
         WHERE $1::bigint[] IS NULL OR account_id = ANY($1)
         GROUP BY queue, state",
    )
    .bind(accounts.clone())
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let mut counts = counts
        .into_iter()
        .map(|(queue, state, count)| {
            Ok(JobCount {
                queue,
                state: state_from(&state)?,
                count,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    counts.sort_by(|a, b| (&a.queue, a.state).cmp(&(&b.queue, b.state)));
    let scheduled: Vec<(String, i64)> = sqlx::query_as(
        "SELECT queue, count(*) FROM jobs WHERE state = 'pending' AND run_at > $2
           AND ($1::bigint[] IS NULL OR account_id = ANY($1))
         GROUP BY queue ORDER BY queue",
    )
    .bind(accounts.clone())
    .bind(now)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    let oldest_due: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT queue, min(run_at) FROM jobs WHERE state = 'pending' AND run_at <= $2
           AND ($1::bigint[] IS NULL OR account_id = ANY($1))
         GROUP BY queue ORDER BY queue",
    )
    .bind(accounts)
    .bind(now)
    .fetch_all(pool)
    .await
    .map_err(db)?;
    Ok(QueueSnapshot {
        counts,
        scheduled,
        oldest_due,
    })
}

pub(crate) async fn due_count(pool: &PgPool, now: DateTime<Utc>) -> Result<i64> {
    // Each count reads one partial index (`jobs_claim`, `jobs_lease`), never the finished
    // jobs.
    sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM jobs WHERE state = 'pending' AND run_at <= $1)
              + (SELECT count(*) FROM jobs WHERE state = 'running')",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .map_err(db)
}
