//! The `naive` scenario: the original specifications' one-request-per-post reading, side by
//! side with igsync on the same simulator.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde_json::{Value, json};
use store::SecretKey;

use crate::cli::BenchArgs;
use crate::config::Config;

use super::{db::*, fleet::*, probe::*, sim::*, *};

// ----- naive -----

pub(crate) async fn naive_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
    eprintln!(
        "naive: {} accounts x {} posts at {} ms latency, {} accounts at a time, both approaches",
        args.accounts, args.media, args.latency_ms, args.concurrency
    );
    let sim = SimProcess::start(args.accounts, args.media, args.latency_ms, 7).await?;
    let db = BenchDb::sqlite("naive").await?;
    let ours = measure_fleet(&db, &sim, config, args, args.accounts, 1).await?;
    db.drop_db().await;

    let key = SecretKey::generate()?;
    let cfg = bench_config(config, &sim.url, args.concurrency, &key);
    let clients = crate::cmd::graph::clients(&cfg)?;
    let accounts = sim.accounts().await?;
    sim.reset().await?;
    let cpu_before = cpu_time();
    let started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(args.concurrency as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for a in accounts {
        let login = if a["login"]
            .as_str()
            .unwrap_or("")
            .eq_ignore_ascii_case("instagram")
        {
            graph::LoginKind::Instagram
        } else {
            graph::LoginKind::Facebook
        };
        let client = clients.get(&login).context("graph client")?.clone();
        let gate = gate.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let account = graph::AccountRef::new(
                a["ig_user_id"].as_str().unwrap_or_default(),
                graph::AccessToken::new(a["access_token"].as_str().unwrap_or_default()),
            );
            graph::naive::read_account(&client, &account)
                .await
                .map_err(anyhow::Error::from)?;
            Ok::<_, anyhow::Error>(())
        });
    }
    let mut failed = 0;
    while let Some(r) = tasks.join_next().await {
        if !matches!(r, Ok(Ok(()))) {
            failed += 1;
        }
    }
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let stats = sim.stats().await?;
    sim.stop().await;
    let naive_requests = stats["requests_total"].as_u64().unwrap_or(0);
    let naive_units = stats["rate_limit_units_total"].as_u64().unwrap_or(0);
    let req_ratio = naive_requests as f64 / ours.requests.max(1) as f64;
    let wall_ratio = wall.as_secs_f64() / ours.wall.as_secs_f64().max(1e-9);
    println!(
        "{:<32} {:>10} {:>12} {:>10} {:>8}",
        "APPROACH", "WALL s", "REQUESTS", "UNITS", "CPU s"
    );
    println!(
        "{:<32} {:>10.1} {:>12} {:>10} {:>8.1}",
        "igsync full sync (everything)",
        ours.wall.as_secs_f64(),
        ours.requests,
        ours.units,
        ours.cpu.as_secs_f64()
    );
    println!(
        "{:<32} {:>10.1} {:>12} {:>10} {:>8.1}",
        "naive: list + 1 request per post",
        wall.as_secs_f64(),
        naive_requests,
        naive_units,
        cpu.as_secs_f64()
    );
    println!(
        "igsync makes {req_ratio:.1}x fewer requests and takes {wall_ratio:.1}x less wall time"
    );
    if failed > 0 {
        println!("{failed} naive account read(s) failed");
    }
    Ok(json!({
        "igsync": ours.json(),
        "naive": { "wall_s": secs(wall), "api_requests": naive_requests, "rate_limit_units": naive_units,
                   "cpu_s": secs(cpu), "failed_accounts": failed,
                   "reads": "profile, media list at the default page size (25), one insights request per post; no stories, demographics or account insights, nothing stored" },
        "request_ratio": round2(req_ratio),
        "wall_time_ratio": round2(wall_ratio),
    }))
}
