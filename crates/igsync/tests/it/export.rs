//! `igsync export` end to end: a synced simulator fleet is exported as CSV and as JSON
//! Lines, every file is read back with a plain parser and every row is compared with the
//! database; an export stopped midway is completed by the next run exactly once; a second
//! export after another sync writes only the new snapshots; bad requests are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use store::{DynStore, ExportKind, ExportPageQuery, ExportTable, ExportValue, export_key};

use crate::both_dialects;
use crate::support::{Dialect, Harness, sim_config, start_sim};

both_dialects!(export_writes_every_row_once_resumes_and_adds_only_new_rows);

/// Every row of a table in the database, per account, through the store.
async fn db_rows(store: &DynStore, table: ExportTable) -> Vec<Vec<ExportValue>> {
    let mut out = Vec::new();
    for account in store.account_list().await.unwrap() {
        let mut after = None;
        loop {
            let rows = store
                .export_page(ExportPageQuery {
                    table,
                    account_id: account.id,
                    after: after.take(),
                    since: None,
                    until: None,
                    limit: 997,
                })
                .await
                .unwrap();
            let full = rows.len() == 997;
            if let Some(last) = rows.last() {
                after = Some(export_key(table, last));
            }
            out.extend(rows);
            if !full {
                break;
            }
        }
    }
    out
}

/// RFC 4180 fields: `None` for an empty unquoted field (a missing value).
fn parse_csv(text: &str) -> Vec<Vec<Option<String>>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut chars = text.chars().peekable();
    let mut field = String::new();
    let mut quoted = false;
    let mut any = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if !any || quoted => {
                if quoted && chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else if quoted {
                    quoted = false;
                } else {
                    quoted = true;
                    any = true;
                }
            }
            _ if quoted => field.push(c),
            ',' | '\n' => {
                row.push(if any {
                    Some(std::mem::take(&mut field))
                } else {
                    None
                });
                any = false;
                if c == '\n' {
                    rows.push(std::mem::take(&mut row));
                }
            }
            _ => {
                any = true;
                field.push(c);
            }
        }
    }
    assert!(
        row.is_empty() && field.is_empty(),
        "a CSV file ends with a newline"
    );
    rows
}

fn parse_cell(kind: ExportKind, cell: Option<&str>) -> ExportValue {
    let Some(cell) = cell else {
        return ExportValue::Null;
    };
    match kind {
        ExportKind::Int => ExportValue::Int(cell.parse().expect("an integer")),
        ExportKind::Float => ExportValue::Float(cell.parse().expect("a number")),
        ExportKind::Text | ExportKind::Json => ExportValue::Text(cell.to_string()),
        ExportKind::Time => ExportValue::Time(
            DateTime::parse_from_rfc3339(cell)
                .expect("an RFC 3339 time")
                .with_timezone(&Utc),
        ),
        ExportKind::Day => ExportValue::Day(cell.parse::<NaiveDate>().expect("a day")),
    }
}

fn parse_json(kind: ExportKind, value: &serde_json::Value) -> ExportValue {
    use serde_json::Value;
    match (kind, value) {
        (_, Value::Null) => ExportValue::Null,
        (ExportKind::Int, v) => ExportValue::Int(v.as_i64().expect("an integer")),
        (ExportKind::Float, v) => ExportValue::Float(v.as_f64().expect("a number")),
        // JSON columns are embedded: compare them as JSON values, re-serialized.
        (ExportKind::Json, v) => ExportValue::Text(v.to_string()),
        (_, Value::String(s)) => parse_cell(kind, Some(s)),
        (_, v) => panic!("unexpected JSON value {v}"),
    }
}

fn normalize_json_columns(table: ExportTable, row: &mut [ExportValue]) {
    for (column, value) in table.columns().iter().zip(row.iter_mut()) {
        if column.kind == ExportKind::Json
            && let ExportValue::Text(text) = value
        {
            let parsed: serde_json::Value = serde_json::from_str(text).expect("JSON text");
            *text = parsed.to_string();
        }
    }
}

