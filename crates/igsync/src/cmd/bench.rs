//! `igsync bench`: measured figures for `docs/benchmarks.md`.
//!
//! Every scenario runs against the simulator in a child process (so its CPU and memory are
//! not counted as igsync's), prints a table and writes JSON:
//! - `sync`: a fleet full sync through the real queue on SQLite and on PostgreSQL with 1..N
//!   workers, compared with the lower bound (round trips ÷ concurrency × latency);
//! - `naive`: the original specifications' one-request-per-post reading, side by side with
//!   igsync on the same simulator;
//! - `ingest`: bulk upsert of media insight snapshots, rows/s;
//! - `report`: report latency for an account with 10,000 posts and a year of daily metrics;
//! - `api`: requests/s of the overview JSON, loaded from a second process, alone and beside
//!   a flood of wrong secrets from a third process (from one host, and from 20 hosts).

use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use serde_json::{Value, json};
use store::{
    AccountType, Cipher, DynStore, InsightBatch, InsightSnapshot, LoginKind, MediaBatch,
    MediaRecord, MediaType, NewAccount, ProductType, RunQuery, RunStatus, SecretKey, SecretString,
};
use sync::{Clock, Engine, EngineConfig, Plan};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::cli::{BenchArgs, BenchScenario};
use crate::config::Config;

pub(crate) async fn run(args: BenchArgs, config: &Config) -> anyhow::Result<ExitCode> {
    if args.accounts == 0 || args.media == 0 || args.concurrency == 0 {
        bail!("--accounts, --media and --concurrency must be at least 1");
    }
    if args.workers.is_empty() || args.workers.iter().any(|w| *w == 0 || *w > 16) {
        bail!("--workers must list worker counts from 1 to 16, e.g. 1,2");
    }
    let out_dir = PathBuf::from("bench-results");
    std::fs::create_dir_all(&out_dir).context("cannot create bench-results/")?;
    let scenarios: Vec<BenchScenario> = match args.scenario {
        BenchScenario::All => vec![
            BenchScenario::Ingest,
            BenchScenario::Report,
            BenchScenario::Api,
            BenchScenario::Sync,
            BenchScenario::Naive,
        ],
        one => vec![one],
    };
    let mut all = serde_json::Map::new();
    all.insert("machine".into(), machine());
    for scenario in scenarios {
        let (name, value) = match scenario {
            BenchScenario::Sync => ("sync", sync_scenario(&args, config).await?),
            BenchScenario::Naive => ("naive", naive_scenario(&args, config).await?),
            BenchScenario::Ingest => ("ingest", ingest_scenario(&args).await?),
            BenchScenario::Report => ("report", report_scenario(&args, config).await?),
            BenchScenario::Api => ("api", api_scenario(&args).await?),
            BenchScenario::All => unreachable!("expanded above"),
        };
        let path = out_dir.join(format!("{name}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&value)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
        all.insert(name.into(), value);
    }
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&Value::Object(all))?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

// ----- process figures -----

/// CPU time (user + system) of this process so far.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// Peak resident set size of this process since the last [`reset_peak_rss`], in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    json!({ "cpu": cpu, "cores": cores, "memory_gib": (mem_gib * 10.0).round() / 10.0,
            "igsync": env!("CARGO_PKG_VERSION") })
}

// ----- the simulator in a child process -----

/// `igsync simulate` running as a child process; killed on drop.
struct SimProcess {
    child: tokio::process::Child,
    url: String,
    http: reqwest::Client,
}

