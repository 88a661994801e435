//! Export reads: every history table as plain rows of typed values, read in pages ordered
//! by a stable key so `igsync export` streams tables of any size in bounded memory.
//!
//! Each [`ExportTable`] fixes its columns (names and kinds, the same on both dialects), its
//! partition time column and its order key. A page continues after the key of the last row
//! of the previous page (keyset pagination), so no row is read twice or skipped while the
//! table only grows.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};

use crate::AccountId;

/// The tables `igsync export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExportTable {
    Accounts,
    ProfileSnapshots,
    Media,
    MediaInsightSnapshots,
    Stories,
    StoryInsightSnapshots,
    AccountInsightDays,
    DemographicSnapshots,
    SyncRuns,
}

/// The kind of an exported column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Int,
    Float,
    Text,
    /// A UTC instant, microsecond precision.
    Time,
    /// A calendar day.
    Day,
    /// JSON text (arrays, objects), as stored.
    Json,
}

/// One exported column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportColumn {
    pub name: &'static str,
    pub kind: ExportKind,
}

const fn col(name: &'static str, kind: ExportKind) -> ExportColumn {
    ExportColumn { name, kind }
}

use ExportKind::{Day, Float, Int, Json, Text, Time};

const ACCOUNTS: &[ExportColumn] = &[
    col("account_id", Int),
    col("ig_user_id", Text),
    col("username", Text),
    col("name", Text),
    col("account_type", Text),
    col("login", Text),
    col("page_id", Text),
    col("timezone", Text),
    col("sync_status", Text),
    col("last_synced_at", Time),
    col("last_sync_error", Text),
    col("followers_count", Int),
    col("follows_count", Int),
    col("media_count", Int),
    col("created_at", Time),
    col("updated_at", Time),
];
const PROFILE_SNAPSHOTS: &[ExportColumn] = &[
    col("account_id", Int),
    col("captured_at", Time),
    col("followers_count", Int),
    col("follows_count", Int),
    col("media_count", Int),
    col("api_version", Text),
    col("source", Text),
];
const MEDIA: &[ExportColumn] = &[
    col("account_id", Int),
    col("published_at", Time),
    col("media_id", Int),
    col("ig_media_id", Text),
    col("media_type", Text),
    col("product_type", Text),
    col("caption", Text),
    col("permalink", Text),
    col("media_url", Text),
    col("thumbnail_url", Text),
    col("shortcode", Text),
    col("like_count", Int),
    col("comments_count", Int),
    col("children", Json),
    col("first_seen_at", Time),
    col("last_seen_at", Time),
    col("deleted_at", Time),
    col("insights_captured_at", Time),
    col("insights_error", Text),
];
const MEDIA_INSIGHT_SNAPSHOTS: &[ExportColumn] = &[
    col("account_id", Int),
    col("captured_at", Time),
    col("media_id", Int),
    col("metric", Text),
    col("breakdown", Text),
    col("ig_media_id", Text),
    col("value", Float),
    col("api_version", Text),
    col("source", Text),
];
const STORIES: &[ExportColumn] = &[
    col("account_id", Int),
    col("published_at", Time),
    col("story_id", Int),
    col("ig_media_id", Text),
    col("media_type", Text),
    col("permalink", Text),
    col("caption", Text),
    col("media_url", Text),
    col("first_seen_at", Time),
    col("last_seen_at", Time),
    col("insights_captured_at", Time),
    col("insights_error", Text),
];
const STORY_INSIGHT_SNAPSHOTS: &[ExportColumn] = &[
    col("account_id", Int),
    col("captured_at", Time),
    col("story_id", Int),
    col("metric", Text),
    col("breakdown", Text),
    col("ig_media_id", Text),
    col("value", Float),
    col("api_version", Text),
    col("source", Text),
];
const ACCOUNT_INSIGHT_DAYS: &[ExportColumn] = &[
    col("account_id", Int),
    col("day", Day),
    col("metric", Text),
    col("breakdown", Text),
    col("key", Text),
    col("value", Float),
    col("fetched_at", Time),
    col("api_version", Text),
    col("source", Text),
];
const DEMOGRAPHIC_SNAPSHOTS: &[ExportColumn] = &[
    col("account_id", Int),
    col("captured_on", Day),
    col("metric", Text),
    col("breakdown", Text),
    col("timeframe", Text),
    col("key", Text),
    col("value", Float),
    col("api_version", Text),
    col("source", Text),
];
const SYNC_RUNS: &[ExportColumn] = &[
    col("account_id", Int),
    col("started_at", Time),
    col("run_id", Int),
    col("plan", Text),
    col("triggered_by", Text),
    col("steps_planned", Json),
    col("status", Text),
    col("finished_at", Time),
    col("error", Text),
];