/// The rows of a Parquet part file, through the Arrow reader, checking the column types.
fn read_parquet(path: &Path, table: ExportTable, account: i64) -> Vec<Vec<ExportValue>> {
    use arrow_array::{
        Array, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let columns = &table.columns()[1..];
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        assert_eq!(batch.num_columns(), columns.len(), "{}", path.display());
        for i in 0..batch.num_rows() {
            let mut row = vec![ExportValue::Int(account)];
            for (c, column) in columns.iter().enumerate() {
                let array = batch.column(c);
                assert_eq!(batch.schema().field(c).name(), column.name);
                if array.is_null(i) {
                    row.push(ExportValue::Null);
                    continue;
                }
                let any = array.as_any();
                row.push(match column.kind {
                    ExportKind::Int => {
                        ExportValue::Int(any.downcast_ref::<Int64Array>().unwrap().value(i))
                    }
                    ExportKind::Float => {
                        ExportValue::Float(any.downcast_ref::<Float64Array>().unwrap().value(i))
                    }
                    ExportKind::Text | ExportKind::Json => ExportValue::Text(
                        any.downcast_ref::<StringArray>()
                            .unwrap()
                            .value(i)
                            .to_string(),
                    ),
                    ExportKind::Time => {
                        let a = any.downcast_ref::<TimestampMicrosecondArray>().unwrap();
                        assert_eq!(a.timezone(), Some("UTC"));
                        ExportValue::Time(DateTime::from_timestamp_micros(a.value(i)).unwrap())
                    }
                    ExportKind::Day => ExportValue::Day(
                        epoch
                            + chrono::Duration::days(i64::from(
                                any.downcast_ref::<Date32Array>().unwrap().value(i),
                            )),
                    ),
                });
            }
            rows.push(row);
        }
    }
    rows
}

/// Python with DuckDB in a venv under `target/` (made on first use, pinned).
fn duckdb_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/duckdb-venv");
    let python = root.join("bin/python");
    let ok = std::process::Command::new(&python)
        .args(["-c", "import duckdb"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        let made = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&root)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv");
        let pip = std::process::Command::new(root.join("bin/pip"))
            .args([
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "duckdb==1.4.4",
            ])
            .status()
            .unwrap();
        assert!(pip.success(), "pip install duckdb");
    }
    python
}

