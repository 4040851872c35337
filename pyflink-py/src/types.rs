//! Record types (PyFlink's `Types`): what a typed stream converts its records to, and how the
//! print sink shows them.
//!
//! A stream without a type carries any Python object (PyFlink's default, `PICKLED_BYTE_ARRAY`),
//! printed with Python's `str`. A typed stream converts every record when it is produced, as
//! PyFlink does when it hands a record to Java and back: rows become `Row` objects, tuples
//! tuples, `FLOAT` values are rounded to 32 bits, integers are range-checked. The print sink
//! then shows the record as Java's `toString` would (`(a,5)`, `+I[1, x]`, `1.0E10`), which is
//! what a PyFlink job prints.

use pyflink_core::FlinkDisplay;
use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::{Deserialize, Serialize};

use crate::JobError;

/// A type without type parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BasicType {
    /// `Types.STRING()`: a `str`.
    String,
    /// `Types.BOOLEAN()`: a `bool`.
    Boolean,
    /// `Types.BYTE()`: an `int` of 8 bits.
    Byte,
    /// `Types.SHORT()`: an `int` of 16 bits.
    Short,
    /// `Types.INT()`: an `int` of 32 bits.
    Int,
    /// `Types.LONG()`: an `int` of 64 bits.
    Long,
    /// `Types.FLOAT()`: a `float` of 32 bits.
    Float,
    /// `Types.DOUBLE()`: a `float`.
    Double,
    /// `Types.CHAR()`: a `str` of one character.
    Char,
    /// `Types.BIG_INT()`: an `int` of any size.
    BigInt,
    /// `Types.BIG_DEC()`: a `decimal.Decimal`.
    BigDec,
    /// `Types.INSTANT()`, `Types.SQL_DATE()`, `Types.SQL_TIME()`, `Types.SQL_TIMESTAMP()`,
    /// `Types.LOCAL_DATE()`, `Types.LOCAL_TIME()`, `Types.LOCAL_DATE_TIME()`: a `datetime`
    /// object, kept as it is and printed with `str`.
    Temporal,
}

/// The type of the records of a stream, of a state, or of a field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TypeInfo {
    /// Any Python object (`Types.PICKLED_BYTE_ARRAY()`, the default).
    Pickled,
    /// A type without parameters.
    Basic { kind: BasicType },
    /// `Types.ROW` (`names` empty: fields `f0`, `f1`, ...) and `Types.ROW_NAMED`.
    Row { names: Vec<String>, fields: Vec<TypeInfo> },
    /// `Types.TUPLE`.
    Tuple { fields: Vec<TypeInfo> },
    /// `Types.LIST`, `Types.BASIC_ARRAY`, `Types.PRIMITIVE_ARRAY`, `Types.OBJECT_ARRAY`: a
    /// `list` of its one `element` type.
    List { element: Vec<TypeInfo> },
    /// `Types.MAP`: a `dict`; `key_value` holds the key type, then the value type.
    Map { key_value: Vec<TypeInfo> },
}

impl TypeInfo {
    /// Checks the type's shape: one element type for lists, two for maps, as many names as
    /// fields for named rows.
    pub fn validate(&self) -> Result<(), JobError> {
        let invalid = |message: String| Err(JobError::InvalidProgram(message));
        match self {
            TypeInfo::Pickled | TypeInfo::Basic { .. } => Ok(()),
            TypeInfo::Row { names, fields } => {
                if !names.is_empty() && names.len() != fields.len() {
                    return invalid(format!("a row type has {} names for {} fields", names.len(), fields.len()));
                }
                fields.iter().try_for_each(TypeInfo::validate)
            }
            TypeInfo::Tuple { fields } => fields.iter().try_for_each(TypeInfo::validate),
            TypeInfo::List { element } if element.len() == 1 => element[0].validate(),
            TypeInfo::List { element } => invalid(format!("a list type has one element type, not {}", element.len())),
            TypeInfo::Map { key_value } if key_value.len() == 2 => key_value.iter().try_for_each(TypeInfo::validate),
            TypeInfo::Map { key_value } => {
                invalid(format!("a map type has a key and a value type, not {} types", key_value.len()))
            }
        }
    }

