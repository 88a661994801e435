//! The `day` scenario: a simulated day of a fleet in compressed time. A long-tailed fleet
//! (median 150 posts, a few accounts at 4,950; stories on 40 % of the accounts) is backfilled,
//! then the default schedules run for `--hours` simulated hours.
//!
//! One virtual clock: the bench moves the simulator's clock (`/__sim/clock`), the engine's
//! manual clock and the Graph clients' clock by the same step, fires the schedules that are
//! due, then lets the workers run until no job is due or running, and steps again. Within a
//! step the clock stands still. The workers are in-process tasks, each engine with its own
//! connection pool (as separate `igsync worker` processes would have); the simulator runs in
//! a child process so its CPU is not igsync's.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use store::{
    AccountId, Cipher, DynStore, JobQuery, JobState, MediaQuery, RunQuery, RunStatus, SecretKey,
};
use sync::{Clock, Engine, EngineConfig, Plan};

use crate::cli::{BenchArgs, BenchDbKind, BenchPreset};
use crate::config::Config;

use super::fleet::{postgres_url, register};
use super::{chart::figure_chart, db::*, probe::*, sim::*, *};

/// Median posts per account of the fleet.
const MEDIAN_POSTS: usize = 150;
/// Share of the accounts that publish stories.
const STORY_SHARE: f64 = 0.4;
/// The simulator's seed.
const SEED: u64 = 21;

/// What one day run is asked to do.
#[derive(Debug, Clone)]
pub(crate) struct DayPlan {
    pub(crate) accounts: usize,
    pub(crate) hours: u32,
    pub(crate) step_minutes: u32,
    pub(crate) workers: Vec<u32>,
    pub(crate) sizes: Vec<usize>,
    pub(crate) concurrency: u32,
    pub(crate) db: BenchDbKind,
    /// When the simulated world's clock starts (the backfill's instant).
    pub(crate) start: DateTime<Utc>,
}

impl DayPlan {
    pub(crate) fn from_args(args: &BenchArgs) -> anyhow::Result<DayPlan> {
        let mut plan = DayPlan {
            accounts: args.accounts,
            hours: args.hours,
            step_minutes: args.step_minutes,
            workers: args.workers.clone(),
            sizes: args.fleet_sizes.clone(),
            concurrency: args.concurrency,
            db: args.db,
            start: args.start.unwrap_or_else(|| next_midnight(Utc::now())),
        };
        if args.preset == Some(BenchPreset::Ci) {
            plan.accounts = 60;
            plan.hours = 6;
            plan.workers = vec![1];
            plan.sizes = Vec::new();
        }
        if plan.hours == 0 || plan.hours > 24 * 7 {
            bail!("--hours must be from 1 to 168, got {}", plan.hours);
        }
        if plan.step_minutes == 0 || plan.step_minutes > 60 {
            bail!(
                "--step-minutes must be from 1 to 60, got {}",
                plan.step_minutes
            );
        }
        if plan.accounts > simulator::MAX_ACCOUNTS
            || plan.sizes.iter().any(|n| *n == 0 || *n > plan.accounts)
        {
            bail!(
                "--fleet-sizes must be from 1 to --accounts ({}), and --accounts at most {}",
                plan.accounts,
                simulator::MAX_ACCOUNTS
            );
        }
        Ok(plan)
    }
}

/// The first midnight UTC after `now`: the default start of a simulated day, so that runs
/// on different hours of the wall clock meet the schedules at the same times of day (the
/// simulated clock runs ahead of the wall clock, as it always has).
fn next_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    today + chrono::Duration::days(1)
}

pub(crate) async fn day_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
    if !args.from_results.is_empty() {
        return from_results(&args.from_results, Path::new("bench-results"));
    }
    let plan = DayPlan::from_args(args)?;
    let mut runs = Vec::new();
    // The smaller fleets first (with the first worker count), then the fleet of --accounts
    // with each worker count.
    let mut sizes: Vec<usize> = plan.sizes.clone();
    sizes.sort_unstable();
    sizes.dedup();
    let partial = |runs: &Vec<Value>| {
        // Each finished run is kept even if a later one fails or is stopped.
        let _ = std::fs::write(
            "bench-results/day-partial.json",
            serde_json::to_string_pretty(runs).unwrap_or_default(),
        );
    };
    for n in sizes.iter().filter(|n| **n != plan.accounts) {
        runs.push(measure_day(&plan, args, config, *n, plan.workers[0]).await?);
        partial(&runs);
    }
    for workers in &plan.workers {
        runs.push(measure_day(&plan, args, config, plan.accounts, *workers).await?);
        partial(&runs);
    }
    print_day_table(&runs);
    write_charts(&runs, plan.workers[0], Path::new("bench-results"))?;
    Ok(json!({
        "database": match plan.db { BenchDbKind::Postgres => "postgres", BenchDbKind::Sqlite => "sqlite" },
        "hours": plan.hours, "step_minutes": plan.step_minutes, "start": plan.start,
        "median_posts": MEDIAN_POSTS, "story_share": STORY_SHARE,
        "concurrency_per_worker": plan.concurrency, "runs": runs,
    }))
}

