//! The `export` scenario: a simulated fleet synced into SQLite and into PostgreSQL, then
//! exported whole to Parquet by `igsync export`'s own code; rows/s per database, the same
//! rows read alone (to split database time from encoding), and the bytes per million
//! snapshot rows of the Parquet dataset against the SQLite file's.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};
use store::{AccountId, DynStore, ExportPageQuery, ExportTable};

use crate::cli::{BenchArgs, ExportFormat};
use crate::cmd::export::{Target, Totals, export_to};
use crate::config::Config;

use super::{db::*, fleet::*, probe::*, sim::*, *};

/// Rows per database round trip, as `igsync export`'s default.
const PAGE_ROWS: u32 = 65_536;

/// One database's export.
struct ExportRun {
    dialect: &'static str,
    rows: u64,
    files: u64,
    wall: Duration,
    read_rows: u64,
    read_wall: Duration,
    parquet_bytes: u64,
    snapshot_rows: u64,
    snapshot_parquet_bytes: u64,
    /// The SQLite database's files (main file and write-ahead log); None on PostgreSQL.
    sqlite_bytes: Option<u64>,
    cpu: Duration,
    /// Per table: what was written and how long it took.
    tables: Vec<(ExportTable, Totals)>,
}

fn per_second(rows: u64, wall: Duration) -> f64 {
    (rows as f64 / wall.as_secs_f64().max(1e-9)).round()
}

/// Bytes per million snapshot rows, or None without snapshot rows.
fn per_million(bytes: u64, snapshot_rows: u64) -> Option<f64> {
    (snapshot_rows > 0).then(|| (bytes as f64 * 1e6 / snapshot_rows as f64).round())
}

fn mb(bytes: Option<f64>) -> String {
    bytes.map_or_else(
        || "n/a (no snapshot rows)".to_string(),
        |b| format!("{:.1} MB", b / 1e6),
    )
}

impl ExportRun {
    fn json(&self) -> Value {
        json!({
            "database": self.dialect, "format": "parquet", "rows": self.rows, "files": self.files,
            "wall_s": secs(self.wall), "rows_per_s": per_second(self.rows, self.wall),
            "cpu_s": secs(self.cpu),
            "read_only_rows": self.read_rows, "read_only_wall_s": secs(self.read_wall),
            "read_only_rows_per_s": per_second(self.read_rows, self.read_wall),
            "parquet_bytes": self.parquet_bytes, "snapshot_rows": self.snapshot_rows,
            "snapshot_parquet_bytes": self.snapshot_parquet_bytes,
            "parquet_bytes_per_million_snapshot_rows": per_million(self.snapshot_parquet_bytes, self.snapshot_rows),
            "dataset_bytes_per_million_snapshot_rows": per_million(self.parquet_bytes, self.snapshot_rows),
            "sqlite_file_bytes": self.sqlite_bytes,
            "sqlite_bytes_per_million_snapshot_rows": self.sqlite_bytes.and_then(|b| per_million(b, self.snapshot_rows)),
            "tables": self.tables.iter().map(|(table, t)| json!({
                "table": table.name(), "rows": t.rows, "files": t.files, "bytes": t.bytes,
                "wall_s": round2(t.seconds),
                "rows_per_s": per_second(t.rows, Duration::from_secs_f64(t.seconds)),
            })).collect::<Vec<_>>(),
        })
    }

    fn print(&self) {
        println!(
            "export {:<9} {:>10} rows in {:>7.2} s = {:>9.0} rows/s to Parquet ({} files, {:.1} MB); \
             reading alone: {:>9.0} rows/s",
            self.dialect,
            self.rows,
            self.wall.as_secs_f64(),
            per_second(self.rows, self.wall),
            self.files,
            self.parquet_bytes as f64 / 1e6,
            per_second(self.read_rows, self.read_wall),
        );
        let sqlite = match self.sqlite_bytes {
            Some(b) => format!(", SQLite file {}", mb(per_million(b, self.snapshot_rows))),
            None => String::new(),
        };
        println!(
            "export {:<9} bytes per million snapshot rows ({} snapshot rows): Parquet snapshots {}, \
             whole Parquet dataset {}{sqlite}",
            self.dialect,
            self.snapshot_rows,
            mb(per_million(self.snapshot_parquet_bytes, self.snapshot_rows)),
            mb(per_million(self.parquet_bytes, self.snapshot_rows)),
        );
        for (table, t) in &self.tables {
            println!(
                "    {:<24} {:>10} rows {:>7} files {:>8.2} s {:>10.0} rows/s",
                table.name(),
                t.rows,
                t.files,
                t.seconds,
                per_second(t.rows, Duration::from_secs_f64(t.seconds)),
            );
        }
    }
}

