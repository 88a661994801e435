//! The `sync` scenario: a fleet full sync through the real queue on SQLite and on PostgreSQL
//! with 1..N workers, compared with the lower bound (round trips ÷ concurrency × latency);
//! with one account, also with that account's critical path (its listing pages and two
//! more round trips: the profile before them, the last insights batch after them).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use serde_json::{Value, json};
use store::{
    AccountId, AccountType, Cipher, DynStore, LoginKind, NewAccount, RunQuery, RunStatus,
    SecretKey, SecretString,
};
use sync::{Clock, Engine, EngineConfig, Plan};

use crate::cli::BenchArgs;
use crate::config::Config;

use super::{chart::*, db::*, probe::*, sim::*, *};

// ----- sync -----

pub(super) struct FleetRun {
    pub(super) dialect: &'static str,
    pub(super) workers: u32,
    pub(super) concurrency: u32,
    pub(super) accounts: usize,
    pub(super) media: usize,
    pub(super) latency_ms: u64,
    pub(super) wall: Duration,
    pub(super) requests: u64,
    pub(super) units: u64,
    pub(super) rows: i64,
    pub(super) cpu: Duration,
    pub(super) peak_rss_mib: f64,
    pub(super) failed_runs: usize,
    /// Media listing pages the account's sync read (one account only).
    pub(super) listing_pages: Option<u64>,
    /// Requests one account's sync has in flight at most (`sync.account_concurrency`).
    pub(super) account_concurrency: u32,
}

impl FleetRun {
    pub(super) fn lower_bound(&self) -> Duration {
        let parallel = (self.workers * self.concurrency).max(1) as f64;
        Duration::from_secs_f64(self.requests as f64 / parallel * self.latency_ms as f64 / 1000.0)
    }

    /// One account's critical path: its listing pages + 2 round trips, × latency.
    pub(super) fn critical_path(&self) -> Option<Duration> {
        let pages = self.listing_pages?;
        Some(Duration::from_millis((pages + 2) * self.latency_ms))
    }

    pub(super) fn json(&self) -> Value {
        let lb = self.lower_bound().as_secs_f64();
        let critical = self.critical_path().map(|c| {
            json!({
                "listing_pages": self.listing_pages, "critical_path_s": secs(c),
                "ratio_to_critical_path": if c.is_zero() { 0.0 } else { round2(self.wall.as_secs_f64() / c.as_secs_f64()) },
            })
        });
        json!({
            "database": self.dialect, "workers": self.workers, "concurrency_per_worker": self.concurrency,
            "syncs_per_minute_limit": "off", "accounts": self.accounts, "media_per_account": self.media,
            "latency_ms": self.latency_ms, "wall_s": secs(self.wall), "api_requests": self.requests,
            "rate_limit_units": self.units, "rows_written": self.rows, "cpu_s": secs(self.cpu),
            "peak_rss_mib": round1(self.peak_rss_mib), "lower_bound_s": round2(lb),
            "ratio_to_lower_bound": if lb > 0.0 { round2(self.wall.as_secs_f64() / lb) } else { 0.0 },
            "failed_runs": self.failed_runs, "account_concurrency": self.account_concurrency,
            "single_account": critical,
        })
    }
}

/// Registers the simulator's accounts in `store` with tokens sealed by `cipher`.
pub(super) async fn register(
    store: &DynStore,
    cipher: &Cipher,
    accounts: &[Value],
) -> anyhow::Result<Vec<AccountId>> {
    let mut ids = Vec::new();
    for a in accounts {
        let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
        let login = if s("login").eq_ignore_ascii_case("instagram") {
            LoginKind::Instagram
        } else {
            LoginKind::Facebook
        };
        let account = store
            .account_upsert(NewAccount {
                ig_user_id: s("ig_user_id"),
                username: s("username"),
                name: None,
                account_type: AccountType::Business,
                login,
                page_id: a["page_id"].as_str().map(str::to_string),
                timezone: None,
                token: cipher.encrypt(&SecretString::new(s("access_token")))?,
                token_expires_at: None,
                now: Utc::now(),
            })
            .await?;
        ids.push(account.id);
    }
    Ok(ids)
}

