//! `igsync export`: every history table as Hive-partitioned CSV, JSON Lines or Parquet files
//! that any engine reads.
//!
//! Rows come from [`store::Store::export_batch`], page by page in each table's key order and
//! column by column, read on a task of their own while the previous page is written, so
//! memory stays bounded. Partition columns (`account_id`, `dt`) are in the path only.
//!
//! Append-only history (profile snapshots, media and story insight snapshots) is written
//! to `DIR/table=T/account_id=A/dt=YYYY-MM-DD/part-FROM-TO.ext` (the capture day) and
//! exported incrementally: `DIR/export-state.json` keeps, per table and account, the capture
//! time exported through; the next run reads only later rows. A range's files are written
//! under temporary names, the range is recorded as pending, the files are renamed to
//! `part-FROM-TO.ext` (microseconds of the range's bounds) and then the range is recorded as
//! done. A run interrupted after the pending record re-exports exactly that range first,
//! to the same names, so a resumed export never duplicates a row.
//!
//! Tables that syncs change in place (accounts, media, stories, account insight days,
//! demographics, sync runs) have no capture day: they are exported whole each run, one
//! file per account (`DIR/table=T/account_id=A/part-snapshot.ext`, their time columns inside),
//! into a staging directory that then replaces the account's directory of that table.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use arrow_array::RecordBatch;
use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use store::{
    AccountId, DynStore, ExportBatch, ExportColumnValues, ExportKind, ExportPageQuery, ExportTable,
    ExportValue,
};

use super::export_parquet::{self, ParquetPart};
use crate::cli::{ExportArgs, ExportFormat};
use crate::config::Config;
use crate::db;

const STATE_FILE: &str = "export-state.json";
const STAGING: &str = ".staging";
const TRASH: &str = ".trash";

/// What earlier runs exported, read from and written to `DIR/export-state.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    format: String,
    /// table → account id → progress of the append-only tables.
    tables: BTreeMap<String, BTreeMap<String, Progress>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Progress {
    /// Rows captured at or before this instant are exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    done_through: Option<DateTime<Utc>>,
    /// A range whose files may be partly published: the next run exports it again first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pending: Option<Range>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Range {
    /// Inclusive bounds on the capture time.
    from: Option<DateTime<Utc>>,
    to: DateTime<Utc>,
}

/// What an export wrote for one table (or all).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Totals {
    pub(crate) rows: u64,
    pub(crate) files: u64,
    pub(crate) bytes: u64,
    /// Wall time spent on the table (set per table by [`export_to`]).
    pub(crate) seconds: f64,
}

impl Totals {
    pub(crate) fn add(&mut self, other: Totals) {
        self.rows += other.rows;
        self.files += other.files;
        self.bytes += other.bytes;
        self.seconds += other.seconds;
    }
}

struct Run {
    store: DynStore,
    out: PathBuf,
    format: ExportFormat,
    since: Option<DateTime<Utc>>,
    page_rows: u32,
    stop_after_files: Option<u64>,
    published: u64,
    state: State,
    terminal: bool,
    /// Print a line per table when it is done.
    verbose: bool,
}

/// Where and how [`export_to`] writes.
pub(crate) struct Target {
    pub(crate) out: PathBuf,
    pub(crate) format: ExportFormat,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) page_rows: u32,
    pub(crate) stop_after_files: Option<u64>,
    /// Print a line per table when it is done (and a progress line on a terminal).
    pub(crate) verbose: bool,
}

pub(crate) async fn run(args: ExportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let tables = parse_tables(&args.tables)?;
    let since = args.since.as_deref().map(parse_since).transpose()?;
    let store = db::open(&config.database_url).await?;
    let accounts: Vec<AccountId> = match &args.account {
        Some(arg) => vec![super::resolve_account(&store, arg).await?.id],
        None => store
            .account_list()
            .await
            .context("cannot list the accounts")?
            .into_iter()
            .map(|a| a.id)
            .collect(),
    };
    let out = args.out.clone();
    let started = Instant::now();
    let summary = export_to(
        store,
        &accounts,
        &tables,
        Target {
            out: args.out,
            format: args.format,
            since,
            page_rows: args.page_rows,
            stop_after_files: args.stop_after_files,
            verbose: true,
        },
    )
    .await?;
    print_summary(&summary, started.elapsed().as_secs_f64(), &out);
    Ok(ExitCode::SUCCESS)
}

