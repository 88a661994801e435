//! `igsync db copy`, `backup` and `restore` end to end: a synced simulator fleet moved
//! SQLite → PostgreSQL → SQLite with every table's count and checksum equal and equal
//! reports; an interrupted copy resumed; a non-empty target refused; a backup taken while a
//! fleet sync runs restored and verified; restore refused while a worker is live; a
//! `pg_dump` of an igsync database restored with `pg_restore` into a working one.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use store::{DynStore, Store};

use crate::support::{
    Dialect, Harness, Run, TempDir, TestDb, eventually, fleet_settled, record_figures, sim_config,
    start_sim,
};

/// The report of every account over its last 30 days as of `now`, built from `url`.
async fn reports(url: &str, accounts: &[String], now: DateTime<Utc>) -> Vec<analytics::Report> {
    let store = crate::support::open_store(url).await;
    let mut out = Vec::new();
    for a in accounts {
        let account = store.account_get_by_ig(a).await.unwrap().unwrap();
        let tz = account.time_zone().unwrap();
        let period = analytics::Period::last_days(now, tz, 30).unwrap();
        out.push(
            sync::build_report(&*store, &account, period, now)
                .await
                .unwrap(),
        );
    }
    out
}

/// The per-table lines of a copy's report: table → (source rows, target rows, result).
fn table_lines(run: &Run) -> BTreeMap<String, (i64, i64, String)> {
    run.stdout
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 5).then(|| {
                (
                    f[0].to_string(),
                    (
                        f[1].parse().unwrap(),
                        f[2].parse().unwrap(),
                        f[4].to_string(),
                    ),
                )
            })
        })
        .collect()
}

async fn catalog(store: &DynStore) -> Vec<String> {
    store
        .copy_schema()
        .await
        .unwrap()
        .tables
        .into_iter()
        .map(|t| t.name)
        .collect()
}

async fn counts(store: &dyn Store) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in store.copy_schema().await.unwrap().tables {
        out.insert(t.name.clone(), store.copy_count(&t.name).await.unwrap());
    }
    out
}