impl ExportTable {
    pub const ALL: [ExportTable; 9] = [
        ExportTable::Accounts,
        ExportTable::ProfileSnapshots,
        ExportTable::Media,
        ExportTable::MediaInsightSnapshots,
        ExportTable::Stories,
        ExportTable::StoryInsightSnapshots,
        ExportTable::AccountInsightDays,
        ExportTable::DemographicSnapshots,
        ExportTable::SyncRuns,
    ];

    /// The table's name in the export (and in the database).
    pub fn name(self) -> &'static str {
        match self {
            ExportTable::Accounts => "accounts",
            ExportTable::ProfileSnapshots => "profile_snapshots",
            ExportTable::Media => "media",
            ExportTable::MediaInsightSnapshots => "media_insight_snapshots",
            ExportTable::Stories => "stories",
            ExportTable::StoryInsightSnapshots => "story_insight_snapshots",
            ExportTable::AccountInsightDays => "account_insight_days",
            ExportTable::DemographicSnapshots => "demographic_snapshots",
            ExportTable::SyncRuns => "sync_runs",
        }
    }

    pub fn parse(name: &str) -> Option<ExportTable> {
        ExportTable::ALL.into_iter().find(|t| t.name() == name)
    }

    /// The columns, in order. Column 0 is always `account_id`, column 1 the partition time
    /// (an instant or a day; for accounts the registration time).
    pub fn columns(self) -> &'static [ExportColumn] {
        match self {
            ExportTable::Accounts => ACCOUNTS,
            ExportTable::ProfileSnapshots => PROFILE_SNAPSHOTS,
            ExportTable::Media => MEDIA,
            ExportTable::MediaInsightSnapshots => MEDIA_INSIGHT_SNAPSHOTS,
            ExportTable::Stories => STORIES,
            ExportTable::StoryInsightSnapshots => STORY_INSIGHT_SNAPSHOTS,
            ExportTable::AccountInsightDays => ACCOUNT_INSIGHT_DAYS,
            ExportTable::DemographicSnapshots => DEMOGRAPHIC_SNAPSHOTS,
            ExportTable::SyncRuns => SYNC_RUNS,
        }
    }

    /// Index of the partition time column (`dt=` of the export).
    pub fn time_column(self) -> usize {
        match self {
            ExportTable::Accounts => 14,
            _ => 1,
        }
    }

    /// Whether the partition time is a day: a `since` or `until` bound then compares with
    /// the instant's UTC day.
    pub fn partitioned_by_day(self) -> bool {
        self.columns()[self.time_column()].kind == ExportKind::Day
    }

    /// The order key within an account: these columns, in this order, are unique per row.
    pub fn key_columns(self) -> &'static [usize] {
        match self {
            ExportTable::Accounts => &[0],
            ExportTable::ProfileSnapshots => &[1],
            ExportTable::Media | ExportTable::Stories | ExportTable::SyncRuns => &[1, 2],
            ExportTable::MediaInsightSnapshots | ExportTable::StoryInsightSnapshots => {
                &[1, 2, 3, 4]
            }
            ExportTable::AccountInsightDays => &[1, 2, 3, 4],
            ExportTable::DemographicSnapshots => &[1, 2, 3, 4, 5],
        }
    }

    /// Append-only history: rows are never changed once written, so an export can take
    /// only the rows captured after the previous one. The other tables are rewritten in
    /// place by syncs and are exported whole every time.
    pub fn append_only(self) -> bool {
        matches!(
            self,
            ExportTable::ProfileSnapshots
                | ExportTable::MediaInsightSnapshots
                | ExportTable::StoryInsightSnapshots
        )
    }
}