    /// Whether records of this type are any Python objects.
    pub fn is_pickled(&self) -> bool {
        matches!(self, TypeInfo::Pickled)
    }

    /// The name of the type as PyFlink writes it, for error messages.
    pub fn name(&self) -> String {
        match self {
            TypeInfo::Pickled => "PICKLED_BYTE_ARRAY".into(),
            TypeInfo::Basic { kind } => format!("{kind:?}").to_uppercase(),
            TypeInfo::Row { .. } => "ROW".into(),
            TypeInfo::Tuple { .. } => "TUPLE".into(),
            TypeInfo::List { .. } => "LIST".into(),
            TypeInfo::Map { .. } => "MAP".into(),
        }
    }

    /// `value` as a record of this type: the object PyFlink would hand to the next function.
    /// A value that does not fit the type is an error that names both.
    pub fn convert<'py>(&self, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = value.py();
        if value.is_none() {
            // Every Flink type but the primitives admits null; PyFlink passes None through.
            return Ok(value.clone());
        }
        match self {
            TypeInfo::Pickled => Ok(value.clone()),
            TypeInfo::Basic { kind } => convert_basic(*kind, value),
            TypeInfo::Row { names, fields } => build_row(py, convert_fields(fields, value, "ROW")?, names),
            TypeInfo::Tuple { fields } => Ok(PyTuple::new(py, convert_fields(fields, value, "TUPLE")?)?.into_any()),
            TypeInfo::List { element } => {
                let element = &element[0];
                let converted = value.try_iter()?.map(|item| element.convert(&item?)).collect::<PyResult<Vec<_>>>()?;
                Ok(PyList::new(py, converted)?.into_any())
            }
            TypeInfo::Map { key_value } => {
                let dict = value.cast::<PyDict>().map_err(|_| mismatch(value, "MAP"))?;
                let converted = PyDict::new(py);
                for (key, item) in dict.iter() {
                    converted.set_item(key_value[0].convert(&key)?, key_value[1].convert(&item)?)?;
                }
                Ok(converted.into_any())
            }
        }
    }

    /// Appends `value`, a record of this type, as Java's `toString` shows it.
    pub fn format_java(&self, value: &Bound<'_, PyAny>, out: &mut String) -> PyResult<()> {
        if value.is_none() {
            out.push_str("null");
            return Ok(());
        }
        match self {
            TypeInfo::Pickled => out.push_str(&value.str()?.to_string_lossy()),
            TypeInfo::Basic { kind: BasicType::Float } => value.extract::<f32>()?.fmt_flink(out),
            TypeInfo::Basic { kind: BasicType::Double } => value.extract::<f64>()?.fmt_flink(out),
            TypeInfo::Basic { kind: BasicType::Boolean } => {
                out.push_str(if value.is_truthy()? { "true" } else { "false" })
            }
            TypeInfo::Basic { .. } => out.push_str(&value.str()?.to_string_lossy()),
            TypeInfo::Row { fields, .. } => {
                let kind = crate::bridge::row_kind_short(value.py())?.call1((value,))?;
                out.push_str(&kind.str()?.to_string_lossy());
                out.push('[');
                format_fields(fields, value, ", ", out)?;
                out.push(']');
            }
            TypeInfo::Tuple { fields } => {
                out.push('(');
                format_fields(fields, value, ",", out)?;
                out.push(')');
            }
            TypeInfo::List { element } => {
                out.push('[');
                for (i, item) in value.try_iter()?.enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    element[0].format_java(&item?, out)?;
                }
                out.push(']');
            }
            TypeInfo::Map { key_value } => {
                out.push('{');
                let dict = value.cast::<PyDict>().map_err(|_| mismatch(value, "MAP"))?;
                for (i, (key, item)) in dict.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    key_value[0].format_java(&key, out)?;
                    out.push('=');
                    key_value[1].format_java(&item, out)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }
}

fn format_fields(fields: &[TypeInfo], value: &Bound<'_, PyAny>, separator: &str, out: &mut String) -> PyResult<()> {
    for (i, (field, item)) in fields.iter().zip(value.try_iter()?).enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        field.format_java(&item?, out)?;
    }
    Ok(())
}

