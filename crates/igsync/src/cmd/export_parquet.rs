//! Parquet part files of `igsync export`: zstd-compressed (level 1), typed columns (int64,
//! float64, UTF-8, UTC microsecond timestamps, dates), dictionary encoding for repeated texts
//! such as metric names (the Parquet writer's default). Pages read from the store become
//! Arrow record batches whole, and a file gets slices of them, so a row group holds up to the
//! writer's default of about a million rows.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow_array::builder::StringBuilder;
use arrow_array::{
    ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use store::{ExportBatch, ExportColumnValues, ExportKind, ExportTable};

pub(crate) struct ParquetPart {
    writer: ArrowWriter<File>,
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

/// A page as an Arrow record batch of the part files' schema (its first column, `account_id`,
/// left out). Numbers move without a copy; texts are copied once into Arrow's buffer.
pub(crate) fn record_batch(batch: ExportBatch) -> anyhow::Result<RecordBatch> {
    let table = batch.table;
    let arrays: Vec<ArrayRef> = batch
        .columns
        .into_iter()
        .skip(1)
        .map(|column| -> anyhow::Result<ArrayRef> {
            Ok(match column {
                ExportColumnValues::Int(v) => Arc::new(Int64Array::from(v)),
                ExportColumnValues::Float(v) => Arc::new(Float64Array::from(v)),
                ExportColumnValues::Time(v) => {
                    Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC"))
                }
                ExportColumnValues::Day(v) => Arc::new(Date32Array::from(v)),
                ExportColumnValues::Text {
                    data,
                    offsets,
                    valid,
                } => {
                    let mut b = StringBuilder::with_capacity(valid.len(), data.len());
                    for (i, ok) in valid.iter().enumerate() {
                        if *ok {
                            let Some(text) = data.get(offsets[i]..offsets[i + 1]) else {
                                bail!("a text of {} outside its page", table.name());
                            };
                            b.append_value(text);
                        } else {
                            b.append_null();
                        }
                    }
                    Arc::new(b.finish())
                }
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(RecordBatch::try_new(schema(table), arrays)?)
}

impl ParquetPart {
    pub(crate) fn create(path: &Path, table: ExportTable) -> anyhow::Result<Self> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
            .set_created_by("igsync export".to_string())
            .build();
        let writer = ArrowWriter::try_new(file, schema(table), Some(props))
            .with_context(|| format!("cannot start {}", path.display()))?;
        Ok(ParquetPart { writer })
    }

    /// Appends rows (a slice of a page's record batch).
    pub(crate) fn write(&mut self, rows: &RecordBatch) -> anyhow::Result<()> {
        self.writer.write(rows)?;
        Ok(())
    }

    /// Writes the last row group and the footer (the file is synced with the others of its
    /// table).
    pub(crate) fn finish(self) -> anyhow::Result<()> {
        self.writer.close()?;
        Ok(())
    }
}