pub(super) fn bench_config(
    config: &Config,
    sim_url: &str,
    concurrency: u32,
    key: &SecretKey,
) -> Config {
    let mut c = config.clone();
    c.graph.base_url = Some(sim_url.to_string());
    c.graph
        .app_id
        .get_or_insert_with(|| "1000000000".to_string());
    c.sync.concurrency = concurrency;
    c.sync.syncs_per_minute = 0;
    c.sync.backoff = Duration::from_secs(1);
    c.secret_key = Some(key.clone());
    c
}

pub(super) async fn engine_for(
    config: &Config,
    store: DynStore,
    key: &SecretKey,
) -> anyhow::Result<Engine> {
    Ok(Engine::new(EngineConfig {
        store,
        graph: crate::cmd::graph::clients(config)?,
        cipher: Some(Cipher::new(key)),
        settings: config.sync.clone(),
        clock: Clock::system(),
    })?)
}

/// One full sync of the simulator's fleet on `db` with `workers` workers.
pub(super) async fn measure_fleet(
    db: &BenchDb,
    sim: &SimProcess,
    config: &Config,
    args: &BenchArgs,
    accounts: usize,
    workers: u32,
) -> anyhow::Result<FleetRun> {
    let key = SecretKey::generate()?;
    let cfg = bench_config(config, &sim.url, args.concurrency, &key);
    let store = db.open().await?;
    let sim_accounts = sim.accounts().await?;
    let ids = register(
        &store,
        &Cipher::new(&key),
        &sim_accounts[..accounts.min(sim_accounts.len())],
    )
    .await?;
    let mut engines = Vec::new();
    for _ in 0..workers {
        // Each worker has its own connection pool, as separate processes would.
        engines.push(engine_for(&cfg, db.open().await?, &key).await?);
    }
    sim.reset().await?;
    reset_peak_rss();
    let cpu_before = cpu_time();
    let started = Instant::now();
    for id in &ids {
        engines[0].enqueue_sync(*id, Plan::Full, "bench").await?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut handles = Vec::new();
    for engine in &engines {
        let engine = engine.clone();
        let mut rx = stop_rx.clone();
        handles.push(tokio::spawn(async move {
            engine
                .run_worker(async move {
                    let _ = rx.wait_for(|s| *s).await;
                })
                .await
        }));
    }
    let runs = loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let runs = store
            .sync_runs_list(RunQuery {
                limit: 100_000,
                ..Default::default()
            })
            .await?;
        let finished = runs
            .iter()
            .filter(|r| r.status != RunStatus::Running)
            .count();
        if runs.len() >= ids.len() && finished >= ids.len() {
            break runs;
        }
        if started.elapsed() > Duration::from_secs(3600) {
            bail!("the fleet sync did not finish within an hour");
        }
    };
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let peak = peak_rss_mib();
    let _ = stop_tx.send(true);
    for h in handles {
        h.await??;
    }
    let stats = sim.stats().await?;
    // One account: the pages its media step listed, for its critical path.
    let listing_pages = match runs.as_slice() {
        [run] => store
            .sync_run_get(run.id)
            .await?
            .and_then(|(_, steps)| steps.into_iter().find(|s| s.step == "media"))
            .and_then(|s| s.detail["pages"].as_u64()),
        _ => None,
    };
    Ok(FleetRun {
        dialect: dialect(&db.url),
        workers,
        concurrency: args.concurrency,
        accounts: ids.len(),
        media: args.media,
        latency_ms: args.latency_ms,
        wall,
        requests: stats["requests_total"].as_u64().unwrap_or(0),
        units: stats["rate_limit_units_total"].as_u64().unwrap_or(0),
        rows: runs.iter().map(|r| r.rows_written).sum(),
        cpu,
        peak_rss_mib: peak,
        failed_runs: runs
            .iter()
            .filter(|r| r.status != RunStatus::Succeeded)
            .count(),
        listing_pages,
        account_concurrency: cfg.sync.account_concurrency,
    })
}

