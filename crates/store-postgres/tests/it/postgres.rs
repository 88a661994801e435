//! Tests only PostgreSQL needs: what is stored in raw columns, the schema and migrations,
//! several pools (standing in for several worker processes) sharing one queue, error
//! mapping, and the ingest / claim measurements (`IGSYNC_BENCH=1` for full size).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use sqlx::Row;
use store::testkit::{Fixture, RawJobErrors};
use store::{
    AccountId, AccountType, Cipher, ClaimParams, InsightBatch, InsightSnapshot, JobCompletion,
    JobId, JobQuery, JobState, LoginKind, MediaBatch, MediaRecord, MediaType, NewAccount, NewJob,
    ProductType, QueueStore, SecretKey, SecretString, Store, StoreError,
};
use store_postgres::{MIGRATIONS, PostgresOptions, PostgresStore};

use crate::fixture::{PgFixture, create_database, drop_database};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap()
}

fn new_account(n: u32, cipher: &Cipher, token: &str) -> NewAccount {
    NewAccount {
        ig_user_id: format!("1784{n:010}"),
        username: format!("pg_account_{n}"),
        name: Some("PG".into()),
        account_type: AccountType::Creator,
        login: LoginKind::Instagram,
        page_id: None,
        timezone: Some("Europe/Berlin".into()),
        token: cipher.encrypt(&SecretString::new(token)).unwrap(),
        token_expires_at: None,
        now: t0(),
    }
}

fn job(account_id: Option<AccountId>) -> NewJob {
    NewJob {
        account_id,
        ..NewJob::new("instagram-sync", "sync_account", json!({}), t0())
    }
}

