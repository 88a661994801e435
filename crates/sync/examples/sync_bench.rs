//! Benchmark of full syncs against the simulator over real HTTP: wall time, API requests,
//! rate-limit units, rows written and peak RSS, compared with the lower bound
//! `round trips ÷ (workers × concurrency) × latency`.
//!
//! ```text
//! cargo run --release -p sync --example sync_bench -- \
//!     --dialect sqlite|postgres --workers 1 --concurrency 16 \
//!     --accounts 100 --media 1000 --latency-ms 100
//! cargo run --release -p sync --example sync_bench -- --history   # history loader timing
//! ```
//!
//! PostgreSQL runs use a fresh database on the server of `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`), dropped afterwards.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use graph::{GraphClient, GraphConfig};
use simulator::{SimConfig, SimServer};
use sqlx::{Connection, PgConnection};
use store::{Cipher, DynStore, NewAccount, SecretKey, SecretString, SyncStatus};
use sync::{Clock, Engine, EngineConfig, HistoryWindow, Plan, SyncSettings, graph_clients};

struct Args {
    dialect: String,
    workers: usize,
    concurrency: u32,
    accounts: usize,
    media: usize,
    latency_ms: u64,
    syncs_per_minute: u32,
    history: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        dialect: "sqlite".into(),
        workers: 1,
        concurrency: 16,
        accounts: 100,
        media: 1000,
        latency_ms: 100,
        syncs_per_minute: 0,
        history: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--dialect" => a.dialect = value()?,
            "--workers" => a.workers = value()?.parse().map_err(|e| format!("--workers: {e}"))?,
            "--concurrency" => {
                a.concurrency = value()?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            "--accounts" => {
                a.accounts = value()?.parse().map_err(|e| format!("--accounts: {e}"))?
            }
            "--media" => a.media = value()?.parse().map_err(|e| format!("--media: {e}"))?,
            "--latency-ms" => {
                a.latency_ms = value()?.parse().map_err(|e| format!("--latency-ms: {e}"))?
            }
            "--syncs-per-minute" => {
                a.syncs_per_minute = value()?
                    .parse()
                    .map_err(|e| format!("--syncs-per-minute: {e}"))?
            }
            "--history" => a.history = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !["sqlite", "postgres"].contains(&a.dialect.as_str()) {
        return Err("--dialect must be sqlite or postgres".into());
    }
    if a.workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    Ok(a)
}

/// A fresh database; returns its URL and a cleanup hint.
async fn fresh_database(dialect: &str) -> (String, Option<String>) {
    let tag = format!(
        "igsync_bench_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    if dialect == "sqlite" {
        let dir = std::env::temp_dir().join(&tag);
        std::fs::create_dir_all(&dir).unwrap();
        return (format!("sqlite://{}", dir.join("bench.db").display()), None);
    }
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
        panic!("PostgreSQL unreachable ({e}); set DATABASE_URL=postgres://USER@HOST:PORT/DB")
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{tag}\"")))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    (format!("{base}/{tag}"), Some(tag))
}

async fn drop_database(name: &str) {
    let admin = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = PgConnection::connect(&admin).await.unwrap();
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await;
}

async fn open(url: &str) -> DynStore {
    let store: DynStore = if url.starts_with("sqlite:") {
        Arc::new(store_sqlite::SqliteStore::open(url).await.unwrap())
    } else {
        Arc::new(
            store_postgres::PostgresStore::connect_with(
                url,
                store_postgres::PostgresOptions {
                    max_connections: 20,
                    ..Default::default()
                },
            )
            .await
            .unwrap(),
        )
    };
    store.migrate().await.unwrap();
    store
}