/// Every row of every table of `accounts`, read in pages as `igsync export` reads them
/// (`Store::export_batch`) and dropped: the database's share of an export.
async fn read_all(store: &DynStore, accounts: &[AccountId]) -> anyhow::Result<u64> {
    let mut rows = 0u64;
    for table in ExportTable::ALL {
        for &account in accounts {
            let mut after = None;
            loop {
                let page = store
                    .export_batch(ExportPageQuery {
                        table,
                        account_id: account,
                        after: after.take(),
                        since: None,
                        until: None,
                        limit: PAGE_ROWS,
                    })
                    .await
                    .with_context(|| format!("cannot read {}", table.name()))?;
                rows += page.len() as u64;
                if !page.more_after(PAGE_ROWS) {
                    break;
                }
                after = page.key(page.len() - 1);
            }
        }
    }
    Ok(rows)
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

async fn measure_export(db: &BenchDb, out: PathBuf) -> anyhow::Result<ExportRun> {
    let store = db.open().await?;
    let accounts: Vec<AccountId> = store.account_list().await?.iter().map(|a| a.id).collect();
    // What `igsync export` and every worker's maintenance do first, here before both
    // measurements alike.
    store.statistics_refresh().await?;
    let read_started = Instant::now();
    let read_rows = read_all(&store, &accounts).await?;
    let read_wall = read_started.elapsed();
    let _ = std::fs::remove_dir_all(&out);
    let cpu_before = cpu_time();
    let started = Instant::now();
    let summary = export_to(
        store.clone(),
        &accounts,
        &ExportTable::ALL,
        Target {
            out: out.clone(),
            format: ExportFormat::Parquet,
            since: None,
            page_rows: PAGE_ROWS,
            stop_after_files: None,
            verbose: false,
        },
    )
    .await?;
    let wall = started.elapsed();
    let cpu = cpu_time().saturating_sub(cpu_before);
    let _ = std::fs::remove_dir_all(&out);
    let mut all = Totals::default();
    let mut snapshots = Totals::default();
    for (table, t) in &summary {
        all.add(*t);
        if table.append_only() {
            snapshots.add(*t);
        }
    }
    let sqlite_bytes = db.sqlite_file().map(|file| {
        let wal = PathBuf::from(format!("{}-wal", file.display()));
        file_len(&file) + file_len(&wal)
    });
    drop(store);
    Ok(ExportRun {
        dialect: dialect(&db.url),
        rows: all.rows,
        files: all.files,
        wall,
        read_rows,
        read_wall,
        parquet_bytes: all.bytes,
        snapshot_rows: snapshots.rows,
        snapshot_parquet_bytes: snapshots.bytes,
        sqlite_bytes,
        cpu,
        tables: summary,
    })
}

pub(crate) async fn export_scenario(args: &BenchArgs, config: &Config) -> anyhow::Result<Value> {
    eprintln!(
        "export: {} accounts x {} posts synced at {} ms latency, then exported whole to Parquet",
        args.accounts, args.media, args.latency_ms
    );
    let sim = SimProcess::start(args.accounts, args.media, args.latency_ms, 13).await?;
    let mut targets = vec![BenchDb::sqlite("export").await?];
    if !args.sqlite_only {
        targets.push(BenchDb::postgres(&postgres_url(args)?).await?);
    }
    let out_dir = std::env::temp_dir().join(format!("igsync-bench-export-{}", std::process::id()));
    let mut runs = Vec::new();
    let mut syncs = Vec::new();
    for db in targets {
        let fleet = measure_fleet(&db, &sim, config, args, args.accounts, 1).await?;
        if fleet.failed_runs > 0 {
            eprintln!(
                "export: {} sync run(s) on {} did not succeed; exporting what was stored",
                fleet.failed_runs, fleet.dialect
            );
        }
        syncs.push(fleet.json());
        let run = measure_export(&db, out_dir.clone()).await;
        db.drop_db().await;
        let run = run?;
        run.print();
        runs.push(run);
    }
    sim.stop().await;
    Ok(json!({
        "page_rows": PAGE_ROWS,
        "runs": runs.iter().map(ExportRun::json).collect::<Vec<_>>(),
        "syncs": syncs,
    }))
}