/// Exports `tables` of `accounts` from `store` into `target.out` (incrementally, as `igsync
/// export` does) and returns what was written per table.
pub(crate) async fn export_to(
    store: DynStore,
    accounts: &[AccountId],
    tables: &[ExportTable],
    target: Target,
) -> anyhow::Result<Vec<(ExportTable, Totals)>> {
    let ext = match target.format {
        ExportFormat::Csv => "csv",
        ExportFormat::Jsonl => "jsonl",
        ExportFormat::Parquet => "parquet",
    };
    fs::create_dir_all(&target.out)
        .with_context(|| format!("cannot create {}", target.out.display()))?;
    let state = read_state(&target.out, ext)?;
    recover(&target.out)?;
    // The export reads every row of history by account: plans made from stale statistics
    // (a PostgreSQL whose autovacuum is off or behind) would scan the fleet per account.
    store.statistics_refresh().await?;
    let mut run = Run {
        store,
        out: target.out,
        format: target.format,
        since: target.since,
        page_rows: target.page_rows.clamp(1, 1_000_000),
        stop_after_files: target.stop_after_files,
        published: 0,
        state,
        terminal: target.verbose && std::io::stderr().is_terminal(),
        verbose: target.verbose,
    };
    let mut summary = Vec::new();
    for &table in tables {
        let started = Instant::now();
        let mut totals = if table.append_only() {
            run.append_table(table, accounts).await?
        } else {
            run.snapshot_table(table, accounts).await?
        };
        totals.seconds = started.elapsed().as_secs_f64();
        run.progress_done(table, totals);
        summary.push((table, totals));
    }
    let _ = fs::remove_dir_all(run.out.join(STAGING));
    let _ = fs::remove_dir_all(run.out.join(TRASH));
    Ok(summary)
}

fn parse_tables(names: &[String]) -> anyhow::Result<Vec<ExportTable>> {
    if names.is_empty() {
        return Ok(ExportTable::ALL.to_vec());
    }
    let mut out = Vec::new();
    for name in names {
        let name = name.trim();
        let Some(table) = ExportTable::parse(name) else {
            let known: Vec<&str> = ExportTable::ALL.iter().map(|t| t.name()).collect();
            bail!(
                "--tables: unknown table {name:?}; the tables are {}",
                known.join(", ")
            );
        };
        if !out.contains(&table) {
            out.push(table);
        }
    }
    out.sort();
    Ok(out)
}

fn parse_since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    bail!("--since {text:?}: give an RFC 3339 time (2026-01-31T00:00:00Z) or a day (2026-01-31)")
}

