//! Load check of the overview JSON with an API key, on SQLite (`IGSYNC_BENCH=1`; best with
//! `--release`): many connections from client tasks of this process, then from `wrk` in a
//! second process when it is installed. Prints requests per second; asserts only that every
//! answer was a 200.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use store::{NewAlert, ScheduleDef, Severity};

use crate::support::TestApp;

const CONNECTIONS: usize = 64;
const SECONDS: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_requests_per_second() {
    if std::env::var("IGSYNC_BENCH").ok().as_deref() != Some("1") {
        eprintln!("load check not run: set IGSYNC_BENCH=1 (and use --release)");
        return;
    }
    let app = TestApp::spawn().await;
    seed(&app).await;
    let url = app.url("/api/v1/overview");
    let first =
        crate::support::json_of(app.get("/api/v1/overview").await, reqwest::StatusCode::OK).await;
    assert_eq!(first["accounts"].as_array().unwrap().len(), 20);

    // What each store call of the overview costs, one at a time.
    let store = app.store.clone();
    let now = Utc::now();
    macro_rules! time_call {
        ($name:expr, $call:expr) => {{
            let n = 500;
            let t = Instant::now();
            for _ in 0..n {
                let _ = $call.await.unwrap();
            }
            println!(
                "{:>28}: {:>6.0} µs per call",
                $name,
                t.elapsed().as_secs_f64() * 1e6 / n as f64
            );
        }};
    }
    time_call!("account_list", store.account_list());
    time_call!("schedule_list", store.schedule_list());
    time_call!(
        "job_list (pending syncs)",
        store.job_list(store::JobQuery {
            states: vec![store::JobState::Pending],
            kind: Some("sync_account".into()),
            limit: 500,
            ..Default::default()
        })
    );
    time_call!(
        "alert_list (open)",
        store.alert_list(store::AlertQuery {
            unacknowledged_only: true,
            limit: 20,
            ..Default::default()
        })
    );
    time_call!("job_snapshot", store.job_snapshot(now, None));
    time_call!("api_key_get", store.api_key_get(&app.key_id));

    // Client tasks in this process, one connection each.
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let client = crate::support::http_client();
        let (url, key, ok, bad) = (
            url.clone(),
            app.key.expose().to_owned(),
            ok.clone(),
            bad.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                match client.get(&url).bearer_auth(&key).send().await {
                    Ok(res) if res.status() == 200 => {
                        let _ = res.bytes().await;
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = ok.load(Ordering::Relaxed);
    println!(
        "overview JSON, {CONNECTIONS} connections from client tasks of this process: {n} requests in \
         {elapsed:.1} s = {:.0} requests/s ({} bytes each)",
        n as f64 / elapsed,
        first.to_string().len()
    );
    assert_eq!(bad.load(Ordering::Relaxed), 0, "every request answered 200");

    // A second process: the overview (cached and computed every time) and, for scale, a few
    // other endpoints.
    let uncached = TestApp::spawn_on(
        app.store.clone(),
        server::ServerSettings {
            overview_cache_ttl: Duration::ZERO,
            ..server::ServerSettings::default()
        },
    )
    .await;
    for (label, target, path) in [
        ("overview", &app, "/api/v1/overview"),
        (
            "overview, computed for every request",
            &uncached,
            "/api/v1/overview",
        ),
        ("healthz (no database)", &app, "/healthz"),
        ("queue snapshot", &app, "/api/v1/queue"),
        ("accounts", &app, "/api/v1/accounts"),
    ] {
        let Some(text) = wrk(target, path) else {
            println!("wrk is not installed (apt-get install wrk): no second-process figures");
            break;
        };
        assert!(
            !text.contains("Non-2xx"),
            "every request answered 200:\n{text}"
        );
        let rps = text
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .map(str::trim)
            .unwrap_or("?");
        println!("wrk -t2 -c{CONNECTIONS} -d{SECONDS}s {path} ({label}): {rps} requests/s");
    }
}

/// Runs `wrk` against `path` with the app's key; None when wrk is not installed.
fn wrk(app: &TestApp, path: &str) -> Option<String> {
    let out = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            "-H",
            &format!("Authorization: Bearer {}", app.key.expose()),
            &app.url(path),
        ])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// 20 accounts, the sync schedules, 30 open alerts and a few hundred jobs in every state.
async fn seed(app: &TestApp) {
    let mut ids = Vec::new();
    for i in 0..20 {
        let a = app
            .seed_account(&format!("1784140000000{i:04}"), &format!("account_{i}"))
            .await;
        ids.push(a.id);
    }
    for (name, kind) in [
        ("full_sync", "sync_fan_out"),
        ("light_sync", "sync_fan_out"),
        ("retention", "retention"),
    ] {
        app.store
            .schedule_upsert(
                ScheduleDef {
                    name: name.into(),
                    cron: "0 0 */6 * * *".into(),
                    queue: "maintenance".into(),
                    kind: kind.into(),
                    args: json!({}),
                },
                Utc::now() + chrono::Duration::hours(2),
            )
            .await
            .unwrap();
    }
    for (i, id) in ids.iter().enumerate().take(30.min(ids.len())) {
        app.store
            .alert_insert(NewAlert {
                account_id: Some(*id),
                kind: "sync_stale".into(),
                severity: Severity::Warning,
                dedup_key: format!("bench:{i}"),
                title: "No sync for 2 days".into(),
                message: "The last sync is older than expected".into(),
                payload: json!({}),
                created_at: Utc::now(),
            })
            .await
            .unwrap();
    }
    for i in 0..60 {
        app.seed_failed_job("sync_media", json!({"n": i}), "HTTP 500")
            .await;
    }
    for _ in 0..60 {
        app.seed_completed_job("sync_profile").await;
    }
    for i in 0..100 {
        app.seed_job("maintenance", "retention", json!({"n": i}))
            .await;
    }
}
