//! SQLite-specific behaviour: what is really on disk, opening URLs, read-only files,
//! several stores (as separate processes would) writing to one file, and the migration
//! runner.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use sqlx::{Connection, Row, SqliteConnection};
use store::testkit::RawJobErrors;
use store::{
    AccountId, AccountInsightBatch, AccountInsightDay, AccountType, Cipher, ClaimParams,
    EncryptedToken, JobCompletion, JobId, JobQuery, JobState, LoginKind, NewAccount, NewJob,
    QueueStore, SecretKey, SecretString, Store, StoreError,
};
use store_sqlite::{SqliteOptions, SqliteStore};

use crate::{TempDb, fresh};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn new_account(ig: &str, token: EncryptedToken) -> NewAccount {
    NewAccount {
        ig_user_id: ig.to_owned(),
        username: format!("user_{ig}"),
        name: None,
        account_type: AccountType::Creator,
        login: LoginKind::Instagram,
        page_id: None,
        timezone: None,
        token,
        token_expires_at: None,
        now: t0(),
    }
}

async fn raw(db: &TempDb) -> SqliteConnection {
    SqliteConnection::connect(&db.url()).await.unwrap()
}

fn file_bytes(db: &TempDb) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal"] {
        let mut path = db.path.clone().into_os_string();
        path.push(suffix);
        if let Ok(content) = std::fs::read(path) {
            bytes.extend(content);
        }
    }
    bytes
}

#[tokio::test]
async fn the_token_column_holds_only_sealed_bytes() {
    let (db, store) = fresh().await;
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let plain = "EAAG-plaintext-token-that-must-never-hit-the-disk";
    let sealed = cipher.encrypt(&SecretString::new(plain)).unwrap();
    store
        .account_upsert(new_account("1", sealed.clone()))
        .await
        .unwrap();

    let mut conn = raw(&db).await;
    let row = sqlx::query("SELECT typeof(token) AS kind, token FROM accounts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("kind"), "blob");
    let stored: Vec<u8> = row.get("token");
    assert_eq!(stored, sealed.0);
    conn.close().await.unwrap();

    let needle = b"plaintext-token";
    let bytes = file_bytes(&db);
    assert!(
        bytes.len() > 4096,
        "the database file and its WAL were read"
    );
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "the plaintext token appears nowhere in the database files"
    );
    store.close().await;
}

