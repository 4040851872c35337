//! `Row` and `Value`: the records of tables, with a value per column and a change kind.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One column's value in a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A `BOOLEAN`.
    Boolean(bool),
    /// A `TINYINT`.
    TinyInt(i8),
    /// A `SMALLINT`.
    SmallInt(i16),
    /// An `INT`.
    Int(i32),
    /// A `BIGINT`.
    BigInt(i64),
    /// A `FLOAT`.
    Float(f32),
    /// A `DOUBLE`.
    Double(f64),
    /// A `CHAR`, `VARCHAR` or `STRING`.
    String(String),
    /// A `TIMESTAMP(p)`: a date and time of day without a time zone, as milliseconds since
    /// 1970-01-01 00:00.
    Timestamp(i64),
    /// A `TIMESTAMP_LTZ(p)`: an instant, as milliseconds since the epoch.
    TimestampLtz(i64),
}

impl fmt::Display for Value {
    /// The value as Flink prints it in a row (`NULL` shows as `null`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Boolean(v) => write!(f, "{v}"),
            Value::TinyInt(v) => write!(f, "{v}"),
            Value::SmallInt(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::BigInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v:?}"),
            Value::Double(v) => write!(f, "{v:?}"),
            Value::String(v) => write!(f, "{v}"),
            Value::Timestamp(millis) => write!(f, "{}", super::timestamp::local_date_time_string(*millis)),
            Value::TimestampLtz(millis) => write!(f, "{}", super::timestamp::instant_string(*millis)),
        }
    }
}

/// What a row says about its table: an insertion, or one half of an update, or a deletion
/// (Flink's `RowKind`, shown as `+I`, `-U`, `+U`, `-D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RowKind {
    /// `+I`: a new row.
    Insert,
    /// `-U`: the row before an update.
    UpdateBefore,
    /// `+U`: the row after an update.
    UpdateAfter,
    /// `-D`: a deleted row.
    Delete,
}

impl RowKind {
    /// The short form Flink prints: `+I`, `-U`, `+U` or `-D`.
    pub fn short_string(&self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }
}

/// A record of a table: its kind and one value per column, in the schema's order.
///
/// ```
/// use pyflink_core::table::{Row, Value};
/// let row = Row::of(vec![Value::Int(3), Value::String("flink".into())]);
/// assert_eq!(row.to_string(), "+I[3, flink]");
/// assert_eq!(row.field(1), Some(&Value::String("flink".into())));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The change this row makes to its table.
    pub kind: RowKind,
    /// The values, by column position.
    pub fields: Vec<Value>,
}

impl Row {
    /// An insertion of `fields`.
    pub fn of(fields: Vec<Value>) -> Self {
        Row { kind: RowKind::Insert, fields }
    }

    /// The value at column `position`.
    pub fn field(&self, position: usize) -> Option<&Value> {
        self.fields.get(position)
    }

    /// The number of values.
    pub fn arity(&self) -> usize {
        self.fields.len()
    }
}

impl fmt::Display for Row {
    /// The row as Flink prints it: `+I[3, flink]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[", self.kind.short_string())?;
        for (i, value) in self.fields.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{value}")?;
        }
        write!(f, "]")
    }
}