/// Draws each charted figure against fleet size, from the runs with `workers` workers (one
/// per fleet size, the last one kept), when there are at least two sizes, into `dir`.
fn write_charts(runs: &[Value], workers: u32, dir: &Path) -> anyhow::Result<()> {
    let mut by_size: BTreeMap<u64, &Value> = BTreeMap::new();
    for run in runs {
        if run["workers"].as_u64() == Some(u64::from(workers))
            && let Some(accounts) = run["accounts"].as_u64()
        {
            by_size.insert(accounts, run);
        }
    }
    if by_size.len() < 2 {
        return Ok(());
    }
    for (key, title, unit) in CHARTED {
        let points: Vec<(f64, Option<f64>)> = by_size
            .iter()
            .map(|(accounts, r)| (*accounts as f64, pointer(r, key).and_then(Value::as_f64)))
            .collect();
        let svg = figure_chart(title, unit, &points);
        let path = dir.join(format!(
            "day-{}.svg",
            key.trim_start_matches('/').replace('/', "-")
        ));
        std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// `--from-results`: the runs of earlier `bench day` results, printed and charted together
/// (the first worker count found), without measuring anything.
fn from_results(files: &[PathBuf], charts: &Path) -> anyhow::Result<Value> {
    let mut runs: Vec<Value> = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let value: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", file.display()))?;
        // A whole result holds its runs under "runs"; the partial file is the array itself.
        let Some(found) = value.get("runs").unwrap_or(&value).as_array() else {
            bail!("{} holds no runs of `igsync bench day`", file.display());
        };
        for run in found {
            if run["accounts"].as_u64().is_none() || run.get("per_account_day").is_none() {
                bail!(
                    "{} holds a run that is not one of `igsync bench day`",
                    file.display()
                );
            }
            runs.push(run.clone());
        }
    }
    runs.sort_by_key(|r| (r["accounts"].as_u64(), r["workers"].as_u64()));
    print_day_table(&runs);
    let workers = runs
        .iter()
        .filter_map(|r| r["workers"].as_u64())
        .min()
        .unwrap_or(1);
    write_charts(&runs, u32::try_from(workers).unwrap_or(1), charts)?;
    Ok(json!({
        "from_results": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
        "runs": runs,
    }))
}

/// The figures charted against fleet size: JSON pointer, title, unit.
const CHARTED: [(&str, &str, &str); 7] = [
    (
        "/per_account_day/api_requests",
        "API requests per account-day",
        "requests",
    ),
    (
        "/per_account_day/cpu_s",
        "igsync CPU per account-day",
        "CPU s",
    ),
    (
        "/storage/bytes_per_account_after_backfill",
        "Database bytes per account after the backfill",
        "bytes",
    ),
    (
        "/storage/bytes_per_account_day",
        "Database growth per account-day",
        "bytes",
    ),
    (
        "/freshness/new_posts/lag_p99_s",
        "New posts: publication to capture, p99",
        "s",
    ),
    (
        "/freshness/stories/listed_while_live_share",
        "Stories captured before expiry",
        "share",
    ),
    (
        "/queue/peak_depth",
        "Peak queue depth (due or running jobs)",
        "jobs",
    ),
];

fn pointer<'a>(v: &'a Value, p: &str) -> Option<&'a Value> {
    v.pointer(p)
}

/// The shared virtual clock: the engine's manual clock, the Graph clients' offset clock and
/// the simulator's clock, always moved together.
struct Clocks<'a> {
    engine: Clock,
    graph: Clock,
    sim: &'a SimProcess,
}

impl Clocks<'_> {
    async fn advance(&self, by: chrono::Duration) -> anyhow::Result<()> {
        self.sim.advance(by.num_seconds()).await?;
        self.engine.advance(by);
        self.graph.advance(by);
        Ok(())
    }
}

/// Queue figures sampled while the workers run.
#[derive(Default)]
struct QueueProbe {
    peak_depth: i64,
    snapshots: u64,
    step_walls: Vec<f64>,
}

/// Jobs due (pending with `run_at <= now`) or running: two counts over the pending and
/// running jobs' partial indexes, never the finished jobs a day accumulates.
async fn depth(store: &DynStore, now: DateTime<Utc>) -> anyhow::Result<i64> {
    Ok(store.job_due_count(now).await?)
}

