//! `DataType`: the type of a table column with Flink SQL's names and parameters, read from SQL
//! text (`DECIMAL(10, 2) NOT NULL`, `ARRAY<ROW<id BIGINT, tags MAP<STRING, INT>>>`), printed as
//! Flink prints it, and mapped to and from the Arrow types that tables hold their columns in.

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Fields, TimeUnit};

use crate::error::{Result, TableError};

/// The largest length of `VARCHAR` and `VARBINARY`: `STRING` and `BYTES` are these types.
pub const MAX_LENGTH: u32 = i32::MAX as u32;

/// The largest precision of `DECIMAL`, `TIME` and the timestamps' fractions.
const MAX_DECIMAL_PRECISION: u32 = 38;
const MAX_TIME_PRECISION: u32 = 9;

/// The kind of a column's values, with its parameters (Flink's `LogicalType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogicalType {
    /// `BOOLEAN`.
    Boolean,
    /// `TINYINT`: 8-bit integers.
    TinyInt,
    /// `SMALLINT`: 16-bit integers.
    SmallInt,
    /// `INT` (`INTEGER`): 32-bit integers.
    Int,
    /// `BIGINT`: 64-bit integers.
    BigInt,
    /// `FLOAT`: 32-bit floating point numbers.
    Float,
    /// `DOUBLE`: 64-bit floating point numbers.
    Double,
    /// `DECIMAL(p, s)`: exact numbers of `p` digits, `s` of them after the point.
    Decimal {
        /// Digits in all, 1 to 38.
        precision: u8,
        /// Digits after the point, 0 to `precision`.
        scale: u8,
    },
    /// `CHAR(n)`: strings of exactly `n` characters.
    Char(u32),
    /// `VARCHAR(n)`: strings of at most `n` characters; `STRING` is `VARCHAR` of [`MAX_LENGTH`].
    Varchar(u32),
    /// `BINARY(n)`: byte strings of exactly `n` bytes.
    Binary(u32),
    /// `VARBINARY(n)`: byte strings of at most `n` bytes; `BYTES` is `VARBINARY` of [`MAX_LENGTH`].
    Varbinary(u32),
    /// `DATE`.
    Date,
    /// `TIME(p)`: times of day with `p` fractional digits of the second.
    Time(u8),
    /// `TIMESTAMP(p)`: date and time without a time zone.
    Timestamp(u8),
    /// `TIMESTAMP_LTZ(p)` (`TIMESTAMP(p) WITH LOCAL TIME ZONE`): instants, shown in the
    /// session's time zone.
    TimestampLtz(u8),
    /// `ARRAY<t>`.
    Array(Box<DataType>),
    /// `MAP<k, v>`.
    Map(Box<DataType>, Box<DataType>),
    /// `ROW<name t, ...>`.
    Row(Vec<RowField>),
}

/// A field of a `ROW` type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowField {
    /// The field's name.
    pub name: String,
    /// The field's type.
    pub data_type: DataType,
}

/// A column type: a [`LogicalType`] and whether it holds `NULL` (Flink's `DataType`).
///
/// ```
/// use pyflink_table::types::{DataType, LogicalType};
/// let decimal = DataType::parse("decimal(10,2) not null").unwrap();
/// assert_eq!(decimal.logical, LogicalType::Decimal { precision: 10, scale: 2 });
/// assert_eq!(decimal.to_string(), "DECIMAL(10, 2) NOT NULL");
/// assert_eq!(DataType::parse("VARCHAR(2147483647)").unwrap().to_string(), "STRING");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataType {
    /// The kind of values.
    pub logical: LogicalType,
    /// Whether the column may hold `NULL`.
    pub nullable: bool,
}

impl DataType {
    /// A nullable column of `logical` values.
    pub fn nullable(logical: LogicalType) -> Self {
        DataType { logical, nullable: true }
    }