fn bench_enabled() -> bool {
    std::env::var("IGSYNC_BENCH").is_ok_and(|v| v == "1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_column_never_holds_the_plaintext() {
    let fx = PgFixture::new().await;
    let store = fx.store.clone();
    let old = Cipher::new(&SecretKey::generate().unwrap());
    let new = Cipher::new(&SecretKey::generate().unwrap());
    let plain = "IGQVJ-very-secret-access-token-0123456789";
    let account = store
        .account_upsert(new_account(1, &old, plain))
        .await
        .unwrap();

    let raw = |pool: sqlx::PgPool| async move {
        let row = sqlx::query("SELECT token, token::text AS hex FROM accounts")
            .fetch_one(&pool)
            .await
            .unwrap();
        let bytes: Vec<u8> = row.get("token");
        let hex: String = row.get("hex");
        (bytes, hex)
    };
    let (bytes, hex) = raw(store.pool().clone()).await;
    assert!(!bytes.windows(12).any(|w| w == &plain.as_bytes()[..12]));
    assert!(!hex.contains("IGQVJ"));
    let stored = store.account_get(account.id).await.unwrap().unwrap();
    assert_eq!(
        old.decrypt(stored.token.as_ref().unwrap())
            .unwrap()
            .expose(),
        plain
    );

    // Re-encryption with the wrong old key fails and changes nothing.
    let wrong = store.account_tokens_reencrypt(&new, &old).await;
    assert!(matches!(wrong, Err(StoreError::Crypto(_))), "{wrong:?}");
    assert_eq!(raw(store.pool().clone()).await.0, bytes);

    assert_eq!(store.account_tokens_reencrypt(&old, &new).await.unwrap(), 1);
    let (rotated, _) = raw(store.pool().clone()).await;
    assert_ne!(rotated, bytes);
    assert!(!rotated.windows(12).any(|w| w == &plain.as_bytes()[..12]));
    let stored = store.account_get(account.id).await.unwrap().unwrap();
    assert_eq!(
        new.decrypt(stored.token.as_ref().unwrap())
            .unwrap()
            .expose(),
        plain
    );
    assert!(old.decrypt(stored.token.as_ref().unwrap()).is_err());
    Box::new(fx).teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pools_claim_concurrently_without_duplicates() {
    let fx = PgFixture::new().await;
    let first = fx.store.clone();
    let second = Arc::new(PostgresStore::connect(&fx.url).await.unwrap());
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let mut accounts = Vec::new();
    for n in 0..20 {
        accounts.push(
            first
                .account_upsert(new_account(n, &cipher, "t"))
                .await
                .unwrap()
                .id,
        );
    }
    let jobs: Vec<NewJob> = (0..200).map(|i| job(Some(accounts[i % 20]))).collect();
    first.job_insert_many(jobs).await.unwrap();

    let mut tasks = Vec::new();
    for w in 0..8 {
        let store: Arc<PostgresStore> = if w % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            let worker = format!("process-{}-task-{w}", w % 2);
            let mut mine = Vec::new();
            let mut empty = 0;
            while empty < 20_000 {
                let claimed = store
                    .job_claim(ClaimParams {
                        queues: vec!["instagram-sync".into()],
                        worker_id: worker.clone(),
                        limit: 4,
                        now: t0(),
                        lease_until: t0() + Duration::minutes(5),
                    })
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    let pending = store
                        .job_list(JobQuery {
                            states: vec![JobState::Pending, JobState::Running],
                            limit: 1,
                            ..Default::default()
                        })
                        .await
                        .unwrap()
                        .total;
                    if pending == 0 {
                        break;
                    }
                    empty += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    continue;
                }
                empty = 0;
                for j in claimed {
                    mine.push(j.id);
                    assert!(
                        store
                            .job_complete(JobCompletion {
                                id: j.id,
                                worker_id: worker.clone(),
                                finished_at: t0() + Duration::seconds(1),
                                result: None,
                                next: vec![],
                                progress: None,
                            })
                            .await
                            .unwrap()
                    );
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<JobId> = all.iter().copied().collect();
    assert_eq!(all.len(), 200, "each job ran once");
    assert_eq!(unique.len(), 200);
    let done = first
        .job_list(JobQuery {
            states: vec![JobState::Completed],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(done.total, 200);
    second.close().await;
    Box::new(fx).teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_itself_refuses_two_running_jobs_of_one_account() {
    let fx = PgFixture::new().await;
    let store = fx.store.clone();
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let acc = store
        .account_upsert(new_account(1, &cipher, "t"))
        .await
        .unwrap()
        .id;
    store
        .job_insert_many(vec![job(Some(acc)), job(Some(acc))])
        .await
        .unwrap();
    let err = sqlx::query("UPDATE jobs SET state = 'running'")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("jobs_one_running_per_account"),
        "{err}"
    );
    Box::new(fx).teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_once_under_concurrent_migrators_and_detect_edits() {
    let (name, url) = create_database().await;
    let mut stores = Vec::new();
    for _ in 0..4 {
        stores.push(Arc::new(PostgresStore::connect(&url).await.unwrap()));
    }
    let mut tasks = Vec::new();
    for s in &stores {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.migrate().await }));
    }
    let mut applied = 0;
    for t in tasks {
        applied += t.await.unwrap().unwrap();
    }
    assert_eq!(applied as usize, MIGRATIONS.len());
    assert_eq!(stores[0].migrate().await.unwrap(), 0);

    let pool = stores[0].pool().clone();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for t in [
        "accounts",
        "profile_snapshots",
        "media",
        "media_insight_snapshots",
        "stories",
        "story_insight_snapshots",
        "account_insight_days",
        "demographic_snapshots",
        "sync_runs",
        "sync_steps",
        "jobs",
        "job_metrics",
        "rate_limit_grants",
        "schedules",
        "workers",
        "alerts",
        "api_keys",
        "sessions",
        "api_usage",
        "api_calls_days",
        "igsync_migrations",
    ] {
        assert!(
            tables.iter().any(|x| x == t),
            "table {t} missing: {tables:?}"
        );
    }
    let indexes: Vec<String> =
        sqlx::query_scalar("SELECT indexname::text FROM pg_indexes WHERE tablename = 'jobs'")
            .fetch_all(&pool)
            .await
            .unwrap();
    for i in [
        "jobs_unique_active",
        "jobs_one_running_per_account",
        "jobs_claim",
        "jobs_state_finished",
    ] {
        assert!(indexes.iter().any(|x| x == i), "index {i} missing");
    }

    // An edited migration is detected.
    sqlx::query("UPDATE igsync_migrations SET checksum = 'edited' WHERE version = 1")
        .execute(&pool)
        .await
        .unwrap();
    let edited = stores[1].migrate().await;
    assert!(
        matches!(&edited, Err(StoreError::Migration { message }) if message.contains("checksum")),
        "{edited:?}"
    );
    // So is a database migrated by a newer igsync.
    sqlx::query("DELETE FROM igsync_migrations")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO igsync_migrations (version, name, checksum) VALUES (999, 'future', 'x')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let newer = stores[2].migrate().await;
    assert!(
        matches!(&newer, Err(StoreError::Migration { message }) if message.contains("newer")),
        "{newer:?}"
    );
    for s in &stores {
        s.close().await;
    }
    drop_database(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_server_and_bad_urls_get_clear_errors_without_the_password() {
    let url = "postgres://igsync:s3cret-pass@127.0.0.1:1/igsync";
    let options = PostgresOptions {
        acquire_timeout: std::time::Duration::from_secs(3),
        ..PostgresOptions::default()
    };
    let err = PostgresStore::connect_with(url, options).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{text}");
    assert!(err.is_transient());
    assert!(
        text.contains("postgres://igsync@127.0.0.1:1/igsync"),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(!text.contains('\n'), "{text}");

    let bad = PostgresStore::connect("postgres://u:pw@host:notaport/db")
        .await
        .unwrap_err();
    let text = bad.to_string();
    assert!(matches!(bad, StoreError::InvalidInput { .. }), "{text}");
    assert!(!text.contains("pw@"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_postgresql_is_named_as_such() {
    let options = PostgresOptions {
        acquire_timeout: std::time::Duration::from_millis(700),
        ..PostgresOptions::default()
    };
    // An HTTP server on the port: it answers, in another protocol.
    let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http_port = http.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = http.accept().await {
            let mut buf = [0u8; 64];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
            // Closes its side as an HTTP server does, reading what the client still sends.
            let _ = socket.shutdown().await;
            while matches!(socket.read(&mut buf).await, Ok(n) if n > 0) {}
        }
    });
    let url = format!("postgres://u:s3cret@127.0.0.1:{http_port}/db");
    let err = PostgresStore::connect_with(&url, options.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a PostgreSQL server"), "{err}");
    assert!(!err.contains("s3cret") && !err.contains("bytes"), "{err}");

    // A server that accepts and never answers: a clear error after the timeout, not a hang.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let url = format!("postgres://u@127.0.0.1:{silent_port}/db");
    let err = PostgresStore::connect_with(&url, options)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err}");
    assert!(err.to_string().contains("no answer within"), "{err}");
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_errors_map_to_store_errors() {
    let fx = PgFixture::new().await;
    let store = fx.store.clone();

    // A read-only database refuses writes with ReadOnly.
    let sql = format!(
        "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
        fx.name
    );
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(store.pool())
        .await
        .unwrap();
    let reader = PostgresStore::connect(&fx.url).await.unwrap();
    let err = reader.job_insert(job(None)).await.unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    reader.ping().await.unwrap();
    reader.close().await;

    // A closed pool is unavailable (transient), not a panic.
    store.close().await;
    let err = store.ping().await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    Box::new(fx).teardown().await;
}

/// Bulk upsert of media insight snapshots (one `UNNEST` statement per batch) and claim
/// throughput. Small by default; `IGSYNC_BENCH=1` runs the full size and prints figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_and_claim_throughput() {
    let fx = PgFixture::new().await;
    let store = fx.store.clone();
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let acc = store
        .account_upsert(new_account(1, &cipher, "t"))
        .await
        .unwrap()
        .id;
    let (media_count, captures, jobs) = if bench_enabled() {
        (1_000, 20, 10_000)
    } else {
        (50, 2, 200)
    };
    let metrics = [
        "views",
        "reach",
        "likes",
        "comments",
        "shares",
        "saved",
        "total_interactions",
        "follows",
        "profile_visits",
        "ig_reels_avg_watch_time",
    ];
    let upserts: Vec<MediaRecord> = (0..media_count)
        .map(|i| MediaRecord {
            ig_media_id: format!("1790{i:010}"),
            media_type: MediaType::Video,
            product_type: ProductType::Reels,
            published_at: t0() - Duration::hours(i64::from(i)),
            caption: Some(format!("post {i}")),
            permalink: None,
            media_url: None,
            thumbnail_url: None,
            shortcode: None,
            like_count: Some(10),
            comments_count: Some(1),
            children: vec![],
        })
        .collect();
    store
        .media_apply(MediaBatch {
            account_id: acc,
            seen_at: t0(),
            upserts,
            deleted: vec![],
        })
        .await
        .unwrap();

    let batches: Vec<InsightBatch> = (0..captures)
        .map(|c| {
            let captured_at = t0() + Duration::hours(i64::from(c));
            let mut rows = Vec::with_capacity(media_count as usize * metrics.len());
            for i in 0..media_count {
                for (m, metric) in metrics.iter().enumerate() {
                    rows.push(InsightSnapshot {
                        ig_media_id: format!("1790{i:010}"),
                        metric: (*metric).to_string(),
                        breakdown: None,
                        captured_at,
                        value: f64::from(i * 10 + m as u32 + c),
                    });
                }
            }
            InsightBatch {
                account_id: acc,
                captured_at,
                rows,
                errors: vec![],
                origin: store::Origin::poll("v23.0"),
            }
        })
        .collect();
    let mut rows_total = 0u64;
    let started = Instant::now();
    for batch in batches {
        rows_total += store.media_insights_apply(batch).await.unwrap();
    }
    let ingest = started.elapsed();
    let expected = u64::from(media_count) * metrics.len() as u64 * u64::from(captures);
    assert_eq!(rows_total, expected);
    assert_eq!(
        store.totals().await.unwrap().media_insight_snapshots,
        expected as i64
    );
    let latest = store.media_get("17900000000000").await.unwrap().unwrap();
    assert_eq!(latest.latest["views"], f64::from(captures - 1));

    let batch: Vec<NewJob> = (0..jobs).map(|_| job(None)).collect();
    store.job_insert_many(batch).await.unwrap();
    let claim_params = || ClaimParams {
        queues: vec!["instagram-sync".into()],
        worker_id: "bench".into(),
        limit: 100,
        now: t0(),
        lease_until: t0() + Duration::minutes(5),
    };
    let started = Instant::now();
    let mut claimed = Vec::new();
    loop {
        let got = store.job_claim(claim_params()).await.unwrap();
        if got.is_empty() {
            break;
        }
        claimed.extend(got.into_iter().map(|j| j.id));
    }
    let claim_time = started.elapsed();
    assert_eq!(claimed.len(), jobs as usize);
    let started = Instant::now();
    for id in claimed {
        assert!(
            store
                .job_complete(JobCompletion {
                    id,
                    worker_id: "bench".into(),
                    finished_at: t0(),
                    result: None,
                    next: vec![],
                    progress: None,
                })
                .await
                .unwrap()
        );
    }
    let complete_time = started.elapsed();
    println!(
        "media insight snapshots: {expected} rows in {:.2?} = {:.0} rows/s; \
         claims: {jobs} jobs in {:.2?} = {:.0} jobs/s (batches of 100); \
         completions: {:.2?} = {:.0} jobs/s (one transaction each)",
        ingest,
        expected as f64 / ingest.as_secs_f64(),
        claim_time,
        f64::from(jobs) / claim_time.as_secs_f64(),
        complete_time,
        f64::from(jobs) / complete_time.as_secs_f64(),
    );
    Box::new(fx).teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_an_account_leaves_no_orphan_snapshots() {
    let fx = PgFixture::new().await;
    let store = fx.store.clone();
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let mut ids = Vec::new();
    for n in 0..2 {
        let acc = store
            .account_upsert(new_account(n, &cipher, "t"))
            .await
            .unwrap()
            .id;
        ids.push(acc);
        let media = format!("1790000000000{n}");
        store
            .media_apply(MediaBatch {
                account_id: acc,
                seen_at: t0(),
                upserts: vec![MediaRecord {
                    ig_media_id: media.clone(),
                    media_type: MediaType::Image,
                    product_type: ProductType::Feed,
                    published_at: t0(),
                    caption: None,
                    permalink: None,
                    media_url: None,
                    thumbnail_url: None,
                    shortcode: None,
                    like_count: None,
                    comments_count: None,
                    children: vec![],
                }],
                deleted: vec![],
            })
            .await
            .unwrap();
        let rows = (0..3)
            .map(|h| InsightSnapshot {
                ig_media_id: media.clone(),
                metric: "reach".into(),
                breakdown: None,
                captured_at: t0() + Duration::hours(h),
                // Values that change: a repeated value would confirm the previous row.
                value: 1.0 + h as f64,
            })
            .collect();
        store
            .media_insights_apply(InsightBatch {
                account_id: acc,
                captured_at: t0(),
                rows,
                errors: vec![],
                origin: store::Origin::poll("v23.0"),
            })
            .await
            .unwrap();
    }
    let count = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM media_insight_snapshots")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert_eq!(count(store.pool().clone()).await, 6);
    assert!(store.account_delete(ids[0]).await.unwrap());
    assert_eq!(count(store.pool().clone()).await, 3);
    Box::new(fx).teardown().await;
}

/// PostgreSQL holds a job's `errors` as `jsonb`: what it can hold that is no list of
/// entries is JSON of another shape.
struct PgJobErrors {
    pool: sqlx::PgPool,
}

#[async_trait::async_trait]
impl RawJobErrors for PgJobErrors {
    fn unreadable(&self) -> [&'static str; 2] {
        [r#"{"error":"an object, not a list"}"#, r#""a bare string""#]
    }

    fn at(&self, at: DateTime<Utc>) -> serde_json::Value {
        json!(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
    }

    async fn write(&self, id: JobId, stored: &str) {
        sqlx::query("UPDATE jobs SET errors = $1::jsonb WHERE id = $2")
            .bind(stored)
            .bind(id.get())
            .execute(&self.pool)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_job_errors_flag_their_job_and_fail_no_listing() {
    let fx = PgFixture::new().await;
    let raw = PgJobErrors {
        pool: fx.store.pool().clone(),
    };
    store::testkit::unreadable_job_errors_flag_their_job_and_fail_no_listing(
        fx.store.clone(),
        &raw,
    )
    .await;
    Box::new(fx).teardown().await;
}

/// Tables grown past the analyze threshold get the planner's statistics gathered once,
/// by one caller at a time, whether or not the server's autovacuum is on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_are_gathered_for_grown_tables_by_one_caller_at_a_time() {
    let fx = PgFixture::new().await;
    let store = fx.store.clone();
    let pool = store.pool().clone();
    for _ in 0..300 {
        store.job_insert(job(None)).await.unwrap();
    }
    // The server publishes a backend's table counters within seconds of its transactions.
    let started = Instant::now();
    loop {
        let changed: Option<i64> = sqlx::query_scalar(
            "SELECT n_mod_since_analyze FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname = 'jobs'",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if changed.unwrap_or(0) >= 300 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "the server never counted the 300 inserted jobs ({changed:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // Another worker holds the schema's lock: this caller leaves the work to it.
    let mut other = pool.acquire().await.unwrap();
    let locked: bool = sqlx::query_scalar(
        "SELECT pg_try_advisory_lock($1, hashtext(current_schema() || ' statistics'))",
    )
    .bind(0x6967_7379_i32)
    .fetch_one(&mut *other)
    .await
    .unwrap();
    assert!(locked);
    assert_eq!(
        store.statistics_refresh().await.unwrap(),
        Vec::<String>::new()
    );
    let estimated = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, f32>("SELECT reltuples FROM pg_class WHERE oid = 'jobs'::regclass")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    assert!(
        estimated(pool.clone()).await < 300.0,
        "nothing analyzed the jobs table while the lock was held elsewhere"
    );
    sqlx::query("SELECT pg_advisory_unlock_all()")
        .execute(&mut *other)
        .await
        .unwrap();
    drop(other);

    let analyzed = store.statistics_refresh().await.unwrap();
    assert!(analyzed.contains(&"jobs".to_string()), "{analyzed:?}");
    assert_eq!(estimated(pool.clone()).await, 300.0);
    let last: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT last_analyze FROM pg_stat_user_tables \
         WHERE schemaname = current_schema() AND relname = 'jobs'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(last.is_some());
    // Unchanged since: nothing to gather again.
    let again = store.statistics_refresh().await.unwrap();
    assert!(!again.contains(&"jobs".to_string()), "{again:?}");

    // With autovacuum off for the table, the refresh reclaims the dead row versions of
    // updates past autovacuum's threshold (50 + 20 % of 300 rows) itself.
    sqlx::query("ALTER TABLE jobs SET (autovacuum_enabled = false)")
        .execute(&pool)
        .await
        .unwrap();
    for _ in 0..2 {
        sqlx::query("UPDATE jobs SET priority = priority + 1")
            .execute(&pool)
            .await
            .unwrap();
    }
    let dead = |pool: sqlx::PgPool| async move {
        sqlx::query_as::<_, (i64, Option<DateTime<Utc>>)>(
            "SELECT n_dead_tup, last_vacuum FROM pg_stat_user_tables \
             WHERE schemaname = current_schema() AND relname = 'jobs'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let started = Instant::now();
    while dead(pool.clone()).await.0 < 600 {
        assert!(
            started.elapsed().as_secs() < 60,
            "the server never counted the dead row versions"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(dead(pool.clone()).await.1, None, "never vacuumed before");
    let vacuumed = store.statistics_refresh().await.unwrap();
    assert!(vacuumed.contains(&"jobs".to_string()), "{vacuumed:?}");
    let started = Instant::now();
    loop {
        let (n_dead, last) = dead(pool.clone()).await;
        if last.is_some() && n_dead == 0 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "the jobs table was not vacuumed ({n_dead} dead, last {last:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Box::new(fx).teardown().await;
}