impl SimProcess {
    async fn start(
        accounts: usize,
        media: usize,
        latency_ms: u64,
        seed: u64,
    ) -> anyhow::Result<SimProcess> {
        let exe = std::env::current_exe().context("cannot find the igsync executable")?;
        let port = free_port()?;
        let mut child = tokio::process::Command::new(exe)
            .args(["simulate", "--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--accounts",
                &accounts.to_string(),
                "--media",
                &media.to_string(),
            ])
            .args([
                "--latency-ms",
                &latency_ms.to_string(),
                "--seed",
                &seed.to_string(),
            ])
            .env("IGSYNC_LOG_LEVEL", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the simulator")?;
        let stdout = child.stdout.take().context("simulator stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("Graph API simulator listening on ") {
                    return Ok::<_, anyhow::Error>(
                        rest.split_whitespace().next().unwrap_or("").to_string(),
                    );
                }
            }
            bail!("the simulator exited before listening")
        })
        .await
        .context("the simulator did not start within 60 s")??;
        // Keep draining its output so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(SimProcess {
            child,
            url,
            http: reqwest::Client::new(),
        })
    }

    async fn accounts(&self) -> anyhow::Result<Vec<Value>> {
        let v: Value = self
            .http
            .get(format!("{}/__sim/accounts", self.url))
            .send()
            .await?
            .json()
            .await?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }

    async fn stats(&self) -> anyhow::Result<Value> {
        Ok(self
            .http
            .get(format!("{}/__sim/stats", self.url))
            .send()
            .await?
            .json()
            .await?)
    }

    async fn reset(&self) -> anyhow::Result<()> {
        self.http
            .post(format!("{}/__sim/reset", self.url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

// ----- databases -----

/// A fresh database for one measurement: a SQLite file or a scratch PostgreSQL database.
struct BenchDb {
    url: String,
    scratch: Option<(String, String)>,
    _dir: Option<PathBuf>,
}

impl BenchDb {
    async fn sqlite(label: &str) -> anyhow::Result<BenchDb> {
        let dir = std::env::temp_dir().join(format!("igsync-bench-{}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(BenchDb {
            url: format!("sqlite://{}", dir.join("bench.db").display()),
            scratch: None,
            _dir: Some(dir),
        })
    }

    async fn postgres(server_url: &str) -> anyhow::Result<BenchDb> {
        let (url, name) = store_postgres::scratch::create_database(server_url, "bench")
            .await
            .context(
                "cannot create a scratch PostgreSQL database (set DATABASE_URL or --sqlite-only)",
            )?;
        Ok(BenchDb {
            url,
            scratch: Some((server_url.to_string(), name)),
            _dir: None,
        })
    }

    async fn open(&self) -> anyhow::Result<DynStore> {
        crate::db::open(&self.url).await
    }

    async fn drop_db(self) {
        if let Some((server, name)) = &self.scratch {
            let _ = store_postgres::scratch::drop_database(server, name).await;
        }
        if let Some(dir) = &self._dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn dialect(url: &str) -> &'static str {
    if url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    }
}

// ----- sync -----

struct FleetRun {
    dialect: &'static str,
    workers: u32,
    concurrency: u32,
    accounts: usize,
    media: usize,
    latency_ms: u64,
    wall: Duration,
    requests: u64,
    units: u64,
    rows: i64,
    cpu: Duration,
    peak_rss_mib: f64,
    failed_runs: usize,
}

impl FleetRun {
    fn lower_bound(&self) -> Duration {
        let parallel = (self.workers * self.concurrency).max(1) as f64;
        Duration::from_secs_f64(self.requests as f64 / parallel * self.latency_ms as f64 / 1000.0)
    }

    fn json(&self) -> Value {
        let lb = self.lower_bound().as_secs_f64();
        json!({
            "database": self.dialect, "workers": self.workers, "concurrency_per_worker": self.concurrency,
            "syncs_per_minute_limit": "off", "accounts": self.accounts, "media_per_account": self.media,
            "latency_ms": self.latency_ms, "wall_s": secs(self.wall), "api_requests": self.requests,
            "rate_limit_units": self.units, "rows_written": self.rows, "cpu_s": secs(self.cpu),
            "peak_rss_mib": round1(self.peak_rss_mib), "lower_bound_s": round2(lb),
            "ratio_to_lower_bound": if lb > 0.0 { round2(self.wall.as_secs_f64() / lb) } else { 0.0 },
            "failed_runs": self.failed_runs,
        })
    }
}

fn secs(d: Duration) -> f64 {
    round2(d.as_secs_f64())
}
fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Registers the simulator's accounts in `store` with tokens sealed by `cipher`.
async fn register(
    store: &DynStore,
    cipher: &Cipher,
    accounts: &[Value],
) -> anyhow::Result<Vec<i64>> {
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

fn bench_config(config: &Config, sim_url: &str, concurrency: u32, key: &SecretKey) -> Config {
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

async fn engine_for(config: &Config, store: DynStore, key: &SecretKey) -> anyhow::Result<Engine> {
    Ok(Engine::new(EngineConfig {
        store,
        graph: super::graph::clients(config)?,
        cipher: Some(Cipher::new(key)),
        settings: config.sync.clone(),
        clock: Clock::system(),
    })?)
}

/// One full sync of the simulator's fleet on `db` with `workers` workers.
async fn measure_fleet(
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
    })
}

fn print_fleet_table(runs: &[FleetRun]) {
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
    }
}

async fn sync_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
    eprintln!(
        "sync: {} accounts x {} posts at {} ms latency, concurrency {} per worker, start limiter off",
        args.accounts, args.media, args.latency_ms, args.concurrency
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

fn fleet_sizes(max: usize) -> Vec<usize> {
    let mut v: Vec<usize> = [max / 10, max / 4, max / 2, max]
        .into_iter()
        .filter(|n| *n >= 1)
        .collect();
    v.dedup();
    v
}

fn postgres_url(args: &BenchArgs) -> anyhow::Result<String> {
    Ok(args
        .postgres_url
        .clone()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string()))
}

/// A small SVG line chart of wall time and the lower bound against fleet size.
fn fleet_chart(points: &[Value], args: &BenchArgs) -> String {
    let (w, h, left, bottom, top, right) = (640.0, 360.0, 60.0, 300.0, 30.0, 610.0);
    let max_x = points
        .iter()
        .filter_map(|p| p["accounts"].as_f64())
        .fold(1.0, f64::max);
    let max_y = points
        .iter()
        .flat_map(|p| {
            [
                p["wall_s"].as_f64().unwrap_or(0.0),
                p["lower_bound_s"].as_f64().unwrap_or(0.0),
            ]
        })
        .fold(1.0, f64::max)
        * 1.1;
    let x = |v: f64| left + v / max_x * (right - left);
    let y = |v: f64| bottom - v / max_y * (bottom - top);
    let line = |key: &str| {
        points
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    x(p["accounts"].as_f64().unwrap_or(0.0)),
                    y(p[key].as_f64().unwrap_or(0.0))
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\
         <title>igsync full-sync wall time against fleet size</title>\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\
         <text x=\"{left}\" y=\"18\" font-size=\"13\">Full sync wall time vs fleet size: {} posts/account, {} ms latency, {} at a time, SQLite</text>\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"#333\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        args.media, args.latency_ms, args.concurrency
    );
    for i in 0..=4 {
        let v = max_y * i as f64 / 4.0;
        svg.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{:.0} s</text><line x1=\"{left}\" y1=\"{:.1}\" x2=\"{right}\" y2=\"{:.1}\" stroke=\"#ddd\"/>",
            left - 6.0, y(v) + 4.0, v, y(v), y(v)
        ));
    }
    for p in points {
        let n = p["accounts"].as_f64().unwrap_or(0.0);
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{n:.0}</text>",
            x(n),
            bottom + 18.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">accounts</text>\
         <polyline fill=\"none\" stroke=\"#1f6feb\" stroke-width=\"2.5\" points=\"{}\"/>\
         <polyline fill=\"none\" stroke=\"#999\" stroke-width=\"2\" stroke-dasharray=\"6 4\" points=\"{}\"/>\
         <text x=\"{:.0}\" y=\"48\" fill=\"#1f6feb\">— measured wall time</text>\
         <text x=\"{:.0}\" y=\"64\" fill=\"#777\">- - lower bound (round trips ÷ concurrency × latency)</text></svg>\n",
        (left + right) / 2.0, bottom + 40.0, line("wall_s"), line("lower_bound_s"), left + 12.0, left + 12.0
    ));
    svg
}

