//! `igsync demo --no-serve`, the newcomer's first command, end to end: a simulated fleet is
//! synced through the real queue and the printed summary agrees with what was stored.

use crate::both_dialects;
use crate::support::{Dialect, Harness};

both_dialects!(the_demo_syncs_a_fleet_and_its_summary_matches_the_database);

/// The number printed on the summary line that starts with `label`.
fn figure(stdout: &str, label: &str) -> i64 {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no summary line {label:?} in:\n{stdout}"));
    line.trim_start()[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number on {line:?}"))
}

async fn the_demo_syncs_a_fleet_and_its_summary_matches_the_database(d: Dialect) {
    let mut h = Harness::new(d, "demo").await;
    let dir = h.dir.path().join("demo-data");
    let mut args = vec![
        "demo",
        "--no-serve",
        "--accounts",
        "4",
        "--media",
        "60",
        "--seed",
        "7",
        "--dir",
        dir.to_str().unwrap(),
    ];
    let url = h.db.url.clone();
    // No key configured: the demo makes its own and keeps it.
    h.env.remove("IGSYNC_SECRET_KEY");
    if d == Dialect::Postgres {
        args.extend(["--database-url", url.as_str()]);
    } else {
        // Zero configuration: the demo makes its own SQLite file.
        h.env.remove("IGSYNC_DATABASE_URL");
    }
    let run = h.ok(&args, None).await;
    let out = &run.stdout;

    // One row per account: the expiring token was refreshed, the tight budget deferred one.
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("ACCOUNT"))
        .skip(1)
        .take_while(|l| l.starts_with('@'))
        .collect();
    assert_eq!(rows.len(), 4, "{run}");
    assert!(
        rows.iter()
            .any(|l| l.contains("token was expiring: refreshed")),
        "{run}"
    );
    assert!(
        rows.iter().any(|l| l.contains("rate-limited by Meta")),
        "{run}"
    );
    assert!(
        rows.iter().filter(|l| l.contains(" idle ")).count() >= 3,
        "{run}"
    );

    // The summary is what the database holds.
    let store = match d {
        Dialect::Sqlite => {
            crate::support::open_store(&format!("sqlite://{}", dir.join("igsync.db").display()))
                .await
        }
        Dialect::Postgres => h.db.open().await,
    };
    let totals = store.totals().await.unwrap();
    assert_eq!(figure(out, "accounts"), 4);
    assert_eq!(figure(out, "accounts"), totals.accounts);
    assert_eq!(figure(out, "posts and reels"), totals.media);
    assert!(totals.media > 100, "{run}");
    assert_eq!(
        figure(out, "account insight days"),
        totals.account_insight_days
    );
    assert_eq!(figure(out, "demographic values"), totals.demographic_values);
    assert_eq!(
        figure(out, "snapshots"),
        totals.media_insight_snapshots + totals.story_insight_snapshots + totals.profile_snapshots
    );
    assert!(figure(out, "API calls") > 20, "{run}");
    let alerts = store
        .alert_list(store::AlertQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(figure(out, "alerts"), alerts.len() as i64);
    // Tokens are sealed under the demo's key, kept next to the demo's data (whichever the
    // database) and out of the database.
    let key = std::fs::read_to_string(dir.join("secret.key")).unwrap();
    let cipher = store::Cipher::new(&store::SecretKey::from_hex(&key).unwrap());
    for a in store.account_list().await.unwrap() {
        assert!(cipher.decrypt(a.token.as_ref().unwrap()).is_ok());
    }
    assert!(!out.contains(key.trim()), "the key is never printed");
    assert!(run.stderr.contains("secret.key"), "{run}");

    // The demo ends in a state the rest of igsync explains: no account left syncing, no
    // run left running; the deferred sync's run says why it ended.
    let accounts = store.account_list().await.unwrap();
    assert!(
        accounts
            .iter()
            .all(|a| a.status != store::SyncStatus::Syncing),
        "{accounts:?}"
    );
    let runs = store
        .sync_runs_list(store::RunQuery {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(runs.iter().all(|r| r.finished_at.is_some()), "{runs:?}");
    let cancelled: Vec<_> = runs
        .iter()
        .filter(|r| r.status == store::RunStatus::Cancelled)
        .collect();
    assert_eq!(cancelled.len(), 1, "{runs:?}");
    assert!(
        cancelled[0]
            .error
            .as_deref()
            .is_some_and(|e| e.contains("demo ended")),
        "{runs:?}"
    );

    // Its trending figure is what the reports show, with the key and database it left.
    h.set("IGSYNC_SECRET_KEY", key.trim());
    let demo_url = match d {
        Dialect::Sqlite => format!("sqlite://{}", dir.join("igsync.db").display()),
        Dialect::Postgres => h.db.url.clone(),
    };
    h.set("IGSYNC_DATABASE_URL", &demo_url);
    let mut in_reports = 0;
    for a in &accounts {
        let report = h
            .ok(
                &["report", "--account", &a.ig_user_id, "--format", "json"],
                None,
            )
            .await;
        let json: serde_json::Value = serde_json::from_str(&report.stdout).unwrap();
        in_reports += json["trending"]["posts"].as_array().unwrap().len() as i64;
    }
    // (With this seed the reports find trending posts that no trending alert names: the
    // alerts look at recent posts only.)
    assert!(in_reports > 0, "{run}");
    assert_eq!(figure(out, "trending posts found"), in_reports, "{run}");
    let history = h.ok(&["history"], None).await;
    assert!(history.stdout.contains("cancelled"), "{history}");
}
