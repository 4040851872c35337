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

use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder,
    StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use pyflink_core::table::{DataType, Row, Value};
use pyflink_core::{FlinkError, Result};

use crate::file::{BulkFormat, BulkRecords, BulkWriter, BulkWriterFactory};
use crate::formats::{check_row, RowType};

/// The rows a writer gathers before handing them to Parquet as one record batch.
const WRITE_BATCH_ROWS: usize = 1024;

/// The Arrow type of the Parquet column of a field of `data_type`.
fn arrow_type(data_type: DataType) -> ArrowType {
    match data_type {
        DataType::Boolean => ArrowType::Boolean,
        DataType::TinyInt => ArrowType::Int8,
        DataType::SmallInt => ArrowType::Int16,
        DataType::Int => ArrowType::Int32,
        DataType::BigInt => ArrowType::Int64,
        DataType::Float => ArrowType::Float32,
        DataType::Double => ArrowType::Float64,
        DataType::Char(_) | DataType::Varchar(_) | DataType::String => ArrowType::Utf8,
    }
}

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
        let fields: Vec<Field> =
            row_type.fields().iter().map(|(name, data_type)| Field::new(name, arrow_type(*data_type), true)).collect();
        ParquetWriterFactory { row_type, schema: Arc::new(Schema::new(fields)) }
    }
}

impl BulkWriterFactory<Row> for ParquetWriterFactory {
    fn create(&self, file: File, path: &Path) -> Result<Box<dyn BulkWriter<Row>>> {
        let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
        let writer = ArrowWriter::try_new(file, Arc::clone(&self.schema), Some(properties))
            .map_err(|e| parquet_error("start", path, e))?;
        Ok(Box::new(ParquetRowWriter {
            row_type: self.row_type.clone(),
            schema: Arc::clone(&self.schema),
            columns: self.row_type.fields().iter().map(|(_, data_type)| ColumnBuilder::new(*data_type)).collect(),
            rows: 0,
            writer,
            path: path.to_path_buf(),
        }))
    }
}

/// One column of the rows gathered for the next record batch.
enum ColumnBuilder {
    Boolean(BooleanBuilder),
    TinyInt(Int8Builder),
    SmallInt(Int16Builder),
    Int(Int32Builder),
    BigInt(Int64Builder),
    Float(Float32Builder),
    Double(Float64Builder),
    String(StringBuilder),
}

impl ColumnBuilder {
    fn new(data_type: DataType) -> Self {
        match data_type {
            DataType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::new()),
            DataType::TinyInt => ColumnBuilder::TinyInt(Int8Builder::new()),
            DataType::SmallInt => ColumnBuilder::SmallInt(Int16Builder::new()),
            DataType::Int => ColumnBuilder::Int(Int32Builder::new()),
            DataType::BigInt => ColumnBuilder::BigInt(Int64Builder::new()),
            DataType::Float => ColumnBuilder::Float(Float32Builder::new()),
            DataType::Double => ColumnBuilder::Double(Float64Builder::new()),
            DataType::Char(_) | DataType::Varchar(_) | DataType::String => ColumnBuilder::String(StringBuilder::new()),
        }
    }

    /// Appends `value`, which [`check_row`] found to fit the column's type.
    fn append(&mut self, value: &Value) {
        match (self, value) {
            (ColumnBuilder::Boolean(b), Value::Boolean(v)) => b.append_value(*v),
            (ColumnBuilder::TinyInt(b), Value::TinyInt(v)) => b.append_value(*v),
            (ColumnBuilder::SmallInt(b), Value::SmallInt(v)) => b.append_value(*v),
            (ColumnBuilder::Int(b), Value::Int(v)) => b.append_value(*v),
            (ColumnBuilder::BigInt(b), Value::BigInt(v)) => b.append_value(*v),
            (ColumnBuilder::Float(b), Value::Float(v)) => b.append_value(*v),
            (ColumnBuilder::Double(b), Value::Double(v)) => b.append_value(*v),
            (ColumnBuilder::String(b), Value::String(v)) => b.append_value(v),
            (column, _) => column.append_null(),
        }
    }

    fn append_null(&mut self) {
        match self {
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::TinyInt(b) => b.append_null(),
            ColumnBuilder::SmallInt(b) => b.append_null(),
            ColumnBuilder::Int(b) => b.append_null(),
            ColumnBuilder::BigInt(b) => b.append_null(),
            ColumnBuilder::Float(b) => b.append_null(),
            ColumnBuilder::Double(b) => b.append_null(),
            ColumnBuilder::String(b) => b.append_null(),
        }
    }

    /// The column's values so far, leaving it empty.
    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::TinyInt(b) => Arc::new(b.finish()),
            ColumnBuilder::SmallInt(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::BigInt(b) => Arc::new(b.finish()),
            ColumnBuilder::Float(b) => Arc::new(b.finish()),
            ColumnBuilder::Double(b) => Arc::new(b.finish()),
            ColumnBuilder::String(b) => Arc::new(b.finish()),
        }
    }
}

