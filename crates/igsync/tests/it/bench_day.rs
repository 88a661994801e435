//! `igsync bench day --preset ci`: a long-tailed fleet of 60 accounts backfilled, then six
//! simulated hours of the default schedules on PostgreSQL, on one clock shared with the
//! simulator in its child process. The figures are the simulator's own counts, per
//! account-day, and every figure is present.

use serde_json::Value;

use crate::support::{Dialect, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_day_ci_preset_backfills_every_account_and_reports_every_figure() {
    let h = Harness::new(Dialect::Sqlite, "bench-day").await;
    let postgres = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let run = h
        .ok(
            &[
                "bench",
                "day",
                "--preset",
                "ci",
                "--db",
                "postgres",
                "--postgres-url",
                &postgres,
                "--start",
                "2026-12-01T00:00:00Z",
            ],
            None,
        )
        .await;
    let text = std::fs::read_to_string(h.dir.path().join("bench-results/day.json")).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["database"], "postgres", "{json}");
    assert_eq!(json["hours"], 6);
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1, "{run}");
    let r = &runs[0];
    let f = |p: &str| {
        r.pointer(p)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("{p} is missing from {r:#}"))
    };
    assert_eq!(f("/accounts"), 60.0);
    // The simulated world starts when asked: its day is measured from there.
    assert_eq!(json["start"], "2026-12-01T00:00:00Z", "{json}");
    let from = r["simulated_from"].as_str().unwrap_or_default();
    assert!(from.starts_with("2026-12-01T0"), "{r:#}");
    assert_eq!(f("/account_days"), 15.0);

    // Every account ended its backfill, and none failed.
    assert_eq!(f("/backfill/accounts_done"), 60.0, "{r:#}");
    assert_eq!(f("/backfill/accounts_failed"), 0.0, "{r:#}");
    assert!(f("/backfill/api_requests") > 60.0, "{r:#}");

    // Requests per account-day are the simulator's count of the day divided by account-days.
    let requests = f("/day/api_requests");
    assert!(requests > 0.0, "{r:#}");
    let per = f("/per_account_day/api_requests");
    assert!(per > 0.0);
    assert!(
        (per - requests / 15.0).abs() < 0.01,
        "{per} vs {requests} / 15"
    );
    assert!(
        (f("/per_account_day/rate_limit_units") - f("/day/rate_limit_units") / 15.0).abs() < 0.01
    );
    // Six hours from midnight: the light syncs of 01:00 to 05:00, each account at its own
    // offset in the hour (the schedules, installed at midnight, first tick after it; the full
    // sync of 06:00 falls at the end and stands in for one of the next light syncs): five
    // runs per account, none failed.
    assert!(f("/day/sync_runs") >= 300.0, "{r:#}");
    assert_eq!(f("/day/sync_runs_failed"), 0.0, "{r:#}");

    // No throttling.
    assert_eq!(f("/throttled/total"), 0.0, "{r:#}");
    for code in ["80002", "4", "17"] {
        assert_eq!(
            r["throttled"]["by_code_since_start"][code].as_i64(),
            Some(0),
            "{r:#}"
        );
    }

    // Every figure is there.
    assert!(f("/day/cpu_s") > 0.0);
    assert!(f("/per_account_day/cpu_s") > 0.0);
    assert!(f("/storage/bytes_after_backfill") > 0.0);
    assert!(f("/storage/bytes_at_end") >= f("/storage/bytes_after_backfill"));
    assert!(f("/storage/bytes_per_account_after_backfill") > 0.0);
    assert!(r.pointer("/storage/bytes_per_account_day").is_some());
    assert!(r["storage"]["tables_at_end"].as_array().unwrap().len() > 5);
    assert!(f("/freshness/new_posts/captured") > 0.0, "{r:#}");
    assert!(f("/freshness/new_posts/lag_p99_s") >= f("/freshness/new_posts/lag_p50_s"));
    // Light syncs run hourly, each account at its own offset in the hour: the first comes at
    // most an hour after the backfill's time of day reaches the schedule's minute, plus the
    // offset; then one every hour. A value is captured within two hours and a step.
    let fresh = 2.0 * 3_600.0 + 300.0;
    assert!(f("/freshness/new_posts/lag_p99_s") <= fresh, "{r:#}");
    assert!(f("/freshness/stories/published") > 0.0, "{r:#}");
    let listed = f("/freshness/stories/listed_while_live_share");
    assert!((0.0..=1.0).contains(&listed));
    assert!(f("/freshness/stories/expired_during_run") > 0.0, "{r:#}");
    assert!(r.pointer("/freshness/stories/final_read_share").is_some());
    assert!(f("/freshness/followers/samples") >= 60.0 * 72.0, "{r:#}");
    assert!(f("/freshness/followers/lag_p99_s") <= fresh, "{r:#}");
    assert!(f("/queue/peak_depth") >= 1.0, "{r:#}");
    assert!(r.pointer("/queue/wait_p50_s").is_some_and(Value::is_number));
    assert!(r.pointer("/queue/wait_p99_s").is_some_and(Value::is_number));
    assert!(f("/derived/one_core_keeps_accounts_fresh") > 0.0);
    assert!(f("/derived/median_account_year_mb") > 0.0, "{r:#}");
    assert!(run.stdout.contains("REQ/AD"), "{run}");
}