    /// The type `text` names, as Flink SQL writes types.
    pub fn parse(text: &str) -> Result<DataType> {
        let mut parser = Parser::new(text)?;
        let data_type = parser.data_type()?;
        match parser.peek() {
            None => Ok(data_type),
            Some(token) => Err(parser.error_at(token.position, &format!("unexpected '{}' after the type", token.text))),
        }
    }

    /// The Arrow type of a column of this type.
    ///
    /// ```
    /// use datafusion::arrow::datatypes::{DataType as ArrowType, TimeUnit};
    /// use pyflink_table::types::DataType;
    /// let arrow = DataType::parse("TIMESTAMP(3)").unwrap().to_arrow();
    /// assert_eq!(arrow, ArrowType::Timestamp(TimeUnit::Millisecond, None));
    /// ```
    pub fn to_arrow(&self) -> ArrowType {
        match &self.logical {
            LogicalType::Boolean => ArrowType::Boolean,
            LogicalType::TinyInt => ArrowType::Int8,
            LogicalType::SmallInt => ArrowType::Int16,
            LogicalType::Int => ArrowType::Int32,
            LogicalType::BigInt => ArrowType::Int64,
            LogicalType::Float => ArrowType::Float32,
            LogicalType::Double => ArrowType::Float64,
            LogicalType::Decimal { precision, scale } => ArrowType::Decimal128(*precision, *scale as i8),
            LogicalType::Char(_) | LogicalType::Varchar(_) => ArrowType::Utf8,
            LogicalType::Binary(_) | LogicalType::Varbinary(_) => ArrowType::Binary,
            LogicalType::Date => ArrowType::Date32,
            LogicalType::Time(precision) => match time_unit(*precision) {
                unit @ (TimeUnit::Second | TimeUnit::Millisecond) => ArrowType::Time32(unit),
                unit => ArrowType::Time64(unit),
            },
            LogicalType::Timestamp(precision) => ArrowType::Timestamp(time_unit(*precision), None),
            LogicalType::TimestampLtz(precision) => ArrowType::Timestamp(time_unit(*precision), Some("UTC".into())),
            LogicalType::Array(element) => ArrowType::List(Arc::new(element.to_arrow_field("element"))),
            LogicalType::Map(key, value) => {
                let entries = Fields::from(vec![key.to_arrow_field("key"), value.to_arrow_field("value")]);
                ArrowType::Map(Arc::new(Field::new("entries", ArrowType::Struct(entries), false)), false)
            }
            LogicalType::Row(fields) => ArrowType::Struct(
                fields.iter().map(|field| field.data_type.to_arrow_field(&field.name)).collect::<Vec<_>>().into(),
            ),
        }
    }

    /// An Arrow field of this type named `name`.
    pub fn to_arrow_field(&self, name: &str) -> Field {
        Field::new(name, self.to_arrow(), self.nullable)
    }

