//! The engine's rows (`pyflink_core::table::Row`) and Python records: rows of tables and of
//! row formats become PyFlink `Row`s, and Python rows, tuples or lists become rows to write.

use std::sync::Arc;

use pyflink_connectors::formats::RowType;
use pyflink_core::table::{DataType, Row, Value};
use pyflink_core::{ProcessContext, ProcessFunction};
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString};

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::types::build_row;
use crate::value::PyValue;

/// Turns the engine's rows into PyFlink `Row`s with field names.
#[derive(Clone)]
pub(crate) struct RowsToPython {
    names: Arc<Vec<String>>,
}

impl RowsToPython {
    /// Rows with fields named `names`.
    pub(crate) fn new(names: Vec<String>) -> Self {
        RowsToPython { names: Arc::new(names) }
    }

    /// Rows with the field names of `row_type`.
    pub(crate) fn named(row_type: &RowType) -> Self {
        RowsToPython::new(row_type.fields().iter().map(|(name, _)| name.clone()).collect())
    }
}

impl ProcessFunction<Row, PyValue> for RowsToPython {
    fn within_batch(batch: &mut dyn FnMut() -> pyflink_core::Result<()>) -> pyflink_core::Result<()> {
        with_interpreter(batch)
    }

    fn process_element(&mut self, row: Row, ctx: &mut ProcessContext<'_, PyValue>) -> pyflink_core::Result<()> {
        Python::attach(|py| {
            let values: PyResult<Vec<Bound<'_, PyAny>>> = row.fields.iter().map(|value| to_python(py, value)).collect();
            let row = values.and_then(|values| build_row(py, values, &self.names)).map_err(|e| python_error(py, e))?;
            ctx.collect(PyValue(row.unbind()));
            Ok(())
        })
    }
}

/// The Python object of a field's value: `None`, `bool`, `int`, `float` or `str`.
fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
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
    })
}

/// The row of `record` (a `Row`, tuple or list of `row_type`'s fields), to write with a row
/// format; a record that does not fit the type is an error naming the field.
pub(crate) fn python_to_row(record: &Bound<'_, PyAny>, row_type: &RowType) -> PyResult<Row> {
    if record.is_instance_of::<PyString>() || record.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "a row of {} fields is written from a Row, tuple or list, not {}",
            row_type.arity(),
            type_name(record)
        )));
    }
    let items: Vec<Bound<'_, PyAny>> = record.try_iter()?.collect::<PyResult<_>>()?;
    if items.len() != row_type.arity() {
        return Err(PyValueError::new_err(format!(
            "a row of {} fields cannot be written from a record of {} fields",
            row_type.arity(),
            items.len()
        )));
    }
    let mut fields = Vec::with_capacity(items.len());
    for ((name, data_type), item) in row_type.fields().iter().zip(&items) {
        let value = field_value(item, *data_type).map_err(|e| {
            PyErr::from_type(e.get_type(record.py()), format!("field '{name}': {}", e.value(record.py())))
        })?;
        fields.push(value);
    }
    Ok(Row::of(fields))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

fn field_value(item: &Bound<'_, PyAny>, data_type: DataType) -> PyResult<Value> {
    if item.is_none() {
        return Ok(Value::Null);
    }
    let integer = |bits: u32| -> PyResult<i64> {
        if !item.is_instance_of::<PyInt>() || item.is_instance_of::<PyBool>() {
            return Err(PyTypeError::new_err(format!("{data_type} cannot hold {} value {item}", type_name(item))));
        }
        let value: i64 =
            item.extract().map_err(|_| PyOverflowError::new_err(format!("{item} does not fit {data_type}")))?;
        if bits < 64 && !(-(1i64 << (bits - 1))..(1i64 << (bits - 1))).contains(&value) {
            return Err(PyOverflowError::new_err(format!("{value} does not fit {data_type} ({bits} bits)")));
        }
        Ok(value)
    };
    let float = || -> PyResult<f64> {
        if item.is_instance_of::<PyFloat>() || (item.is_instance_of::<PyInt>() && !item.is_instance_of::<PyBool>()) {
            item.extract()
        } else {
            Err(PyTypeError::new_err(format!("{data_type} cannot hold {} value {item}", type_name(item))))
        }
    };
    Ok(match data_type {
        DataType::Boolean => match item.cast::<PyBool>() {
            Ok(flag) => Value::Boolean(flag.is_true()),
            Err(_) => {
                return Err(PyTypeError::new_err(format!("BOOLEAN cannot hold {} value {item}", type_name(item))))
            }
        },
        DataType::TinyInt => Value::TinyInt(integer(8)? as i8),
        DataType::SmallInt => Value::SmallInt(integer(16)? as i16),
        DataType::Int => Value::Int(integer(32)? as i32),
        DataType::BigInt => Value::BigInt(integer(64)?),
        DataType::Float => Value::Float(float()? as f32),
        DataType::Double => Value::Double(float()?),
        DataType::Char(_) | DataType::Varchar(_) | DataType::String => {
            if !item.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(format!("STRING cannot hold {} value {item}", type_name(item))));
            }
            Value::String(item.extract()?)
        }
    })
}
