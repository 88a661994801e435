//! The command line: help that reads well, and for every invalid argument, value,
//! configuration or reference one clear line on standard error and a non-zero exit — never
//! a panic, a backtrace or a usage dump.

use std::process::Command;

use crate::support::{Dialect, Harness, record_figures};

fn igsync() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_igsync"));
    cmd.env_remove("IGSYNC_DATABASE_URL")
        .env_remove("IGSYNC_SECRET_KEY")
        .env_remove("RUST_LOG");
    cmd
}

#[test]
fn help_reads_well() {
    let out = igsync().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "migrate", "accounts", "sync", "worker", "serve", "report", "demo", "doctor",
    ] {
        assert!(text.contains(word), "--help lists {word}: {text}");
    }
}

/// One invalid invocation: arguments, extra environment, standard input, a config file.
struct Case {
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    stdin: Option<&'static str>,
    config: Option<&'static str>,
    /// A word the error line must contain.
    says: &'static str,
}

const fn case(args: &'static [&'static str], says: &'static str) -> Case {
    Case {
        args,
        env: &[],
        stdin: None,
        config: None,
        says,
    }
}

const CASES: &[Case] = &[
    // The command line itself.
    case(&["frobnicate"], "frobnicate"),
    case(&["sync", "--bogus"], "--bogus"),
    case(&["sync"], "--account"),
    case(&["sync", "--account", "1", "--all"], "--all"),
    case(&["sync", "--all", "--plan", "medium"], "medium"),
    case(&["history", "--limit", "many"], "many"),
    case(&["history", "--limit", "-5"], "-5"),
    case(&["report"], "--account"),
    case(&["report", "--account", "1", "--format", "pdf"], "pdf"),
    case(
        &["report", "--account", "1", "--from", "2026-01-01"],
        "--to",
    ),
    case(&["--log-format", "xml", "migrate"], "xml"),
    case(
        &["accounts", "add", "--ig-user-id", "1", "--login", "myspace"],
        "myspace",
    ),
    case(&["worker", "--concurrency", "lots"], "lots"),
    case(&["worker", "--concurrency", "0"], "concurrency"),
    case(&["serve", "--listen", "not-an-address"], "not-an-address"),
    case(&["simulate", "--fault-rate", "2"], "fault-rate"),
    case(&["simulate", "--listen", "nowhere"], "nowhere"),
    case(&["simulate", "--accounts", "0"], "--accounts"),
    case(&["simulate", "--start", "yesterday"], "yesterday"),
    case(&["simulate", "--start", "1970-01-01T00:00:00Z"], "1970"),
    case(
        &["bench", "day", "--start", "2026-12-08T00:00:00.5Z"],
        "whole second",
    ),
    case(&["demo", "--accounts", "0"], "--accounts"),
    case(&["demo", "--media", "999999999"], "--media"),
    case(&["bench", "warp"], "warp"),
    // Configuration: environment, files, URLs.
    case(&["--database-url", "mysql://x", "migrate"], "sqlite://"),
    case(
        &[
            "--database-url",
            "postgres://nobody@127.0.0.1:1/x",
            "migrate",
        ],
        "127.0.0.1:1",
    ),
    case(
        &["--config", "/nonexistent/igsync.toml", "migrate"],
        "/nonexistent/igsync.toml",
    ),
    Case {
        env: &[("IGSYNC_SYNC_CONCURRENCY", "0")],
        ..case(&["migrate"], "sync.concurrency")
    },
    Case {
        env: &[("IGSYNC_SECRET_KEY", "abc123")],
        ..case(&["migrate"], "secret_key")
    },
    Case {
        env: &[("IGSYNC_GRAPH_API_VERSION", "v99.0")],
        ..case(&["migrate"], "v99.0")
    },
    Case {
        env: &[("IGSYNC_SYNC_FULL_CRON", "every day")],
        ..case(&["migrate"], "cron")
    },
    Case {
        env: &[("IGSYNC_LOG_LEVEL", "verbose")],
        ..case(&["migrate"], "log.level")
    },
    Case {
        env: &[("IGSYNC_SERVER_LISTEN", "everywhere")],
        ..case(&["migrate"], "server.listen")
    },
    Case {
        env: &[
            ("IGSYNC_WEBHOOKS_ENABLED", "true"),
            ("IGSYNC_GRAPH_APP_SECRET", "s"),
        ],
        ..case(&["serve"], "webhooks.verify_token")
    },
    Case {
        env: &[
            ("IGSYNC_WEBHOOKS_ENABLED", "true"),
            ("IGSYNC_WEBHOOKS_VERIFY_TOKEN", "v"),
            ("IGSYNC_GRAPH_APP_SECRET", ""),
        ],
        ..case(&["serve"], "graph.app_secret")
    },
    Case {
        env: &[("IGSYNC_SYNC_STORY_FINAL_READ_MARGIN_MINUTES", "0")],
        ..case(&["migrate"], "sync.story_final_read_margin_minutes")
    },
    case(&["webhooks", "subscribe"], "--all"),
    Case {
        config: Some("[sync\nconcurrency = 3\n"),
        ..case(&["migrate"], "igsync.toml")
    },
    Case {
        config: Some("[sync]\nconcurency = 3\n"),
        ..case(&["migrate"], "sync.concurrency")
    },
    Case {
        config: Some("[alerts]\nfollower_growth_threshold = \"soon\"\n"),
        ..case(&["migrate"], "alerts.follower_growth_threshold")
    },
    // Values and references checked at run time.
    Case {
        stdin: Some("EAAG-token"),
        ..case(
            &["accounts", "add", "--ig-user-id", "abc", "--token-stdin"],
            "--ig-user-id",
        )
    },
    Case {
        stdin: Some("   \n"),
        ..case(
            &["accounts", "add", "--ig-user-id", "123", "--token-stdin"],
            "empty",
        )
    },
    case(&["accounts", "add", "--ig-user-id", "123"], "--token-stdin"),
    Case {
        stdin: Some("EAAG-token"),
        ..case(
            &[
                "accounts",
                "add",
                "--ig-user-id",
                "123",
                "--token-stdin",
                "--no-verify",
                "--timezone",
                "Mars/Olympus",
            ],
            "Mars/Olympus",
        )
    },
    case(&["accounts", "remove", "ghost"], "ghost"),
    case(&["accounts", "remove", "17841400000000091"], "--yes"),
    case(
        &[
            "accounts",
            "set-timezone",
            "17841400000000091",
            "Nowhere/Land",
        ],
        "Nowhere/Land",
    ),
    case(&["accounts", "pause", "@ghost"], "ghost"),
    case(&["sync", "--account", "ghost"], "ghost"),
    case(&["report", "--account", "ghost"], "ghost"),
    case(
        &[
            "report",
            "--account",
            "17841400000000091",
            "--from",
            "2026-13-01",
            "--to",
            "2026-12-01",
        ],
        "2026-13-01",
    ),
    case(
        &[
            "report",
            "--account",
            "17841400000000091",
            "--format",
            "json",
            "--csv-raw",
        ],
        "--csv-raw",
    ),
    case(&["keys", "revoke", "nope"], "nope"),
    case(&["keys", "create", "--name", ""], "name"),
    case(&["keys", "rotate-secret", "--new-key", "abc"], "64"),
    // An unknown schedule: the error lists the ones there are.
    case(
        &["schedules", "run", "nope"],
        "`nope` does not exist; the schedules are",
    ),
    case(&["schedules", "pause", "nope"], "light_sync"),
    case(&["schedules", "resume", "nope"], "token_refresh"),
    Case {
        env: &[("IGSYNC_SECRET_KEY", "")],
        stdin: Some("EAAG-token"),
        ..case(
            &[
                "accounts",
                "add",
                "--ig-user-id",
                "124",
                "--token-stdin",
                "--no-verify",
            ],
            "IGSYNC_SECRET_KEY",
        )
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invalid_invocation_gives_one_clear_line_and_a_non_zero_exit() {
    let h = Harness::new(Dialect::Sqlite, "cli").await;
    h.ok(&["migrate"], None).await;
    h.add_unverified("17841400000000091", "EAAG-cli-token")
        .await;
    let config_path = h.dir.path().join("igsync.toml");
    let mut failures = Vec::new();
    for c in CASES {
        match c.config {
            Some(text) => std::fs::write(&config_path, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&config_path);
            }
        }
        let mut cmd = h.command(c.args);
        for (k, v) in c.env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let run = crate::support::run_command(cmd, c.args, c.stdin).await;
        let err = run.stderr.trim();
        let problem = if run.status.success() {
            Some("exit code 0")
        } else if err.lines().count() != 1 {
            Some("not exactly one line on standard error")
        } else if !err.starts_with("error:") {
            Some("the line does not start with `error:`")
        } else if !err.contains(c.says) {
            Some("the line does not name the problem")
        } else if err.contains("panicked") || err.contains("internal error") {
            Some("a panic")
        } else if !run.stdout.trim().is_empty() {
            Some("output on standard output")
        } else {
            None
        };
        if let Some(problem) = problem {
            failures.push(format!("{problem} (wanted {:?}): {run}", c.says));
        }
    }
    let _ = std::fs::remove_file(&config_path);
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n\n")
    );
    record_figures(
        "cli_errors",
        serde_json::json!({ "invalid_invocations": CASES.len(), "one_clear_line_each": CASES.len() }),
    );
}