    /// The Flink type of an Arrow column (the types [`DataType::to_arrow`] makes, and the other
    /// Arrow types query results may have).
    pub fn from_arrow(arrow: &ArrowType, nullable: bool) -> Result<DataType> {
        let logical = match arrow {
            ArrowType::Boolean => LogicalType::Boolean,
            ArrowType::Int8 => LogicalType::TinyInt,
            ArrowType::Int16 | ArrowType::UInt8 => LogicalType::SmallInt,
            ArrowType::Int32 | ArrowType::UInt16 => LogicalType::Int,
            ArrowType::Int64 | ArrowType::UInt32 | ArrowType::UInt64 => LogicalType::BigInt,
            ArrowType::Float16 | ArrowType::Float32 => LogicalType::Float,
            ArrowType::Float64 => LogicalType::Double,
            ArrowType::Decimal128(precision, scale) if *scale >= 0 && *precision as u32 <= MAX_DECIMAL_PRECISION => {
                LogicalType::Decimal { precision: *precision, scale: *scale as u8 }
            }
            ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View => LogicalType::Varchar(MAX_LENGTH),
            ArrowType::Binary | ArrowType::LargeBinary | ArrowType::BinaryView => LogicalType::Varbinary(MAX_LENGTH),
            ArrowType::FixedSizeBinary(n) if *n > 0 => LogicalType::Binary(*n as u32),
            ArrowType::Date32 | ArrowType::Date64 => LogicalType::Date,
            ArrowType::Time32(unit) | ArrowType::Time64(unit) => LogicalType::Time(precision_of(unit)),
            ArrowType::Timestamp(unit, None) => LogicalType::Timestamp(precision_of(unit)),
            ArrowType::Timestamp(unit, Some(_)) => LogicalType::TimestampLtz(precision_of(unit)),
            ArrowType::List(element) | ArrowType::LargeList(element) | ArrowType::FixedSizeList(element, _) => {
                LogicalType::Array(Box::new(DataType::from_arrow_field(element)?))
            }
            ArrowType::Map(entries, _) => match entries.data_type() {
                ArrowType::Struct(fields) if fields.len() == 2 => LogicalType::Map(
                    Box::new(DataType::from_arrow_field(&fields[0])?),
                    Box::new(DataType::from_arrow_field(&fields[1])?),
                ),
                _ => return Err(TableError::UnsupportedArrowType(arrow.to_string())),
            },
            ArrowType::Struct(fields) => LogicalType::Row(
                fields
                    .iter()
                    .map(|field| {
                        Ok(RowField { name: field.name().clone(), data_type: DataType::from_arrow_field(field)? })
                    })
                    .collect::<Result<_>>()?,
            ),
            other => return Err(TableError::UnsupportedArrowType(other.to_string())),
        };
        Ok(DataType { logical, nullable })
    }

    /// The Flink type of an Arrow field.
    pub fn from_arrow_field(field: &Field) -> Result<DataType> {
        DataType::from_arrow(field.data_type(), field.is_nullable())
    }
}

/// How messages name the Arrow type `arrow`: its Flink name (nullable, so without `NOT NULL`),
/// or Arrow's name for a type Flink has no name for.
pub fn flink_name(arrow: &ArrowType) -> String {
    DataType::from_arrow(arrow, true).map_or_else(|_| arrow.to_string(), |t| t.to_string())
}

/// The Flink name of a field's type, with `NOT NULL` if it is not nullable.
pub(crate) fn flink_name_of_field(field: &Field) -> String {
    DataType::from_arrow_field(field).map_or_else(|_| field.data_type().to_string(), |t| t.to_string())
}

/// The Arrow time unit that holds `precision` fractional digits of the second.
fn time_unit(precision: u8) -> TimeUnit {
    match precision {
        0 => TimeUnit::Second,
        1..=3 => TimeUnit::Millisecond,
        4..=6 => TimeUnit::Microsecond,
        _ => TimeUnit::Nanosecond,
    }
}

/// The fractional digits of the second an Arrow time unit holds.
fn precision_of(unit: &TimeUnit) -> u8 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

