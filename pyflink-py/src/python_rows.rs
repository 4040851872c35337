//! The engine's rows (`pyflink_core::table::Row`) and Python records: rows of tables and of
//! row formats become PyFlink `Row`s, and Python rows, tuples or lists become rows to write.

use std::sync::Arc;

use pyflink_connectors::formats::RowType;
use pyflink_core::table::{DataType, Row, RowKind, Value};
use pyflink_core::{ProcessContext, ProcessFunction};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyMapping};

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::table::type_info;
use crate::types::{build_row, sequence_items};
use crate::value::PyValue;

/// Turns the engine's rows into PyFlink `Row`s with field names (or dicts by field name).
#[derive(Clone)]
pub(crate) struct RowsToPython {
    names: Arc<Vec<String>>,
    /// Whether the rows keep their kinds (`to_changelog_stream`); otherwise all are insertions.
    kinds: bool,
    /// Whether rows become dicts of their fields (Avro generic records) rather than `Row`s.
    dicts: bool,
}

impl RowsToPython {
    /// Rows with fields named `names`.
    pub(crate) fn new(names: Vec<String>) -> Self {
        RowsToPython { names: Arc::new(names), kinds: false, dicts: false }
    }

    /// Rows that keep their change kinds (`+I`, `-U`, `+U`, `-D`) when `kinds`.
    pub(crate) fn with_kinds(self, kinds: bool) -> Self {
        RowsToPython { kinds, ..self }
    }

    /// Rows with the field names of `row_type`.
    pub(crate) fn named(row_type: &RowType) -> Self {
        RowsToPython::new(row_type.fields().iter().map(|(name, _)| name.clone()).collect())
    }

    /// dicts of the fields of `row_type`, by name (PyFlink's generic Avro records).
    pub(crate) fn dicts(row_type: &RowType) -> Self {
        RowsToPython { dicts: true, ..RowsToPython::named(row_type) }
    }
}

impl ProcessFunction<Row, PyValue> for RowsToPython {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, row: Row, ctx: &mut ProcessContext<'_, PyValue>) -> pyflink_core::Result<()> {
        Python::attach(|py| {
            if self.dicts {
                let dict = PyDict::new(py);
                let filled = self
                    .names
                    .iter()
                    .zip(&row.fields)
                    .try_for_each(|(name, value)| dict.set_item(name, to_python(py, value)?));
                filled.map_err(|e| python_error(py, e))?;
                ctx.collect(PyValue(dict.into_any().unbind()));
                return Ok(());
            }
            let values: PyResult<Vec<Bound<'_, PyAny>>> = row.fields.iter().map(|value| to_python(py, value)).collect();
            let mut built = values.and_then(|values| build_row(py, values, &self.names));
            if let (Ok(python_row), true, false) = (&built, self.kinds, row.kind == RowKind::Insert) {
                built = set_row_kind(python_row, row.kind).map(|_| python_row.clone());
            }
            let row = built.map_err(|e| python_error(py, e))?;
            ctx.collect(PyValue(row.unbind()));
            Ok(())
        })
    }
}

/// Sets the kind of the Python `Row` `row` to `kind`.
fn set_row_kind(row: &Bound<'_, PyAny>, kind: RowKind) -> PyResult<()> {
    let kinds = crate::bridge::row_kind(row.py())?;
    let name = match kind {
        RowKind::Insert => "INSERT",
        RowKind::UpdateBefore => "UPDATE_BEFORE",
        RowKind::UpdateAfter => "UPDATE_AFTER",
        RowKind::Delete => "DELETE",
    };
    row.call_method1("set_row_kind", (kinds.getattr(name)?,))?;
    Ok(())
}

