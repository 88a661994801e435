//! `igsync db copy`, `igsync backup` and `igsync restore`: moving a whole database between
//! SQLite and PostgreSQL (the loop is `sync::dbcopy`), online SQLite backups with
//! `VACUUM INTO`, and putting a backup back.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use store::DynStore;
use sync::dbcopy::{CopyEvent, CopyMode, CopyOptions, CopyReport};

use crate::cli::{BackupArgs, DbCommand, DbCopyArgs, RestoreArgs};
use crate::config::{Config, redact_url};
use crate::db;

pub(crate) async fn run(cmd: DbCommand, config: &Config) -> anyhow::Result<ExitCode> {
    match cmd {
        DbCommand::Copy(args) => copy(args, config).await,
    }
}

/// Refuses while processes heartbeat in the database's workers table.
async fn refuse_live_workers(store: &DynStore, config: &Config, what: &str) -> anyhow::Result<()> {
    let lease =
        chrono::Duration::from_std(config.sync.lease).unwrap_or(chrono::Duration::seconds(30));
    let live = store.worker_list(Utc::now() - lease).await?;
    if let Some(w) = live.first() {
        bail!(
            "{what} has {} live worker(s) (e.g. {} on {}, pid {}): stop `igsync serve` and \
             `igsync worker` first, so no job runs on both databases",
            live.len(),
            w.id,
            w.hostname,
            w.pid
        );
    }
    Ok(())
}

async fn copy(args: DbCopyArgs, config: &Config) -> anyhow::Result<ExitCode> {
    if args.force && args.resume {
        bail!("--force replaces the target's rows and --resume keeps them: choose one");
    }
    let source = db::connect(&args.from).await?;
    if !args.force {
        refuse_live_workers(
            &source,
            config,
            &format!("the source {}", redact_url(&args.from)),
        )
        .await
        .context("use --force to copy anyway (running jobs are copied as pending)")?;
    }
    let target = db::open(&args.to).await?;
    let options = CopyOptions {
        mode: if args.resume {
            CopyMode::Resume
        } else if args.force {
            CopyMode::Replace
        } else {
            CopyMode::Fresh
        },
        batch: args.batch.clamp(1, 100_000),
        stop_after_batches: args.stop_after_batches,
    };
    let report = run_copy(&source, &target, &options).await?;
    finish(
        &report,
        &format!(
            "copied {} to {}",
            redact_url(&args.from),
            redact_url(&args.to)
        ),
    )
}

async fn run_copy(
    source: &DynStore,
    target: &DynStore,
    options: &CopyOptions,
) -> anyhow::Result<CopyReport> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(8));
        bar.set_style(
            ProgressStyle::with_template("{msg:<28} [{bar:30}] {pos}/{len} rows ({per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Some(bar)
    } else {
        None
    };
    let mut progress = |event: CopyEvent<'_>| match (&bar, event) {
        (
            Some(bar),
            CopyEvent::Table {
                table,
                rows,
                present,
            },
        ) => {
            bar.set_message(table.to_string());
            bar.set_length(rows.max(0) as u64);
            bar.set_position(present.max(0).min(rows.max(0)) as u64);
        }
        (Some(bar), CopyEvent::Rows { rows, .. }) => bar.inc(rows),
        (Some(bar), CopyEvent::Verify { table }) => {
            bar.set_message(format!("checking {table}"));
        }
        (
            None,
            CopyEvent::Table {
                table,
                rows,
                present,
            },
        ) => eprintln!("copying {table}: {rows} rows ({present} already in the target)"),
        (None, _) => {}
    };
    let result = sync::dbcopy::copy(source.as_ref(), target.as_ref(), options, &mut progress).await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

fn finish(report: &CopyReport, what: &str) -> anyhow::Result<ExitCode> {
    println!(
        "{:<28} {:>12} {:>12}  {:<16} RESULT",
        "TABLE", "SOURCE", "TARGET", "CHECKSUM"
    );
    for t in &report.tables {
        println!(
            "{:<28} {:>12} {:>12}  {:<16} {}",
            t.table,
            t.source_rows,
            t.target_rows,
            &t.target_sum[..16.min(t.target_sum.len())],
            if t.equal() { "equal" } else { "DIFFERENT" }
        );
    }
    let different: Vec<&str> = report
        .tables
        .iter()
        .filter(|t| !t.equal())
        .map(|t| t.table.as_str())
        .collect();
    if !different.is_empty() {
        bail!(
            "{what}, but these tables differ afterwards: {} (was the source written to during \
             the copy? stop its workers and run again with --force)",
            different.join(", ")
        );
    }
    eprintln!(
        "{what}: {} tables, {} rows written, every table's row count and checksum equal",
        report.tables.len(),
        report.rows_written
    );
    Ok(ExitCode::SUCCESS)
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

pub(crate) async fn backup(args: BackupArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let store = db::open(&config.database_url).await?;
    if store.dialect() != "sqlite" {
        bail!(
            "igsync backs up SQLite databases only; back up PostgreSQL with \
             `pg_dump --format=custom --file=igsync.dump DATABASE_URL` and restore it with \
             `pg_restore --clean --if-exists --no-owner --dbname=DATABASE_URL igsync.dump` \
             (docs/reliability.md)"
        );
    }
    let out = &args.out;
    if out.exists() {
        if !args.force {
            bail!(
                "{} exists: choose another file or add --force to replace it",
                out.display()
            );
        }
        std::fs::remove_file(out).with_context(|| format!("cannot replace {}", out.display()))?;
    }
    let path = out
        .to_str()
        .context("the backup's path is not valid UTF-8")?;
    let counts = store
        .backup_into(path)
        .await
        .with_context(|| format!("cannot write the backup to {}", out.display()))?;
    let copy = db::connect(&sqlite_url(out)).await?;
    let problems = copy.integrity_check().await?;
    if !problems.is_empty() {
        bail!(
            "the backup {} fails its integrity check: {}",
            out.display(),
            problems.join("; ")
        );
    }
    let mut rows = 0;
    for (table, expected) in &counts {
        let found = copy.copy_count(table).await?;
        if found != *expected {
            bail!(
                "the backup {} holds {found} rows of {table}, the database held {expected} \
                 when it was taken",
                out.display()
            );
        }
        rows += found;
    }
    println!(
        "backed up {} to {}: {} tables, {rows} rows, integrity check ok, row counts equal to \
         the snapshot",
        redact_url(&config.database_url),
        out.display(),
        counts.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn restore(args: RestoreArgs, config: &Config) -> anyhow::Result<ExitCode> {
    if !args.from.is_file() {
        bail!("no backup file at {}", args.from.display());
    }
    let backup = db::connect(&format!("{}?mode=ro", sqlite_url(&args.from))).await?;
    let problems = backup.integrity_check().await?;
    if !problems.is_empty() {
        bail!(
            "the backup {} fails its integrity check: {}",
            args.from.display(),
            problems.join("; ")
        );
    }
    let target = db::open(&config.database_url).await?;
    refuse_live_workers(
        &target,
        config,
        &format!("the database {}", redact_url(&config.database_url)),
    )
    .await?;
    let options = CopyOptions {
        mode: if args.force {
            CopyMode::Replace
        } else {
            CopyMode::Fresh
        },
        ..CopyOptions::default()
    };
    let report = run_copy(&backup, &target, &options)
        .await
        .context("use --force to replace the database's current contents with the backup")?;
    finish(
        &report,
        &format!(
            "restored {} into {}",
            args.from.display(),
            redact_url(&config.database_url)
        ),
    )
}