// ----- naive -----

async fn naive_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
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
    let clients = super::graph::clients(&cfg)?;
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

// ----- ingest -----

async fn ingest_scenario(args: &BenchArgs) -> anyhow::Result<Value> {
    let mut out = Vec::new();
    let mut targets = vec![BenchDb::sqlite("ingest").await?];
    if !args.sqlite_only {
        targets.push(BenchDb::postgres(&postgres_url(args)?).await?);
    }
    for db in targets {
        let store = db.open().await?;
        let key = SecretKey::generate()?;
        let account = store
            .account_upsert(NewAccount {
                ig_user_id: "17841400000000001".into(),
                username: "bench".into(),
                name: None,
                account_type: AccountType::Business,
                login: LoginKind::Facebook,
                page_id: None,
                timezone: None,
                token: Cipher::new(&key).encrypt(&SecretString::new("t"))?,
                token_expires_at: None,
                now: Utc::now(),
            })
            .await?;
        let n_media = 2_000usize;
        let base = Utc::now() - chrono::Duration::days(400);
        let media: Vec<MediaRecord> = (0..n_media)
            .map(|i| MediaRecord {
                ig_media_id: format!("1790000{i:010}"),
                media_type: MediaType::Image,
                product_type: ProductType::Feed,
                published_at: base + chrono::Duration::hours(i as i64 * 4),
                caption: None,
                permalink: None,
                media_url: None,
                thumbnail_url: None,
                shortcode: None,
                like_count: Some(1),
                comments_count: Some(1),
                children: vec![],
            })
            .collect();
        store
            .media_apply(MediaBatch {
                account_id: account.id,
                seen_at: Utc::now(),
                upserts: media,
                deleted: vec![],
            })
            .await?;
        let metrics = [
            "reach",
            "views",
            "likes",
            "comments",
            "saved",
            "shares",
            "total_interactions",
            "follows",
            "profile_visits",
            "reposts",
        ];
        let batches = 20usize;
        let mut rows_total = 0u64;
        let started = Instant::now();
        for b in 0..batches {
            let captured_at = Utc::now() - chrono::Duration::hours((batches - b) as i64);
            let rows: Vec<InsightSnapshot> = (0..n_media)
                .flat_map(|i| {
                    metrics.iter().map(move |m| InsightSnapshot {
                        ig_media_id: format!("1790000{i:010}"),
                        metric: (*m).to_string(),
                        breakdown: String::new(),
                        captured_at,
                        value: (i * 7 + b) as f64,
                    })
                })
                .collect();
            rows_total += rows.len() as u64;
            store
                .media_insights_apply(InsightBatch {
                    account_id: account.id,
                    captured_at,
                    rows,
                    errors: vec![],
                })
                .await?;
        }
        let wall = started.elapsed();
        let rate = rows_total as f64 / wall.as_secs_f64();
        println!(
            "ingest {:<9} {:>9} rows in {:>6.2} s = {:>9.0} rows/s (batches of {} rows, one transaction each)",
            store.dialect(),
            rows_total,
            wall.as_secs_f64(),
            rate,
            n_media * metrics.len()
        );
        out.push(json!({ "database": store.dialect(), "rows": rows_total, "batch_rows": n_media * metrics.len(),
                         "wall_s": round2(wall.as_secs_f64()), "rows_per_s": rate.round() }));
        db.drop_db().await;
    }
    Ok(json!({ "runs": out }))
}