fn client(login: graph::LoginKind, url: &str) -> GraphClient {
    let cfg = GraphConfig::builder(login, "1234567890")
        .base_url(url.to_string())
        .version(graph::ApiVersion::V25)
        .app_secret("bench-app-secret")
        .build()
        .unwrap();
    GraphClient::new(cfg).unwrap()
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("sync_bench: {e}");
            std::process::exit(2);
        }
    };
    let (accounts, media, latency) = if args.history {
        (1, 10_000, 0)
    } else {
        (args.accounts, args.media, args.latency_ms)
    };
    let mut sim_config = SimConfig::new(7, accounts, media).with_latency_ms(latency);
    if args.history {
        sim_config.history_days = 365;
    }
    let sim = SimServer::start(sim_config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let (url, pg_name) = fresh_database(&args.dialect).await;
    let store = open(&url).await;
    let cipher = Cipher::new(&SecretKey::generate().unwrap());
    let clients = graph_clients([
        client(graph::LoginKind::Facebook, &sim.url()),
        client(graph::LoginKind::Instagram, &sim.url()),
    ]);
    for a in sim.accounts() {
        store
            .account_upsert(NewAccount {
                ig_user_id: a.ig_user_id.clone(),
                username: a.username.clone(),
                name: Some(a.name.clone()),
                account_type: store::AccountType::Business,
                login: match a.login {
                    simulator::LoginKind::Facebook => store::LoginKind::Facebook,
                    simulator::LoginKind::Instagram => store::LoginKind::Instagram,
                },
                page_id: a.page_id.clone(),
                timezone: None,
                token: cipher
                    .encrypt(&SecretString::new(a.access_token.clone()))
                    .unwrap(),
                token_expires_at: Some(a.token_expires_at),
                now: sim.now(),
            })
            .await
            .unwrap();
    }
    let settings = SyncSettings {
        concurrency: args.concurrency,
        syncs_per_minute: args.syncs_per_minute,
        poll_interval: Duration::from_millis(100),
        account_insights_backfill_days: if args.history { 365 } else { 90 },
        ..SyncSettings::default()
    };
    let mut engines = Vec::new();
    for i in 0..args.workers {
        let s = if i == 0 {
            store.clone()
        } else {
            open(&url).await
        };
        engines.push(
            Engine::new(EngineConfig {
                store: s,
                graph: clients.clone(),
                cipher: Some(cipher.clone()),
                settings: settings.clone(),
                clock: Clock::system(),
            })
            .unwrap(),
        );
    }

    engines[0].enqueue_all(Plan::Full, "bench").await.unwrap();
    let started = Instant::now();
    let results = futures_join_all(
        engines
            .iter()
            .map(|e| {
                let e = e.clone();
                async move { e.run_until_idle().await }
            })
            .collect::<Vec<_>>(),
    )
    .await;
    let wall = started.elapsed();
    let completed: u64 = results
        .iter()
        .map(|r| r.as_ref().map(|s| s.completed).unwrap_or(0))
        .sum();

    let stats = sim.stats();
    let totals = store.totals().await.unwrap();
    let runs = store
        .sync_runs_list(store::RunQuery {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let rows: i64 = runs.iter().map(|r| r.rows_written).sum();
    let all = store.account_list().await.unwrap();
    let idle = all.iter().filter(|a| a.status == SyncStatus::Idle).count();
    let slots = args.workers as f64 * args.concurrency as f64;
    let bound = stats.requests_total as f64 / slots * latency as f64 / 1000.0;
    println!("dialect            {}", args.dialect);
    println!("workers × slots    {} × {}", args.workers, args.concurrency);
    println!(
        "syncs per minute   {} (0 = no limit)",
        args.syncs_per_minute
    );
    println!(
        "accounts × posts   {} × {} (stored: {} posts)",
        accounts, media, totals.media
    );
    println!("latency            {latency} ms");
    println!("accounts synced    {idle} of {}", all.len());
    println!("jobs completed     {completed}");
    println!("wall time          {:.1} s", wall.as_secs_f64());
    println!("API requests       {}", stats.requests_total);
    println!(
        "API calls          {} (batched operations counted)",
        stats.calls_total
    );
    println!("rate-limit units   {}", stats.rate_limit_units_total);
    println!("rows written       {rows}");
    println!(
        "insight snapshots  {} media, {} stories; {} account insight values",
        totals.media_insight_snapshots, totals.story_insight_snapshots, totals.account_insight_days
    );
    println!(
        "peak RSS           {:.0} MB (engine and simulator in one process)",
        peak_rss_mb()
    );
    if latency > 0 {
        println!(
            "lower bound        {bound:.1} s  (requests ÷ slots × latency); ratio {:.2}",
            wall.as_secs_f64() / bound
        );
    }

    // Where the time went: per step, the sum over accounts of (finish − start).
    let mut per_step: std::collections::BTreeMap<i32, (String, f64, i64)> = Default::default();
    for r in &runs {
        if let Some((_, steps)) = store.sync_run_get(r.id).await.unwrap() {
            for st in steps {
                let secs = st
                    .finished_at
                    .map(|f| (f - st.started_at).num_milliseconds() as f64 / 1000.0)
                    .unwrap_or(0.0);
                let e = per_step
                    .entry(st.position)
                    .or_insert((st.step.clone(), 0.0, 0));
                e.1 += secs;
                e.2 += st.api_calls;
            }
        }
    }
    for (name, secs, calls) in per_step.values() {
        println!(
            "  step {name:<17} {secs:>8.1} s summed over accounts, {calls:>5} requests ({:.0} ms per request)",
            secs * 1000.0 / (*calls).max(1) as f64
        );
    }

    if args.history {
        let id = all[0].id;
        let now = chrono::Utc::now();
        for days in [30, 365] {
            let mut times = Vec::new();
            let mut posts = 0;
            for _ in 0..7 {
                let t = Instant::now();
                let h = sync::load_account_history(
                    store.as_ref(),
                    id,
                    HistoryWindow::trailing(now, days),
                )
                .await
                .unwrap();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                posts = h.posts.len();
                assert!(h.daily_metrics.len() > 100);
            }
            times.sort_by(f64::total_cmp);
            // The store calls the loader makes, timed one by one.
            let t = Instant::now();
            let media = store
                .media_list(store::MediaQuery {
                    account_id: Some(id),
                    include_deleted: true,
                    ..Default::default()
                })
                .await
                .unwrap();
            let t_media = t.elapsed().as_secs_f64() * 1000.0;
            let from = now - chrono::Duration::days(days);
            let ids: Vec<String> = media
                .iter()
                .filter(|m| m.record.published_at >= from)
                .map(|m| m.record.ig_media_id.clone())
                .collect();
            let t = Instant::now();
            let rows = store.media_insight_history(&ids, &[]).await.unwrap();
            let t_hist = t.elapsed().as_secs_f64() * 1000.0;
            let t = Instant::now();
            let d = store
                .account_insight_days(id, &[], from.date_naive(), now.date_naive())
                .await
                .unwrap();
            let t_days = t.elapsed().as_secs_f64() * 1000.0;
            println!(
                "  store: media_list {} rows {t_media:.1} ms; snapshot history of {} posts {} rows {t_hist:.1} ms; account days {} rows {t_days:.1} ms",
                media.len(),
                ids.len(),
                rows.len(),
                d.len()
            );
            println!(
                "history {days:>3} days  {posts} posts: median {:.1} ms, max {:.1} ms",
                times[times.len() / 2],
                times[times.len() - 1]
            );
        }
    }

    sim.shutdown().await;
    if let Some(name) = pg_name {
        drop(engines);
        drop(store);
        drop_database(&name).await;
    }
}

/// Waits for every future (a small join_all so the example needs no extra crate).
async fn futures_join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut out = Vec::new();
    let mut handles = Vec::new();
    for f in futures {
        handles.push(tokio::spawn(f));
    }
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
