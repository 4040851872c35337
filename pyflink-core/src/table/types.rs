//! `DataType`: the logical type of a table column, as Flink's `DataTypes` names them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a table column (Flink's `DataTypes.INT()`, `DataTypes.STRING()`, …).
///
/// ```
/// use pyflink_core::table::DataType;
/// assert_eq!(DataType::Int.to_string(), "INT");
/// assert_eq!(DataType::Varchar(10).to_string(), "VARCHAR(10)");
/// assert_eq!(DataType::String.to_string(), "STRING");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DataType {
    /// `BOOLEAN`.
    Boolean,
    /// `TINYINT`: 8-bit integers.
    TinyInt,
    /// `SMALLINT`: 16-bit integers.
    SmallInt,
    /// `INT`: 32-bit integers.
    Int,
    /// `BIGINT`: 64-bit integers.
    BigInt,
    /// `FLOAT`: 32-bit floating point numbers.
    Float,
    /// `DOUBLE`: 64-bit floating point numbers.
    Double,
    /// `CHAR(n)`: strings of exactly `n` characters.
    Char(u32),
    /// `VARCHAR(n)`: strings of at most `n` characters.
    Varchar(u32),
    /// `STRING`: strings of any length (`VARCHAR` of the largest length).
    String,
}

impl DataType {
    /// Whether values of the type are whole numbers.
    pub fn is_integer(&self) -> bool {
        matches!(self, DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt)
    }

    /// Whether values of the type are character strings.
    pub fn is_string(&self) -> bool {
        matches!(self, DataType::Char(_) | DataType::Varchar(_) | DataType::String)
    }

    /// The smallest and largest values of an integer type.
    pub fn integer_range(&self) -> Option<(i64, i64)> {
        match self {
            DataType::TinyInt => Some((i8::MIN.into(), i8::MAX.into())),
            DataType::SmallInt => Some((i16::MIN.into(), i16::MAX.into())),
            DataType::Int => Some((i32::MIN.into(), i32::MAX.into())),
            DataType::BigInt => Some((i64::MIN, i64::MAX)),
            _ => None,
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataType::Boolean => write!(f, "BOOLEAN"),
            DataType::TinyInt => write!(f, "TINYINT"),
            DataType::SmallInt => write!(f, "SMALLINT"),
            DataType::Int => write!(f, "INT"),
            DataType::BigInt => write!(f, "BIGINT"),
            DataType::Float => write!(f, "FLOAT"),
            DataType::Double => write!(f, "DOUBLE"),
            DataType::Char(n) => write!(f, "CHAR({n})"),
            DataType::Varchar(n) => write!(f, "VARCHAR({n})"),
            DataType::String => write!(f, "STRING"),
        }
    }
}