/// Writes one Parquet part file: rows gather in column builders and go to the file as record
/// batches of [`WRITE_BATCH_ROWS`].
struct ParquetRowWriter {
    row_type: RowType,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
    writer: ArrowWriter<File>,
    path: std::path::PathBuf,
}

impl ParquetRowWriter {
    fn write_batch(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let columns = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| parquet_error("write", &self.path, e))?;
        self.rows = 0;
        self.writer.write(&batch).map_err(|e| parquet_error("write", &self.path, e))
    }
}

impl BulkWriter<Row> for ParquetRowWriter {
    fn add_element(&mut self, row: &Row) -> Result<()> {
        check_row(row, &self.row_type, "Parquet")?;
        for (column, value) in self.columns.iter_mut().zip(&row.fields) {
            column.append(value);
        }
        self.rows += 1;
        if self.rows >= WRITE_BATCH_ROWS {
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

/// Reads rows of a row type from Parquet files (Flink's `ParquetColumnarRowInputFormat`):
/// each field from the file's column of the same name (compared without case if asked), or
/// null where the file has no such column.
#[derive(Debug, Clone)]
pub struct ParquetRowFormat {
    row_type: RowType,
    batch_size: usize,
    case_sensitive: bool,
}

impl ParquetRowFormat {
    /// Rows of `row_type`, read 2048 at a time, with field names matched exactly.
    pub fn new(row_type: RowType) -> Self {
        ParquetRowFormat { row_type, batch_size: 2048, case_sensitive: true }
    }

    /// The format reading `rows` rows of a file at a time.
    pub fn with_batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// The format matching field names to columns with (`true`) or without regard to case.
    pub fn with_case_sensitive(mut self, case_sensitive: bool) -> Self {
        self.case_sensitive = case_sensitive;
        self
    }
}

/// Where a field of the rows comes from: a column of the projected batches, or nowhere (null).
type FieldSources = Vec<Option<usize>>;

impl BulkFormat<Row> for ParquetRowFormat {
    fn read(&self, path: &Path, skip: u64) -> Result<BulkRecords<Row>> {
        let file = File::open(path).map_err(|e| parquet_error("open", path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_error("read", path, e))?;
        let file_fields = builder.schema().fields().clone();
        let same = |a: &str, b: &str| if self.case_sensitive { a == b } else { a.eq_ignore_ascii_case(b) };
        // The file's columns the row type needs, in file order, and each field's place among them.
        let mut columns: Vec<usize> = Vec::new();
        let mut wanted = Vec::with_capacity(self.row_type.arity());
        for (name, data_type) in self.row_type.fields() {
            match file_fields.iter().position(|field| same(field.name(), name)) {
                Some(column) => {
                    let found = file_fields[column].data_type();
                    if !readable(found, *data_type) {
                        return Err(FlinkError::Connector(format!(
                            "Parquet: column '{}' of '{}' holds {found}, which cannot be read as {data_type}",
                            file_fields[column].name(),
                            path.display()
                        )));
                    }
                    if !columns.contains(&column) {
                        columns.push(column);
                    }
                    wanted.push(Some(column));
                }
                None => wanted.push(None),
            }
        }
        columns.sort_unstable();
        let sources: FieldSources = wanted
            .into_iter()
            .map(|column| column.map(|c| columns.iter().position(|&p| p == c).expect("projected")))
            .collect();
        // Only top-level columns of primitive types are read, so each is one leaf.
        let mask = ProjectionMask::roots(builder.parquet_schema(), columns.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(self.batch_size)
            .build()
            .map_err(|e| parquet_error("read", path, e))?;
        let row_type = self.row_type.clone();
        let path = path.to_path_buf();
        let rows = reader.flat_map(move |batch| match batch {
            Ok(batch) => {
                let rows: Vec<Result<Row>> =
                    (0..batch.num_rows()).map(|index| Ok(row_at(&batch, index, &sources, &row_type))).collect();
                rows
            }
            Err(e) => vec![Err(parquet_error("read", &path, e))],
        });
        Ok(Box::new(rows.skip(skip as usize)))
    }
}

/// Whether a column of Arrow type `found` can be read as `data_type` (integers and floats
/// widen).
fn readable(found: &ArrowType, data_type: DataType) -> bool {
    use ArrowType as A;
    match data_type {
        DataType::Boolean => matches!(found, A::Boolean),
        DataType::TinyInt => matches!(found, A::Int8),
        DataType::SmallInt => matches!(found, A::Int8 | A::Int16),
        DataType::Int => matches!(found, A::Int8 | A::Int16 | A::Int32),
        DataType::BigInt => matches!(found, A::Int8 | A::Int16 | A::Int32 | A::Int64),
        DataType::Float => matches!(found, A::Float32),
        DataType::Double => matches!(found, A::Float32 | A::Float64),
        DataType::Char(_) | DataType::Varchar(_) | DataType::String => matches!(found, A::Utf8 | A::LargeUtf8),
    }
}

/// Row `index` of `batch`: each field from its source column, converted to its type.
fn row_at(batch: &RecordBatch, index: usize, sources: &FieldSources, row_type: &RowType) -> Row {
    let fields = sources
        .iter()
        .zip(row_type.fields())
        .map(|(source, (_, data_type))| match source {
            Some(column) => value_at(batch.column(*column), index, *data_type),
            None => Value::Null,
        })
        .collect();
    Row::of(fields)
}

/// The value at `index` of `array` as a value of `data_type` (checked [`readable`]).
fn value_at(array: &ArrayRef, index: usize, data_type: DataType) -> Value {
    if array.is_null(index) {
        return Value::Null;
    }
    let integer = |array: &ArrayRef| -> i64 {
        match array.data_type() {
            ArrowType::Int8 => array.as_primitive::<Int8Type>().value(index).into(),
            ArrowType::Int16 => array.as_primitive::<Int16Type>().value(index).into(),
            ArrowType::Int32 => array.as_primitive::<Int32Type>().value(index).into(),
            _ => array.as_primitive::<Int64Type>().value(index),
        }
    };
    // The conversions below cannot fail: `readable` allowed only types that widen.
    match data_type {
        DataType::Boolean => Value::Boolean(array.as_boolean().value(index)),
        DataType::TinyInt => Value::TinyInt(integer(array) as i8),
        DataType::SmallInt => Value::SmallInt(integer(array) as i16),
        DataType::Int => Value::Int(integer(array) as i32),
        DataType::BigInt => Value::BigInt(integer(array)),
        DataType::Float => Value::Float(array.as_primitive::<Float32Type>().value(index)),
        DataType::Double => match array.data_type() {
            ArrowType::Float32 => Value::Double(array.as_primitive::<Float32Type>().value(index).into()),
            _ => Value::Double(array.as_primitive::<Float64Type>().value(index)),
        },
        DataType::Char(_) | DataType::Varchar(_) | DataType::String => match array.data_type() {
            ArrowType::LargeUtf8 => Value::String(array.as_string::<i64>().value(index).to_string()),
            _ => Value::String(array.as_string::<i32>().value(index).to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, row_type: &RowType, rows: &[Row]) {
        let factory = ParquetWriterFactory::for_row_type(row_type.clone());
        let mut writer = factory.create(File::create(path).unwrap(), path).unwrap();
        for row in rows {
            writer.add_element(row).unwrap();
        }
        writer.finish().unwrap();
    }

    #[test]
    fn every_type_round_trips_across_batches_and_reading_resumes_after_skipped_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all.parquet");
        let row_type = RowType::new([
            ("b", DataType::Boolean),
            ("t", DataType::TinyInt),
            ("s", DataType::SmallInt),
            ("i", DataType::Int),
            ("l", DataType::BigInt),
            ("f", DataType::Float),
            ("d", DataType::Double),
            ("text", DataType::String),
        ]);
        let rows: Vec<Row> = (0..2500)
            .map(|n: i32| {
                Row::of(vec![
                    Value::Boolean(n % 2 == 0),
                    Value::TinyInt((n % 100) as i8),
                    if n % 7 == 0 { Value::Null } else { Value::SmallInt(n as i16) },
                    Value::Int(n),
                    Value::BigInt(i64::from(n) << 33),
                    Value::Float(n as f32 / 4.0),
                    Value::Double(f64::from(n) / 8.0),
                    Value::String(format!("row {n}")),
                ])
            })
            .collect();
        write(&path, &row_type, &rows);
        let format = ParquetRowFormat::new(row_type).with_batch_size(1000);
        let read: Vec<Row> = format.read(&path, 0).unwrap().map(Result::unwrap).collect();
        assert_eq!(read, rows);
        let rest: Vec<Row> = format.read(&path, 2400).unwrap().map(Result::unwrap).collect();
        assert_eq!(rest, rows[2400..]);
    }

    #[test]
    fn fields_match_columns_by_name_widen_and_refuse_what_does_not_fit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("narrow.parquet");
        let row_type = RowType::new([("Id", DataType::SmallInt), ("Score", DataType::Float)]);
        write(&path, &row_type, &[Row::of(vec![Value::SmallInt(7), Value::Float(1.5)])]);
        let wide = RowType::new([("score", DataType::Double), ("id", DataType::BigInt)]);
        let insensitive = ParquetRowFormat::new(wide.clone()).with_case_sensitive(false);
        let read: Vec<String> = insensitive.read(&path, 0).unwrap().map(|r| r.unwrap().to_string()).collect();
        assert_eq!(read, ["+I[1.5, 7]"]);
        let sensitive: Vec<String> =
            ParquetRowFormat::new(wide).read(&path, 0).unwrap().map(|r| r.unwrap().to_string()).collect();
        assert_eq!(sensitive, ["+I[null, null]"], "other case, other names");
        let narrow = ParquetRowFormat::new(RowType::new([("Id", DataType::TinyInt)]));
        let error = narrow.read(&path, 0).err().unwrap().to_string();
        assert!(error.contains("column 'Id'") && error.contains("cannot be read as TINYINT"), "{error}");
        let factory = ParquetWriterFactory::for_row_type(row_type);
        let mut writer = factory.create(File::create(dir.path().join("bad")).unwrap(), &path).unwrap();
        let error = writer.add_element(&Row::of(vec![Value::String("x".into()), Value::Null])).unwrap_err();
        assert!(error.to_string().contains("field 'Id' is SMALLINT"), "{error}");
    }
}
