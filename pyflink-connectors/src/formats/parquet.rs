//! Rows in Parquet files: a bulk writer for the file sink (Flink's
//! `ParquetBulkWriters.forRowType`, Snappy-compressed) and a bulk format for the file source
//! (Flink's `ParquetColumnarRowInputFormat`), through the parquet crate's Arrow reader and
//! writer. Fields map to Parquet columns by name: `BOOLEAN`, `TINYINT` … `BIGINT` as signed
//! integers of their width, `FLOAT`, `DOUBLE`, and the string types as UTF-8 strings.
//!
//! ```
//! use pyflink_connectors::file::{BulkFormat, BulkWriterFactory};
//! use pyflink_connectors::formats::parquet::{ParquetRowFormat, ParquetWriterFactory};
//! use pyflink_connectors::formats::RowType;
//! use pyflink_core::table::{DataType, Row, Value};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("people.parquet");
//! let row_type = RowType::new([("name", DataType::String), ("age", DataType::Int)]);
//! let factory = ParquetWriterFactory::for_row_type(row_type.clone());
//! let mut writer = factory.create(std::fs::File::create(&path).unwrap(), &path).unwrap();
//! writer.add_element(&Row::of(vec![Value::String("Ada".into()), Value::Int(36)])).unwrap();
//! writer.add_element(&Row::of(vec![Value::String("Bo".into()), Value::Null])).unwrap();
//! writer.finish().unwrap();
//!
//! // Read back by name: `age` only, and `city`, which the file lacks, as null.
//! let wanted = RowType::new([("age", DataType::Int), ("city", DataType::String)]);
//! let rows: Vec<String> = ParquetRowFormat::new(wanted).read(&path, 0).unwrap()
//!     .map(|row| row.unwrap().to_string()).collect();
//! assert_eq!(rows, ["+I[36, null]", "+I[null, null]"]);
//! ```

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use pyflink_core::table::Row;
use pyflink_core::{FlinkError, Result};

use crate::file::{BulkFormat, BulkRecords, BulkWriter, BulkWriterFactory};
pub use crate::formats::arrow_rows::ColumnarRowFormat;
use crate::formats::arrow_rows::{arrow_schema, batch_rows, project, RowBatcher};
use crate::formats::RowType;

fn parquet_error(what: &str, path: &Path, error: impl std::fmt::Display) -> FlinkError {
    FlinkError::Connector(format!("Parquet: cannot {what} '{}': {error}", path.display()))
}

/// Writes rows of a row type as Parquet part files (Flink's `ParquetBulkWriters.forRowType`).
#[derive(Debug, Clone)]
pub struct ParquetWriterFactory {
    row_type: RowType,
    schema: SchemaRef,
}

impl ParquetWriterFactory {
    /// Writers of rows of `row_type`, each field a nullable column of its name.
    pub fn for_row_type(row_type: RowType) -> Self {
        let schema = arrow_schema(&row_type);
        ParquetWriterFactory { row_type, schema }
    }
}

impl BulkWriterFactory<Row> for ParquetWriterFactory {
    fn create(&self, file: File, path: &Path) -> Result<Box<dyn BulkWriter<Row>>> {
        let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&self.schema), Some(properties))
            .map_err(|e| parquet_error("start", path, e))?;
        Ok(Box::new(ParquetRowWriter {
            rows: RowBatcher::new(&self.row_type, Arc::clone(&self.schema), "Parquet"),
            writer,
            path: path.to_path_buf(),
        }))
    }
}

/// Writes one Parquet part file: rows gather into record batches, which go to the file as
/// they fill.
struct ParquetRowWriter {
    rows: RowBatcher,
    writer: ArrowWriter<File>,
    path: std::path::PathBuf,
}

impl ParquetRowWriter {
    fn write_batch(&mut self) -> Result<()> {
        match self.rows.take_batch()? {
            Some(batch) => self.writer.write(&batch).map_err(|e| parquet_error("write", &self.path, e)),
            None => Ok(()),
        }
    }
}

impl BulkWriter<Row> for ParquetRowWriter {
    fn add_element(&mut self, row: &Row) -> Result<()> {
        if self.rows.push(row)? {
            self.write_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<File> {
        self.write_batch()?;
        let path = self.path.clone();
        self.writer.into_inner().map_err(|e| parquet_error("finish", &path, e))
    }
}

/// Reads rows of a row type from Parquet files (Flink's `ParquetColumnarRowInputFormat`); see
/// [`ColumnarRowFormat`].
pub type ParquetRowFormat = ColumnarRowFormat<ParquetFiles>;

/// The Parquet file format, for [`ColumnarRowFormat`].
#[derive(Debug, Clone, Copy)]
pub struct ParquetFiles;

impl BulkFormat<Row> for ParquetRowFormat {
    fn read(&self, path: &Path, skip: u64) -> Result<BulkRecords<Row>> {
        let file = File::open(path).map_err(|e| parquet_error("open", path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error("read", path, e))?;
        let file_fields = builder.schema().fields().clone();
        let (columns, sources) = project(&file_fields, &self.row_type, self.case_sensitive, "Parquet", path)?;
        // Only top-level columns of primitive types are read, so each is one leaf.
        let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(self.batch_size)
            .build()
            .map_err(|e| parquet_error("read", path, e))?;
        let path = path.to_path_buf();
        Ok(batch_rows(reader, sources, self.row_type.clone(), skip, move |e| parquet_error("read", &path, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::arrow_rows::testing::{check_fields_by_name, check_round_trip, Columnar};

    const PARQUET: Columnar = Columnar {
        name: "Parquet",
        writers: |row_type| Box::new(ParquetWriterFactory::for_row_type(row_type)),
        reader: |row_type, case_sensitive| {
            Box::new(ParquetRowFormat::new(row_type).with_batch_size(1000).with_case_sensitive(case_sensitive))
        },
    };

    #[test]
    fn every_type_round_trips_across_batches_and_reading_resumes_after_skipped_rows() {
        check_round_trip(&PARQUET);
    }

    #[test]
    fn fields_match_columns_by_name_widen_and_refuse_what_does_not_fit() {
        check_fields_by_name(&PARQUET);
    }
}
