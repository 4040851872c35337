//! `TableError`: what goes wrong in the Table API and SQL, with what to fix.

use thiserror::Error;

/// An error of the Table API or SQL.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TableError {
    /// A type written as text (in DDL or `DataTypes`) could not be read.
    #[error("could not parse type '{text}' at position {position}: {message}")]
    TypeParse {
        /// The text of the type.
        text: String,
        /// Where in it the problem is (0-based, in characters).
        position: usize,
        /// What was expected or wrong there.
        message: String,
    },
    /// An Arrow type that no Flink type stands for.
    #[error("the Arrow type {0} has no Flink SQL type")]
    UnsupportedArrowType(String),
    /// A value given for a table does not fit its column.
    #[error("row {row}, column '{column}': a value of type {expected} expected, found {found}")]
    InvalidValue {
        /// The row's position among those given.
        row: usize,
        /// The column's name.
        column: String,
        /// The column's type.
        expected: String,
        /// The value given.
        found: String,
    },
    /// A statement or call that is valid Flink SQL but not supported yet.
    #[error("not supported yet: {0}")]
    Unsupported(String),
    /// SQL that cannot be parsed or planned: the message says where and why.
    #[error("SQL validation failed: {0}")]
    Validation(String),
    /// A table name that is taken, or that names no table.
    #[error("{0}")]
    Catalog(String),
    /// A failure while a query ran.
    #[error("the query failed: {0}")]
    Execution(String),
}

impl TableError {
    /// A failure while a query ran, from an error of the runtime, its state or Arrow.
    pub(crate) fn execution(error: impl std::fmt::Display) -> TableError {
        TableError::Execution(error.to_string())
    }
}

/// The result of Table API and SQL calls.
pub type Result<T, E = TableError> = std::result::Result<T, E>;

/// A failure of the Table API where DataFusion calls back into it (a user function's
/// instance that cannot be opened or closed, say).
impl From<TableError> for datafusion::common::DataFusionError {
    fn from(error: TableError) -> Self {
        datafusion::common::DataFusionError::Execution(error.to_string())
    }
}