impl fmt::Display for LogicalType {
    /// The type as Flink prints it (`DESCRIBE`, `print_schema`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogicalType::Boolean => write!(f, "BOOLEAN"),
            LogicalType::TinyInt => write!(f, "TINYINT"),
            LogicalType::SmallInt => write!(f, "SMALLINT"),
            LogicalType::Int => write!(f, "INT"),
            LogicalType::BigInt => write!(f, "BIGINT"),
            LogicalType::Float => write!(f, "FLOAT"),
            LogicalType::Double => write!(f, "DOUBLE"),
            LogicalType::Decimal { precision, scale } => write!(f, "DECIMAL({precision}, {scale})"),
            LogicalType::Char(n) => write!(f, "CHAR({n})"),
            LogicalType::Varchar(MAX_LENGTH) => write!(f, "STRING"),
            LogicalType::Varchar(n) => write!(f, "VARCHAR({n})"),
            LogicalType::Binary(n) => write!(f, "BINARY({n})"),
            LogicalType::Varbinary(MAX_LENGTH) => write!(f, "BYTES"),
            LogicalType::Varbinary(n) => write!(f, "VARBINARY({n})"),
            LogicalType::Date => write!(f, "DATE"),
            LogicalType::Time(p) => write!(f, "TIME({p})"),
            LogicalType::Timestamp(p) => write!(f, "TIMESTAMP({p})"),
            LogicalType::TimestampLtz(p) => write!(f, "TIMESTAMP_LTZ({p})"),
            LogicalType::Array(element) => write!(f, "ARRAY<{element}>"),
            LogicalType::Map(key, value) => write!(f, "MAP<{key}, {value}>"),
            LogicalType::Row(fields) => {
                write!(f, "ROW<")?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "`{}` {}", field.name.replace('`', "``"), field.data_type)?;
                }
                write!(f, ">")
            }
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.logical)?;
        if !self.nullable {
            write!(f, " NOT NULL")?;
        }
        Ok(())
    }
}

/// A word, number or symbol of a type's text.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    /// Where it starts, in characters.
    position: usize,
    kind: TokenKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    Word,
    /// A name in backquotes (its text without them).
    Quoted,
    Number,
    Symbol,
}

