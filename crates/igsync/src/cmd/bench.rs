//! `igsync bench`: measured figures for `docs/benchmarks.md`. The lab that measures them
//! (child simulator, process probes, databases, charts, scenarios) is `crate::bench`.
//!
//! Every scenario runs against the simulator in a child process (so its CPU and memory are
//! not counted as igsync's), prints a table and writes JSON:
//! - `sync`: a fleet full sync through the real queue on SQLite and on PostgreSQL with 1..N
//!   workers, compared with the lower bound (round trips ÷ concurrency × latency);
//! - `naive`: the original specifications' one-request-per-post reading, side by side with
//!   igsync on the same simulator;
//! - `ingest`: bulk upsert of media insight snapshots, rows/s;
//! - `report`: report latency for an account with 10,000 posts and a year of daily metrics;
//! - `analytics`: accuracy of the anomaly detector and the forecasters on the simulator's
//!   daily series with labelled anomalies, read directly (pure, no child process);
//! - `export`: a synced fleet exported whole to Parquet from SQLite and from PostgreSQL, rows/s
//!   and bytes per million snapshot rows against the SQLite file;
//! - `webhooks`: events/s of the receiver of Meta's notifications, signatures checked;
//! - `day`: a simulated day of a long-tailed fleet in compressed time (the backfill, then the
//!   default schedules on one virtual clock shared with the simulator): requests, CPU,
//!   database bytes, freshness and queue figures per account-day (not part of `all`);
//! - `api`: requests/s of the overview JSON, loaded from a second process, alone and beside
//!   a flood of wrong secrets from a third process (from one host, and from 20 hosts).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

pub(crate) use crate::bench::load;
use crate::bench::{
    analytics_scenario, api_scenario, day_scenario, export_scenario, ingest_scenario, machine,
    naive_scenario, report_scenario, sync_scenario, webhooks_scenario,
};
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
            BenchScenario::Webhooks,
            BenchScenario::Sync,
            BenchScenario::Naive,
            BenchScenario::Analytics,
            BenchScenario::Export,
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
            BenchScenario::Analytics => ("analytics", analytics_scenario(&args)?),
            BenchScenario::Webhooks => ("webhooks", webhooks_scenario(&args).await?),
            BenchScenario::Export => ("export", export_scenario(&args, config).await?),
            BenchScenario::Day => ("day", day_scenario(&args, config).await?),
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
