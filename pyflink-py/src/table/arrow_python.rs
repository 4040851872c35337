//! Values crossing between Arrow columns and Python for the functions of SQL and the Table API,
//! column by column and without rows in between: a column becomes the Python values PyFlink
//! gives its functions (`int`, `float`, `str`, `bytes`, `bool`, `decimal.Decimal`,
//! `datetime.date` / `time` / `datetime`, `timedelta`, `list`, `dict`, `Row`), and a function's
//! Python results become a column of its result type, or say which value does not fit.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use pyflink_table::datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Decimal128Builder, Float32Builder,
    Float64Builder, GenericListArray, Int16Builder, Int32Builder, Int64Builder, Int8Builder, LargeStringBuilder,
    MapArray, OffsetSizeTrait, PrimitiveArray, PrimitiveBuilder, StringBuilder, StructArray,
};
use pyflink_table::datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use pyflink_table::datafusion::arrow::compute::cast;
use pyflink_table::datafusion::arrow::compute::kernels::cast_utils::parse_decimal;
use pyflink_table::datafusion::arrow::datatypes::{
    ArrowPrimitiveType, ArrowTemporalType, ArrowTimestampType, DataType as ArrowType, Date32Type, Date64Type,
    Decimal128Type, DurationMicrosecondType, DurationMillisecondType, DurationNanosecondType, DurationSecondType,
    FieldRef, Fields, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Time32MillisecondType,
    Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::types::build_row;

/// The Python values of `array`, one per row (`None` for NULL).
pub(crate) fn python_values<'py>(py: Python<'py>, array: &dyn Array) -> PyResult<Vec<Bound<'py, PyAny>>> {
    match array.data_type() {
        ArrowType::Null => Ok((0..array.len()).map(|_| py.None().into_bound(py)).collect()),
        ArrowType::Boolean => {
            let values = array.as_boolean();
            each(py, array, |row| Ok(PyBool::new(py, values.value(row)).to_owned().into_any()))
        }
        ArrowType::Int8 => numbers::<Int8Type>(py, array),
        ArrowType::Int16 => numbers::<Int16Type>(py, array),
        ArrowType::Int32 => numbers::<Int32Type>(py, array),
        ArrowType::Int64 => numbers::<Int64Type>(py, array),
        ArrowType::UInt8 => numbers::<UInt8Type>(py, array),
        ArrowType::UInt16 => numbers::<UInt16Type>(py, array),
        ArrowType::UInt32 => numbers::<UInt32Type>(py, array),
        ArrowType::UInt64 => numbers::<UInt64Type>(py, array),
        ArrowType::Float32 => {
            let values = array.as_primitive::<Float32Type>();
            each(py, array, |row| Ok((values.value(row) as f64).into_pyobject(py)?.into_any()))
        }
        ArrowType::Float64 => numbers::<Float64Type>(py, array),
        ArrowType::Utf8 => {
            let values = array.as_string::<i32>();
            each(py, array, |row| Ok(PyString::new(py, values.value(row)).into_any()))
        }
        ArrowType::LargeUtf8 => {
            let values = array.as_string::<i64>();
            each(py, array, |row| Ok(PyString::new(py, values.value(row)).into_any()))
        }
        ArrowType::Utf8View => {
            let values = array.as_string_view();
            each(py, array, |row| Ok(PyString::new(py, values.value(row)).into_any()))
        }
        ArrowType::Binary => {
            let values = array.as_binary::<i32>();
            each(py, array, |row| Ok(PyBytes::new(py, values.value(row)).into_any()))
        }
        ArrowType::LargeBinary => {
            let values = array.as_binary::<i64>();
            each(py, array, |row| Ok(PyBytes::new(py, values.value(row)).into_any()))
        }
        ArrowType::BinaryView => {
            let values = array.as_binary_view();
            each(py, array, |row| Ok(PyBytes::new(py, values.value(row)).into_any()))
        }
        ArrowType::FixedSizeBinary(_) => {
            let values = array.as_fixed_size_binary();
            each(py, array, |row| Ok(PyBytes::new(py, values.value(row)).into_any()))
        }
        ArrowType::Decimal128(_, _) => {
            let values = array.as_primitive::<Decimal128Type>();
            let decimal = decimal_class(py)?;
            each(py, array, |row| decimal.call1((values.value_as_string(row),)))
        }
        ArrowType::Date32 => {
            let values = array.as_primitive::<Date32Type>();
            each(py, array, |row| in_range(values.value_as_date(row), array)?.into_pyobject(py).map(Bound::into_any))
        }
        ArrowType::Date64 => {
            let values = array.as_primitive::<Date64Type>();
            each(py, array, |row| in_range(values.value_as_date(row), array)?.into_pyobject(py).map(Bound::into_any))
        }
        ArrowType::Time32(TimeUnit::Second) => times::<Time32SecondType>(py, array),
        ArrowType::Time32(TimeUnit::Millisecond) => times::<Time32MillisecondType>(py, array),
        ArrowType::Time64(TimeUnit::Microsecond) => times::<Time64MicrosecondType>(py, array),
        ArrowType::Time64(TimeUnit::Nanosecond) => times::<Time64NanosecondType>(py, array),
        ArrowType::Timestamp(TimeUnit::Second, zone) => datetimes::<TimestampSecondType>(py, array, zone.is_some()),
        ArrowType::Timestamp(TimeUnit::Millisecond, zone) => {
            datetimes::<TimestampMillisecondType>(py, array, zone.is_some())
        }
        ArrowType::Timestamp(TimeUnit::Microsecond, zone) => {
            datetimes::<TimestampMicrosecondType>(py, array, zone.is_some())
        }
        ArrowType::Timestamp(TimeUnit::Nanosecond, zone) => {
            datetimes::<TimestampNanosecondType>(py, array, zone.is_some())
        }
        ArrowType::Duration(TimeUnit::Second) => durations::<DurationSecondType>(py, array),
        ArrowType::Duration(TimeUnit::Millisecond) => durations::<DurationMillisecondType>(py, array),
        ArrowType::Duration(TimeUnit::Microsecond) => durations::<DurationMicrosecondType>(py, array),
        ArrowType::Duration(TimeUnit::Nanosecond) => durations::<DurationNanosecondType>(py, array),
        ArrowType::List(_) => lists(py, array.as_list::<i32>()),
        ArrowType::LargeList(_) => lists(py, array.as_list::<i64>()),
        ArrowType::FixedSizeList(_, size) => {
            let lists = array.as_fixed_size_list();
            let items = python_values(py, lists.values().as_ref())?;
            let size = *size as usize;
            each(py, array, |row| Ok(PyList::new(py, &items[row * size..(row + 1) * size])?.into_any()))
        }
        ArrowType::Map(_, _) => maps(py, array.as_map()),
        ArrowType::Struct(fields) => {
            let rows = array.as_struct();
            let names: Vec<String> = fields.iter().map(|field| field.name().clone()).collect();
            let columns =
                rows.columns().iter().map(|column| python_values(py, column.as_ref())).collect::<PyResult<Vec<_>>>()?;
            each(py, array, |row| build_row(py, columns.iter().map(|column| column[row].clone()).collect(), &names))
        }
        ArrowType::Dictionary(_, value_type) => {
            let plain = cast(array, value_type).map_err(|error| PyTypeError::new_err(error.to_string()))?;
            python_values(py, plain.as_ref())
        }
        other => {
            Err(PyTypeError::new_err(format!("values of the Arrow type {other} do not reach Python functions yet")))
        }
    }
}