/// `key=value` of a Hive partition directory.
fn partition<'a>(path: &'a Path, key: &str) -> &'a str {
    path.components()
        .filter_map(|c| c.as_os_str().to_str())
        .find_map(|c| {
            c.strip_prefix(&format!("{key}="))
                .map(|_| &c[key.len() + 1..])
        })
        .unwrap_or_else(|| panic!("{} has no {key}= partition", path.display()))
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Every row of every table in an export directory, with `account_id` from the path, in
/// the columns of [`ExportTable::columns`]; checks each row's `dt` partition.
fn read_export(dir: &Path, ext: &str) -> BTreeMap<ExportTable, Vec<Vec<ExportValue>>> {
    let mut out: BTreeMap<ExportTable, Vec<Vec<ExportValue>>> = BTreeMap::new();
    for path in files(dir) {
        let name = path.file_name().unwrap().to_str().unwrap();
        if name == "export-state.json" {
            continue;
        }
        assert!(
            name.starts_with("part-") && name.ends_with(&format!(".{ext}")),
            "unexpected file {}",
            path.display()
        );
        let table = ExportTable::parse(partition(&path, "table")).expect("a known table");
        let account: i64 = partition(&path, "account_id").parse().unwrap();
        // Append-only history is partitioned by capture day; tables rewritten in place, by
        // account only.
        let dt = table
            .append_only()
            .then(|| partition(&path, "dt").to_string());
        if !table.append_only() {
            assert!(
                !path.to_str().unwrap().contains("/dt="),
                "{}",
                path.display()
            );
        }
        let text = if ext == "parquet" {
            String::new()
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        let columns = table.columns();
        let mut rows = Vec::new();
        if ext == "parquet" {
            rows = read_parquet(&path, table, account);
        } else if ext == "csv" {
            let mut lines = parse_csv(&text).into_iter();
            let header: Vec<String> = lines
                .next()
                .unwrap()
                .into_iter()
                .map(Option::unwrap)
                .collect();
            let names: Vec<&str> = columns[1..].iter().map(|c| c.name).collect();
            assert_eq!(header, names, "header of {}", path.display());
            for cells in lines {
                assert_eq!(cells.len(), names.len(), "{}", path.display());
                let mut row = vec![ExportValue::Int(account)];
                for (column, cell) in columns[1..].iter().zip(&cells) {
                    row.push(parse_cell(column.kind, cell.as_deref()));
                }
                rows.push(row);
            }
        } else {
            for line in text.lines() {
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(line).expect("one JSON object per line");
                assert_eq!(object.len(), columns.len() - 1, "{line}");
                let mut row = vec![ExportValue::Int(account)];
                for column in &columns[1..] {
                    row.push(parse_json(column.kind, &object[column.name]));
                }
                rows.push(row);
            }
        }
        for row in rows.iter().filter(|_| dt.is_some()) {
            let day = match &row[table.time_column()] {
                ExportValue::Time(at) => at.date_naive().to_string(),
                ExportValue::Day(d) => d.to_string(),
                v => panic!("partition time {v:?}"),
            };
            assert_eq!(
                Some(day),
                dt,
                "row in the wrong dt= partition: {}",
                path.display()
            );
        }
        out.entry(table).or_default().extend(rows);
    }
    out
}

fn total(totals: &store::StoreTotals, table: ExportTable) -> i64 {
    match table {
        ExportTable::Accounts => totals.accounts,
        ExportTable::ProfileSnapshots => totals.profile_snapshots,
        ExportTable::Media => totals.media,
        ExportTable::MediaInsightSnapshots => totals.media_insight_snapshots,
        ExportTable::Stories => totals.stories,
        ExportTable::StoryInsightSnapshots => totals.story_insight_snapshots,
        ExportTable::AccountInsightDays => totals.account_insight_days,
        ExportTable::DemographicSnapshots => totals.demographic_values,
        ExportTable::SyncRuns => totals.sync_runs,
    }
}

/// The export holds exactly the database: the same number of rows per table as the store's
/// own totals, no key twice, and every row equal to the database's row with its key.
async fn assert_export_equals_db(store: &DynStore, dir: &Path, ext: &str) -> usize {
    let exported = read_export(dir, ext);
    let totals = store.totals().await.unwrap();
    let mut compared = 0;
    for table in ExportTable::ALL {
        let mut db = db_rows(store, table).await;
        let mut rows = exported.get(&table).cloned().unwrap_or_default();
        assert_eq!(
            rows.len() as i64,
            total(&totals, table),
            "{}: rows exported vs the store's total",
            table.name()
        );
        assert_eq!(rows.len(), db.len(), "{}", table.name());
        let key = |row: &Vec<ExportValue>| {
            let mut k = vec![row[0].clone()];
            k.extend(export_key(table, row));
            format!("{k:?}")
        };
        let keys: BTreeSet<String> = rows.iter().map(key).collect();
        assert_eq!(
            keys.len(),
            rows.len(),
            "{}: a key exported twice",
            table.name()
        );
        for row in db.iter_mut().chain(rows.iter_mut()) {
            normalize_json_columns(table, row);
        }
        let by_key: BTreeMap<String, &Vec<ExportValue>> = db.iter().map(|r| (key(r), r)).collect();
        for row in &rows {
            let want = by_key.get(&key(row)).unwrap_or_else(|| {
                panic!(
                    "{}: exported row not in the database: {row:?}",
                    table.name()
                )
            });
            assert_eq!(&row, want, "{}", table.name());
            compared += 1;
        }
    }
    compared
}

/// Rows per table from the summary `igsync export` prints.
fn summary_rows(stdout: &str) -> BTreeMap<String, u64> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let name = parts.next()?;
            ExportTable::parse(name)?;
            Some((name.to_string(), parts.next()?.parse().ok()?))
        })
        .collect()
}