/// Reads a type from its tokens (recursive descent over Flink's type grammar).
struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Result<Self> {
        let mut tokens = Vec::new();
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let start = i;
            if c.is_whitespace() {
                i += 1;
            } else if c.is_ascii_alphabetic() || c == '_' {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token { text: chars[start..i].iter().collect(), position: start, kind: TokenKind::Word });
            } else if c.is_ascii_digit() {
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                tokens.push(Token { text: chars[start..i].iter().collect(), position: start, kind: TokenKind::Number });
            } else if c == '`' {
                let mut name = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(type_error(text, start, "a name in backquotes is not closed")),
                        Some('`') if chars.get(i + 1) == Some(&'`') => {
                            name.push('`');
                            i += 2;
                        }
                        Some('`') => {
                            i += 1;
                            break;
                        }
                        Some(other) => {
                            name.push(*other);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token { text: name, position: start, kind: TokenKind::Quoted });
            } else if "(),<>".contains(c) {
                i += 1;
                tokens.push(Token { text: c.to_string(), position: start, kind: TokenKind::Symbol });
            } else {
                return Err(type_error(text, start, &format!("unexpected character '{c}'")));
            }
        }
        Ok(Parser { text, tokens, next: 0 })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn error_at(&self, position: usize, message: &str) -> TableError {
        type_error(self.text, position, message)
    }

    /// The position just past the text, for errors at its end.
    fn end(&self) -> usize {
        self.text.chars().count()
    }

    /// Takes the next token if it is the word `word` (any case).
    fn eat_word(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(token) if token.kind == TokenKind::Word && token.text.eq_ignore_ascii_case(word) => {
                self.next += 1;
                true
            }
            _ => false,
        }
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        match self.peek() {
            Some(token) if token.kind == TokenKind::Symbol && token.text == symbol => {
                self.next += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<()> {
        if self.eat_symbol(symbol) {
            return Ok(());
        }
        Err(self.expected(&format!("'{symbol}'")))
    }

    fn expected(&self, what: &str) -> TableError {
        match self.peek() {
            Some(token) => self.error_at(token.position, &format!("{what} expected, found '{}'", token.text)),
            None => self.error_at(self.end(), &format!("{what} expected at the end")),
        }
    }

    fn data_type(&mut self) -> Result<DataType> {
        let logical = self.logical_type()?;
        let nullable = if self.eat_word("NOT") {
            if !self.eat_word("NULL") {
                return Err(self.expected("NULL"));
            }
            false
        } else {
            self.eat_word("NULL");
            true
        };
        Ok(DataType { logical, nullable })
    }

    fn logical_type(&mut self) -> Result<LogicalType> {
        let Some(token) = self.peek().cloned() else { return Err(self.expected("a type")) };
        if token.kind != TokenKind::Word {
            return Err(self.expected("a type"));
        }
        self.next += 1;
        let name = token.text.to_ascii_uppercase();
        Ok(match name.as_str() {
            "BOOLEAN" => LogicalType::Boolean,
            "TINYINT" => LogicalType::TinyInt,
            "SMALLINT" => LogicalType::SmallInt,
            "INT" | "INTEGER" => LogicalType::Int,
            "BIGINT" => LogicalType::BigInt,
            "FLOAT" => LogicalType::Float,
            "DOUBLE" => {
                self.eat_word("PRECISION");
                LogicalType::Double
            }
            "DECIMAL" | "DEC" | "NUMERIC" => self.decimal()?,
            "CHAR" | "CHARACTER" => {
                if self.eat_word("VARYING") {
                    LogicalType::Varchar(self.length(1)?)
                } else {
                    LogicalType::Char(self.length(1)?)
                }
            }
            "VARCHAR" => LogicalType::Varchar(self.length(1)?),
            "STRING" => LogicalType::Varchar(MAX_LENGTH),
            "BINARY" => {
                if self.eat_word("VARYING") {
                    LogicalType::Varbinary(self.length(1)?)
                } else {
                    LogicalType::Binary(self.length(1)?)
                }
            }
            "VARBINARY" => LogicalType::Varbinary(self.length(1)?),
            "BYTES" => LogicalType::Varbinary(MAX_LENGTH),
            "DATE" => LogicalType::Date,
            "TIME" => {
                let precision = self.precision(0, MAX_TIME_PRECISION)?;
                self.without_time_zone()?;
                LogicalType::Time(precision)
            }
            "TIMESTAMP" => {
                let precision = self.precision(6, MAX_TIME_PRECISION)?;
                if self.eat_word("WITH") {
                    for word in ["LOCAL", "TIME", "ZONE"] {
                        if !self.eat_word(word) {
                            return Err(self.expected(word));
                        }
                    }
                    LogicalType::TimestampLtz(precision)
                } else {
                    self.without_time_zone()?;
                    LogicalType::Timestamp(precision)
                }
            }
            "TIMESTAMP_LTZ" => LogicalType::TimestampLtz(self.precision(6, MAX_TIME_PRECISION)?),
            "ARRAY" => {
                self.expect_symbol("<")?;
                let element = self.data_type()?;
                self.expect_symbol(">")?;
                LogicalType::Array(Box::new(element))
            }
            "MAP" => {
                self.expect_symbol("<")?;
                let key = self.data_type()?;
                self.expect_symbol(",")?;
                let value = self.data_type()?;
                self.expect_symbol(">")?;
                LogicalType::Map(Box::new(key), Box::new(value))
            }
            "ROW" => self.row()?,
            _ => return Err(self.error_at(token.position, &format!("unknown type '{}'", token.text))),
        })
    }

    /// `WITHOUT TIME ZONE`, which changes nothing, if it is there.
    fn without_time_zone(&mut self) -> Result<()> {
        if self.eat_word("WITHOUT") {
            for word in ["TIME", "ZONE"] {
                if !self.eat_word(word) {
                    return Err(self.expected(word));
                }
            }
        }
        Ok(())
    }

    /// A number within `min..=max`.
    fn number(&mut self, what: &str, min: u32, max: u32) -> Result<u32> {
        let Some(token) = self.peek().cloned() else { return Err(self.expected(what)) };
        if token.kind != TokenKind::Number {
            return Err(self.expected(what));
        }
        self.next += 1;
        match token.text.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => {
                Err(self
                    .error_at(token.position, &format!("{what} must be between {min} and {max}, not {}", token.text)))
            }
        }
    }

    /// `(n)` if there, else `default`.
    fn length(&mut self, default: u32) -> Result<u32> {
        if !self.eat_symbol("(") {
            return Ok(default);
        }
        let n = self.number("a length", 1, MAX_LENGTH)?;
        self.expect_symbol(")")?;
        Ok(n)
    }

    fn precision(&mut self, default: u8, max: u32) -> Result<u8> {
        if !self.eat_symbol("(") {
            return Ok(default);
        }
        let p = self.number("a precision", 0, max)?;
        self.expect_symbol(")")?;
        Ok(p as u8)
    }

    fn decimal(&mut self) -> Result<LogicalType> {
        if !self.eat_symbol("(") {
            return Ok(LogicalType::Decimal { precision: 10, scale: 0 });
        }
        let precision = self.number("a precision", 1, MAX_DECIMAL_PRECISION)?;
        let scale = if self.eat_symbol(",") { self.number("a scale", 0, precision)? } else { 0 };
        self.expect_symbol(")")?;
        Ok(LogicalType::Decimal { precision: precision as u8, scale: scale as u8 })
    }

    /// `ROW<name type, ...>` or `ROW(name type, ...)`, fields optionally with a
    /// `'description'`-free body (descriptions are not supported).
    fn row(&mut self) -> Result<LogicalType> {
        let close = if self.eat_symbol("<") {
            ">"
        } else if self.eat_symbol("(") {
            ")"
        } else {
            return Err(self.expected("'<' or '('"));
        };
        let mut fields = Vec::new();
        if self.eat_symbol(close) {
            return Ok(LogicalType::Row(fields));
        }
        loop {
            let name = match self.peek().cloned() {
                Some(token) if matches!(token.kind, TokenKind::Word | TokenKind::Quoted) => {
                    self.next += 1;
                    token.text
                }
                _ => return Err(self.expected("a field name")),
            };
            let data_type = self.data_type()?;
            fields.push(RowField { name, data_type });
            if self.eat_symbol(close) {
                return Ok(LogicalType::Row(fields));
            }
            self.expect_symbol(",")?;
        }
    }
}