pub(super) fn print_fleet_table(runs: &[FleetRun]) {
    println!(
        "{:<9} {:>7} {:>5} {:>9} {:>8} {:>9} {:>10} {:>10} {:>7} {:>8} {:>9} {:>7}",
        "DATABASE",
        "WORKERS",
        "CONC",
        "ACCOUNTS",
        "WALL s",
        "REQUESTS",
        "UNITS",
        "ROWS",
        "CPU s",
        "RSS MiB",
        "BOUND s",
        "RATIO"
    );
    for r in runs {
        let lb = r.lower_bound().as_secs_f64();
        println!(
            "{:<9} {:>7} {:>5} {:>9} {:>8.1} {:>9} {:>10} {:>10} {:>7.1} {:>8.1} {:>9.1} {:>7.2}",
            r.dialect,
            r.workers,
            r.concurrency,
            r.accounts,
            r.wall.as_secs_f64(),
            r.requests,
            r.units,
            r.rows,
            r.cpu.as_secs_f64(),
            r.peak_rss_mib,
            lb,
            if lb > 0.0 {
                r.wall.as_secs_f64() / lb
            } else {
                0.0
            }
        );
        if r.failed_runs > 0 {
            println!("          {} run(s) did not succeed", r.failed_runs);
        }
        if let (Some(pages), Some(critical)) = (r.listing_pages, r.critical_path()) {
            println!(
                "          one account: {:.2} s wall for {} requests; critical path ({pages} listing \
                 pages + 2 round trips) x {} ms = {:.2} s; ratio {:.2}",
                r.wall.as_secs_f64(),
                r.requests,
                r.latency_ms,
                critical.as_secs_f64(),
                r.wall.as_secs_f64() / critical.as_secs_f64().max(f64::EPSILON),
            );
        }
    }
}

pub(crate) async fn sync_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
    eprintln!(
        "sync: {} accounts x {} posts at {} ms latency, concurrency {} per worker, {} requests \
         in flight per account, start limiter off",
        args.accounts,
        args.media,
        args.latency_ms,
        args.concurrency,
        config.sync.account_concurrency
    );
    let sim = SimProcess::start(args.accounts, args.media, args.latency_ms, 7).await?;
    let mut runs = Vec::new();
    let db = BenchDb::sqlite("sync").await?;
    runs.push(measure_fleet(&db, &sim, config, args, args.accounts, 1).await?);
    db.drop_db().await;
    if !args.sqlite_only {
        let server = postgres_url(args)?;
        for workers in &args.workers {
            let db = BenchDb::postgres(&server).await?;
            runs.push(measure_fleet(&db, &sim, config, args, args.accounts, *workers).await?);
            db.drop_db().await;
        }
    }
    // Wall time against fleet size, on SQLite, for the chart.
    let mut sizes = Vec::new();
    for n in fleet_sizes(args.accounts) {
        if n == args.accounts {
            sizes.push(json!({ "accounts": n, "wall_s": secs(runs[0].wall), "lower_bound_s": secs(runs[0].lower_bound()) }));
            continue;
        }
        let db = BenchDb::sqlite(&format!("size{n}")).await?;
        let r = measure_fleet(&db, &sim, config, args, n, 1).await?;
        db.drop_db().await;
        sizes.push(json!({ "accounts": n, "wall_s": secs(r.wall), "lower_bound_s": secs(r.lower_bound()) }));
    }
    sim.stop().await;
    print_fleet_table(&runs);
    let svg = fleet_chart(&sizes, args);
    let chart = PathBuf::from("bench-results/sync-wall-time.svg");
    std::fs::write(&chart, svg).context("cannot write the chart")?;
    eprintln!("wrote {}", chart.display());
    Ok(json!({ "runs": runs.iter().map(FleetRun::json).collect::<Vec<_>>(), "fleet_sizes": sizes }))
}

pub(super) fn fleet_sizes(max: usize) -> Vec<usize> {
    let mut v: Vec<usize> = [max / 10, max / 4, max / 2, max]
        .into_iter()
        .filter(|n| *n >= 1)
        .collect();
    v.dedup();
    v
}

pub(super) fn postgres_url(args: &BenchArgs) -> anyhow::Result<String> {
    Ok(args
        .postgres_url
        .clone()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string()))
}
