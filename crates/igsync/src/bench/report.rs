//! The `report` scenario: report latency for an account with 10,000 posts and a year of daily
//! metrics.

use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use serde_json::{Value, json};
use store::{Cipher, SecretKey};
use sync::Plan;

use crate::cli::BenchArgs;
use crate::config::Config;

use super::{db::*, fleet::*, sim::*, *};

// ----- report -----

pub(crate) async fn report_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
    let posts = 10_000usize;
    eprintln!(
        "report: one account with {posts} posts and a year of daily account insights, synced from the simulator"
    );
    let sim = SimProcess::start(1, posts, 0, 11).await?;
    let mut out = Vec::new();
    let mut targets = vec![BenchDb::sqlite("report").await?];
    if !args.sqlite_only {
        targets.push(BenchDb::postgres(&postgres_url(args)?).await?);
    }
    for db in targets {
        let key = SecretKey::generate()?;
        let mut cfg = bench_config(config, &sim.url, 1, &key);
        cfg.sync.account_insights_backfill_days = 365;
        let store = db.open().await?;
        let ids = register(&store, &Cipher::new(&key), &sim.accounts().await?).await?;
        let engine = engine_for(&cfg, store.clone(), &key).await?;
        sim.reset().await?;
        engine.enqueue_sync(ids[0], Plan::Full, "bench").await?;
        engine.run_until_idle().await?;
        let account = store.account_get(ids[0]).await?.context("bench account")?;
        let tz = account.time_zone()?;
        let mut times = Vec::new();
        for days in [30u32, 365] {
            let params = server::api::analytics::ReportParams {
                days: Some(days),
                ..Default::default()
            };
            let period = server::api::analytics::period_of(&params, Utc::now(), tz)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut samples = Vec::new();
            for _ in 0..15 {
                let t = Instant::now();
                let report = sync::build_report(&*store, &account, period, Utc::now())
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
                std::hint::black_box(report);
            }
            // The same history loaded alone, to split database time from analytics time.
            let (from, to) = period.utc_bounds(tz);
            let window = sync::HistoryWindow {
                from: from - chrono::Duration::days(i64::from(days)),
                to,
                trending_from: from,
            };
            let mut loads = Vec::new();
            for _ in 0..15 {
                let t = Instant::now();
                let history = sync::load_account_history(&*store, account.id, window).await?;
                loads.push(t.elapsed().as_secs_f64() * 1000.0);
                std::hint::black_box(history);
            }
            let (p50, p95) = percentiles(&mut samples);
            let (load50, _) = percentiles(&mut loads);
            println!(
                "report {:<9} {:>3}-day period over {} posts: p50 {:>6.1} ms, p95 {:>6.1} ms \
                 (loading the history alone: p50 {:>6.1} ms)",
                store.dialect(),
                days,
                posts,
                p50,
                p95,
                load50
            );
            times.push(
                json!({ "period_days": days, "p50_ms": round1(p50), "p95_ms": round1(p95),
                               "history_load_p50_ms": round1(load50) }),
            );
        }
        let totals = store.totals().await?;
        out.push(json!({ "database": store.dialect(), "posts": totals.media, "media_insight_snapshots": totals.media_insight_snapshots,
                         "account_insight_days": totals.account_insight_days, "latency": times }));
        db.drop_db().await;
    }
    sim.stop().await;
    Ok(json!({ "runs": out }))
}