#[tokio::test]
async fn a_read_only_database_refuses_writes_and_stays_intact() {
    let (db, store) = fresh().await;
    store
        .account_upsert(new_account("1", EncryptedToken(vec![1])))
        .await
        .unwrap();
    store.close().await;

    let read_only = SqliteStore::open(&format!("{}?mode=ro", db.url()))
        .await
        .unwrap();
    assert_eq!(
        read_only.account_list().await.unwrap().len(),
        1,
        "reads work"
    );
    let err = read_only
        .account_upsert(new_account("2", EncryptedToken(vec![2])))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    assert!(!err.is_transient());
    let err = read_only
        .account_insights_apply(AccountInsightBatch {
            account_id: AccountId::new(1),
            fetched_at: t0(),
            rows: vec![AccountInsightDay {
                metric: "reach".into(),
                day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
                breakdown: None,
                value: 1.0,
            }],
            origin: store::Origin::poll("v23.0"),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
    read_only.close().await;

    let mut conn = raw(&db).await;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let accounts: i64 = sqlx::query_scalar("SELECT count(*) FROM accounts")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
    conn.close().await.unwrap();
}

fn job(account: AccountId, n: usize) -> NewJob {
    NewJob {
        account_id: Some(account),
        ..NewJob::new("instagram-sync", "sync_media", json!({"n": n}), t0())
    }
}

/// Two stores on one file behave like two igsync processes sharing it: heavy concurrent
/// writes never fail with SQLITE_BUSY, and claims never hand out one job twice or run two
/// jobs of one account at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_write_and_claim_concurrently() {
    let (db, first) = fresh().await;
    let second = SqliteStore::open(&db.url()).await.unwrap();
    let stores: Vec<Arc<dyn Store>> = vec![Arc::new(first.clone()), Arc::new(second.clone())];

    let mut accounts = Vec::new();
    for n in 0..20 {
        let a = stores[n % 2]
            .account_upsert(new_account(
                &format!("acc{n}"),
                EncryptedToken(vec![n as u8]),
            ))
            .await
            .unwrap();
        accounts.push(a.id);
    }

    // Writers: every task on both stores writes batches at the same time.
    let mut tasks = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for w in 0..4 {
            let store = store.clone();
            let account = accounts[s * 4 + w];
            tasks.push(tokio::spawn(async move {
                for round in 0..25u32 {
                    let rows = (0..50)
                        .map(|k| AccountInsightDay {
                            metric: format!("metric_{k}"),
                            day: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                                + chrono::Days::new(u64::from(round)),
                            breakdown: None,
                            value: f64::from(round),
                        })
                        .collect();
                    store
                        .account_insights_apply(AccountInsightBatch {
                            account_id: account,
                            fetched_at: t0(),
                            rows,
                            origin: store::Origin::poll("v23.0"),
                        })
                        .await
                        .unwrap();
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        first.totals().await.unwrap().account_insight_days,
        8 * 25 * 50
    );

    // Claimers: 200 jobs of 20 accounts, 4 claimers per store.
    let jobs: Vec<NewJob> = (0..200).map(|n| job(accounts[n % 20], n)).collect();
    first.job_insert_many(jobs).await.unwrap();
    let running: Arc<Mutex<HashSet<AccountId>>> = Arc::default();
    let claimed: Arc<Mutex<Vec<JobId>>> = Arc::default();
    let mut tasks = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        for w in 0..4 {
            let store = store.clone();
            let running = running.clone();
            let claimed = claimed.clone();
            let worker = format!("worker-{s}-{w}");
            tasks.push(tokio::spawn(async move {
                loop {
                    let jobs = store
                        .job_claim(ClaimParams {
                            queues: vec!["instagram-sync".into()],
                            worker_id: worker.clone(),
                            limit: 3,
                            now: t0(),
                            lease_until: t0() + Duration::minutes(10),
                        })
                        .await
                        .unwrap();
                    let snapshot = store.job_snapshot(t0(), None).await.unwrap();
                    let left: i64 = snapshot
                        .counts
                        .iter()
                        .filter(|c| c.state.is_active())
                        .map(|c| c.count)
                        .sum();
                    if jobs.is_empty() && left == 0 {
                        break;
                    }
                    for job in &jobs {
                        let account = job.account_id.unwrap();
                        assert!(
                            running.lock().unwrap().insert(account),
                            "account {account} has two running jobs"
                        );
                        claimed.lock().unwrap().push(job.id);
                    }
                    tokio::task::yield_now().await;
                    for job in jobs {
                        running.lock().unwrap().remove(&job.account_id.unwrap());
                        let done = store
                            .job_complete(JobCompletion {
                                id: job.id,
                                worker_id: worker.clone(),
                                finished_at: t0() + Duration::seconds(1),
                                result: None,
                                next: vec![],
                                progress: None,
                            })
                            .await
                            .unwrap();
                        assert!(done);
                    }
                }
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut ids = claimed.lock().unwrap().clone();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(
        (total, ids.len()),
        (200, 200),
        "every job claimed exactly once"
    );
    let completed = second
        .job_list(JobQuery {
            states: vec![JobState::Completed],
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(completed.total, 200);
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_once_even_when_raced() {
    let db = TempDb::new();
    let a = SqliteStore::open(&db.url()).await.unwrap();
    let b = SqliteStore::open(&db.url()).await.unwrap();
    let (x, y) = tokio::join!(a.migrate(), b.migrate());
    assert_eq!(
        x.unwrap() + y.unwrap(),
        10,
        "each of the ten migrations applied by exactly one"
    );
    assert_eq!(a.migrate().await.unwrap(), 0);
    assert_eq!(b.migrate().await.unwrap(), 0);

    let mut conn = raw(&db).await;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, name FROM igsync_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(
        applied,
        vec![
            (1, "data".into()),
            (2, "queue".into()),
            (3, "missing".into()),
            (4, "webhooks".into()),
            (6, "reports".into()),
            (10, "workspaces".into()),
            (11, "competitors".into()),
            (12, "report_pdf".into()),
            (13, "provenance".into()),
            (14, "snapshot_confirmed".into()),
        ]
    );
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    for table in [
        "accounts",
        "media",
        "media_insight_snapshots",
        "account_insight_days",
        "jobs",
        "schedules",
    ] {
        assert!(tables.iter().any(|t| t == table), "{table} in {tables:?}");
    }

    // A changed migration is refused, as is one this build does not know.
    sqlx::query("UPDATE igsync_migrations SET checksum = 'edited' WHERE version = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    let err = a.migrate().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Migration { message } if message.contains("checksum")),
        "{err:?}"
    );
    sqlx::query("DELETE FROM igsync_migrations WHERE version = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO igsync_migrations (version, name, checksum, applied_at)
         VALUES (99, 'future', 'x', 0)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let err = b.migrate().await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Migration { message } if message.contains("newer")),
        "{err:?}"
    );
    conn.close().await.unwrap();
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn urls_open_create_or_fail_with_a_clear_message() {
    let err = SqliteStore::open("postgres://user:secret@localhost/db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("not a SQLite URL"), "{err}");

    let err = SqliteStore::open("sqlite:///no/such/directory/igsync.db")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("/no/such/directory/igsync.db"),
        "{message}"
    );
    assert!(!message.contains('\n'), "one line: {message}");

    let err = SqliteStore::open("sqlite://x.db?mode=sideways")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");

    // Every spelling creates the file.
    for url_of in [
        (|db: &TempDb| format!("sqlite://{}", db.path.display())) as fn(&TempDb) -> String,
        |db| format!("sqlite:{}", db.path.display()),
        |db| format!("sqlite://{}?mode=rwc", db.path.display()),
    ] {
        let db = TempDb::new();
        let url = url_of(&db);
        let store = SqliteStore::open(&url).await.unwrap();
        assert_eq!(store.url(), url);
        assert_eq!(store.migrate().await.unwrap(), 10);
        assert!(db.path.exists(), "{url} created the file");
        store.close().await;
    }
}

#[tokio::test]
async fn an_in_memory_database_keeps_its_data_while_open() {
    let store = SqliteStore::open_with(
        "sqlite::memory:",
        SqliteOptions {
            read_connections: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(store.dialect(), "sqlite");
    assert_eq!(store.migrate().await.unwrap(), 10);
    let a = store
        .account_upsert(new_account("mem", EncryptedToken(vec![7])))
        .await
        .unwrap();
    assert_eq!(store.account_get(a.id).await.unwrap(), Some(a));
    assert_eq!(store.totals().await.unwrap().accounts, 1);
    // A second in-memory store is a different database.
    let other = SqliteStore::open("sqlite::memory:").await.unwrap();
    assert_eq!(other.migrate().await.unwrap(), 10);
    assert_eq!(other.totals().await.unwrap().accounts, 0);
    store.close().await;
    other.close().await;
}

/// SQLite holds a job's `errors` as text: what it can hold that is no list of entries is
/// text that is not JSON, or JSON of another shape.
struct SqliteJobErrors {
    url: String,
}

#[async_trait::async_trait]
impl RawJobErrors for SqliteJobErrors {
    fn unreadable(&self) -> [&'static str; 2] {
        ["not json at all", r#"{"error":"an object, not a list"}"#]
    }

    fn at(&self, at: DateTime<Utc>) -> serde_json::Value {
        json!(at.timestamp_micros())
    }

    async fn write(&self, id: JobId, stored: &str) {
        let mut conn = SqliteConnection::connect(&self.url).await.unwrap();
        sqlx::query("UPDATE jobs SET errors = ? WHERE id = ?")
            .bind(stored)
            .bind(id.get())
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

#[tokio::test]
async fn unreadable_job_errors_flag_their_job_and_fail_no_listing() {
    let (db, store) = fresh().await;
    let raw = SqliteJobErrors { url: db.url() };
    store::testkit::unreadable_job_errors_flag_their_job_and_fail_no_listing(Arc::new(store), &raw)
        .await;
}

/// The PDF migration rebuilds `report_schedules` (SQLite cannot change a CHECK in place):
/// run again over stored schedules and deliveries, it keeps every row and id, the id
/// counters, and the cascade from a schedule to its deliveries; `pdf` is then accepted.
#[tokio::test]
async fn the_report_pdf_rebuild_keeps_schedules_deliveries_and_ids() {
    use store::{NewReportSchedule, ReportAttempt};
    let (db, store) = fresh().await;
    let account = store
        .account_upsert(new_account("1", EncryptedToken(vec![1])))
        .await
        .unwrap();
    let schedule = |target: &str, format: &str| NewReportSchedule {
        account_id: Some(account.id),
        every: "weekly".into(),
        target: target.into(),
        format: format.into(),
        created_at: t0(),
    };
    let kept = store
        .report_schedule_insert(schedule("a@example.com", "csv"))
        .await
        .unwrap();
    let removed = store
        .report_schedule_insert(schedule("b@example.com", "html"))
        .await
        .unwrap();
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    for s in [kept.id, removed.id] {
        store
            .report_delivery_record(ReportAttempt {
                schedule_id: s,
                account_id: account.id,
                period_start: day,
                period_end: day + Duration::days(6),
                at: t0(),
                error: Some("554 busy".into()),
            })
            .await
            .unwrap();
    }
    assert!(store.report_schedule_remove(removed.id).await.unwrap());
    let before = store.report_delivery_list(None, 0).await.unwrap();
    assert_eq!(before.len(), 1);

    let mut conn = raw(&db).await;
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql(include_str!("../../migrations/0012_report_pdf.sql"))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    drop(conn);

    assert_eq!(
        store.report_schedule_list().await.unwrap(),
        vec![kept.clone()]
    );
    assert_eq!(store.report_delivery_list(None, 0).await.unwrap(), before);
    // The removed schedule's id is not handed out again.
    let pdf = store
        .report_schedule_insert(schedule("c@example.com", "pdf"))
        .await
        .unwrap();
    assert!(pdf.id > removed.id, "{} after {}", pdf.id, removed.id);
    assert_eq!(pdf.schedule.format, "pdf");
    assert!(
        store
            .report_schedule_insert(schedule("d@example.com", "docx"))
            .await
            .is_err()
    );
    // Removing a schedule still removes its deliveries.
    assert!(store.report_schedule_remove(kept.id).await.unwrap());
    assert!(
        store
            .report_delivery_list(None, 0)
            .await
            .unwrap()
            .is_empty()
    );
}
