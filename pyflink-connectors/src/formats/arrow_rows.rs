//! Rows as Arrow record batches, shared by the columnar file formats (Parquet, ORC): the
//! Arrow type of each field type, column builders that gather rows into record batches, and
//! the reading of fields from a file's columns by name, with integers and floats widening.

use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder,
    StringBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field, Fields, Schema, SchemaRef};
use pyflink_core::table::{DataType, Row, Value};
use pyflink_core::{FlinkError, Result};

use crate::file::BulkRecords;
use crate::formats::{check_row, RowType};

/// The rows a writer gathers before handing them to the file format as one record batch.
pub(crate) const WRITE_BATCH_ROWS: usize = 1024;

/// The Arrow type of the column of a field of `data_type`.
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

/// The Arrow schema of rows of `row_type`: each field a nullable column of its name.
pub(crate) fn arrow_schema(row_type: &RowType) -> SchemaRef {
    let fields: Vec<Field> =
        row_type.fields().iter().map(|(name, data_type)| Field::new(name, arrow_type(*data_type), true)).collect();
    Arc::new(Schema::new(fields))
}

/// Gathers rows of one row type into record batches of [`WRITE_BATCH_ROWS`].
pub(crate) struct RowBatcher {
    row_type: RowType,
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
    format: &'static str,
}

impl RowBatcher {
    /// A batcher of rows of `row_type` for files of `format` (named in errors).
    pub(crate) fn new(row_type: &RowType, schema: SchemaRef, format: &'static str) -> Self {
        let columns = row_type.fields().iter().map(|(_, data_type)| ColumnBuilder::new(*data_type)).collect();
        RowBatcher { row_type: row_type.clone(), schema, columns, rows: 0, format }
    }

    /// Adds `row` after checking it fits the row type; true once a batch is full.
    pub(crate) fn push(&mut self, row: &Row) -> Result<bool> {
        check_row(row, &self.row_type, self.format)?;
        for (column, value) in self.columns.iter_mut().zip(&row.fields) {
            column.append(value);
        }
        self.rows += 1;
        Ok(self.rows >= WRITE_BATCH_ROWS)
    }