fn mismatch(value: &Bound<'_, PyAny>, type_name: &str) -> PyErr {
    let found = value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    PyTypeError::new_err(format!("a record of type {type_name} cannot hold {found} value {}", short_repr(value)))
}

fn short_repr(value: &Bound<'_, PyAny>) -> String {
    let text = value.repr().map(|r| r.to_string()).unwrap_or_default();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// The items of a tuple, list or row of exactly `arity` fields.
pub(crate) fn sequence_items<'py>(
    value: &Bound<'py, PyAny>,
    arity: usize,
    type_name: &str,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyDict>() {
        return Err(mismatch(value, type_name));
    }
    let items = value.try_iter().map_err(|_| mismatch(value, type_name))?.collect::<PyResult<Vec<_>>>()?;
    if items.len() != arity {
        return Err(PyValueError::new_err(format!(
            "a record of type {type_name} has {arity} fields, but {} has {}",
            short_repr(value),
            items.len()
        )));
    }
    Ok(items)
}

fn convert_basic<'py>(kind: BasicType, value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = value.py();
    let integer = |bits: u32, name: &str| -> PyResult<Bound<'py, PyAny>> {
        if !value.is_instance_of::<PyInt>() {
            return Err(mismatch(value, name));
        }
        let fits =
            value.extract::<i64>().ok().filter(|v| bits == 64 || (*v >= -(1 << (bits - 1)) && *v < 1 << (bits - 1)));
        match fits {
            Some(_) => Ok(value.clone()),
            None => {
                Err(PyOverflowError::new_err(format!("{} does not fit type {name} ({bits} bits)", short_repr(value))))
            }
        }
    };
    match kind {
        BasicType::String => {
            value.cast::<PyString>().map(|s| s.clone().into_any()).map_err(|_| mismatch(value, "STRING"))
        }
        BasicType::Boolean => match value.cast::<PyBool>() {
            Ok(flag) => Ok(flag.clone().into_any()),
            Err(_) => Err(mismatch(value, "BOOLEAN")),
        },
        BasicType::Byte => integer(8, "BYTE"),
        BasicType::Short => integer(16, "SHORT"),
        BasicType::Int => integer(32, "INT"),
        BasicType::Long => integer(64, "LONG"),
        BasicType::BigInt => match value.is_instance_of::<PyInt>() {
            true => Ok(value.clone()),
            false => Err(mismatch(value, "BIG_INT")),
        },
        BasicType::Float | BasicType::Double => {
            if !(value.is_instance_of::<PyFloat>() || value.is_instance_of::<PyInt>())
                || value.is_instance_of::<PyBool>()
            {
                return Err(mismatch(value, if kind == BasicType::Float { "FLOAT" } else { "DOUBLE" }));
            }
            let number: f64 = value.extract()?;
            // A FLOAT travels as 32 bits: PyFlink's next function sees the rounded value.
            let number = if kind == BasicType::Float { f64::from(number as f32) } else { number };
            Ok(PyFloat::new(py, number).into_any())
        }
        BasicType::Char => match value.cast::<PyString>() {
            Ok(text) if text.to_str()?.chars().count() == 1 => Ok(value.clone()),
            _ => Err(mismatch(value, "CHAR")),
        },
        BasicType::BigDec | BasicType::Temporal => Ok(value.clone()),
    }
}

/// The fields of `value`, a tuple, list or row of exactly as many fields as `fields`, each
/// converted to its type.
fn convert_fields<'py>(
    fields: &[TypeInfo],
    value: &Bound<'py, PyAny>,
    type_name: &str,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let items = sequence_items(value, fields.len(), type_name)?;
    fields.iter().zip(items.iter()).map(|(field, item)| field.convert(item)).collect()
}

/// A PyFlink `Row` of `values` with field `names`.
pub(crate) fn build_row<'py>(
    py: Python<'py>,
    values: Vec<Bound<'py, PyAny>>,
    names: &[String],
) -> PyResult<Bound<'py, PyAny>> {
    crate::bridge::build_row(py)?.call1((PyTuple::new(py, values)?, PyTuple::new(py, names)?))
}