/// One exported value.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportValue {
    Null,
    Int(i64),
    Float(f64),
    Text(String),
    Time(DateTime<Utc>),
    Day(NaiveDate),
}

/// One page of one table of one account.
#[derive(Debug, Clone)]
pub struct ExportPageQuery {
    pub table: ExportTable,
    pub account_id: AccountId,
    /// Continue after this order key (the [`ExportTable::key_columns`] values of the last
    /// row of the previous page); `None` starts at the beginning.
    pub after: Option<Vec<ExportValue>>,
    /// Only rows whose partition time is at or after this instant (a day column compares
    /// with the instant's UTC day).
    pub since: Option<DateTime<Utc>>,
    /// Only rows whose partition time is at or before this instant (inclusive).
    pub until: Option<DateTime<Utc>>,
    pub limit: u32,
}

impl ExportPageQuery {
    /// The order key to continue after, which must have a value for each of the table's
    /// [`ExportTable::key_columns`].
    pub fn after_key(&self) -> crate::Result<Option<&[ExportValue]>> {
        match &self.after {
            Some(after) if after.len() != self.table.key_columns().len() => {
                Err(crate::StoreError::invalid(format!(
                    "the order key of {} has {} values, not {}",
                    self.table.name(),
                    self.table.key_columns().len(),
                    after.len()
                )))
            }
            after => Ok(after.as_deref()),
        }
    }
}

/// The order key of a row of `table`.
pub fn export_key(table: ExportTable, row: &[ExportValue]) -> Vec<ExportValue> {
    table
        .key_columns()
        .iter()
        .map(|&i| row[i].clone())
        .collect()
}

/// The values of one column of an [`ExportBatch`], in the representation columnar writers
/// take without converting each value: instants as microseconds since the Unix epoch (UTC),
/// days as days since 1970-01-01, texts concatenated into one buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum ExportColumnValues {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    /// Row `i` is `data[offsets[i]..offsets[i + 1]]`, or missing when `!valid[i]` (then its
    /// range is empty). `offsets` has one entry more than there are rows.
    Text {
        data: String,
        offsets: Vec<usize>,
        valid: Vec<bool>,
    },
    Time(Vec<Option<i64>>),
    Day(Vec<Option<i32>>),
}

impl ExportColumnValues {
    /// An empty column of `kind` with room for `rows` rows.
    pub fn new(kind: ExportKind, rows: usize) -> Self {
        match kind {
            Int => ExportColumnValues::Int(Vec::with_capacity(rows)),
            Float => ExportColumnValues::Float(Vec::with_capacity(rows)),
            Text | Json => {
                let mut offsets = Vec::with_capacity(rows + 1);
                offsets.push(0);
                ExportColumnValues::Text {
                    data: String::new(),
                    offsets,
                    valid: Vec::with_capacity(rows),
                }
            }
            Time => ExportColumnValues::Time(Vec::with_capacity(rows)),
            Day => ExportColumnValues::Day(Vec::with_capacity(rows)),
        }
    }

    /// Appends a text (to a text column).
    pub fn push_text(&mut self, text: Option<&str>) {
        if let ExportColumnValues::Text {
            data,
            offsets,
            valid,
        } = self
        {
            if let Some(t) = text {
                data.push_str(t);
            }
            offsets.push(data.len());
            valid.push(text.is_some());
        }
    }