    /// The rows gathered since the last batch, as one record batch (none if there are none).
    pub(crate) fn take_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.rows == 0 {
            return Ok(None);
        }
        let columns = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map(Some)
            .map_err(|e| FlinkError::Connector(format!("{}: cannot gather rows: {e}", self.format)))
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

/// Reads rows of a row type from files of the columnar format `F` (`ParquetRowFormat`,
/// `OrcRowFormat`): each field from the file's column of the same name (compared without case
/// if asked), or null where the file has no such column.
#[derive(Debug, Clone)]
pub struct ColumnarRowFormat<F> {
    pub(crate) row_type: RowType,
    pub(crate) batch_size: usize,
    pub(crate) case_sensitive: bool,
    file_format: PhantomData<F>,
}

impl<F> ColumnarRowFormat<F> {
    /// Rows of `row_type`, read 2048 at a time, with field names matched exactly.
    pub fn new(row_type: RowType) -> Self {
        ColumnarRowFormat { row_type, batch_size: 2048, case_sensitive: true, file_format: PhantomData }
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
pub(crate) type FieldSources = Vec<Option<usize>>;

/// Matches the fields of `row_type` to the columns `file_fields` of the file at `path` by name
/// (without regard to case unless `case_sensitive`): the file's columns to read, in file order,
/// and where each field comes from among them. A column that cannot be read as its field's
/// type is an error that names both.
pub(crate) fn project(
    file_fields: &Fields,
    row_type: &RowType,
    case_sensitive: bool,
    format: &str,
    path: &Path,
) -> Result<(Vec<usize>, FieldSources)> {
    let same = |a: &str, b: &str| if case_sensitive { a == b } else { a.eq_ignore_ascii_case(b) };
    let mut columns: Vec<usize> = Vec::new();
    let mut wanted = Vec::with_capacity(row_type.arity());
    for (name, data_type) in row_type.fields() {
        match file_fields.iter().position(|field| same(field.name(), name)) {
            Some(column) => {
                let found = file_fields[column].data_type();
                if !readable(found, *data_type) {
                    return Err(FlinkError::Connector(format!(
                        "{format}: column '{}' of '{}' holds {found}, which cannot be read as {data_type}",
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
    let sources = wanted
        .into_iter()
        .map(|column| column.map(|c| columns.iter().position(|&p| p == c).expect("projected")))
        .collect();
    Ok((columns, sources))
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
pub(crate) fn row_at(batch: &RecordBatch, index: usize, sources: &FieldSources, row_type: &RowType) -> Row {
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

/// The rows of `batches`, each field from its source column, after the first `skip`; a batch
/// that cannot be read is an error from `error`.
pub(crate) fn batch_rows<E: 'static>(
    batches: impl Iterator<Item = std::result::Result<RecordBatch, E>> + Send + 'static,
    sources: FieldSources,
    row_type: RowType,
    skip: u64,
    error: impl Fn(E) -> FlinkError + Send + 'static,
) -> BulkRecords<Row> {
    let rows = batches.flat_map(move |batch| match batch {
        Ok(batch) => {
            let rows: Vec<Result<Row>> =
                (0..batch.num_rows()).map(|index| Ok(row_at(&batch, index, &sources, &row_type))).collect();
            rows
        }
        Err(e) => vec![Err(error(e))],
    });
    Box::new(rows.skip(skip as usize))
}

/// What the tests of the columnar formats share: rows of every field type, written through a
/// format's writer factory.
#[cfg(test)]
pub(crate) mod testing {
    use std::fs::File;
    use std::path::Path;

    use pyflink_core::table::{DataType, Row, Value};

    use crate::file::{BulkFormat, BulkWriterFactory};
    use crate::formats::RowType;

    /// A row type with a field of every type the columnar formats write.
    pub(crate) fn every_type() -> RowType {
        RowType::new([
            ("b", DataType::Boolean),
            ("t", DataType::TinyInt),
            ("s", DataType::SmallInt),
            ("i", DataType::Int),
            ("l", DataType::BigInt),
            ("f", DataType::Float),
            ("d", DataType::Double),
            ("text", DataType::String),
        ])
    }

    /// `count` rows of [`every_type`], with nulls here and there, spanning several batches.
    pub(crate) fn every_type_rows(count: i32) -> Vec<Row> {
        (0..count)
            .map(|n: i32| {
                Row::of(vec![
                    Value::Boolean(n % 3 == 0),
                    Value::TinyInt((n % 100) as i8),
                    if n % 7 == 0 { Value::Null } else { Value::SmallInt(n as i16) },
                    Value::Int(-n),
                    Value::BigInt(i64::from(n) << 33),
                    Value::Float(n as f32 / 4.0),
                    Value::Double(f64::from(n) / 8.0),
                    if n % 11 == 0 { Value::Null } else { Value::String(format!("row {n}")) },
                ])
            })
            .collect()
    }

    /// Writes `rows` to a file at `path` with a writer of `factory`.
    pub(crate) fn write(factory: &dyn BulkWriterFactory<Row>, path: &Path, rows: &[Row]) {
        let mut writer = factory.create(File::create(path).unwrap(), path).unwrap();
        for row in rows {
            writer.add_element(row).unwrap();
        }
        writer.finish().unwrap();
    }

    /// A columnar format under test: its writers and its reader of a row type (matching names
    /// with or without case, reading 1,000 rows at a time).
    pub(crate) struct Columnar {
        pub(crate) name: &'static str,
        pub(crate) writers: fn(RowType) -> Box<dyn BulkWriterFactory<Row>>,
        pub(crate) reader: fn(RowType, bool) -> Box<dyn BulkFormat<Row>>,
    }

    fn read(format: &dyn BulkFormat<Row>, path: &Path, skip: u64) -> Vec<Row> {
        format.read(path, skip).unwrap().map(Result::unwrap).collect()
    }

    /// Every field type round-trips across batches, and reading resumes after skipped rows.
    pub(crate) fn check_round_trip(columnar: &Columnar) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("all");
        let (row_type, rows) = (every_type(), every_type_rows(2500));
        write((columnar.writers)(row_type.clone()).as_ref(), &path, &rows);
        let format = (columnar.reader)(row_type, true);
        assert_eq!(read(format.as_ref(), &path, 0), rows);
        assert_eq!(read(format.as_ref(), &path, 2400), rows[2400..]);
    }

    /// Fields match columns by name (with or without case), widen, read as null when missing,
    /// and what does not fit is an error that names the field.
    pub(crate) fn check_fields_by_name(columnar: &Columnar) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("narrow");
        let row_type = RowType::new([("Id", DataType::SmallInt), ("Score", DataType::Float)]);
        let writers = (columnar.writers)(row_type);
        write(writers.as_ref(), &path, &[Row::of(vec![Value::SmallInt(7), Value::Float(1.5)])]);
        let wide = RowType::new([("score", DataType::Double), ("id", DataType::BigInt), ("x", DataType::String)]);
        let text = |rows: Vec<Row>| rows.iter().map(Row::to_string).collect::<Vec<_>>();
        assert_eq!(text(read((columnar.reader)(wide.clone(), false).as_ref(), &path, 0)), ["+I[1.5, 7, null]"]);
        let sensitive = read((columnar.reader)(wide, true).as_ref(), &path, 0);
        assert_eq!(text(sensitive), ["+I[null, null, null]"], "other case, other names");
        let narrow = (columnar.reader)(RowType::new([("Id", DataType::TinyInt)]), true);
        let error = narrow.read(&path, 0).err().unwrap().to_string();
        let expected = format!("{}: column 'Id'", columnar.name);
        assert!(error.contains(&expected) && error.contains("cannot be read as TINYINT"), "{error}");
        let mut writer = writers.create(File::create(dir.path().join("bad")).unwrap(), &path).unwrap();
        let error = writer.add_element(&Row::of(vec![Value::String("x".into()), Value::Null])).unwrap_err();
        assert!(error.to_string().contains("field 'Id' is SMALLINT"), "{error}");
    }
}