// ----- report -----

async fn report_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
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

/// p50 and p95 of some samples (sorted in place).
fn percentiles(samples: &mut [f64]) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |q: usize| samples[(samples.len() * q / 100).min(samples.len() - 1)];
    (at(50), at(95))
}

// ----- api -----

async fn api_scenario(_args: &BenchArgs) -> anyhow::Result<Value> {
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
    let (_, api_key) = server::auth::create_api_key(&*store, "bench")
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
        let (_, target) = server::auth::create_api_key(&*store, &format!("flood target {hosts}"))
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
struct LoadRun(tokio::process::Child);

impl LoadRun {
    /// Its figures, once it has run its 10 s.
    async fn wait(self) -> anyhow::Result<Value> {
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
async fn run_load(
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

fn load_per_s(v: &Value) -> f64 {
    v["requests_per_s"].as_f64().unwrap_or(0.0)
}

fn print_load(what: &str, v: &Value) {
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
fn wrong_secret(key: &str) -> String {
    let mut wrong = key.to_owned();
    let last = wrong.pop().unwrap_or('0');
    wrong.push(if last == '0' { '1' } else { '0' });
    wrong
}

/// How many loopback addresses the load generator spreads its connections over (set by the
/// benchmark for its flood; 1 when unset).
const LOAD_HOSTS_ENV: &str = "IGSYNC_BENCH_LOAD_HOSTS";

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