    /// Appends a missing value (to a column of any kind).
    pub fn push_null(&mut self) {
        match self {
            ExportColumnValues::Int(v) | ExportColumnValues::Time(v) => v.push(None),
            ExportColumnValues::Float(v) => v.push(None),
            ExportColumnValues::Day(v) => v.push(None),
            ExportColumnValues::Text { .. } => self.push_text(None),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ExportColumnValues::Int(v) | ExportColumnValues::Time(v) => v.len(),
            ExportColumnValues::Float(v) => v.len(),
            ExportColumnValues::Day(v) => v.len(),
            ExportColumnValues::Text { valid, .. } => valid.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of row `i`; `None` when `i` is out of range or the stored number is not a
    /// representable instant or day.
    pub fn value(&self, i: usize) -> Option<ExportValue> {
        Some(match self {
            ExportColumnValues::Int(v) => v.get(i)?.map_or(ExportValue::Null, ExportValue::Int),
            ExportColumnValues::Float(v) => v.get(i)?.map_or(ExportValue::Null, ExportValue::Float),
            ExportColumnValues::Time(v) => match v.get(i)? {
                Some(us) => ExportValue::Time(DateTime::from_timestamp_micros(*us)?),
                None => ExportValue::Null,
            },
            ExportColumnValues::Day(v) => match v.get(i)? {
                Some(d) => ExportValue::Day(day_from_epoch(*d)?),
                None => ExportValue::Null,
            },
            ExportColumnValues::Text {
                data,
                offsets,
                valid,
            } => {
                if !*valid.get(i)? {
                    ExportValue::Null
                } else {
                    ExportValue::Text(data.get(offsets[i]..offsets[i + 1])?.to_string())
                }
            }
        })
    }
}

/// 1970-01-01 plus `days`.
pub fn day_from_epoch(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::TimeDelta::days(days.into()))
}

/// Days since 1970-01-01.
pub fn epoch_day(day: NaiveDate) -> i32 {
    // Every NaiveDate is within ±2^18 years of 1970, so its day number fits an i32.
    day.signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default())
        .num_days() as i32
}

/// One page of one table of one account, column by column (the table's
/// [`ExportTable::columns`] in order), as [`crate::Store::export_batch`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportBatch {
    pub table: ExportTable,
    pub columns: Vec<ExportColumnValues>,
    /// The page holds every remaining row of its read: no page follows, even when it holds
    /// as many rows as the limit. Otherwise a page of fewer rows than the limit is the last.
    pub complete: bool,
}

impl ExportBatch {
    /// An empty batch with room for `rows` rows.
    pub fn new(table: ExportTable, rows: usize) -> Self {
        ExportBatch {
            table,
            columns: table
                .columns()
                .iter()
                .map(|c| ExportColumnValues::new(c.kind, rows))
                .collect(),
            complete: false,
        }
    }

    /// A batch of rows read as [`ExportValue`]s.
    pub fn from_rows(table: ExportTable, rows: &[Vec<ExportValue>]) -> crate::Result<Self> {
        let mut batch = ExportBatch::new(table, rows.len());
        for row in rows {
            if row.len() != batch.columns.len() {
                return Err(crate::StoreError::invalid(format!(
                    "a row of {} has {} values, not {}",
                    table.name(),
                    row.len(),
                    batch.columns.len()
                )));
            }
            for (column, value) in batch.columns.iter_mut().zip(row) {
                match (column, value) {
                    (c, ExportValue::Null) => c.push_null(),
                    (ExportColumnValues::Int(v), ExportValue::Int(x)) => v.push(Some(*x)),
                    (ExportColumnValues::Float(v), ExportValue::Float(x)) => v.push(Some(*x)),
                    (ExportColumnValues::Time(v), ExportValue::Time(x)) => {
                        v.push(Some(x.timestamp_micros()));
                    }
                    (ExportColumnValues::Day(v), ExportValue::Day(x)) => {
                        v.push(Some(epoch_day(*x)))
                    }
                    (c @ ExportColumnValues::Text { .. }, ExportValue::Text(x)) => {
                        c.push_text(Some(x));
                    }
                    (_, other) => {
                        return Err(crate::StoreError::invalid(format!(
                            "{} holds a value of the wrong kind: {other:?}",
                            table.name()
                        )));
                    }
                }
            }
        }
        Ok(batch)
    }