/// The Python value of each row of `array`: `value(row)`, or `None` where it is NULL.
fn each<'py>(
    py: Python<'py>,
    array: &dyn Array,
    mut value: impl FnMut(usize) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut values = Vec::with_capacity(array.len());
    for row in 0..array.len() {
        values.push(if array.is_null(row) { py.None().into_bound(py) } else { value(row)? });
    }
    Ok(values)
}

fn numbers<'py, T>(py: Python<'py>, array: &dyn Array) -> PyResult<Vec<Bound<'py, PyAny>>>
where
    T: ArrowPrimitiveType,
    T::Native: IntoPyObject<
        'py,
        Output = Bound<'py, <T::Native as IntoPyObject<'py>>::Target>,
        Error = std::convert::Infallible,
    >,
{
    let values = array.as_primitive::<T>();
    each(py, array, |row| {
        let Ok(value) = values.value(row).into_pyobject(py);
        Ok(value.into_any())
    })
}

fn times<'py, T: ArrowTemporalType>(py: Python<'py>, array: &dyn Array) -> PyResult<Vec<Bound<'py, PyAny>>>
where
    i64: From<T::Native>,
{
    let values: &PrimitiveArray<T> = array.as_primitive::<T>();
    each(py, array, |row| in_range(values.value_as_time(row), array)?.into_pyobject(py).map(Bound::into_any))
}