async fn export_writes_every_row_once_resumes_and_adds_only_new_rows(d: Dialect) {
    let mut h = Harness::new(d, "export").await;
    let sim = start_sim(sim_config(43, 3, 12)).await;
    h.graph(&sim);
    h.register(&sim).await;
    h.ok(&["sync", "--all", "--wait"], None).await;
    let store = h.db.open().await;
    let before = store.totals().await.unwrap();
    assert!(before.media_insight_snapshots > 0 && before.profile_snapshots > 0);

    // An export stopped after a few published files leaves them; the next run completes it.
    let csv_dir = h.dir.path().join("dataset-csv");
    let csv = csv_dir.to_str().unwrap();
    h.set("IGSYNC_EXPORT_STOP_AFTER_FILES", "4");
    let stopped = h
        .run(&["export", "--format", "csv", "--out", csv], None)
        .await;
    assert!(!stopped.status.success(), "{stopped}");
    assert!(
        stopped.stderr.contains("stopped after 4 published files"),
        "{stopped}"
    );
    h.env.remove("IGSYNC_EXPORT_STOP_AFTER_FILES");
    h.ok(&["export", "--format", "csv", "--out", csv], None)
        .await;
    let compared = assert_export_equals_db(&store, &csv_dir, "csv").await;
    assert!(
        compared as i64 >= before.media_insight_snapshots,
        "{compared}"
    );

    // The same dataset as JSON Lines, in small pages.
    let jsonl_dir = h.dir.path().join("dataset-jsonl");
    let jsonl = jsonl_dir.to_str().unwrap();
    h.ok(
        &[
            "export",
            "--format",
            "jsonl",
            "--out",
            jsonl,
            "--page-rows",
            "7",
        ],
        None,
    )
    .await;
    assert_export_equals_db(&store, &jsonl_dir, "jsonl").await;

    // The same dataset as Parquet: typed columns read back by the Arrow reader equal the
    // database, and DuckDB reads it with its partition columns.
    let pq_dir = h.dir.path().join("dataset-parquet");
    let pq = pq_dir.to_str().unwrap();
    h.ok(&["export", "--format", "parquet", "--out", pq], None)
        .await;
    assert_export_equals_db(&store, &pq_dir, "parquet").await;
    let totals = store.totals().await.unwrap();
    // Snapshot tables have `dt=` partitions; the others `account_id=` only.
    let script = format!(
        "import duckdb, glob, json\nout = {{}}\nfor t in {tables:?}:\n    \
         dated = t in {dated:?}\n    \
         p = '{pq}/table=' + t + ('/*/*/*.parquet' if dated else '/*/*.parquet')\n    \
         days = 'count(DISTINCT dt)' if dated else '1'\n    \
         out[t] = duckdb.sql(\"SELECT count(*), count(DISTINCT account_id), \" + days + \" \
         FROM read_parquet('\" + p + \"', hive_partitioning = true)\")\
         .fetchone() if glob.glob(p) else (0, 0, 0)\nprint(json.dumps(out))\n",
        tables = ExportTable::ALL.map(|t| t.name()),
        dated = ExportTable::ALL
            .into_iter()
            .filter(|t| t.append_only())
            .map(|t| t.name())
            .collect::<Vec<_>>(),
    );
    let duck = std::process::Command::new(duckdb_python())
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        duck.status.success(),
        "{}",
        String::from_utf8_lossy(&duck.stderr)
    );
    let counts: BTreeMap<String, (i64, i64, i64)> =
        serde_json::from_slice(&duck.stdout).expect("DuckDB's counts");
    for table in ExportTable::ALL {
        let (rows, accounts, days) = counts[table.name()];
        assert_eq!(rows, total(&totals, table), "DuckDB: {}", table.name());
        assert!(
            rows == 0 || (accounts >= 1 && days >= 1),
            "DuckDB sees the partitions of {}",
            table.name()
        );
    }

    // A day later, another sync and a fresh read of every post's insights append captures
    // (a read equal to the row before it only confirms that row); the next export writes
    // only the new rows, and the dataset still equals the database.
    sim.advance_clock(chrono::Duration::hours(24));
    h.ok(&["sync", "--all", "--wait"], None).await;
    h.ok(
        &[
            "sync",
            "--all",
            "--wait",
            "--only",
            "media-insights",
            "--since",
            "2000-01-01",
        ],
        None,
    )
    .await;
    let after = store.totals().await.unwrap();
    assert!(after.media_insight_snapshots > before.media_insight_snapshots);
    let second = h
        .ok(&["export", "--format", "csv", "--out", csv], None)
        .await;
    let rows = summary_rows(&second.stdout);
    for table in ExportTable::ALL.into_iter().filter(|t| t.append_only()) {
        assert_eq!(
            rows[table.name()] as i64,
            total(&after, table) - total(&before, table),
            "{}: only the new rows\n{second}",
            table.name()
        );
    }
    assert_export_equals_db(&store, &csv_dir, "csv").await;
    // Nothing new: nothing appended.
    let third = h
        .ok(&["export", "--format", "csv", "--out", csv], None)
        .await;
    let rows = summary_rows(&third.stdout);
    assert_eq!(rows["media_insight_snapshots"], 0, "{third}");
    assert_export_equals_db(&store, &csv_dir, "csv").await;

    // One account, one table.
    let one_dir = h.dir.path().join("one");
    let account = store.account_list().await.unwrap()[0].id.to_string();
    h.ok(
        &[
            "export",
            "--out",
            one_dir.to_str().unwrap(),
            "--account",
            &account,
            "--tables",
            "profile_snapshots",
        ],
        None,
    )
    .await;
    let one = read_export(&one_dir, "csv");
    assert_eq!(
        one.keys().copied().collect::<Vec<_>>(),
        [ExportTable::ProfileSnapshots]
    );
    assert!(
        one[&ExportTable::ProfileSnapshots]
            .iter()
            .all(|r| r[0] == ExportValue::Int(account.parse().unwrap()))
    );

    // Bad requests are refused with what to do instead.
    let unknown = h
        .run(&["export", "--format", "xml", "--out", csv], None)
        .await;
    assert!(!unknown.status.success());
    assert!(unknown.stderr.contains("csv, jsonl, parquet"), "{unknown}");
    let mixed = h
        .run(&["export", "--format", "jsonl", "--out", csv], None)
        .await;
    assert!(!mixed.status.success());
    assert!(mixed.stderr.contains("holds a csv export"), "{mixed}");
    let table = h
        .run(&["export", "--out", csv, "--tables", "nope"], None)
        .await;
    assert!(!table.status.success());
    assert!(table.stderr.contains("unknown table \"nope\""), "{table}");
    let since = h
        .run(&["export", "--out", csv, "--since", "yesterday"], None)
        .await;
    assert!(!since.status.success());
    assert!(since.stderr.contains("RFC 3339"), "{since}");
}