/// Fires the due schedules (with `fire`), then waits until no job is due or running (two
/// samples in a row), sampling the queue depth. Returns the real time it took.
async fn settle(
    engine: &Engine,
    store: &DynStore,
    probe: &mut QueueProbe,
    fire: bool,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    if fire {
        engine.maintain().await?;
    }
    let now = engine.clock().now();
    let mut quiet = 0;
    loop {
        let d = depth(store, now).await?;
        probe.snapshots += 1;
        probe.peak_depth = probe.peak_depth.max(d);
        quiet = if d == 0 { quiet + 1 } else { 0 };
        if quiet >= 2 {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            bail!("a step did not settle within 30 minutes of real time ({d} jobs left)");
        }
        tokio::time::sleep(Duration::from_millis(if d == 0 { 5 } else { 25 })).await;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Bytes of the database: every table with its indexes on PostgreSQL, the file on SQLite.
async fn database_bytes(db: &BenchDb) -> anyhow::Result<(i64, Vec<(String, i64)>)> {
    if let Some(file) = db.sqlite_file() {
        let wal = file.with_extension("db-wal");
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len() as i64).unwrap_or(0);
        return Ok((size(&file) + size(&wal), Vec::new()));
    }
    let tables = store_postgres::scratch::table_bytes(&db.url).await?;
    Ok((tables.iter().map(|(_, b)| b).sum(), tables))
}

/// The database's activity counters (PostgreSQL); None for SQLite, which keeps none.
async fn database_activity(db: &BenchDb) -> anyhow::Result<Option<[i64; 5]>> {
    if db.sqlite_file().is_some() {
        return Ok(None);
    }
    Ok(Some(
        store_postgres::scratch::database_activity(&db.url).await?,
    ))
}

fn stat(stats: &Value, key: &str) -> i64 {
    stats[key].as_i64().unwrap_or(0)
}

fn throttle_codes(stats: &Value) -> HashMap<String, i64> {
    ["80002", "4", "17", "32", "613"]
        .iter()
        .map(|c| {
            (
                c.to_string(),
                stats["errors_by_code"][*c].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

/// p50 and p99 of samples (sorted in place); None when there are none.
fn p50_p99(samples: &mut [f64]) -> (Option<f64>, Option<f64>) {
    if samples.is_empty() {
        return (None, None);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    (Some(round1(at(0.5))), Some(round1(at(0.99))))
}

/// One backfill and `plan.hours` of schedules for `accounts` accounts with `workers` workers.
async fn measure_day(
    plan: &DayPlan,
    args: &BenchArgs,
    config: &Config,
    accounts: usize,
    workers: u32,
) -> anyhow::Result<Value> {
    eprintln!(
        "day: {accounts} accounts (median {MEDIAN_POSTS} posts, long tail), {} h from {} in {} min steps, {workers} worker(s) x {} at a time",
        plan.hours,
        plan.start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        plan.step_minutes,
        plan.concurrency
    );
    let wall_started = Instant::now();
    let sim = SimProcess::start_with(
        accounts,
        MEDIAN_POSTS,
        0,
        SEED,
        &[
            "--sizes".into(),
            "long-tail".into(),
            "--story-share".into(),
            STORY_SHARE.to_string(),
            "--start".into(),
            plan.start
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ],
    )
    .await?;
    let db = match plan.db {
        BenchDbKind::Postgres => BenchDb::postgres(&postgres_url(args)?).await?,
        BenchDbKind::Sqlite => BenchDb::sqlite("day").await?,
    };
    let result = run_day(plan, config, accounts, workers, &sim, &db).await;
    sim.stop().await;
    db.drop_db().await;
    let mut v = result?;
    v["wall_s"] = json!(secs(wall_started.elapsed()));
    Ok(v)
}

async fn run_day(
    plan: &DayPlan,
    config: &Config,
    accounts: usize,
    workers: u32,
    sim: &SimProcess,
    db: &BenchDb,
) -> anyhow::Result<Value> {
    let key = SecretKey::generate()?;
    let mut cfg = config.clone();
    cfg.graph.base_url = Some(sim.url.clone());
    cfg.graph
        .app_id
        .get_or_insert_with(|| "1000000000".to_string());
    cfg.secret_key = Some(key.clone());
    let mut settings = cfg.sync.clone();
    // The shipped schedules, whatever the configuration says: the day measures the defaults.
    let shipped = |key: &str| {
        crate::config::KEYS
            .iter()
            .find(|k| k.key == key)
            .map(|k| k.default.to_string())
            .with_context(|| format!("no default for {key}"))
    };
    settings.full_cron = shipped("sync.full_cron")?;
    settings.light_cron = shipped("sync.light_cron")?;
    settings.token_refresh_cron = shipped("sync.token_refresh_cron")?;
    settings.retention_cron = shipped("sync.retention_cron")?;
    settings.reports_cron = shipped("sync.reports_cron")?;
    settings.competitors.cron = shipped("sync.competitors_cron")?;
    settings.concurrency = plan.concurrency;
    // The start limiter is off: the clock stands still within a step, so N starts a minute
    // would grant N per step. In real time its default keeps 30,000 accounts on the default
    // schedules (`SyncSettings::accounts_served_by_limiter`), see docs/benchmarks.md.
    settings.syncs_per_minute = 0;
    // Polling is in real time: a short interval keeps idle workers from stretching a step.
    settings.poll_interval = Duration::from_millis(20);

    let t0 = sim.now().await?;
    let clocks = Clocks {
        engine: Clock::manual(t0),
        graph: Clock::offset(),
        sim,
    };
    // The Graph clients' clock starts at the simulated start too (it runs in real time
    // between the steps, as Meta's does).
    clocks.graph.advance(t0 - Utc::now());
    let graph = crate::cmd::graph::clients_on(&cfg, &clocks.graph)?;
    let store = db.open().await?;
    let sim_accounts = sim.accounts().await?;
    let ids = register(&store, &Cipher::new(&key), &sim_accounts).await?;
    let mut engines = Vec::new();
    for _ in 0..workers {
        // Each worker has its own connection pool, as separate processes would.
        engines.push(Engine::new(EngineConfig {
            store: db.open().await?,
            graph: graph.clone(),
            cipher: Some(Cipher::new(&key)),
            settings: settings.clone(),
            clock: clocks.engine.clone(),
        })?);
    }
    let driver = engines[0].clone();
    driver.install_schedules().await?;
    sim.reset().await?;

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
    let step = chrono::Duration::minutes(i64::from(plan.step_minutes));

    // ----- the backfill -----
    let cpu_start = cpu_time();
    let (sim_cpu_start, machine_start) = (sim.cpu_time(), machine_busy_time());
    let backfill_started = Instant::now();
    for id in &ids {
        driver.enqueue_sync(*id, Plan::Full, "bench").await?;
    }
    let mut backfill_probe = QueueProbe::default();
    let mut backfill_steps = 0u32;
    loop {
        let wall = settle(&driver, &store, &mut backfill_probe, true).await?;
        backfill_probe.step_walls.push(wall);
        let runs = store
            .sync_runs_list(RunQuery {
                limit: 1_000_000,
                ..Default::default()
            })
            .await?;
        let done: std::collections::HashSet<AccountId> = runs
            .iter()
            .filter(|r| r.trigger == "bench" && r.status != RunStatus::Running)
            .map(|r| r.account_id)
            .collect();
        eprintln!(
            "day: backfill step {backfill_steps}: {} of {} accounts done, {:.0} s",
            done.len(),
            ids.len(),
            backfill_started.elapsed().as_secs_f64()
        );
        if done.len() >= ids.len() {
            break;
        }
        if backfill_steps >= 24 * 60 / plan.step_minutes {
            bail!(
                "the backfill did not end within a simulated day ({} of {} accounts)",
                done.len(),
                ids.len()
            );
        }
        clocks.advance(step).await?;
        backfill_steps += 1;
    }
    let backfill_wall = backfill_started.elapsed();
    let backfill_cpu = cpu_time().saturating_sub(cpu_start);
    let backfill_split = CpuSplit::since(backfill_cpu, sim, sim_cpu_start, machine_start);
    let backfill_runs = store
        .sync_runs_list(RunQuery {
            limit: 1_000_000,
            ..Default::default()
        })
        .await?;
    let backfill_failed = backfill_runs
        .iter()
        .filter(|r| r.trigger == "bench" && r.status != RunStatus::Succeeded)
        .count();
    let backfill_stats = sim.stats().await?;
    let (bytes_backfill, _) = database_bytes(db).await?;
    let t1 = clocks.engine.now();

    // ----- the day -----
    let mut probe = QueueProbe::default();
    let steps = plan.hours * 60 / plan.step_minutes;
    let cpu_day_start = cpu_time();
    let (sim_cpu_day_start, machine_day_start) = (sim.cpu_time(), machine_busy_time());
    let activity_start = database_activity(db).await?;
    let day_started = Instant::now();
    let steps_per_hour = (60 / plan.step_minutes).max(1);
    let second = chrono::Duration::seconds(1);
    for i in 0..steps {
        // The jobs that fell due within the step run at its last second, before the ticks of
        // its instant fire, as they would in real time: an hourly light sync due at 01:59
        // has run when the 02:00 fan-out looks for the accounts whose chain is still active
        // (at the same instant it would be counted as active, and skipped for that hour).
        clocks.advance(step - second).await?;
        let due = settle(&driver, &store, &mut probe, false).await?;
        clocks.advance(second).await?;
        let ticks = settle(&driver, &store, &mut probe, true).await?;
        probe.step_walls.push(due + ticks);
        if (i + 1) % steps_per_hour == 0 {
            eprintln!(
                "day: {} of {} simulated hours, {:.0} s, {:.1} igsync CPU-s",
                (i + 1) / steps_per_hour,
                plan.hours,
                day_started.elapsed().as_secs_f64(),
                cpu_time().saturating_sub(cpu_day_start).as_secs_f64()
            );
        }
    }
    let day_wall = day_started.elapsed();
    let cpu_day = cpu_time().saturating_sub(cpu_day_start);
    let day_split = CpuSplit::since(cpu_day, sim, sim_cpu_day_start, machine_day_start);
    let activity_end = database_activity(db).await?;
    let t_end = clocks.engine.now();
    let _ = stop_tx.send(true);
    for h in handles {
        h.await??;
    }
    let end_stats = sim.stats().await?;
    let (bytes_end, tables) = database_bytes(db).await?;
    let repeats = if db.sqlite_file().is_none() {
        store_postgres::scratch::snapshot_repeats(&db.url, t1).await?
    } else {
        Vec::new()
    };

    // The bench's own queue sampling ran in this process too: measure what one sample costs
    // on the quiet database and take it out of igsync's CPU.
    let calib_n = 300u32;
    let calib_cpu = cpu_time();
    for _ in 0..calib_n {
        let _ = depth(&store, t_end).await?;
    }
    let per_sample = cpu_time().saturating_sub(calib_cpu).as_secs_f64() / f64::from(calib_n);
    let probe_cpu = per_sample * (probe.snapshots as f64);
    let igsync_cpu = (cpu_day.as_secs_f64() - probe_cpu).max(0.0);

    let account_days = accounts as f64 * f64::from(plan.hours) / 24.0;
    let activity = match (activity_start, activity_end) {
        (Some(a), Some(b)) => {
            let per = |i: usize| round1((b[i] - a[i]) as f64 / account_days);
            json!({
                "source": "pg_stat_database, differences over the window",
                "transactions": per(0), "rows_inserted": per(1), "rows_updated": per(2),
                "rows_deleted": per(3), "rows_read": per(4),
            })
        }
        _ => Value::Null,
    };
    let requests = stat(&end_stats, "requests_total") - stat(&backfill_stats, "requests_total");
    let units = stat(&end_stats, "rate_limit_units_total")
        - stat(&backfill_stats, "rate_limit_units_total");
    let throttled_backfill = throttle_codes(&backfill_stats);
    let throttled_end = throttle_codes(&end_stats);
    let throttled: serde_json::Map<String, Value> = throttled_end
        .iter()
        .map(|(c, n)| (c.clone(), json!(n)))
        .collect();

    // Rows written per account in the day, from its runs.
    let day_runs: Vec<store::SyncRun> = store
        .sync_runs_list(RunQuery {
            limit: 1_000_000,
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|r| r.started_at > t1 - chrono::Duration::microseconds(1) && r.trigger != "bench")
        .collect();
    let mut rows_by_account: HashMap<AccountId, i64> = ids.iter().map(|id| (*id, 0)).collect();
    for r in &day_runs {
        *rows_by_account.entry(r.account_id).or_default() += r.rows_written;
    }
    let rows_day: i64 = rows_by_account.values().sum();
    let mut per_account_rows: Vec<f64> = rows_by_account.values().map(|r| *r as f64).collect();
    per_account_rows.sort_by(f64::total_cmp);
    let median_rows = per_account_rows[per_account_rows.len() / 2] * 24.0 / f64::from(plan.hours);
    let growth = (bytes_end - bytes_backfill) as f64;
    let bytes_per_row = if rows_day > 0 {
        Some(growth / rows_day as f64)
    } else {
        None
    };
    let failed_day_runs = day_runs
        .iter()
        .filter(|r| r.status == RunStatus::Failed)
        .count();

    let freshness = freshness(&store, sim, &ids, &sim_accounts, t0, t1, t_end, step).await?;

    // Queue wait, run_at → started, in simulated seconds.
    let jobs = store
        .job_list(JobQuery {
            states: vec![JobState::Completed, JobState::Failed],
            limit: 200_000,
            ..Default::default()
        })
        .await?;
    let mut waits: Vec<f64> = jobs
        .jobs
        .iter()
        .filter(|j| j.run_at >= t1)
        .filter_map(|j| {
            j.attempted_at
                .map(|a| (a - j.run_at).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    let (wait_p50, wait_p99) = p50_p99(&mut waits);
    let mut walls = probe.step_walls.clone();
    let (step_wall_p50, step_wall_p99) = p50_p99(&mut walls);
    let step_wall_max = probe.step_walls.iter().copied().fold(0.0, f64::max);

    let cpu_per_account_day = igsync_cpu / account_days;
    let one_core_accounts = if cpu_per_account_day > 0.0 {
        Some((86_400.0 / cpu_per_account_day).floor())
    } else {
        None
    };
    let year_mb = bytes_per_row.map(|b| round2(median_rows * 365.0 * b / 1e6));
    let backfill_per_account = bytes_backfill as f64 / accounts as f64;

    Ok(json!({
        "accounts": accounts, "workers": workers, "hours": plan.hours,
        "step_minutes": plan.step_minutes, "account_days": round2(account_days),
        "schedules": settings.schedules().iter().map(|d| json!({"name": d.name, "cron": d.cron})).collect::<Vec<_>>(),
        "simulated_from": t1, "simulated_to": t_end,
        "backfill": {
            "wall_s": secs(backfill_wall), "cpu_s": secs(backfill_cpu),
            "simulated_steps": backfill_steps,
            "accounts_done": ids.len() - backfill_failed, "accounts_failed": backfill_failed,
            "api_requests": stat(&backfill_stats, "requests_total"),
            "rate_limit_units": stat(&backfill_stats, "rate_limit_units_total"),
            "peak_queue_depth": backfill_probe.peak_depth,
            "throttled": throttled_backfill,
            "machine_cpu_s": backfill_split.json(),
        },
        "day": {
            "wall_s": secs(day_wall), "api_requests": requests, "rate_limit_units": units,
            "cpu_s_measured": round2(cpu_day.as_secs_f64()),
            "cpu_s_queue_sampling": round2(probe_cpu),
            "cpu_s": round2(igsync_cpu),
            "sync_runs": day_runs.len(), "sync_runs_failed": failed_day_runs,
            "rows_written": rows_day,
            "machine_cpu_s": day_split.json(),
        },
        "per_account_day": {
            "api_requests": round2(requests as f64 / account_days),
            "rate_limit_units": round2(units as f64 / account_days),
            "cpu_s": (cpu_per_account_day * 10_000.0).round() / 10_000.0,
            "rows_written": round1(rows_day as f64 / account_days),
            "database": activity,
        },
        "storage": {
            "measure": if db.sqlite_file().is_some() { "SQLite file and WAL" } else { "pg_total_relation_size of every table (rows, indexes, TOAST)" },
            "bytes_after_backfill": bytes_backfill,
            "bytes_at_end": bytes_end,
            "bytes_per_account_after_backfill": backfill_per_account.round(),
            "bytes_per_account_day": (growth / account_days).round(),
            "bytes_per_row_written": bytes_per_row.map(|b| b.round()),
            "median_account_rows_per_day": median_rows,
            "tables_at_end": tables.iter().take(12).map(|(t, b)| json!({"table": t, "bytes": b})).collect::<Vec<_>>(),
            "snapshot_rows_in_day": repeats.iter().map(|(t, rows, same, confirmed)| json!({
                "table": t, "rows": rows, "repeating_the_previous_row": same,
                "earlier_rows_confirmed": confirmed,
                "rows_per_account_day": round1(*rows as f64 / account_days),
            })).collect::<Vec<_>>(),
        },
        "freshness": freshness,
        "queue": {
            "peak_depth": probe.peak_depth,
            "wait_p50_s": wait_p50, "wait_p99_s": wait_p99, "wait_jobs": waits.len(),
            "step_wall_p50_s": step_wall_p50, "step_wall_p99_s": step_wall_p99,
            "step_wall_max_s": round2(step_wall_max),
        },
        "throttled": {
            "total": stat(&end_stats, "throttled_total") - stat(&backfill_stats, "throttled_total"),
            "by_code_since_start": throttled,
        },
        "derived": {
            "one_core_keeps_accounts_fresh": one_core_accounts,
            "one_core_arithmetic": format!("86,400 CPU-s per core-day / {cpu_per_account_day:.4} CPU-s per account-day"),
            "median_account_year_mb": year_mb,
            "median_account_year_arithmetic": bytes_per_row.map(|b| format!("{median_rows:.0} rows per day x 365 days x {b:.0} bytes per row (the fleet's growth / rows written) / 1e6")),
        },
    }))
}

/// Where the machine's CPU went over a stretch of the run: igsync (this process), the
/// simulator (its child process), and the rest of the machine's busy time, which on a machine
/// running nothing else is PostgreSQL's (its backends come and go with the pools'
/// connections, so they are measured as the remainder).
struct CpuSplit {
    igsync: Duration,
    simulator: Duration,
    machine: Duration,
}

impl CpuSplit {
    fn since(
        igsync: Duration,
        sim: &SimProcess,
        sim_start: Duration,
        machine_start: Duration,
    ) -> CpuSplit {
        CpuSplit {
            igsync,
            simulator: sim.cpu_time().saturating_sub(sim_start),
            machine: machine_busy_time().saturating_sub(machine_start),
        }
    }

    fn json(&self) -> Value {
        let rest = self.machine.saturating_sub(self.igsync + self.simulator);
        json!({
            "igsync": secs(self.igsync),
            "simulator": secs(self.simulator),
            "database_and_rest": secs(rest),
            "machine_busy": secs(self.machine),
        })
    }
}

/// Freshness of what changed during the day: new posts (publication → first capture),
/// stories (captured while live; final reads), the follower counter (time since its last
/// capture, sampled at every step: the simulator's counter changes continuously, so this is
/// its lag).
#[allow(clippy::too_many_arguments)]
async fn freshness(
    store: &DynStore,
    sim: &SimProcess,
    ids: &[AccountId],
    sim_accounts: &[Value],
    t0: DateTime<Utc>,
    t1: DateTime<Utc>,
    t_end: DateTime<Utc>,
    step: chrono::Duration,
) -> anyhow::Result<Value> {
    let by_ig: HashMap<String, AccountId> = sim_accounts
        .iter()
        .zip(ids)
        .map(|(a, id)| {
            (
                a["ig_user_id"].as_str().unwrap_or_default().to_string(),
                *id,
            )
        })
        .collect();

    // New posts.
    let mut post_lags = Vec::new();
    for id in ids {
        let media = store
            .media_list(MediaQuery {
                account_id: Some(*id),
                published_from: Some(t1),
                published_to: Some(t_end),
                include_deleted: true,
                ..Default::default()
            })
            .await?;
        for m in media {
            let lag = (m.first_seen_at - m.record.published_at).num_seconds() as f64;
            post_lags.push(lag.max(0.0));
        }
    }
    let (post_p50, post_p99) = p50_p99(&mut post_lags);

    // Stories: published during the day until an hour before its end (every hourly read had
    // a chance), and those that expired during the run.
    let stories = sim.stories(t0 - chrono::Duration::days(1), t_end).await?;
    let mut listed = 0u64;
    let mut published = 0u64;
    let mut story_lags = Vec::new();
    let mut expired = 0u64;
    let mut finals = 0u64;
    let mut stored: HashMap<AccountId, HashMap<String, store::Story>> = HashMap::new();
    let mut finals_by: HashMap<AccountId, std::collections::HashSet<String>> = HashMap::new();
    for s in &stories {
        let Some(id) = s["ig_user_id"].as_str().and_then(|u| by_ig.get(u)) else {
            continue;
        };
        if !stored.contains_key(id) {
            let list = store
                .story_list(*id, t0 - chrono::Duration::days(2), t_end)
                .await?;
            stored.insert(
                *id,
                list.into_iter()
                    .map(|st| (st.record.ig_media_id.clone(), st))
                    .collect(),
            );
            let f = store
                .story_final_list(
                    *id,
                    t0 - chrono::Duration::days(2),
                    t_end + chrono::Duration::days(2),
                )
                .await?;
            finals_by.insert(*id, f.into_iter().map(|f| f.ig_media_id).collect());
        }
        let ts = s["timestamp"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let expires = s["expires_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let (Some(ts), Some(expires)) = (ts, expires) else {
            continue;
        };
        let media_id = s["id"].as_str().unwrap_or_default();
        let got = stored.get(id).and_then(|m| m.get(media_id));
        if ts >= t1 && ts <= t_end - chrono::Duration::hours(1) {
            published += 1;
            if let Some(st) = got {
                if st.first_seen_at < expires {
                    listed += 1;
                }
                story_lags.push((st.first_seen_at - ts).num_seconds().max(0) as f64);
            }
        }
        if expires > t0 && expires <= t_end {
            expired += 1;
            if finals_by.get(id).is_some_and(|f| f.contains(media_id)) {
                finals += 1;
            }
        }
    }
    let (story_p50, story_p99) = p50_p99(&mut story_lags);

    // The follower counter's lag, sampled hourly.
    let mut follower_lags = Vec::new();
    for id in ids {
        let snaps = store
            .profile_snapshots(*id, t0 - chrono::Duration::days(1), t_end)
            .await?;
        // One point per read (a read equal to the row before it is stored as that row's
        // confirmation, and read back as a point). Between two reads of the same count the
        // counter did not change, so the count held was the live one: no lag.
        let mut reads: Vec<(DateTime<Utc>, i64)> = snaps
            .iter()
            .map(|s| (s.captured_at, s.followers_count))
            .collect();
        reads.sort_unstable();
        let mut at = t1 + step;
        while at <= t_end {
            let last = reads.partition_point(|(t, _)| *t <= at);
            if last > 0 {
                let (read_at, count) = reads[last - 1];
                let confirmed_later = reads.get(last).is_some_and(|(_, c)| *c == count);
                let lag = if confirmed_later {
                    0
                } else {
                    (at - read_at).num_seconds()
                };
                follower_lags.push(lag as f64);
            }
            at += step;
        }
    }
    let (f_p50, f_p99) = p50_p99(&mut follower_lags);

    let share =
        |a: u64, b: u64| (b > 0).then(|| ((a as f64 / b as f64) * 10_000.0).round() / 10_000.0);
    Ok(json!({
        "new_posts": {
            "captured": post_lags.len(),
            "lag_p50_s": post_p50, "lag_p99_s": post_p99,
            "definition": "publication (the simulator's timestamp) to igsync's first capture, for posts published during the day",
        },
        "stories": {
            "published": published, "listed_while_live": listed,
            "listed_while_live_share": share(listed, published),
            "lag_p50_s": story_p50, "lag_p99_s": story_p99,
            "expired_during_run": expired, "final_reads": finals,
            "final_read_share": share(finals, expired),
            "definition": "stories the simulator published from the day's start until an hour before its end; final reads of the stories that expired during the run",
        },
        "followers": {
            "lag_p50_s": f_p50, "lag_p99_s": f_p99, "samples": follower_lags.len(),
            "definition": "time since the follower counter's last read, sampled at every step per account; 0 between two reads of the same count",
        },
    }))
}

fn print_day_table(runs: &[Value]) {
    println!(
        "{:>8} {:>7} {:>6} {:>9} {:>8} {:>9} {:>11} {:>12} {:>9} {:>9} {:>7}",
        "ACCOUNTS",
        "WORKERS",
        "HOURS",
        "REQ/AD",
        "UNITS/AD",
        "CPU s/AD",
        "B/ACCOUNT",
        "B/ACCT-DAY",
        "POST p99",
        "PEAK Q",
        "WALL s"
    );
    for r in runs {
        let f = |p: &str| r.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
        println!(
            "{:>8} {:>7} {:>6} {:>9.1} {:>8.1} {:>9.4} {:>11.0} {:>12.0} {:>9.0} {:>9.0} {:>7.1}",
            f("/accounts"),
            f("/workers"),
            f("/hours"),
            f("/per_account_day/api_requests"),
            f("/per_account_day/rate_limit_units"),
            f("/per_account_day/cpu_s"),
            f("/storage/bytes_per_account_after_backfill"),
            f("/storage/bytes_per_account_day"),
            f("/freshness/new_posts/lag_p99_s"),
            f("/queue/peak_depth"),
            f("/wall_s"),
        );
        if r.pointer("/day/machine_cpu_s").is_some() {
            println!(
                "         day CPU-s: igsync {:.1}, simulator {:.1}, database and rest {:.1}, machine {:.1}",
                f("/day/machine_cpu_s/igsync"),
                f("/day/machine_cpu_s/simulator"),
                f("/day/machine_cpu_s/database_and_rest"),
                f("/day/machine_cpu_s/machine_busy"),
            );
        }
        if r.pointer("/per_account_day/database/transactions")
            .is_some()
        {
            println!(
                "         database per account-day: {:.0} transactions, {:.0} rows inserted, {:.0} updated, {:.0} read",
                f("/per_account_day/database/transactions"),
                f("/per_account_day/database/rows_inserted"),
                f("/per_account_day/database/rows_updated"),
                f("/per_account_day/database/rows_read"),
            );
        }
        if let Some(n) = r.pointer("/throttled/total").and_then(Value::as_i64)
            && n > 0
        {
            println!("         {n} throttled call(s)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(accounts: u64, workers: u64, cpu: f64) -> Value {
        json!({
            "accounts": accounts, "workers": workers, "hours": 1,
            "per_account_day": { "api_requests": 200.0, "cpu_s": cpu },
        })
    }

    #[test]
    fn a_day_starts_by_default_at_the_next_midnight_utc() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(
            next_midnight(at("2026-12-07T14:43:09Z")),
            at("2026-12-08T00:00:00Z")
        );
        assert_eq!(
            next_midnight(at("2026-12-31T00:00:00Z")),
            at("2027-01-01T00:00:00Z")
        );
    }

    /// Runs of two invocations (a whole result and a partial file) are charted together,
    /// each fleet size once; a file of something else is refused with its name.
    #[test]
    fn earlier_results_are_charted_together() {
        let dir = std::env::temp_dir().join(format!("igsync-day-results-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let whole = dir.join("day-small.json");
        let partial = dir.join("day-partial.json");
        std::fs::write(
            &whole,
            json!({ "runs": [run(300, 1, 0.47), run(100, 1, 0.49)] }).to_string(),
        )
        .unwrap();
        std::fs::write(
            &partial,
            json!([run(10_000, 1, 0.52), run(10_000, 2, 0.6)]).to_string(),
        )
        .unwrap();

        let merged = from_results(&[whole.clone(), partial.clone()], &dir).unwrap();
        let sizes: Vec<(u64, u64)> = merged["runs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["accounts"].as_u64().unwrap(),
                    r["workers"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(sizes, vec![(100, 1), (300, 1), (10_000, 1), (10_000, 2)]);
        let svg = std::fs::read_to_string(dir.join("day-per_account_day-cpu_s.svg")).unwrap();
        for label in [">100<", ">300<", ">10000<"] {
            assert!(svg.contains(label), "{label} missing from the chart");
        }
        // Three points of one worker: the 2-worker run is not charted.
        assert_eq!(svg.matches("<circle").count(), 3);

        let other = dir.join("other.json");
        std::fs::write(&other, json!({ "runs": [{ "name": "sync" }] }).to_string()).unwrap();
        let err = from_results(&[other], &dir).unwrap_err().to_string();
        assert!(err.contains("other.json"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