fn type_error(text: &str, position: usize, message: &str) -> TableError {
    TableError::TypeParse { text: text.to_string(), position, message: message.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        DataType::parse(text).unwrap_or_else(|e| panic!("{text}: {e}")).to_string()
    }

    #[test]
    fn types_print_with_flinks_names_and_defaults() {
        assert_eq!(round_trip("int"), "INT");
        assert_eq!(round_trip("INTEGER NOT NULL"), "INT NOT NULL");
        assert_eq!(round_trip("DECIMAL"), "DECIMAL(10, 0)");
        assert_eq!(round_trip("NUMERIC(5)"), "DECIMAL(5, 0)");
        assert_eq!(round_trip("CHAR"), "CHAR(1)");
        assert_eq!(round_trip("CHARACTER VARYING(3)"), "VARCHAR(3)");
        assert_eq!(round_trip("STRING"), "STRING");
        assert_eq!(round_trip("BYTES"), "BYTES");
        assert_eq!(round_trip("VARBINARY(4)"), "VARBINARY(4)");
        assert_eq!(round_trip("TIME"), "TIME(0)");
        assert_eq!(round_trip("TIMESTAMP"), "TIMESTAMP(6)");
        assert_eq!(round_trip("TIMESTAMP(3) WITHOUT TIME ZONE"), "TIMESTAMP(3)");
        assert_eq!(round_trip("TIMESTAMP(3) WITH LOCAL TIME ZONE"), "TIMESTAMP_LTZ(3)");
        assert_eq!(round_trip("DOUBLE PRECISION"), "DOUBLE");
        assert_eq!(
            round_trip("ARRAY<ROW<id BIGINT NOT NULL, `the tags` MAP<STRING, INT>>>"),
            "ARRAY<ROW<`id` BIGINT NOT NULL, `the tags` MAP<STRING, INT>>>"
        );
        assert_eq!(round_trip("ROW(a INT, b STRING)"), "ROW<`a` INT, `b` STRING>");
    }

    #[test]
    fn bad_types_say_where_and_what_was_expected() {
        let error = |text: &str| DataType::parse(text).unwrap_err().to_string();
        assert_eq!(
            error("DECIMAL(40, 2)"),
            "could not parse type 'DECIMAL(40, 2)' at position 8: a precision must be between 1 and 38, not 40"
        );
        assert_eq!(
            error("DECIMAL(5, 6)"),
            "could not parse type 'DECIMAL(5, 6)' at position 11: a scale must be between 0 and 5, not 6"
        );
        assert_eq!(error("ARRAY<INT"), "could not parse type 'ARRAY<INT' at position 9: '>' expected at the end");
        assert_eq!(
            error("MAP<STRING INT>"),
            "could not parse type 'MAP<STRING INT>' at position 11: ',' expected, found 'INT'"
        );
        assert_eq!(error("TEXT"), "could not parse type 'TEXT' at position 0: unknown type 'TEXT'");
        assert_eq!(error("INT INT"), "could not parse type 'INT INT' at position 4: unexpected 'INT' after the type");
        assert_eq!(
            error("ROW<`a INT>"),
            "could not parse type 'ROW<`a INT>' at position 4: a name in backquotes is not closed"
        );
        assert_eq!(error("INT;"), "could not parse type 'INT;' at position 3: unexpected character ';'");
        assert!(error("").contains("a type expected at the end"));
    }

    proptest::proptest! {
        /// Any text reads as a type or fails with an error, never a panic; a type read prints
        /// as text that reads back as the same type.
        #[test]
        fn any_text_reads_or_fails_cleanly_and_types_round_trip(
            words in proptest::collection::vec(
                proptest::sample::select(vec![
                    "INT", "STRING", "DECIMAL", "TIMESTAMP", "WITH", "LOCAL", "TIME", "ZONE", "ARRAY", "MAP",
                    "ROW", "NOT", "NULL", "(", ")", "<", ">", ",", "3", "40", "`a b`", "f", "VARCHAR", "BYTES",
                    "TIMESTAMP_LTZ", "WITHOUT", "`", "é", "99999999999",
                ]),
                0..12,
            )
        ) {
            let text = words.join(" ");
            if let Ok(data_type) = DataType::parse(&text) {
                let printed = data_type.to_string();
                proptest::prop_assert_eq!(DataType::parse(&printed), Ok(data_type), "{} printed as {}", text, printed);
            }
        }
    }

    #[test]
    fn arrow_types_map_both_ways() {
        for text in [
            "BOOLEAN",
            "TINYINT",
            "SMALLINT",
            "INT",
            "BIGINT NOT NULL",
            "FLOAT",
            "DOUBLE",
            "DECIMAL(12, 3)",
            "STRING",
            "BYTES",
            "DATE",
            "TIME(3)",
            "TIMESTAMP(3)",
            "TIMESTAMP(9)",
            "TIMESTAMP_LTZ(6)",
            "ARRAY<INT>",
            "MAP<STRING, BIGINT>",
            "ROW<`a` INT, `b` ARRAY<STRING>>",
        ] {
            let data_type = DataType::parse(text).unwrap();
            let back = DataType::from_arrow(&data_type.to_arrow(), data_type.nullable).unwrap();
            assert_eq!(back.to_string(), text, "{text} through {:?}", data_type.to_arrow());
        }
        // Lengths are not kept by Arrow: a VARCHAR(5) column reads back as STRING.
        let varchar = DataType::parse("VARCHAR(5)").unwrap();
        assert_eq!(DataType::from_arrow(&varchar.to_arrow(), true).unwrap().to_string(), "STRING");
        let unsupported = DataType::from_arrow(&ArrowType::Null, true).unwrap_err();
        assert_eq!(unsupported.to_string(), "the Arrow type Null has no Flink SQL type");
    }
}