/// `igsync bench export` syncs a tiny fleet into both databases, exports it to Parquet and
/// prints its figure lines; the export writes every row the database holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_export_prints_rows_per_second_and_bytes_per_million_snapshot_rows() {
    let h = Harness::new(Dialect::Sqlite, "bench-export").await;
    let postgres = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
    let run = h
        .ok(
            &[
                "bench",
                "export",
                "--accounts",
                "2",
                "--media",
                "6",
                "--latency-ms",
                "0",
                "--concurrency",
                "2",
                "--postgres-url",
                &postgres,
            ],
            None,
        )
        .await;
    for dialect in ["sqlite", "postgres"] {
        let lines: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| l.starts_with(&format!("export {dialect} ")))
            .collect();
        assert_eq!(lines.len(), 2, "{run}");
        assert!(lines[0].contains(" rows/s to Parquet ("), "{run}");
        assert!(lines[0].contains("reading alone: "), "{run}");
        assert!(
            lines[1].contains("bytes per million snapshot rows (")
                && lines[1].contains("Parquet snapshots ")
                && lines[1].contains(" MB"),
            "{run}"
        );
        assert_eq!(
            lines[1].contains("SQLite file "),
            dialect == "sqlite",
            "{run}"
        );
    }
    let text = std::fs::read_to_string(h.dir.path().join("bench-results/export.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{json}");
    for r in runs {
        let rows = r["rows"].as_u64().unwrap();
        // The export wrote exactly the rows the database gives when read alone.
        assert_eq!(Some(rows), r["read_only_rows"].as_u64(), "{r}");
        assert!(r["snapshot_rows"].as_u64().unwrap() > 0, "{r}");
        assert!(rows > r["snapshot_rows"].as_u64().unwrap(), "{r}");
        assert!(r["parquet_bytes"].as_u64().unwrap() > 0, "{r}");
        assert!(r["rows_per_s"].as_f64().unwrap() > 0.0, "{r}");
        let sqlite = r["sqlite_file_bytes"].as_u64();
        assert_eq!(sqlite.is_some(), r["database"] == "sqlite", "{r}");
    }
    h.db.teardown().await;
}
