//! Parquet part files of `igsync export`: zstd-compressed, typed columns (int64, float64,
//! UTF-8, UTC microsecond timestamps, dates), dictionary encoding for repeated texts such as
//! metric names (the Parquet writer's default), rows buffered one row group at a time.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use arrow_array::builder::{
    Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::NaiveDate;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use store::{ExportKind, ExportTable, ExportValue};

/// Rows per row group: bounds the memory of one open file.
const GROUP_ROWS: usize = 65_536;

enum Column {
    Int(Int64Builder),
    Float(Float64Builder),
    Text(StringBuilder),
    Time(TimestampMicrosecondBuilder),
    Day(Date32Builder),
}

pub(crate) struct ParquetPart {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    columns: Vec<Column>,
    rows: usize,
}

/// The Arrow schema of a table's part files (without `account_id`, which is in the path).
pub(crate) fn schema(table: ExportTable) -> SchemaRef {
    let fields: Vec<Field> = table.columns()[1..]
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ExportKind::Int => DataType::Int64,
                ExportKind::Float => DataType::Float64,
                ExportKind::Text | ExportKind::Json => DataType::Utf8,
                ExportKind::Time => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                ExportKind::Day => DataType::Date32,
            };
            Field::new(c.name, kind, true)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn builders(table: ExportTable) -> Vec<Column> {
    table.columns()[1..]
        .iter()
        .map(|c| match c.kind {
            ExportKind::Int => Column::Int(Int64Builder::new()),
            ExportKind::Float => Column::Float(Float64Builder::new()),
            ExportKind::Text | ExportKind::Json => Column::Text(StringBuilder::new()),
            ExportKind::Time => {
                Column::Time(TimestampMicrosecondBuilder::new().with_timezone("UTC"))
            }
            ExportKind::Day => Column::Day(Date32Builder::new()),
        })
        .collect()
}

fn epoch_days(day: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    i32::try_from((day - epoch).num_days()).unwrap_or(i32::MAX)
}

impl ParquetPart {
    pub(crate) fn create(path: &Path, table: ExportTable) -> anyhow::Result<Self> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let schema = schema(table);
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_created_by("igsync export".to_string())
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .with_context(|| format!("cannot start {}", path.display()))?;
        Ok(ParquetPart {
            writer,
            schema,
            columns: builders(table),
            rows: 0,
        })
    }

    /// Appends a row without its first column (`account_id`).
    pub(crate) fn row(&mut self, row: &[ExportValue]) -> anyhow::Result<()> {
        for (column, value) in self.columns.iter_mut().zip(&row[1..]) {
            match (column, value) {
                (Column::Int(b), ExportValue::Int(v)) => b.append_value(*v),
                (Column::Int(b), _) => b.append_null(),
                (Column::Float(b), ExportValue::Float(v)) => b.append_value(*v),
                (Column::Float(b), _) => b.append_null(),
                (Column::Text(b), ExportValue::Text(v)) => b.append_value(v),
                (Column::Text(b), _) => b.append_null(),
                (Column::Time(b), ExportValue::Time(v)) => b.append_value(v.timestamp_micros()),
                (Column::Time(b), _) => b.append_null(),
                (Column::Day(b), ExportValue::Day(v)) => b.append_value(epoch_days(*v)),
                (Column::Day(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
        if self.rows >= GROUP_ROWS {
            self.flush_group()?;
        }
        Ok(())
    }

    fn flush_group(&mut self) -> anyhow::Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Column::Int(b) => Arc::new(b.finish()),
                    Column::Float(b) => Arc::new(b.finish()),
                    Column::Text(b) => Arc::new(b.finish()),
                    Column::Time(b) => Arc::new(b.finish()),
                    Column::Day(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)?;
        self.writer.write(&batch)?;
        self.writer.flush()?;
        self.rows = 0;
        Ok(())
    }

    /// Writes the last row group and the footer, and syncs the file.
    pub(crate) fn finish(mut self) -> anyhow::Result<()> {
        self.flush_group()?;
        let file = self.writer.into_inner()?;
        file.sync_all()?;
        Ok(())
    }
}
