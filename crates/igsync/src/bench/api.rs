//! The `api` scenario: requests/s of the overview JSON, loaded from a second process, alone
//! and beside a flood of wrong secrets from a third process; and that load generator.

use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};
use store::{Cipher, SecretKey};
use sync::Plan;

use crate::cli::BenchArgs;
use crate::config::Config;

use super::{db::*, fleet::*, sim::*, *};

// ----- api -----

pub(crate) async fn api_scenario(_args: &BenchArgs) -> anyhow::Result<Value> {
    eprintln!(
        "api: GET /api/v1/overview on SQLite with 5 synced accounts, load from a second process"
    );
    let sim = SimProcess::start(5, 200, 0, 3).await?;
    let db = BenchDb::sqlite("api").await?;
    let key = SecretKey::generate()?;
    let config =
        Config::load(None, &Default::default(), &|_| None).map_err(|e| anyhow::anyhow!("{e}"))?;
    let cfg = bench_config(&config, &sim.url, 4, &key);
    let store = db.open().await?;
    let ids = register(&store, &Cipher::new(&key), &sim.accounts().await?).await?;
    let engine = engine_for(&cfg, store.clone(), &key).await?;
    for id in &ids {
        engine.enqueue_sync(*id, Plan::Full, "bench").await?;
    }
    engine.run_until_idle().await?;
    let (_, api_key) = server::auth::create_api_key(&*store, "bench", chrono::Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let state =
        server::AppState::new(store.clone(), server::ServerSettings::default()).with_engine(engine);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut rx = stop_rx.clone();
    let http = tokio::spawn(server::serve(listener, state, async move {
        let _ = rx.wait_for(|s| *s).await;
    }));
    let url = format!("http://{addr}/api/v1/overview");
    let exe = std::env::current_exe()?;
    let mut results = Vec::new();
    for connections in [16u32, 64] {
        let v = run_load(&exe, &url, connections, api_key.expose(), 1)
            .await?
            .wait()
            .await?;
        print_load("api overview JSON", &v);
        results.push(v);
    }
    // The same legitimate load while a third process sends wrong secrets for a real key id
    // as fast as the server answers, from one host and then from 20; each compared with a
    // run alone just before it (the machine's other load varies). Each flood aims at a key id
    // of its own, so the second does not find the first one's lock.
    let mut floods = Vec::new();
    for hosts in [1u32, 20] {
        let alone = run_load(&exe, &url, 16, api_key.expose(), 1)
            .await?
            .wait()
            .await?;
        let (_, target) = server::auth::create_api_key(
            &*store,
            &format!("flood target {hosts}"),
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let flood = run_load(&exe, &url, 20, &wrong_secret(target.expose()), hosts).await?;
        let legit = run_load(&exe, &url, 16, api_key.expose(), 1).await?;
        let (legit, flood) = (legit.wait().await?, flood.wait().await?);
        let ratio = load_per_s(&legit) / load_per_s(&alone).max(1.0);
        println!(
            "api overview JSON, 16 connections: {:>8.0} requests/s alone, {:>8.0} beside a \
             20-connection wrong-secret flood from {hosts:>2} host(s) ({:.0} %), p99 {:.2} ms; \
             the flood got {} answers ({})",
            load_per_s(&alone),
            load_per_s(&legit),
            ratio * 100.0,
            legit["p99_ms"].as_f64().unwrap_or(0.0),
            flood["answered"].as_u64().unwrap_or(0),
            flood["statuses"]
        );
        floods.push(json!({
            "flood_hosts": hosts, "flood_connections": 20, "alone": alone, "legitimate": legit,
            "flood": flood, "legitimate_share_of_alone": round2(ratio),
        }));
    }
    let _ = stop_tx.send(true);
    let _ = http.await;
    sim.stop().await;
    db.drop_db().await;
    Ok(
        json!({ "endpoint": "/api/v1/overview", "database": "sqlite", "runs": results,
               "beside_wrong_secret_flood": floods }),
    )
}

/// A load generator process under way.
pub(super) struct LoadRun(tokio::process::Child);

impl LoadRun {
    /// Its figures, once it has run its 10 s.
    pub(super) async fn wait(self) -> anyhow::Result<Value> {
        let output = self
            .0
            .wait_with_output()
            .await
            .context("cannot run the load generator")?;
        if !output.status.success() {
            bail!(
                "load generator failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        serde_json::from_slice(&output.stdout).context("load generator output")
    }
}

/// Starts `igsync bench-load` for 10 s: `connections` keep-alive connections presenting
/// `key`, spread over `hosts` loopback addresses (127.0.9.1, 127.0.9.2, …).
pub(super) async fn run_load(
    exe: &std::path::Path,
    url: &str,
    connections: u32,
    key: &str,
    hosts: u32,
) -> anyhow::Result<LoadRun> {
    let child = tokio::process::Command::new(exe)
        .args([
            "bench-load",
            "--url",
            url,
            "--connections",
            &connections.to_string(),
            "--seconds",
            "10",
        ])
        .env("IGSYNC_BENCH_KEY", key)
        .env(LOAD_HOSTS_ENV, hosts.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot run the load generator")?;
    Ok(LoadRun(child))
}

pub(super) fn load_per_s(v: &Value) -> f64 {
    v["requests_per_s"].as_f64().unwrap_or(0.0)
}

pub(super) fn print_load(what: &str, v: &Value) {
    println!(
        "{what}, {:>3} connections: {:>8.0} requests/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
        v["connections"].as_u64().unwrap_or(0),
        load_per_s(v),
        v["p50_ms"].as_f64().unwrap_or(0.0),
        v["p99_ms"].as_f64().unwrap_or(0.0),
        v["errors"].as_u64().unwrap_or(0)
    );
}

/// `key` with its last character changed: the right key id with a wrong secret.
pub(super) fn wrong_secret(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap_or('0');
    wrong.push(if last == '0' { '1' } else { '0' });
    wrong
}

/// How many loopback addresses the load generator spreads its connections over (set by the
/// benchmark for its flood; 1 when unset).
pub(super) const LOAD_HOSTS_ENV: &str = "IGSYNC_BENCH_LOAD_HOSTS";

/// The load generator of the `api` scenario, run as a second process: keeps `connections`
/// requests in flight for `seconds` and prints requests/s and latency percentiles as JSON.
pub(crate) async fn load(
    url: &str,
    connections: u32,
    seconds: u64,
    key: &str,
) -> anyhow::Result<ExitCode> {
    let hosts: u32 = std::env::var(LOAD_HOSTS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .clamp(1, 250);
    let mut clients = Vec::new();
    for h in 0..hosts {
        let mut builder = reqwest::Client::builder().pool_max_idle_per_host(connections as usize);
        if hosts > 1 {
            builder = builder.local_address(std::net::IpAddr::from([127, 0, 9, h as u8 + 1]));
        }
        clients.push(builder.build()?);
    }
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..connections {
        let client = clients[(c % hosts) as usize].clone();
        let url = url.to_string();
        let auth = format!("Bearer {key}");
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                match client.get(&url).header("Authorization", &auth).send().await {
                    Ok(r) => {
                        *statuses.entry(r.status().as_u16()).or_default() += 1;
                        let ok = r.status().is_success();
                        let _ = r.bytes().await;
                        if ok {
                            latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                        } else {
                            errors += 1;
                        }
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors, statuses)
        });
    }
    let started = Instant::now();
    let mut all = Vec::new();
    let mut errors = 0;
    let mut statuses = std::collections::BTreeMap::<String, u64>::new();
    while let Some(r) = tasks.join_next().await {
        let (l, e, s) = r?;
        all.extend(l);
        errors += e;
        for (status, n) in s {
            *statuses.entry(status.to_string()).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(seconds as f64);
    all.sort_by(f64::total_cmp);
    let pct = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    let answered: u64 = statuses.values().sum();
    println!(
        "{}",
        json!({ "connections": connections, "hosts": hosts, "seconds": seconds, "requests": all.len(), "errors": errors,
                "answered": answered, "statuses": statuses,
                "requests_per_s": (all.len() as f64 / elapsed).round(), "p50_ms": round2(pct(0.5)), "p99_ms": round2(pct(0.99)) })
    );
    Ok(ExitCode::SUCCESS)
}