/// The Python object of a field's value: `None`, `bool`, `int`, `float` or `str`.
pub(crate) fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Boolean(v) => v.into_pyobject(py)?.to_owned().into_any(),
        Value::TinyInt(v) => v.into_pyobject(py)?.into_any(),
        Value::SmallInt(v) => v.into_pyobject(py)?.into_any(),
        Value::Int(v) => v.into_pyobject(py)?.into_any(),
        Value::BigInt(v) => v.into_pyobject(py)?.into_any(),
        Value::Float(v) => (*v as f64).into_pyobject(py)?.into_any(),
        Value::Double(v) => v.into_pyobject(py)?.into_any(),
        Value::String(v) => v.into_pyobject(py)?.into_any(),
        Value::Timestamp(millis) => python_datetime(py, *millis, false)?,
        Value::TimestampLtz(millis) => python_datetime(py, *millis, true)?,
    })
}

/// A `datetime.datetime` of `millis` since the epoch: naive for a `TIMESTAMP`, in UTC for a
/// `TIMESTAMP_LTZ`.
fn python_datetime(py: Python<'_>, millis: i64, utc: bool) -> PyResult<Bound<'_, PyAny>> {
    let datetime = py.import("datetime")?;
    let epoch = if utc {
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        datetime.getattr("datetime")?.call((1970, 1, 1, 0, 0, 0, 0, utc), None)?
    } else {
        datetime.getattr("datetime")?.call1((1970, 1, 1))?
    };
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("milliseconds", millis)?;
    let delta = datetime.getattr("timedelta")?.call((), Some(&kwargs))?;
    epoch.call_method1("__add__", (delta,))
}

/// The row of `record` (a `Row`, tuple or list of `row_type`'s fields), to write with a row
/// format; a record that does not fit the type is an error naming the field. Fields are checked
/// as typed streams check their records ([`TypeInfo::convert`](crate::types::TypeInfo::convert)).
pub(crate) fn python_to_row(record: &Bound<'_, PyAny>, row_type: &RowType) -> PyResult<Row> {
    let items = sequence_items(record, row_type.arity(), "ROW")?;
    let mut fields = Vec::with_capacity(items.len());
    for ((name, data_type), item) in row_type.fields().iter().zip(&items) {
        let value = field_value(item, *data_type).map_err(|e| {
            PyErr::from_type(e.get_type(record.py()), format!("field '{name}': {}", e.value(record.py())))
        })?;
        fields.push(value);
    }
    Ok(Row::of(fields))
}

/// The row of `record`, a dict (or other mapping) of `row_type`'s fields by name: a generic
/// Avro record. A missing field is null; a field that does not fit is an error naming it.
pub(crate) fn python_mapping_to_row(record: &Bound<'_, PyAny>, row_type: &RowType) -> PyResult<Row> {
    let Ok(mapping) = record.cast::<PyMapping>() else {
        let kind = record.get_type().name()?;
        return Err(PyTypeError::new_err(format!("a generic record is a dict of its fields, not {kind}")));
    };
    let mut fields = Vec::with_capacity(row_type.arity());
    for (name, data_type) in row_type.fields() {
        let value = match mapping.contains(name)? {
            true => field_value(&mapping.get_item(name)?, *data_type).map_err(|e| {
                PyErr::from_type(e.get_type(record.py()), format!("field '{name}': {}", e.value(record.py())))
            })?,
            false => Value::Null,
        };
        fields.push(value);
    }
    Ok(Row::of(fields))
}

fn field_value(item: &Bound<'_, PyAny>, data_type: DataType) -> PyResult<Value> {
    if item.is_none() {
        return Ok(Value::Null);
    }
    // A row format would write a bool as a number, so an integer field refuses one.
    if data_type.is_integer() && item.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!("{data_type} cannot hold bool value {item}")));
    }
    let checked = type_info(data_type).convert(item)?;
    Ok(match data_type {
        DataType::Boolean => Value::Boolean(checked.extract()?),
        DataType::TinyInt => Value::TinyInt(checked.extract()?),
        DataType::SmallInt => Value::SmallInt(checked.extract()?),
        DataType::Int => Value::Int(checked.extract()?),
        DataType::BigInt => Value::BigInt(checked.extract()?),
        DataType::Float => Value::Float(checked.extract::<f64>()? as f32),
        DataType::Double => Value::Double(checked.extract()?),
        DataType::Char(_) | DataType::Varchar(_) | DataType::String => Value::String(checked.extract()?),
    })
}