    pub fn len(&self) -> usize {
        self.columns.first().map_or(0, ExportColumnValues::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` as values (`None` when out of range or a number is not an instant or day).
    pub fn row(&self, i: usize) -> Option<Vec<ExportValue>> {
        self.columns.iter().map(|c| c.value(i)).collect()
    }

    /// Whether a page follows this one of a read of `limit` rows a page.
    pub fn more_after(&self, limit: u32) -> bool {
        !self.complete && self.len() >= limit.max(1) as usize
    }

    /// The order key of row `i` (see [`ExportPageQuery::after`]).
    pub fn key(&self, i: usize) -> Option<Vec<ExportValue>> {
        self.table
            .key_columns()
            .iter()
            .map(|&c| self.columns.get(c)?.value(i))
            .collect()
    }

    /// Puts the rows in the table's key order ([`ExportTable::key_columns`]: numbers and
    /// instants by value, texts by their bytes, as both dialects order them). A dialect reads
    /// a page that holds the whole rest of a table's rows unordered and sorts it here, where
    /// sorting a permutation costs a fraction of the database's sort of whole rows.
    pub fn sort_by_key(&mut self) {
        let n = self.len();
        let keys: Vec<&ExportColumnValues> = self
            .table
            .key_columns()
            .iter()
            .filter_map(|&c| self.columns.get(c))
            .collect();
        let cmp = |a: usize, b: usize| {
            keys.iter()
                .map(|c| c.cmp_rows(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        };
        if (1..n).all(|i| cmp(i - 1, i).is_le()) {
            return;
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_unstable_by(|&a, &b| cmp(a, b));
        self.columns = self.columns.iter().map(|c| c.gather(&order)).collect();
    }
}

impl ExportColumnValues {
    /// Compares rows `a` and `b` of this column (missing first); rows out of range compare
    /// equal.
    fn cmp_rows(&self, a: usize, b: usize) -> Ordering {
        fn opt<T: Copy>(
            v: &[Option<T>],
            a: usize,
            b: usize,
            f: impl Fn(T, T) -> Ordering,
        ) -> Ordering {
            match (v.get(a).copied().flatten(), v.get(b).copied().flatten()) {
                (Some(x), Some(y)) => f(x, y),
                (x, y) => x.is_some().cmp(&y.is_some()),
            }
        }
        match self {
            ExportColumnValues::Int(v) | ExportColumnValues::Time(v) => {
                opt(v, a, b, |x, y| x.cmp(&y))
            }
            ExportColumnValues::Float(v) => opt(v, a, b, |x, y| x.total_cmp(&y)),
            ExportColumnValues::Day(v) => opt(v, a, b, |x, y| x.cmp(&y)),
            ExportColumnValues::Text {
                data,
                offsets,
                valid,
            } => {
                let text = |i: usize| {
                    valid
                        .get(i)
                        .copied()
                        .unwrap_or(false)
                        .then(|| data.as_bytes().get(offsets[i]..offsets[i + 1]))
                        .flatten()
                };
                text(a).cmp(&text(b))
            }
        }
    }

    /// The column's rows in `order` (indexes of rows, each in range).
    fn gather(&self, order: &[usize]) -> Self {
        match self {
            ExportColumnValues::Int(v) => {
                ExportColumnValues::Int(order.iter().map(|&i| v[i]).collect())
            }
            ExportColumnValues::Time(v) => {
                ExportColumnValues::Time(order.iter().map(|&i| v[i]).collect())
            }
            ExportColumnValues::Float(v) => {
                ExportColumnValues::Float(order.iter().map(|&i| v[i]).collect())
            }
            ExportColumnValues::Day(v) => {
                ExportColumnValues::Day(order.iter().map(|&i| v[i]).collect())
            }
            ExportColumnValues::Text {
                data,
                offsets,
                valid,
            } => {
                let mut out = ExportColumnValues::Text {
                    data: String::with_capacity(data.len()),
                    offsets: Vec::with_capacity(order.len() + 1),
                    valid: Vec::with_capacity(order.len()),
                };
                if let ExportColumnValues::Text { offsets: o, .. } = &mut out {
                    o.push(0);
                }
                for &i in order {
                    out.push_text(valid[i].then(|| &data[offsets[i]..offsets[i + 1]]));
                }
                out
            }
        }
    }
}
