//! Rows in ORC files: a bulk writer for the file sink (Flink's `OrcBulkWriters.for_row_type`)
//! and a bulk format that reads them back, through orc-rust's Arrow writer and reader. Fields
//! map to ORC columns by name with the types of [`parquet`](super) files: `BOOLEAN`, `TINYINT` …
//! `BIGINT` as integers of their width, `FLOAT`, `DOUBLE`, and the string types as strings.
//! Files are written without compression, which every ORC reader reads.
//!
//! ```
//! use pyflink_connectors::file::{BulkFormat, BulkWriterFactory};
//! use pyflink_connectors::formats::orc::{OrcRowFormat, OrcWriterFactory};
//! use pyflink_connectors::formats::RowType;
//! use pyflink_core::table::{DataType, Row, Value};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("people.orc");
//! let row_type = RowType::new([("name", DataType::String), ("age", DataType::Int)]);
//! let factory = OrcWriterFactory::for_row_type(row_type.clone());
//! let mut writer = factory.create(std::fs::File::create(&path).unwrap(), &path).unwrap();
//! writer.add_element(&Row::of(vec![Value::String("Ada".into()), Value::Int(36)])).unwrap();
//! writer.finish().unwrap();
//!
//! let rows: Vec<String> = OrcRowFormat::new(row_type).read(&path, 0).unwrap()
//!     .map(|row| row.unwrap().to_string()).collect();
//! assert_eq!(rows, ["+I[Ada, 36]"]);
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use orc_rust::arrow_reader::ArrowReaderBuilder;
use orc_rust::arrow_writer::{ArrowWriter, ArrowWriterBuilder};
use orc_rust::projection::ProjectionMask;
use pyflink_core::table::Row;
use pyflink_core::{FlinkError, Result};

use crate::file::{BulkFormat, BulkRecords, BulkWriter, BulkWriterFactory};
pub use crate::formats::arrow_rows::ColumnarRowFormat;
use crate::formats::arrow_rows::{arrow_schema, batch_rows, project, RowBatcher};
use crate::formats::RowType;

fn orc_error(what: &str, path: &Path, error: impl std::fmt::Display) -> FlinkError {
    FlinkError::Connector(format!("ORC: cannot {what} '{}': {error}", path.display()))
}

/// Writes rows of a row type as ORC part files (Flink's `OrcBulkWriters.for_row_type`).
#[derive(Debug, Clone)]
pub struct OrcWriterFactory {
    row_type: RowType,
    schema: SchemaRef,
}

impl OrcWriterFactory {
    /// Writers of rows of `row_type`, each field a nullable column of its name.
    pub fn for_row_type(row_type: RowType) -> Self {
        let schema = arrow_schema(&row_type);
        OrcWriterFactory { row_type, schema }
    }
}

impl BulkWriterFactory<Row> for OrcWriterFactory {
    fn create(&self, file: File, path: &Path) -> Result<Box<dyn BulkWriter<Row>>> {
        Ok(Box::new(OrcRowWriter {
            rows: RowBatcher::new(&self.row_type, Arc::clone(&self.schema), "ORC"),
            batches: Vec::new(),
            schema: Arc::clone(&self.schema),
            file,
            path: path.to_path_buf(),
        }))
    }
}

/// Writes one ORC part file. orc-rust's writer cannot move between threads, and a part's writer
/// must (it lives in the sink's operator), so the part's rows are kept as Arrow record batches,
/// which are compact, and encoded into the file when the part finishes: at the next checkpoint
/// or the end of the input, as bulk parts roll.
struct OrcRowWriter {
    rows: RowBatcher,
    batches: Vec<RecordBatch>,
    schema: SchemaRef,
    file: File,
    path: PathBuf,
}

impl OrcRowWriter {
    fn gather_batch(&mut self) -> Result<()> {
        if let Some(batch) = self.rows.take_batch()? {
            self.batches.push(batch);
        }
        Ok(())
    }
}

impl BulkWriter<Row> for OrcRowWriter {
    fn add_element(&mut self, row: &Row) -> Result<()> {
        if self.rows.push(row)? {
            self.gather_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<File> {
        self.gather_batch()?;
        let OrcRowWriter { batches, schema, file, path, .. } = *self;
        // The ORC writer owns what it writes to; the part's own handle goes back to the sink,
        // which syncs it.
        let handle = file.try_clone().map_err(|e| orc_error("write", &path, e))?;
        let mut writer: ArrowWriter<File> =
            ArrowWriterBuilder::new(handle, schema).try_build().map_err(|e| orc_error("write", &path, e))?;
        for batch in &batches {
            writer.write(batch).map_err(|e| orc_error("write", &path, e))?;
        }
        writer.close().map_err(|e| orc_error("finish", &path, e))?;
        Ok(file)
    }
}

/// Reads rows of a row type from ORC files; see [`ColumnarRowFormat`].
pub type OrcRowFormat = ColumnarRowFormat<OrcFiles>;

/// The ORC file format, for [`ColumnarRowFormat`].
#[derive(Debug, Clone, Copy)]
pub struct OrcFiles;

impl BulkFormat<Row> for OrcRowFormat {
    fn read(&self, path: &Path, skip: u64) -> Result<BulkRecords<Row>> {
        let file = File::open(path).map_err(|e| orc_error("open", path, e))?;
        let builder = ArrowReaderBuilder::try_new(file).map_err(|e| orc_error("read", path, e))?;
        let file_fields = builder.schema().fields().clone();
        let (columns, sources) = project(&file_fields, &self.row_type, self.case_sensitive, "ORC", path)?;
        // ORC numbers its columns from the root struct (0), so top-level column `i` is `i + 1`.
        let mask = ProjectionMask::roots(builder.file_metadata().root_data_type(), columns.iter().map(|c| c + 1));
        let reader = builder.with_projection(mask).with_batch_size(self.batch_size).build();
        let path = path.to_path_buf();
        Ok(batch_rows(reader, sources, self.row_type.clone(), skip, move |e| orc_error("read", &path, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::arrow_rows::testing::{check_fields_by_name, check_round_trip, Columnar};

    const ORC: Columnar = Columnar {
        name: "ORC",
        writers: |row_type| Box::new(OrcWriterFactory::for_row_type(row_type)),
        reader: |row_type, case_sensitive| {
            Box::new(OrcRowFormat::new(row_type).with_batch_size(1000).with_case_sensitive(case_sensitive))
        },
    };

    #[test]
    fn every_type_round_trips_across_batches_and_reading_resumes_after_skipped_rows() {
        check_round_trip(&ORC);
    }

    #[test]
    fn fields_match_columns_by_name_widen_and_refuse_what_does_not_fit() {
        check_fields_by_name(&ORC);
    }
}