/// Every table of the catalog is in the copy's report, equal on both sides.
fn assert_every_table_equal(run: &Run, tables: &[String]) {
    let lines = table_lines(run);
    let reported: Vec<&String> = lines.keys().collect();
    let expected: Vec<&String> = tables.iter().collect();
    assert_eq!(
        reported, expected,
        "every table is copied and compared: {run}"
    );
    for (table, (s, t, result)) in &lines {
        assert_eq!(result, "equal", "{table}: {run}");
        assert_eq!(s, t, "{table}: {run}");
    }
    assert!(!run.stdout.contains("DIFFERENT"), "{run}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_synced_fleet_goes_sqlite_to_postgres_and_back_with_every_row_equal() {
    let sim = start_sim(sim_config(4242, 3, 40)).await;
    let mut h = Harness::new(Dialect::Sqlite, "dbcopy").await;
    h.graph(&sim);
    h.register(&sim).await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    let source = h.db.open().await;
    let tables = catalog(&source).await;
    let accounts: Vec<String> = sim
        .accounts()
        .iter()
        .map(|a| a.ig_user_id.clone())
        .collect();
    let source_counts = counts(&*source).await;
    assert!(
        source_counts["media_insight_snapshots"] > 500,
        "{source_counts:?}"
    );

    // SQLite → PostgreSQL, in batches of 500 rows.
    let pg = TestDb::new(Dialect::Postgres, "dbcopy-pg").await;
    let to_pg = h
        .ok(
            &[
                "db", "copy", "--from", &h.db.url, "--to", &pg.url, "--batch", "500",
            ],
            None,
        )
        .await;
    assert_every_table_equal(&to_pg, &tables);
    let pg_store = pg.open().await;
    assert_eq!(
        catalog(&pg_store).await,
        tables,
        "the same tables on both dialects"
    );

    // A non-empty target is refused, and nothing is written.
    let again = h
        .run(&["db", "copy", "--from", &h.db.url, "--to", &pg.url], None)
        .await;
    assert!(!again.status.success(), "{again}");
    assert!(again.stderr.contains("not empty"), "{again}");
    assert_eq!(counts(&*pg_store).await, counts(&*pg_store).await);

    // Ids continue after the copied ones: a new account on PostgreSQL gets a fresh id.
    let before = pg_store.account_list().await.unwrap();
    let max_id = before.iter().map(|a| a.id).max().unwrap();

    // PostgreSQL → SQLite.
    let back = TestDb::new(Dialect::Sqlite, "dbcopy-back").await;
    let to_sqlite = h
        .ok(&["db", "copy", "--from", &pg.url, "--to", &back.url], None)
        .await;
    assert_every_table_equal(&to_sqlite, &tables);
    let back_store = back.open().await;
    let back_counts = counts(&*back_store).await;
    for (table, n) in &source_counts {
        let expected = if table == "workers" { 0 } else { *n };
        assert_eq!(back_counts[table], expected, "{table}");
    }

    // The reports built from each database are equal.
    let now = Utc::now();
    let from_source = reports(&h.db.url, &accounts, now).await;
    assert_eq!(reports(&pg.url, &accounts, now).await, from_source);
    assert_eq!(reports(&back.url, &accounts, now).await, from_source);

    // The sequences moved past the copied ids.
    h.add_unverified_to(Some(&pg.url), "17841499999999999", "EAAG-copy-test-token")
        .await;
    let added = pg_store
        .account_get_by_ig("17841499999999999")
        .await
        .unwrap()
        .unwrap();
    assert!(added.id > max_id, "new id {} after {max_id}", added.id);

    record_figures(
        "dbcopy_roundtrip",
        serde_json::json!({
            "tables": tables.len(),
            "rows": source_counts.values().sum::<i64>(),
            "media_insight_snapshots": source_counts["media_insight_snapshots"],
        }),
    );
    pg.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_interrupted_copy_resumes_to_the_same_result() {
    let sim = start_sim(sim_config(77, 2, 30)).await;
    let mut h = Harness::new(Dialect::Sqlite, "dbresume").await;
    h.graph(&sim);
    h.register(&sim).await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    let tables = catalog(&h.db.open().await).await;

    let pg = TestDb::new(Dialect::Postgres, "dbresume-pg").await;
    let args = [
        "db", "copy", "--from", &h.db.url, "--to", &pg.url, "--batch", "100",
    ];
    let mut stopped = args.to_vec();
    stopped.extend(["--stop-after-batches", "7"]);
    let first = h.run(&stopped, None).await;
    assert!(!first.status.success(), "{first}");
    assert!(first.stderr.contains("stopped after 7 batches"), "{first}");
    let partial = counts(&*pg.open().await).await.values().sum::<i64>();
    assert!(partial > 0, "the interrupted copy wrote rows");

    let refused = h.run(&args, None).await;
    assert!(refused.stderr.contains("--resume"), "{refused}");
    let mut resume = args.to_vec();
    resume.push("--resume");
    // Interrupted a second time, further on, then finished.
    let mut twice = resume.clone();
    twice.extend(["--stop-after-batches", "5"]);
    let second = h.run(&twice, None).await;
    assert!(
        second.stderr.contains("stopped after 5 batches"),
        "{second}"
    );
    let done = h.ok(&resume, None).await;
    assert_every_table_equal(&done, &tables);

    // The same rows as an uninterrupted copy between the same dialects (checksums compare
    // JSON canonically only where one side stores JSON as such).
    let straight = TestDb::new(Dialect::Postgres, "dbresume-straight").await;
    let whole = h
        .ok(
            &["db", "copy", "--from", &h.db.url, "--to", &straight.url],
            None,
        )
        .await;
    let sums =
        |run: &Run| -> Vec<String> { run.stdout.lines().skip(1).map(|l| l.to_string()).collect() };
    assert_eq!(sums(&done), sums(&whole));
    record_figures(
        "dbcopy_resume",
        serde_json::json!({ "rows_before_resume": partial, "tables": tables.len() }),
    );
    pg.teardown().await;
    straight.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_during_a_fleet_sync_restores_and_restore_refuses_live_workers() {
    let mut config = sim_config(99, 4, 60);
    config.latency = Duration::from_millis(20);
    let sim = start_sim(config).await;
    let mut h = Harness::new(Dialect::Sqlite, "backup").await;
    h.graph(&sim);
    h.register(&sim).await;
    let store = h.db.open().await;
    let mut worker = h.spawn(&["worker"]);
    h.ok(&["sync", "--all"], None).await;
    eventually(
        "the sync writes insights",
        Duration::from_secs(60),
        || async { (store.copy_count("media_insight_snapshots").await.unwrap() > 0).then_some(()) },
    )
    .await;

    let out = TempDir::new("backup-out");
    let file = out.path().join("igsync-backup.db");
    let file_arg = file.display().to_string();
    let backup = h.ok(&["backup", "--out", &file_arg], None).await;
    assert!(backup.stdout.contains("integrity check ok"), "{backup}");
    let again = h.run(&["backup", "--out", &file_arg], None).await;
    assert!(again.stderr.contains("--force"), "{again}");

    // Copying a database a worker still uses is refused, unless forced.
    let elsewhere = TestDb::new(Dialect::Sqlite, "backup-copy").await;
    let busy = h
        .run(
            &["db", "copy", "--from", &h.db.url, "--to", &elsewhere.url],
            None,
        )
        .await;
    assert!(!busy.status.success(), "{busy}");
    assert!(busy.stderr.contains("live worker"), "{busy}");

    // Restoring into the database the worker still uses is refused.
    let live = h
        .run(&["restore", "--from", &file_arg, "--force"], None)
        .await;
    assert!(!live.status.success(), "{live}");
    assert!(live.stderr.contains("live worker"), "{live}");

    eventually("the fleet sync ends", Duration::from_secs(120), || async {
        fleet_settled(&*store).await.then_some(())
    })
    .await;
    worker.terminate().await;

    // The backup restores into a fresh database equal to the backup's snapshot.
    let backup_url = format!("sqlite://{file_arg}");
    let backup_store = crate::support::open_store(&backup_url).await;
    let snapshot = counts(&*backup_store).await;
    let after_sync = counts(&*store).await;
    assert!(
        snapshot["media_insight_snapshots"] < after_sync["media_insight_snapshots"]
            || snapshot["jobs"] < after_sync["jobs"],
        "the backup was taken during the sync: {snapshot:?} vs {after_sync:?}"
    );
    let fresh = TestDb::new(Dialect::Sqlite, "restored").await;
    let mut restore = h.command(&["restore", "--from", &file_arg]);
    restore.env("IGSYNC_DATABASE_URL", &fresh.url);
    let run = crate::support::run_command(restore, &["restore"], None).await;
    assert!(run.status.success(), "{run}");
    let restored = fresh.open().await;
    assert!(restored.integrity_check().await.unwrap().is_empty());
    // Jobs running at the backup's moment come back pending, with no worker holding them.
    let jobs = crate::support::all_jobs(&*restored).await;
    assert!(!jobs.is_empty());
    assert!(
        jobs.iter().all(|j| j.state != store::JobState::Running
            && (j.state != store::JobState::Pending || j.locked_by.is_none())),
        "{jobs:?}"
    );
    let restored_counts = counts(&*restored).await;
    for (table, n) in &snapshot {
        let expected = if table == "workers" { 0 } else { *n };
        assert_eq!(restored_counts[table], expected, "{table}");
    }
    let accounts: Vec<String> = sim
        .accounts()
        .iter()
        .map(|a| a.ig_user_id.clone())
        .collect();
    let now = Utc::now();
    assert_eq!(
        reports(&fresh.url, &accounts, now).await,
        reports(&backup_url, &accounts, now).await
    );
    record_figures(
        "backup_during_sync",
        serde_json::json!({ "snapshot": snapshot, "after_sync": after_sync }),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_is_backed_up_with_pg_dump_and_restored_with_pg_restore() {
    if std::process::Command::new("pg_dump")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("pg_dump is not installed: apt-get install postgresql-client");
    }
    let sim = start_sim(sim_config(5, 2, 20)).await;
    let mut h = Harness::new(Dialect::Postgres, "pgdump").await;
    h.graph(&sim);
    h.register(&sim).await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    let refused = h.run(&["backup", "--out", "x.db"], None).await;
    assert!(refused.stderr.contains("pg_dump"), "{refused}");

    let dir = TempDir::new("pgdump");
    let dump = dir.path().join("igsync.dump");
    let ok = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&dump)
        .arg(&h.db.url)
        .status()
        .unwrap();
    assert!(ok.success());
    let target = TestDb::new(Dialect::Postgres, "pgrestore").await;
    let ok = std::process::Command::new("pg_restore")
        .args(["--no-owner", "--exit-on-error", "--dbname", &target.url])
        .arg(&dump)
        .status()
        .unwrap();
    assert!(ok.success());

    let source = h.db.open().await;
    let restored = target.open().await;
    let plans = sync::dbcopy::plan(
        &source.copy_schema().await.unwrap(),
        &restored.copy_schema().await.unwrap(),
    )
    .unwrap();
    let checks = sync::dbcopy::compare(&*source, &*restored, &plans, 1000, &mut |_| {})
        .await
        .unwrap();
    for c in &checks {
        if c.table != "workers" {
            assert!(c.equal(), "{c:?}");
        }
    }
    let accounts: Vec<String> = sim
        .accounts()
        .iter()
        .map(|a| a.ig_user_id.clone())
        .collect();
    let now = Utc::now();
    assert_eq!(
        reports(&target.url, &accounts, now).await,
        reports(&h.db.url, &accounts, now).await
    );
    // A working igsync database: new ids do not collide with restored ones.
    h.add_unverified_to(
        Some(&target.url),
        "17841499999999998",
        "EAAG-copy-test-token",
    )
    .await;
    target.teardown().await;
}