/// Timestamps as `datetime`s: naive for a `TIMESTAMP`, in UTC for a `TIMESTAMP_LTZ` (`zoned`).
fn datetimes<'py, T: ArrowTemporalType>(
    py: Python<'py>,
    array: &dyn Array,
    zoned: bool,
) -> PyResult<Vec<Bound<'py, PyAny>>>
where
    i64: From<T::Native>,
{
    let values: &PrimitiveArray<T> = array.as_primitive::<T>();
    each(py, array, |row| {
        let naive = in_range(values.value_as_datetime(row), array)?;
        match zoned {
            true => Utc.from_utc_datetime(&naive).into_pyobject(py).map(Bound::into_any),
            false => naive.into_pyobject(py).map(Bound::into_any),
        }
    })
}

fn durations<'py, T: ArrowTemporalType>(py: Python<'py>, array: &dyn Array) -> PyResult<Vec<Bound<'py, PyAny>>>
where
    i64: From<T::Native>,
{
    let values: &PrimitiveArray<T> = array.as_primitive::<T>();
    each(py, array, |row| in_range(values.value_as_duration(row), array)?.into_pyobject(py).map(Bound::into_any))
}

/// A date or time Python cannot hold (beyond year 9999, say) is an error, not a wrong value.
fn in_range<T>(value: Option<T>, array: &dyn Array) -> PyResult<T> {
    value.ok_or_else(|| PyTypeError::new_err(format!("a value of type {} out of Python's range", array.data_type())))
}

fn lists<'py, O: OffsetSizeTrait>(py: Python<'py>, lists: &GenericListArray<O>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let items = python_values(py, lists.values().as_ref())?;
    let offsets = lists.value_offsets();
    each(py, lists, |row| Ok(PyList::new(py, &items[offsets[row].as_usize()..offsets[row + 1].as_usize()])?.into_any()))
}

fn maps<'py>(py: Python<'py>, maps: &MapArray) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let keys = python_values(py, maps.keys().as_ref())?;
    let values = python_values(py, maps.values().as_ref())?;
    let offsets = maps.value_offsets();
    each(py, maps, |row| {
        let dict = PyDict::new(py);
        for entry in offsets[row] as usize..offsets[row + 1] as usize {
            dict.set_item(&keys[entry], &values[entry])?;
        }
        Ok(dict.into_any())
    })
}

/// `decimal.Decimal`, looked up once.
fn decimal_class(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static DECIMAL: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    DECIMAL.import(py, "decimal", "Decimal")
}

/// A Python value that does not fit the column it was to go in: its row and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BadValue {
    /// The position of the value among those converted.
    pub(crate) row: usize,
    pub(crate) reason: String,
}

impl BadValue {
    fn at(row: usize, reason: impl ToString) -> Self {
        BadValue { row, reason: reason.to_string() }
    }
}