fn read_state(out: &Path, ext: &str) -> anyhow::Result<State> {
    let path = out.join(STATE_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(State {
                format: ext.to_string(),
                ..State::default()
            });
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let state: State = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an igsync export state", path.display()))?;
    if state.format != ext {
        bail!(
            "{} holds a {} export; export as {} into another directory",
            out.display(),
            state.format,
            ext
        );
    }
    Ok(state)
}

/// Undoes what an interrupted run left half done: staging files and unpublished temporary
/// files are removed; a table directory moved aside but not replaced is put back.
fn recover(out: &Path) -> anyhow::Result<()> {
    let _ = fs::remove_dir_all(out.join(STAGING));
    let trash = out.join(TRASH);
    if trash.is_dir() {
        for entry in walk(&trash)? {
            // .trash/table=T/account_id=A
            let rel = entry.strip_prefix(&trash).unwrap_or(&entry).to_path_buf();
            if rel.components().count() == 2 && !out.join(&rel).exists() {
                if let Some(parent) = out.join(&rel).parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::rename(&entry, out.join(&rel))?;
            }
        }
        fs::remove_dir_all(&trash)?;
    }
    for path in walk(out)? {
        if path.extension().is_some_and(|e| e == "tmp") {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Every path below `dir` (directories before their contents).
fn walk(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let entries = match fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot list {}", d.display())),
        };
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                todo.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

impl Run {
    fn ext(&self) -> &'static str {
        match self.format {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Parquet => "parquet",
            ExportFormat::Csv => "csv",
        }
    }

    fn save_state(&self) -> anyhow::Result<()> {
        let path = self.out.join(STATE_FILE);
        let tmp = self.out.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(&self.state)?;
        let mut f =
            File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    fn progress_of(&self, table: ExportTable, account: AccountId) -> Progress {
        self.state
            .tables
            .get(table.name())
            .and_then(|t| t.get(&account.to_string()))
            .cloned()
            .unwrap_or_default()
    }

    fn set_progress(&mut self, table: ExportTable, account: AccountId, progress: Progress) {
        self.state
            .tables
            .entry(table.name().to_string())
            .or_default()
            .insert(account.to_string(), progress);
    }

    /// Renames a finished file into place and stops when the test limit is reached.
    fn publish(&mut self, tmp: &Path, dest: &Path) -> anyhow::Result<()> {
        fs::rename(tmp, dest)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), dest.display()))?;
        self.published += 1;
        if self.stop_after_files.is_some_and(|n| self.published >= n) {
            bail!("stopped after {} published files", self.published);
        }
        Ok(())
    }

    /// Streams the next read of `pages` (one table of one account) into `dir/dt=…/part.ext.tmp`
    /// files, one per day (`by_day`), or into `dir/part.ext.tmp`; returns the files
    /// (temporary path, day), the totals and the largest partition time. Pages are read on a
    /// task of their own (see [`read_pages`]) while earlier ones are encoded and written.
    async fn stream(
        &mut self,
        table: ExportTable,
        account: AccountId,
        pages: &mut Pages,
        dir: &Path,
        by_day: bool,
    ) -> anyhow::Result<(
        Vec<(PathBuf, Option<String>)>,
        Totals,
        Option<DateTime<Utc>>,
    )> {
        let mut files = Vec::new();
        let mut totals = Totals::default();
        let mut latest: Option<i64> = None;
        let mut writer: Option<(Option<i32>, PartWriter)> = None;
        loop {
            let batch = match pages.recv().await {
                Some(Ok(Piece::Page(batch))) => batch,
                Some(Ok(Piece::End)) => break,
                Some(Err(e)) => return Err(e),
                None => bail!("the reader of {} stopped early", table.name()),
            };
            let n = batch.len();
            // Runs of rows of the same day (rows come in time order), and the latest instant.
            let mut runs: Vec<(Option<i32>, usize, usize)> = Vec::new();
            match &batch.columns[table.time_column()] {
                ExportColumnValues::Time(v) => {
                    if let Some(max) = v.iter().flatten().max() {
                        latest = latest.max(Some(*max));
                    }
                    if by_day {
                        for (i, at) in v.iter().enumerate() {
                            push_run(&mut runs, at.map(epoch_day_of_micros), i);
                        }
                    }
                }
                ExportColumnValues::Day(v) if by_day => {
                    for (i, d) in v.iter().enumerate() {
                        push_run(&mut runs, *d, i);
                    }
                }
                _ => {}
            }
            if !by_day && n > 0 {
                runs.push((None, 0, n));
            }
            let rows = if self.format == ExportFormat::Parquet {
                Rows::Arrow(export_parquet::record_batch(batch)?)
            } else {
                Rows::Values(batch)
            };
            for (day, start, end) in runs {
                if writer.as_ref().is_none_or(|(d, _)| *d != day) {
                    if let Some((d, w)) = writer.take() {
                        let (path, bytes) = w.finish()?;
                        totals.bytes += bytes;
                        totals.files += 1;
                        files.push((path, by_day.then(|| day_text(d))));
                    }
                    let file_dir = if by_day {
                        dir.join(format!("dt={}", day_text(day)))
                    } else {
                        dir.to_path_buf()
                    };
                    fs::create_dir_all(&file_dir)
                        .with_context(|| format!("cannot create {}", file_dir.display()))?;
                    let path = file_dir.join(format!("part.{}.tmp", self.ext()));
                    writer = Some((day, PartWriter::create(path, self.format, table)?));
                }
                if let Some((_, w)) = writer.as_mut() {
                    w.rows(&rows, start, end)?;
                }
            }
            totals.rows += n as u64;
            self.progress_line(table, account, totals.rows);
        }
        if let Some((d, w)) = writer.take() {
            let (path, bytes) = w.finish()?;
            totals.bytes += bytes;
            totals.files += 1;
            files.push((path, by_day.then(|| day_text(d))));
        }
        let latest = match latest {
            Some(us) => Some(
                DateTime::from_timestamp_micros(us)
                    .with_context(|| format!("{} holds an instant out of range", table.name()))?,
            ),
            None => None,
        };
        Ok((files, totals, latest))
    }

    /// Exports the new rows of an append-only table for every account: each account's
    /// files are written under temporary names and synced, all ranges are recorded as
    /// pending at once, the files renamed into place, and the ranges recorded as done.
    async fn append_table(
        &mut self,
        table: ExportTable,
        accounts: &[AccountId],
    ) -> anyhow::Result<Totals> {
        let mut totals = Totals::default();
        let mut staged = Vec::new();
        // Every account's reads are known before the first: the reader runs ahead across
        // accounts.
        let mut reads = Vec::new();
        for &account in accounts {
            let progress = self.progress_of(table, account);
            if let Some(pending) = progress.pending {
                reads.push((account, (pending.from, Some(pending.to))));
            }
            reads.push((account, (self.new_from(&progress), None)));
        }
        let mut pages = read_pages(self.store.clone(), table, reads, self.page_rows);
        for &account in accounts {
            let dir = self
                .out
                .join(format!("table={}", table.name()))
                .join(format!("account_id={account}"));
            let mut progress = self.progress_of(table, account);
            if let Some(pending) = progress.pending {
                // Finish the range an interrupted run was publishing: the same rows, the same
                // names, so the files it already renamed are overwritten, not doubled.
                let (files, t, _) = self.stream(table, account, &mut pages, &dir, true).await?;
                sync_files(files.iter().map(|(path, _)| path.clone()).collect()).await?;
                self.publish_range(&files, pending)?;
                totals.add(t);
                progress = Progress {
                    done_through: Some(pending.to),
                    pending: None,
                };
                self.set_progress(table, account, progress.clone());
                self.save_state()?;
            }
            let from = self.new_from(&progress);
            let (files, t, latest) = self.stream(table, account, &mut pages, &dir, true).await?;
            totals.add(t);
            if let Some(to) = latest {
                staged.push((account, files, Range { from, to }, progress.done_through));
            }
        }
        if staged.is_empty() {
            return Ok(totals);
        }
        sync_files(
            staged
                .iter()
                .flat_map(|(_, files, _, _)| files.iter().map(|(path, _)| path.clone()))
                .collect(),
        )
        .await?;
        for (account, _, range, done_through) in &staged {
            self.set_progress(
                table,
                *account,
                Progress {
                    done_through: *done_through,
                    pending: Some(*range),
                },
            );
        }
        self.save_state()?;
        for (_, files, range, _) in &staged {
            self.publish_range(files, *range)?;
        }
        for (account, _, range, _) in &staged {
            self.set_progress(
                table,
                *account,
                Progress {
                    done_through: Some(range.to),
                    pending: None,
                },
            );
        }
        self.save_state()?;
        Ok(totals)
    }

    /// Where the new rows of an append-only table start after `progress` (the pending
    /// range, if any, counted as done).
    fn new_from(&self, progress: &Progress) -> Option<DateTime<Utc>> {
        let done = progress.pending.map(|p| p.to).or(progress.done_through);
        match (done, self.since) {
            (Some(done), Some(since)) => Some(since.max(done + TimeDelta::microseconds(1))),
            (Some(done), None) => Some(done + TimeDelta::microseconds(1)),
            (None, since) => since,
        }
    }

    fn publish_range(
        &mut self,
        files: &[(PathBuf, Option<String>)],
        range: Range,
    ) -> anyhow::Result<()> {
        let from = range
            .from
            .map_or_else(|| "start".to_string(), |f| f.timestamp_micros().to_string());
        let name = format!("part-{from}-{}.{}", range.to.timestamp_micros(), self.ext());
        for (tmp, _) in files {
            let dest = tmp.with_file_name(&name);
            self.publish(tmp, &dest)?;
        }
        Ok(())
    }

    /// Exports a table rewritten in place whole for every account: each account's file is
    /// written into a staging directory and synced, then each account's staged directory
    /// replaces its published one.
    async fn snapshot_table(
        &mut self,
        table: ExportTable,
        accounts: &[AccountId],
    ) -> anyhow::Result<Totals> {
        let since = if table == ExportTable::Accounts {
            None
        } else {
            self.since
        };
        let mut all = Totals::default();
        let mut staged = Vec::new();
        let reads = accounts.iter().map(|&a| (a, (since, None))).collect();
        let mut pages = read_pages(self.store.clone(), table, reads, self.page_rows);
        for &account in accounts {
            let rel = PathBuf::from(format!("table={}", table.name()))
                .join(format!("account_id={account}"));
            let staging = self.out.join(STAGING).join(&rel);
            let _ = fs::remove_dir_all(&staging);
            let (files, totals, _) = self
                .stream(table, account, &mut pages, &staging, false)
                .await?;
            all.add(totals);
            staged.push((rel, staging, files, totals));
        }
        sync_files(
            staged
                .iter()
                .flat_map(|(_, _, files, _)| files.iter().map(|(path, _)| path.clone()))
                .collect(),
        )
        .await?;
        for (rel, staging, files, totals) in staged {
            for (tmp, _) in &files {
                let dest = tmp.with_file_name(format!("part-snapshot.{}", self.ext()));
                fs::rename(tmp, &dest)?;
            }
            let live = self.out.join(&rel);
            let trash = self.out.join(TRASH).join(&rel);
            if live.exists() {
                if let Some(parent) = trash.parent() {
                    fs::create_dir_all(parent)?;
                }
                let _ = fs::remove_dir_all(&trash);
                fs::rename(&live, &trash)
                    .with_context(|| format!("cannot move {} aside", live.display()))?;
            }
            if staging.exists() {
                if let Some(parent) = live.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::rename(&staging, &live)
                    .with_context(|| format!("cannot publish {}", live.display()))?;
            }
            let _ = fs::remove_dir_all(&trash);
            // The directory is published as a whole: its files count once they are all in
            // place.
            self.published += totals.files;
            if totals.files > 0 && self.stop_after_files.is_some_and(|n| self.published >= n) {
                bail!("stopped after {} published files", self.published);
            }
        }
        Ok(all)
    }

    fn progress_line(&self, table: ExportTable, account: AccountId, rows: u64) {
        if self.terminal {
            eprint!("\r\x1b[2K{}: account {account}: {rows} rows", table.name());
            let _ = std::io::stderr().flush();
        }
    }

    fn progress_done(&self, table: ExportTable, totals: Totals) {
        if self.terminal {
            eprint!("\r\x1b[2K");
        }
        if !self.verbose {
            return;
        }
        eprintln!(
            "{}: {} rows, {} files, {} bytes",
            table.name(),
            totals.rows,
            totals.files,
            totals.bytes
        );
    }
}

/// Syncs written files to disk, many at a time: the file system commits concurrent syncs
/// together, where one after the other each would wait for its own commit.
async fn sync_files(paths: Vec<PathBuf>) -> anyhow::Result<()> {
    const AT_ONCE: usize = 64;
    let mut paths = paths.into_iter().peekable();
    while paths.peek().is_some() {
        let tasks: Vec<_> = paths
            .by_ref()
            .take(AT_ONCE)
            .map(|path| {
                tokio::task::spawn_blocking(move || {
                    File::open(&path)
                        .and_then(|f| f.sync_all())
                        .with_context(|| format!("cannot sync {}", path.display()))
                })
            })
            .collect();
        for task in tasks {
            task.await.context("a file sync stopped")??;
        }
    }
    Ok(())
}

/// Extends the runs of equal days with row `i` of day `day`.
fn push_run(runs: &mut Vec<(Option<i32>, usize, usize)>, day: Option<i32>, i: usize) {
    match runs.last_mut() {
        Some((d, _, end)) if *d == day => *end = i + 1,
        _ => runs.push((day, i, i + 1)),
    }
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// The UTC day (days since 1970-01-01) of an instant in microseconds.
fn epoch_day_of_micros(us: i64) -> i32 {
    // |i64::MIN / MICROS_PER_DAY| < 2^27: every quotient fits an i32.
    us.div_euclid(MICROS_PER_DAY) as i32
}

/// The `dt=` value of a day (days since 1970-01-01).
fn day_text(day: Option<i32>) -> String {
    day.and_then(store::day_from_epoch)
        .map_or_else(|| "unknown".to_string(), |d| d.to_string())
}

/// What [`read_pages`] sends: a page of the current read, or its end.
enum Piece {
    Page(ExportBatch),
    End,
}

type Pages = tokio::sync::mpsc::Receiver<anyhow::Result<Piece>>;

/// One read of [`read_pages`]: an account and its inclusive range of partition times.
type Read = (AccountId, (Option<DateTime<Utc>>, Option<DateTime<Utc>>));

/// Pages the reader may hold ahead of the writer (each at most a page of rows, so memory
/// stays bounded): at a typical fleet's sizes, the next account or two.
const PAGES_AHEAD: usize = 2;

/// Reads the pages of `reads` (accounts of one table, each with its range of partition
/// times), one read after the other, on a task of its own that runs up to [`PAGES_AHEAD`]
/// pages ahead of the writer, across accounts: the database reads the next account while
/// the writer encodes this one. Each read ends with [`Piece::End`].
fn read_pages(store: DynStore, table: ExportTable, reads: Vec<Read>, limit: u32) -> Pages {
    let (tx, rx) = tokio::sync::mpsc::channel(PAGES_AHEAD);
    tokio::spawn(async move {
        for (account, (since, until)) in reads {
            let mut after = None;
            loop {
                let page = store
                    .export_batch(ExportPageQuery {
                        table,
                        account_id: account,
                        after: after.take(),
                        since,
                        until,
                        limit,
                    })
                    .await
                    .with_context(|| format!("cannot read {} of account {account}", table.name()));
                let page = match page {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                let n = page.len();
                if page.more_after(limit) {
                    after = page.key(n - 1);
                    if after.is_none() {
                        let e = anyhow::anyhow!("{} holds an order key out of range", table.name());
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
                if tx.send(Ok(Piece::Page(page))).await.is_err() {
                    return;
                }
                if after.is_none() {
                    break;
                }
            }
            if tx.send(Ok(Piece::End)).await.is_err() {
                return;
            }
        }
    });
    rx
}

/// A page as the writers take it.
enum Rows {
    Arrow(RecordBatch),
    Values(ExportBatch),
}

fn print_summary(summary: &[(ExportTable, Totals)], seconds: f64, out: &Path) {
    let mut all = Totals::default();
    println!(
        "{:<26} {:>12} {:>8} {:>14}",
        "table", "rows", "files", "bytes"
    );
    for (table, t) in summary {
        all.add(*t);
        println!(
            "{:<26} {:>12} {:>8} {:>14}",
            table.name(),
            t.rows,
            t.files,
            t.bytes
        );
    }
    println!(
        "exported {} tables: {} rows in {} files, {} bytes, {:.2} s → {}",
        summary.len(),
        all.rows,
        all.files,
        all.bytes,
        seconds,
        out.display()
    );
}

/// One part file being written.
struct PartWriter {
    path: PathBuf,
    sink: Sink,
    format: ExportFormat,
    table: ExportTable,
    bytes: u64,
}

enum Sink {
    Text(BufWriter<File>),
    Parquet(Box<ParquetPart>),
}

impl PartWriter {
    fn create(path: PathBuf, format: ExportFormat, table: ExportTable) -> anyhow::Result<Self> {
        let sink = if format == ExportFormat::Parquet {
            Sink::Parquet(Box::new(ParquetPart::create(&path, table)?))
        } else {
            let file =
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
            Sink::Text(BufWriter::new(file))
        };
        let mut w = PartWriter {
            path,
            sink,
            format,
            table,
            bytes: 0,
        };
        if format == ExportFormat::Csv {
            let header: Vec<&str> = table.columns()[1..].iter().map(|c| c.name).collect();
            let line = format!("{}\n", header.join(","));
            w.write(line.as_bytes())?;
        }
        Ok(w)
    }

    fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let Sink::Text(out) = &mut self.sink else {
            return Ok(());
        };
        out.write_all(bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Writes rows `start..end` of a page, without their first column (`account_id`, which
    /// is in the path).
    fn rows(&mut self, rows: &Rows, start: usize, end: usize) -> anyhow::Result<()> {
        match (&mut self.sink, rows) {
            (Sink::Parquet(part), Rows::Arrow(batch)) => {
                return part.write(&batch.slice(start, end - start));
            }
            (Sink::Parquet(_), Rows::Values(_)) | (Sink::Text(_), Rows::Arrow(_)) => {
                bail!("a page in the wrong form for {}", self.path.display());
            }
            (Sink::Text(_), Rows::Values(_)) => {}
        }
        let Rows::Values(batch) = rows else {
            return Ok(());
        };
        for i in start..end {
            let row = batch
                .row(i)
                .with_context(|| format!("{} holds a value out of range", self.table.name()))?;
            self.row(&row)?;
        }
        Ok(())
    }

    /// Writes a row of text without its first column.
    fn row(&mut self, row: &[ExportValue]) -> anyhow::Result<()> {
        let columns = &self.table.columns()[1..];
        let line = match self.format {
            ExportFormat::Jsonl => {
                let mut object = serde_json::Map::new();
                for (column, value) in columns.iter().zip(&row[1..]) {
                    object.insert(column.name.to_string(), json_value(column.kind, value));
                }
                let mut line = serde_json::to_string(&object)?;
                line.push('\n');
                line
            }
            _ => {
                let cells: Vec<String> = row[1..].iter().map(csv_cell).collect();
                let mut line = cells.join(",");
                line.push('\n');
                line
            }
        };
        self.write(line.as_bytes())
    }

    /// Flushes and closes the file (synced later, with the others of its table); returns its
    /// path and size.
    fn finish(self) -> anyhow::Result<(PathBuf, u64)> {
        match self.sink {
            Sink::Text(mut out) => {
                out.flush()
                    .with_context(|| format!("cannot write {}", self.path.display()))?;
                Ok((self.path, self.bytes))
            }
            Sink::Parquet(part) => {
                part.finish()
                    .with_context(|| format!("cannot write {}", self.path.display()))?;
                let bytes = fs::metadata(&self.path)?.len();
                Ok((self.path, bytes))
            }
        }
    }
}

/// An instant as RFC 3339 with microseconds, in UTC.
pub(crate) fn time_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn csv_cell(value: &ExportValue) -> String {
    match value {
        ExportValue::Null => String::new(),
        ExportValue::Int(v) => v.to_string(),
        ExportValue::Float(v) => v.to_string(),
        ExportValue::Time(at) => time_text(*at),
        ExportValue::Day(day) => day.to_string(),
        ExportValue::Text(text) => format!("\"{}\"", text.replace('"', "\"\"")),
    }
}

fn json_value(kind: ExportKind, value: &ExportValue) -> serde_json::Value {
    use serde_json::Value;
    match value {
        ExportValue::Null => Value::Null,
        ExportValue::Int(v) => Value::from(*v),
        ExportValue::Float(v) => {
            serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number)
        }
        ExportValue::Time(at) => Value::String(time_text(*at)),
        ExportValue::Day(day) => Value::String(day.to_string()),
        ExportValue::Text(text) if kind == ExportKind::Json => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()))
        }
        ExportValue::Text(text) => Value::String(text.clone()),
    }
}