/// `igsync history --steps | head -1`: once the reader has what it wanted and closes the
/// pipe, igsync stops quietly with success instead of reporting a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_output_pipe_ends_a_listing_quietly() {
    let h = Harness::new(Dialect::Sqlite, "pipe").await;
    h.add_unverified("17841400000000092", "EAAG-pipe-token")
        .await;
    for args in [
        &["history", "--steps"][..],
        &["schedules", "list"],
        &["accounts", "list"],
        &["accounts", "list", "--json"],
        &["keys", "list"],
        &["config"],
    ] {
        // The reading end is closed before igsync starts: its first write finds no reader.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut cmd = h.command(args);
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::from(writer))
            .stderr(std::process::Stdio::piped());
        let out = cmd.spawn().unwrap().wait_with_output().await.unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "igsync {args:?} exited with {}: {stderr}",
            out.status
        );
        assert!(stderr.trim().is_empty(), "igsync {args:?}: {stderr}");
    }
}

/// `igsync accounts add` registers through the same use case as the API: the token must
/// open the account named, and the account type and the token's expiry are learned (or the
/// documented 60 days assumed, with a warning when igsync cannot renew the token).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_add_checks_the_token_owner_and_learns_type_and_expiry() {
    let mut h = Harness::new(Dialect::Sqlite, "add").await;
    let sim = crate::support::start_sim(crate::support::sim_config(23, 3, 5)).await;
    h.graph(&sim);
    let accounts = sim.accounts();
    let fb = &accounts[0];
    let ig = &accounts[1];
    assert_eq!(fb.login, simulator::LoginKind::Facebook);
    assert_eq!(ig.login, simulator::LoginKind::Instagram);
    let add = |id: &str, login: &'static str| {
        vec![
            "accounts".to_string(),
            "add".into(),
            "--ig-user-id".into(),
            id.to_string(),
            "--login".into(),
            login.into(),
            "--token-stdin".into(),
        ]
    };
    let run = |args: Vec<String>, token: String| {
        let h = &h;
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            h.run(&args, Some(&token)).await
        }
    };

    // The Instagram Login account under its app-scoped id: the profile names another id.
    let refused = run(add(&ig.me_id, "instagram"), ig.access_token.clone()).await;
    assert!(!refused.status.success(), "{refused}");
    assert_eq!(refused.stderr.trim().lines().count(), 1, "{refused}");
    assert!(
        refused
            .stderr
            .contains(&format!("belongs to Instagram user {}", ig.ig_user_id)),
        "{refused}"
    );
    // Another account's token: refused, without a hint to skip the check.
    let refused = run(add(&fb.ig_user_id, "facebook"), ig.access_token.clone()).await;
    assert!(!refused.status.success(), "{refused}");
    assert!(refused.stderr.contains("another account"), "{refused}");
    assert!(!refused.stderr.contains("--no-verify"), "{refused}");
    let store = h.db.open().await;
    assert!(store.account_list().await.unwrap().is_empty());

    // Instagram Login: type from the profile, expiry from a refresh, no app credentials.
    let ok = run(add(&ig.ig_user_id, "instagram"), ig.access_token.clone()).await;
    assert!(ok.status.success(), "{ok}");
    assert!(ok.stdout.contains("token expires"), "{ok}");
    assert!(ok.stderr.trim().is_empty(), "{ok}");
    let a = store
        .account_get_by_ig(&ig.ig_user_id)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(a.account_type, store::AccountType::Unknown);
    let now = chrono::Utc::now();
    assert!(
        a.token_expires_at
            .is_some_and(|t| t > now + chrono::Duration::days(59)),
        "{:?}",
        a.token_expires_at
    );

    // Facebook Login without the app's credentials: 60 days assumed, and a warning that
    // igsync cannot renew the token, repeated by `doctor`.
    let ok = run(add(&fb.ig_user_id, "facebook"), fb.access_token.clone()).await;
    assert!(ok.status.success(), "{ok}");
    assert!(ok.stdout.contains("token expiry assumed"), "{ok}");
    assert_eq!(ok.stderr.trim().lines().count(), 1, "{ok}");
    assert!(
        ok.stderr
            .starts_with("warning: igsync cannot refresh Facebook Login tokens"),
        "{ok}"
    );
    let a = store
        .account_get_by_ig(&fb.ig_user_id)
        .await
        .unwrap()
        .unwrap();
    let assumed = a.token_expires_at.expect("an assumed expiry");
    assert!(
        (assumed - (now + chrono::Duration::days(60)))
            .num_minutes()
            .abs()
            < 10
    );
    let doctor = h.run(&["doctor"], None).await;
    assert!(
        doctor.stdout.contains(&format!(
            "the token of @{} lapses around {}",
            fb.username,
            assumed.format("%Y-%m-%d")
        )),
        "{doctor}"
    );
    assert!(
        !doctor
            .stdout
            .contains(&format!("token of @{} lapses", ig.username))
    );
}