/// The column of `data_type` holding `values` (`None` is NULL).
pub(crate) fn arrow_array(values: &[Bound<'_, PyAny>], data_type: &ArrowType) -> Result<ArrayRef, BadValue> {
    Ok(match data_type {
        ArrowType::Null => match values.iter().position(|value| !value.is_none()) {
            Some(row) => return Err(BadValue::at(row, "only None fits a NULL column")),
            None => new_null_array(data_type, values.len()),
        },
        ArrowType::Boolean => {
            let mut builder = BooleanBuilder::with_capacity(values.len());
            for (row, value) in values.iter().enumerate() {
                match value.is_none() {
                    true => builder.append_null(),
                    false => builder
                        .append_value(value.cast::<PyBool>().map_err(|_| BadValue::at(row, "not a bool"))?.is_true()),
                }
            }
            Arc::new(builder.finish())
        }
        ArrowType::Int8 => Arc::new(integers(Int8Builder::with_capacity(values.len()), values, "TINYINT")?),
        ArrowType::Int16 => Arc::new(integers(Int16Builder::with_capacity(values.len()), values, "SMALLINT")?),
        ArrowType::Int32 => Arc::new(integers(Int32Builder::with_capacity(values.len()), values, "INT")?),
        ArrowType::Int64 => Arc::new(integers(Int64Builder::with_capacity(values.len()), values, "BIGINT")?),
        ArrowType::Float32 => {
            let mut builder = Float32Builder::with_capacity(values.len());
            append_each(values, |value| optional::<f64>(value).map(|v| builder.append_option(v.map(|v| v as f32))))?;
            Arc::new(builder.finish())
        }
        ArrowType::Float64 => {
            let mut builder = Float64Builder::with_capacity(values.len());
            append_each(values, |value| optional::<f64>(value).map(|v| builder.append_option(v)))?;
            Arc::new(builder.finish())
        }
        ArrowType::Utf8 => {
            let mut builder = StringBuilder::with_capacity(values.len(), values.len() * 8);
            append_each(values, |value| text(value).map(|v| builder.append_option(v)))?;
            Arc::new(builder.finish())
        }
        ArrowType::LargeUtf8 => {
            let mut builder = LargeStringBuilder::with_capacity(values.len(), values.len() * 8);
            append_each(values, |value| text(value).map(|v| builder.append_option(v)))?;
            Arc::new(builder.finish())
        }
        ArrowType::Binary => {
            let mut builder = BinaryBuilder::with_capacity(values.len(), values.len() * 8);
            append_each(values, |value| bytes(value).map(|v| builder.append_option(v)))?;
            Arc::new(builder.finish())
        }
        ArrowType::Decimal128(precision, scale) => {
            let mut builder = Decimal128Builder::with_capacity(values.len());
            append_each(values, |value| {
                let Some(value) = value else {
                    builder.append_null();
                    return Ok(());
                };
                let text = value.str()?;
                let parsed = parse_decimal::<Decimal128Type>(text.to_str()?, *precision, *scale)
                    .map_err(|error| PyTypeError::new_err(error.to_string()))?;
                builder.append_value(parsed);
                Ok(())
            })?;
            let decimals = builder.finish().with_precision_and_scale(*precision, *scale);
            Arc::new(decimals.map_err(|error| BadValue::at(0, error))?)
        }
        ArrowType::Date32 => {
            let mut builder = PrimitiveBuilder::<Date32Type>::with_capacity(values.len());
            append_each(values, |value| {
                let date = optional::<NaiveDate>(value)?;
                builder.append_option(date.map(Date32Type::from_naive_date));
                Ok(())
            })?;
            Arc::new(builder.finish())
        }
        ArrowType::Time32(TimeUnit::Millisecond) => {
            let mut builder = PrimitiveBuilder::<Time32MillisecondType>::with_capacity(values.len());
            append_each(values, |value| {
                let time = optional::<NaiveTime>(value)?;
                builder.append_option(time.map(|time| (nanos_of_day(time) / 1_000_000) as i32));
                Ok(())
            })?;
            Arc::new(builder.finish())
        }
        ArrowType::Time64(TimeUnit::Microsecond) => {
            let mut builder = PrimitiveBuilder::<Time64MicrosecondType>::with_capacity(values.len());
            append_each(values, |value| {
                let time = optional::<NaiveTime>(value)?;
                builder.append_option(time.map(|time| nanos_of_day(time) / 1_000));
                Ok(())
            })?;
            Arc::new(builder.finish())
        }
        ArrowType::Timestamp(TimeUnit::Second, zone) => timestamps::<TimestampSecondType>(values, zone)?,
        ArrowType::Timestamp(TimeUnit::Millisecond, zone) => timestamps::<TimestampMillisecondType>(values, zone)?,
        ArrowType::Timestamp(TimeUnit::Microsecond, zone) => timestamps::<TimestampMicrosecondType>(values, zone)?,
        ArrowType::Timestamp(TimeUnit::Nanosecond, zone) => timestamps::<TimestampNanosecondType>(values, zone)?,
        ArrowType::List(field) => {
            let (offsets, items, nulls) = flatten(values, |value| value.try_iter()?.collect())?;
            let items = arrow_array(&items, field.data_type()).map_err(|bad| in_list(bad, &offsets))?;
            let offsets = OffsetBuffer::new(offsets.into_iter().map(|offset| offset as i32).collect());
            Arc::new(GenericListArray::<i32>::try_new(Arc::clone(field), offsets, items, nulls).map_err(at_start)?)
        }
        ArrowType::Map(entries, sorted) => map_array(values, entries, *sorted)?,
        ArrowType::Struct(fields) => struct_array(values, fields)?,
        other => return Err(BadValue::at(0, format!("Python functions do not return {other} yet"))),
    })
}

/// Appends each of `values` with `append`, `None` as NULL: `append` is given the value if it is
/// not `None`; the first value it fails on is the error.
fn append_each<'py>(
    values: &[Bound<'py, PyAny>],
    mut append: impl FnMut(Option<&Bound<'py, PyAny>>) -> PyResult<()>,
) -> Result<(), BadValue> {
    for (row, value) in values.iter().enumerate() {
        let value = (!value.is_none()).then_some(value);
        append(value).map_err(|error| BadValue::at(row, reason(value, error)))?;
    }
    Ok(())
}

/// What is wrong with `value`, as Python said it.
fn reason(value: Option<&Bound<'_, PyAny>>, error: PyErr) -> String {
    match value {
        Some(value) => error.value(value.py()).to_string(),
        None => error.to_string(),
    }
}

/// `value` as a `T`, if it is not `None`.
fn optional<'py, T>(value: Option<&Bound<'py, PyAny>>) -> PyResult<Option<T>>
where
    T: for<'a> FromPyObject<'a, 'py, Error = PyErr>,
{
    value.map(|value| value.extract::<T>()).transpose()
}

fn text<'a>(value: Option<&'a Bound<'_, PyAny>>) -> PyResult<Option<&'a str>> {
    value.map(|value| value.cast::<PyString>().map_err(PyErr::from)?.to_str()).transpose()
}

fn bytes(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<u8>>> {
    value
        .map(|value| match value.cast::<PyBytes>() {
            Ok(bytes) => Ok(bytes.as_bytes().to_vec()),
            Err(_) => Ok(value.cast::<PyByteArray>().map_err(PyErr::from)?.to_vec()),
        })
        .transpose()
}

fn integers<T>(
    mut builder: PrimitiveBuilder<T>,
    values: &[Bound<'_, PyAny>],
    name: &str,
) -> Result<PrimitiveArray<T>, BadValue>
where
    T: ArrowPrimitiveType,
    T::Native: TryFrom<i64>,
{
    append_each(values, |value| {
        let Some(number) = optional::<i64>(value)? else {
            builder.append_null();
            return Ok(());
        };
        let number = T::Native::try_from(number)
            .map_err(|_| PyTypeError::new_err(format!("{number} is out of the range of {name}")))?;
        builder.append_value(number);
        Ok(())
    })?;
    Ok(builder.finish())
}

fn nanos_of_day(time: NaiveTime) -> i64 {
    time.num_seconds_from_midnight() as i64 * 1_000_000_000 + time.nanosecond() as i64
}

/// Timestamps from `datetime`s (a zoned one at its instant, a naive one as it is) or
/// `Instant`s (their epoch milliseconds).
fn timestamps<T: ArrowTimestampType>(
    values: &[Bound<'_, PyAny>],
    zone: &Option<Arc<str>>,
) -> Result<ArrayRef, BadValue> {
    let mut builder = PrimitiveBuilder::<T>::with_capacity(values.len()).with_timezone_opt(zone.clone());
    append_each(values, |value| {
        let Some(value) = value else {
            builder.append_null();
            return Ok(());
        };
        let naive = match value.getattr("to_epoch_milli") {
            Ok(millis) => DateTime::from_timestamp_millis(millis.call0()?.extract::<i64>()?).map(|at| at.naive_utc()),
            Err(_) => match value.extract::<NaiveDateTime>() {
                Ok(naive) => Some(naive),
                Err(_) => Some(value.extract::<DateTime<FixedOffset>>()?.naive_utc()),
            },
        };
        let value = naive
            .and_then(|naive| T::from_naive_datetime(naive, None))
            .ok_or_else(|| PyTypeError::new_err(format!("{value} is out of the range of timestamps")))?;
        builder.append_value(value);
        Ok(())
    })?;
    Ok(Arc::new(builder.finish()))
}

/// The items of each of `values` (`items` of it, or none for `None`): the offsets where each
/// value's items start, all items in a row, and which values were not `None`.
#[allow(clippy::type_complexity)]
fn flatten<'py, T>(
    values: &[Bound<'py, PyAny>],
    items: impl Fn(&Bound<'py, PyAny>) -> PyResult<Vec<T>>,
) -> Result<(Vec<usize>, Vec<T>, Option<NullBuffer>), BadValue> {
    let mut offsets = Vec::with_capacity(values.len() + 1);
    let mut flat = Vec::new();
    offsets.push(0);
    for (row, value) in values.iter().enumerate() {
        if !value.is_none() {
            flat.extend(items(value).map_err(|error| BadValue::at(row, error.value(value.py())))?);
        }
        offsets.push(flat.len());
    }
    let valid: Vec<bool> = values.iter().map(|value| !value.is_none()).collect();
    Ok((offsets, flat, Some(NullBuffer::from(valid))))
}

/// An item's bad value as the bad value of the list holding it.
fn in_list(bad: BadValue, offsets: &[usize]) -> BadValue {
    let row = offsets.partition_point(|&start| start <= bad.row).saturating_sub(1);
    BadValue::at(row, format!("item {}: {}", bad.row - offsets[row], bad.reason))
}

fn at_start(error: impl ToString) -> BadValue {
    BadValue::at(0, error)
}

fn map_array(values: &[Bound<'_, PyAny>], entries: &FieldRef, sorted: bool) -> Result<ArrayRef, BadValue> {
    // The entries are a struct of a key and a value.
    let fields = match entries.data_type() {
        ArrowType::Struct(fields) if fields.len() == 2 => fields,
        other => {
            return Err(BadValue::at(0, format!("a map's entries are a struct of a key and a value, not {other}")))
        }
    };
    let (offsets, pairs, nulls) = flatten(values, |value| {
        let items = value.call_method0("items")?;
        items.try_iter()?.map(|pair| pair?.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>()).collect()
    })?;
    let (keys, items): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
    let keys = arrow_array(&keys, fields[0].data_type()).map_err(|bad| in_list(bad, &offsets))?;
    let items = arrow_array(&items, fields[1].data_type()).map_err(|bad| in_list(bad, &offsets))?;
    let entries_array = StructArray::try_new(fields.clone(), vec![keys, items], None).map_err(at_start)?;
    let offsets = OffsetBuffer::new(offsets.into_iter().map(|offset| offset as i32).collect());
    Ok(Arc::new(MapArray::try_new(Arc::clone(entries), offsets, entries_array, nulls, sorted).map_err(at_start)?))
}

/// Rows from `Row`s, tuples or lists of the fields' values, by position (or, for a row of one
/// field, the value alone).
fn struct_array(values: &[Bound<'_, PyAny>], fields: &Fields) -> Result<ArrayRef, BadValue> {
    let mut columns: Vec<Vec<Bound<'_, PyAny>>> = fields.iter().map(|_| Vec::with_capacity(values.len())).collect();
    for (row, value) in values.iter().enumerate() {
        if value.is_none() {
            columns.iter_mut().for_each(|column| column.push(value.clone()));
            continue;
        }
        // A row of one field may be given as its value alone.
        let sequence = value.is_instance_of::<PyTuple>() || value.is_instance_of::<PyList>();
        let items: Vec<Bound<'_, PyAny>> = if fields.len() == 1 && !sequence {
            vec![value.clone()]
        } else {
            value
                .try_iter()
                .and_then(|items| items.collect())
                .map_err(|error| BadValue::at(row, format!("not a row: {}", error.value(value.py()))))?
        };
        if items.len() != fields.len() {
            return Err(BadValue::at(row, format!("it has {} fields, the type {}", items.len(), fields.len())));
        }
        for (column, item) in columns.iter_mut().zip(items) {
            column.push(item);
        }
    }
    let arrays = columns
        .iter()
        .zip(fields.iter())
        .map(|(column, field)| {
            arrow_array(column, field.data_type())
                .map_err(|bad| BadValue::at(bad.row, format!("field '{}': {}", field.name(), bad.reason)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let valid: Vec<bool> = values.iter().map(|value| !value.is_none()).collect();
    let rows = StructArray::try_new(fields.clone(), arrays, Some(NullBuffer::from(valid))).map_err(at_start)?;
    Ok(Arc::new(rows))
}