/// A database URL pointing at a server that is not PostgreSQL (here the Graph API
/// simulator, an HTTP server) is named as such in one line, not as a raw protocol error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_port_without_postgresql_is_named_as_such() {
    let h = Harness::new(Dialect::Sqlite, "not-pg").await;
    let sim = crate::support::start_sim(crate::support::sim_config(3, 1, 2)).await;
    let host = sim.url().trim_start_matches("http://").to_string();
    let url = format!("postgres://nobody:s3cret@{host}/igsync");
    let run = h.run(&["--database-url", &url, "migrate"], None).await;
    assert!(!run.status.success(), "{run}");
    let err = run.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{run}");
    assert!(err.contains("not a PostgreSQL server"), "{run}");
    assert!(!err.contains("s3cret") && !err.contains("bytes"), "{run}");
}

/// A missing or wrong secret key is a configuration error: processes that would run
/// workers refuse to start in one line, instead of failing every account's sync and
/// raising an alert for each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_refuse_to_start_with_a_key_that_opens_no_stored_token() {
    let h = Harness::new(Dialect::Sqlite, "key-check").await;
    for id in ["17841400000000093", "17841400000000094"] {
        h.add_unverified(id, "EAAG-key-check-token").await;
    }
    let wrong = store::SecretKey::generate()
        .unwrap()
        .to_hex()
        .expose()
        .to_string();
    for (key, args, says) in [
        (None, &["worker"][..], "IGSYNC_SECRET_KEY"),
        (
            Some(wrong.as_str()),
            &["worker"],
            "opens none of the 2 stored",
        ),
        (
            Some(wrong.as_str()),
            &["serve", "--listen", "127.0.0.1:0"],
            "opens none",
        ),
        (
            Some(wrong.as_str()),
            &["sync", "--all", "--wait"],
            "opens none",
        ),
    ] {
        let mut cmd = h.command(args);
        match key {
            None => cmd.env_remove("IGSYNC_SECRET_KEY"),
            Some(k) => cmd.env("IGSYNC_SECRET_KEY", k),
        };
        let run = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            crate::support::run_command(cmd, args, None),
        )
        .await
        .unwrap_or_else(|_| panic!("igsync {args:?} started instead of refusing"));
        assert!(!run.status.success(), "{run}");
        let err = run.stderr.trim();
        assert_eq!(err.lines().count(), 1, "{run}");
        assert!(err.starts_with("error:") && err.contains(says), "{run}");
    }
    // Nothing ran, nothing failed, nothing was raised.
    let store = h.db.open().await;
    let runs = store
        .sync_runs_list(store::RunQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(runs.is_empty(), "{runs:?}");
    let alerts = store
        .alert_list(store::AlertQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(alerts.is_empty(), "{alerts:?}");
    for a in store.account_list().await.unwrap() {
        assert_eq!(a.status, store::SyncStatus::Idle);
    }
}

/// CSV reports guard cells a spreadsheet would run as formulas (`@name` is written
/// `'@name`); `--csv-raw` writes them as they are, for programs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_reports_guard_formula_cells_unless_raw_is_asked() {
    let h = Harness::new(Dialect::Sqlite, "csv").await;
    h.add_unverified("17841400000000095", "EAAG-csv-token")
        .await;
    let report = [
        "report",
        "--account",
        "17841400000000095",
        "--format",
        "csv",
    ];
    let guarded = h.ok(&report, None).await.stdout;
    assert!(guarded.contains(",'@17841400000000095,"), "{guarded}");
    let mut raw_args = report.to_vec();
    raw_args.push("--csv-raw");
    let raw = h.ok(&raw_args, None).await.stdout;
    assert!(raw.contains(",@17841400000000095,"), "{raw}");
    assert!(!raw.contains("'@"), "{raw}");
    assert_eq!(raw.lines().count(), guarded.lines().count());
}

/// `igsync bench analytics` runs on the simulator's labelled series without a database or a
/// child process and reports every figure `docs/benchmarks.md` quotes.
#[test]
fn bench_analytics_reports_accuracy_from_the_labelled_series() {
    let dir = std::env::temp_dir().join(format!("igsync-bench-analytics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = igsync()
        .current_dir(&dir)
        .args(["bench", "analytics", "--accounts", "10", "--media", "200"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("default k = 3.5"), "{stdout}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("bench-results/analytics.json")).unwrap())
            .unwrap();
    assert_eq!(json["accounts"], 10);
    let rows = json["anomalies"]["by_k"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for row in rows {
        assert!(row["events"].as_u64().unwrap() > 0, "{row}");
        for key in ["precision", "recall", "precision_without_natural_outliers"] {
            let v = row[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{key} {v}");
        }
    }
    // Fewer flags as k grows.
    let flagged: Vec<u64> = rows
        .iter()
        .map(|r| r["flagged_days"].as_u64().unwrap())
        .collect();
    assert!(flagged.windows(2).all(|w| w[0] >= w[1]), "{flagged:?}");
    for (series, horizon) in [("followers", "90_days"), ("weekly_views", "13_weeks")] {
        let cell = &json["forecasts"][series]["auto"][horizon];
        assert!(cell["n"].as_u64().unwrap() > 0, "{cell}");
        let coverage = cell["coverage_80_pct"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&coverage), "{cell}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `igsync webhooks status`: every account with its subscription and last event, the
/// refused notifications, the events waiting; the same as JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_status_lists_every_account() {
    let h = Harness::new(Dialect::Sqlite, "webhooks-status").await;
    h.ok(&["migrate"], None).await;
    h.add_unverified("17841400000000092", "EAAG-webhooks-token")
        .await;
    let run = h.ok(&["webhooks", "status"], None).await;
    assert!(
        run.stdout.contains("receiver /webhooks/meta: disabled"),
        "{run}"
    );
    assert!(run.stdout.contains("17841400000000092"), "{run}");
    assert!(run.stdout.contains("signature failures: 0"), "{run}");
    assert!(
        run.stdout.contains("events waiting to be processed: 0"),
        "{run}"
    );
    let run = h.ok(&["webhooks", "status", "--json"], None).await;
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["receiver_enabled"], false);
    assert_eq!(v["accounts"].as_array().unwrap().len(), 1);
    assert_eq!(v["accounts"][0]["subscribed_fields"], serde_json::json!([]));
    assert_eq!(v["events_waiting"], 0);
}

/// `doctor` counts what the sync schedules start, says when no full sync stands in for a
/// light sync and when the start limiter is too low for the active accounts; a worker logs
/// the same warnings once at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_counts_the_schedules_syncs_against_the_start_limiter() {
    let mut h = Harness::new(Dialect::Sqlite, "doctor-schedules").await;
    let sim = crate::support::start_sim(crate::support::sim_config(5, 1, 2)).await;
    h.graph(&sim);
    h.ok(&["migrate"], None).await;
    for id in [
        "17841400000000095",
        "17841400000000096",
        "17841400000000097",
    ] {
        h.add_unverified(id, "EAAG-doctor-token").await;
    }
    h.ok(&["accounts", "pause", "17841400000000097"], None)
        .await;
    h.set("IGSYNC_SYNC_FULL_CRON", "0 0 */6 * * *");
    h.set("IGSYNC_SYNC_SYNCS_PER_MINUTE", "500");

    // The defaults: each 6-hourly full sync stands in for the light sync of its hour.
    h.set("IGSYNC_SYNC_LIGHT_CRON", "0 0 * * * *");
    let doctor = h.run(&["doctor"], None).await;
    for line in [
        "ok    sync schedules: an account starts 24.0 syncs a day (4.0 full, 20.0 light; a full \
         sync stands in for 4.0 light syncs)",
        "ok    the start limiter (500 syncs a minute) keeps 30000 accounts on these schedules; \
         2 active",
    ] {
        assert!(doctor.stdout.contains(line), "no {line:?} in {doctor}");
    }
    for warning in ["stands in", "behind"] {
        assert!(
            !doctor
                .stdout
                .lines()
                .any(|l| l.contains("warn") && l.contains(warning)),
            "{doctor}"
        );
    }

    // A light sync at :30 never falls due with a full sync: four syncs more a day.
    h.set("IGSYNC_SYNC_LIGHT_CRON", "0 30 * * * *");
    let doctor = h.run(&["doctor"], None).await;
    assert!(
        doctor.stdout.contains(
            "warn  no full sync stands in for a light sync: sync.light_cron `0 30 * * * *` never \
             falls due with sync.full_cron `0 0 */6 * * *`, so an account starts 28.0 syncs a day \
             (4.0 full, 24.0 light)"
        ),
        "{doctor}"
    );

    // A light sync every minute: 1,440 starts a day per account, and a limiter of one a
    // minute keeps one account, not the two active ones (the paused one does not count).
    h.set("IGSYNC_SYNC_LIGHT_CRON", "0 * * * * *");
    h.set("IGSYNC_SYNC_SYNCS_PER_MINUTE", "1");
    let doctor = h.run(&["doctor"], None).await;
    let behind = "2 active accounts need 2.0 sync starts a minute on these schedules, but \
                  sync.syncs_per_minute is 1: their syncs fall further behind their schedules \
                  every day";
    assert!(
        doctor.stdout.contains(&format!("warn  {behind}")),
        "{doctor}"
    );
    assert!(
        doctor
            .stdout
            .contains("fix: raise sync.syncs_per_minute to at least 2 (the Graph API budget"),
        "{doctor}"
    );
    assert!(
        doctor.status.success(),
        "warnings do not fail doctor: {doctor}"
    );

    // A full sync every five seconds is not counted, and said so.
    h.set("IGSYNC_SYNC_FULL_CRON", "*/5 * * * * *");
    let doctor = h.run(&["doctor"], None).await;
    assert!(
        doctor.stdout.contains(
            "warn  the sync schedules' syncs are not counted: invalid sync configuration: the \
             full schedule ticks too often to count its syncs (more than once a minute)"
        ),
        "{doctor}"
    );
    assert!(doctor.status.success(), "{doctor}");
    h.set("IGSYNC_SYNC_FULL_CRON", "0 0 */6 * * *");

    // A worker says so once at start, and runs.
    let mut worker = h.spawn(&["worker"]);
    let log = worker
        .wait_for_output(behind, std::time::Duration::from_secs(30))
        .await;
    assert!(log.contains("raise sync.syncs_per_minute"), "{log}");
    assert!(worker.alive(), "{log}");
    worker.terminate().await;
}
