//! What differs between the databases the `jdbc` connector writes: how names are quoted, how a
//! value is written as an SQL literal, and the statements of an upsert.
//!
//! Rows travel as SQL text, many rows to a statement (`INSERT .. VALUES (..), (..)`), which
//! both servers parse into their columns' types the way they read literals typed by hand: a
//! table's columns need not match the query's types exactly, as with Flink's JDBC sink.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, NaiveTime};
use pyflink_table::datafusion::arrow::array::{
    Array, AsArray, BinaryArray, BinaryViewArray, BooleanArray, LargeBinaryArray, LargeStringArray, StringArray,
    StringViewArray,
};
use pyflink_table::datafusion::arrow::datatypes::{
    DataType as ArrowType, Date32Type, Date64Type, Decimal128Type, Decimal256Type, DecimalType, Float32Type,
    Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimeUnit, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};

/// The database a table lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// MySQL and MariaDB.
    MySql,
    /// PostgreSQL.
    Postgres,
}

/// Rows per statement: one round trip carries this many rows.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

impl Dialect {
    /// `name` quoted as an identifier, each part of a dotted name on its own. PostgreSQL names
    /// stay unquoted, as Flink's dialect leaves them (they fold to lower case).
    pub(crate) fn quote(self, name: &str) -> String {
        match self {
            Dialect::MySql => {
                name.split('.').map(|part| format!("`{}`", part.replace('`', "``"))).collect::<Vec<_>>().join(".")
            }
            Dialect::Postgres => name.to_string(),
        }
    }

    /// The statements that insert `rows` (each the text of a parenthesized row) into `table`,
    /// or with `upsert_keys` replace the rows with their keys.
    pub(crate) fn insert(
        self,
        table: &str,
        columns: &[String],
        upsert_keys: Option<&[String]>,
        rows: &[&str],
    ) -> Vec<String> {
        let quoted: Vec<String> = columns.iter().map(|column| self.quote(column)).collect();
        let head = format!("INSERT INTO {} ({}) VALUES ", self.quote(table), quoted.join(", "));
        let tail = match upsert_keys {
            None => String::new(),
            Some(keys) => {
                let others: Vec<&String> = columns.iter().filter(|column| !keys.contains(column)).collect();
                match self {
                    Dialect::MySql => {
                        // A table of keys only has nothing to update: `k = k` keeps the row.
                        let updates: Vec<String> = if others.is_empty() {
                            keys.iter().map(|key| format!("{0} = {0}", self.quote(key))).collect()
                        } else {
                            others.iter().map(|column| format!("{0} = VALUES({0})", self.quote(column))).collect()
                        };
                        format!(" ON DUPLICATE KEY UPDATE {}", updates.join(", "))
                    }
                    Dialect::Postgres => {
                        let keys: Vec<String> = keys.iter().map(|key| self.quote(key)).collect();
                        if others.is_empty() {
                            format!(" ON CONFLICT ({}) DO NOTHING", keys.join(", "))
                        } else {
                            let updates: Vec<String> =
                                others.iter().map(|column| format!("{0} = EXCLUDED.{0}", self.quote(column))).collect();
                            format!(" ON CONFLICT ({}) DO UPDATE SET {}", keys.join(", "), updates.join(", "))
                        }
                    }
                }
            }
        };
        rows.chunks(ROWS_PER_STATEMENT).map(|chunk| format!("{head}{}{tail}", chunk.join(", "))).collect()
    }

    /// The statements that delete the rows of `table` whose `keys` are among `key_rows` (each
    /// the text of a parenthesized key).
    pub(crate) fn delete(self, table: &str, keys: &[String], key_rows: &[&str]) -> Vec<String> {
        let quoted: Vec<String> = keys.iter().map(|key| self.quote(key)).collect();
        key_rows
            .chunks(ROWS_PER_STATEMENT)
            .map(|chunk| {
                format!("DELETE FROM {} WHERE ({}) IN ({})", self.quote(table), quoted.join(", "), chunk.join(", "))
            })
            .collect()
    }

    /// Appends row `row` of `column` to `out` as an SQL literal.
    pub(crate) fn literal(self, column: &dyn Array, row: usize, out: &mut String) -> Result<(), String> {
        if column.is_null(row) {
            out.push_str("NULL");
            return Ok(());
        }
        macro_rules! number {
            ($type:ty) => {{
                let _ = write!(out, "{}", column.as_primitive::<$type>().value(row));
            }};
        }
        match column.data_type() {
            ArrowType::Boolean => {
                let value = column.as_any().downcast_ref::<BooleanArray>().map(|array| array.value(row));
                out.push_str(if value == Some(true) { "TRUE" } else { "FALSE" });
            }
            ArrowType::Int8 => number!(Int8Type),
            ArrowType::Int16 => number!(Int16Type),
            ArrowType::Int32 => number!(Int32Type),
            ArrowType::Int64 => number!(Int64Type),
            ArrowType::UInt8 => number!(UInt8Type),
            ArrowType::UInt16 => number!(UInt16Type),
            ArrowType::UInt32 => number!(UInt32Type),
            ArrowType::UInt64 => number!(UInt64Type),
            ArrowType::Float32 => self.float(f64::from(column.as_primitive::<Float32Type>().value(row)), out)?,
            ArrowType::Float64 => self.float(column.as_primitive::<Float64Type>().value(row), out)?,
            ArrowType::Decimal128(precision, scale) => out.push_str(&Decimal128Type::format_decimal(
                column.as_primitive::<Decimal128Type>().value(row),
                *precision,
                *scale,
            )),
            ArrowType::Decimal256(precision, scale) => out.push_str(&Decimal256Type::format_decimal(
                column.as_primitive::<Decimal256Type>().value(row),
                *precision,
                *scale,
            )),
            ArrowType::Utf8 => self.string(downcast::<StringArray>(column).value(row), out)?,
            ArrowType::LargeUtf8 => self.string(downcast::<LargeStringArray>(column).value(row), out)?,
            ArrowType::Utf8View => self.string(downcast::<StringViewArray>(column).value(row), out)?,
            ArrowType::Binary => self.bytes(downcast::<BinaryArray>(column).value(row), out),
            ArrowType::LargeBinary => self.bytes(downcast::<LargeBinaryArray>(column).value(row), out),
            ArrowType::BinaryView => self.bytes(downcast::<BinaryViewArray>(column).value(row), out),
            ArrowType::FixedSizeBinary(_) => self.bytes(column.as_fixed_size_binary().value(row), out),
            ArrowType::Date32 => {
                let days = column.as_primitive::<Date32Type>().value(row);
                quoted_date(i64::from(days) * 86_400_000, out)?;
            }
            ArrowType::Date64 => quoted_date(column.as_primitive::<Date64Type>().value(row), out)?,
            ArrowType::Time32(TimeUnit::Second) => {
                quoted_time(i64::from(column.as_primitive::<Time32SecondType>().value(row)) * 1_000_000_000, out)?
            }
            ArrowType::Time32(_) => {
                quoted_time(i64::from(column.as_primitive::<Time32MillisecondType>().value(row)) * 1_000_000, out)?
            }
            ArrowType::Time64(TimeUnit::Microsecond) => {
                quoted_time(column.as_primitive::<Time64MicrosecondType>().value(row) * 1_000, out)?
            }
            ArrowType::Time64(_) => quoted_time(column.as_primitive::<Time64NanosecondType>().value(row), out)?,
            ArrowType::Timestamp(unit, _) => {
                let micros = timestamp_micros(column, *unit, row);
                // Zoned timestamps (TIMESTAMP_LTZ) are written as UTC: sessions run in UTC.
                let time = DateTime::from_timestamp_micros(micros).ok_or("a timestamp out of range")?;
                let _ = write!(out, "'{}'", time.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f"));
            }
            other => {
                return Err(format!(
                    "values of type {} cannot be written to a JDBC table; cast the column to a scalar type",
                    pyflink_table::types::flink_name(other)
                ))
            }
        }
        Ok(())
    }

    fn float(self, value: f64, out: &mut String) -> Result<(), String> {
        if value.is_finite() {
            let _ = write!(out, "{value:?}");
            return Ok(());
        }
        match self {
            Dialect::Postgres if value.is_nan() => out.push_str("'NaN'"),
            Dialect::Postgres if value > 0.0 => out.push_str("'Infinity'"),
            Dialect::Postgres => out.push_str("'-Infinity'"),
            Dialect::MySql => return Err(format!("MySQL cannot store the floating point value {value}")),
        }
        Ok(())
    }

    fn string(self, value: &str, out: &mut String) -> Result<(), String> {
        out.reserve(value.len() + 2);
        out.push('\'');
        for c in value.chars() {
            match (self, c) {
                (_, '\'') => out.push_str("''"),
                // Sessions are opened without NO_BACKSLASH_ESCAPES, so backslashes escape.
                (Dialect::MySql, '\\') => out.push_str("\\\\"),
                (Dialect::MySql, '\0') => out.push_str("\\0"),
                (Dialect::Postgres, '\0') => {
                    return Err("PostgreSQL text cannot hold the character NUL (\\0); remove it from the string".into())
                }
                _ => out.push(c),
            }
        }
        out.push('\'');
        Ok(())
    }

    fn bytes(self, value: &[u8], out: &mut String) {
        out.push_str(match self {
            Dialect::MySql => "X'",
            Dialect::Postgres => "'\\x",
        });
        for byte in value {
            let _ = write!(out, "{byte:02x}");
        }
        out.push('\'');
    }
}

fn downcast<T: 'static>(column: &dyn Array) -> &T {
    column.as_any().downcast_ref::<T>().expect("an array of the type its data type names")
}

fn timestamp_micros(column: &dyn Array, unit: TimeUnit, row: usize) -> i64 {
    match unit {
        TimeUnit::Second => column.as_primitive::<TimestampSecondType>().value(row).saturating_mul(1_000_000),
        TimeUnit::Millisecond => column.as_primitive::<TimestampMillisecondType>().value(row).saturating_mul(1_000),
        TimeUnit::Microsecond => column.as_primitive::<TimestampMicrosecondType>().value(row),
        TimeUnit::Nanosecond => column.as_primitive::<TimestampNanosecondType>().value(row).div_euclid(1_000),
    }
}

fn quoted_date(millis: i64, out: &mut String) -> Result<(), String> {
    let date: NaiveDate = DateTime::from_timestamp_millis(millis).ok_or("a date out of range")?.date_naive();
    let _ = write!(out, "'{}'", date.format("%Y-%m-%d"));
    Ok(())
}

fn quoted_time(nanos: i64, out: &mut String) -> Result<(), String> {
    let seconds = u32::try_from(nanos.div_euclid(1_000_000_000)).map_err(|_| "a time of day out of range")?;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos.rem_euclid(1_000_000_000) as u32)
        .ok_or("a time of day out of range")?;
    let _ = write!(out, "'{}'", time.format("%H:%M:%S%.6f"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use pyflink_table::datafusion::arrow::array::{
        ArrayRef, Date32Array, Decimal128Array, Float64Array, Int32Array, TimestampMillisecondArray,
    };

    use super::*;

    fn literals(dialect: Dialect, column: ArrayRef) -> Vec<String> {
        (0..column.len())
            .map(|row| {
                let mut out = String::new();
                dialect.literal(column.as_ref(), row, &mut out).unwrap();
                out
            })
            .collect()
    }

    #[test]
    fn strings_are_escaped_as_each_database_reads_them() {
        let column: ArrayRef = Arc::new(StringArray::from(vec![Some("it's"), Some("a\\b"), None]));
        assert_eq!(literals(Dialect::MySql, column.clone()), ["'it''s'", "'a\\\\b'", "NULL"]);
        assert_eq!(literals(Dialect::Postgres, column), ["'it''s'", "'a\\b'", "NULL"]);
        let nul: ArrayRef = Arc::new(StringArray::from(vec!["a\0b"]));
        let mut out = String::new();
        assert!(Dialect::Postgres.literal(nul.as_ref(), 0, &mut out).unwrap_err().contains("NUL"));
        assert_eq!(literals(Dialect::MySql, nul), ["'a\\0b'"]);
    }

    #[test]
    fn numbers_dates_times_and_bytes_are_literals_both_databases_read() {
        let numbers: ArrayRef = Arc::new(Int32Array::from(vec![-3, 7]));
        assert_eq!(literals(Dialect::MySql, numbers), ["-3", "7"]);
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![0.1, 1e300, f64::NAN]));
        assert_eq!(literals(Dialect::Postgres, floats.clone()), ["0.1", "1e300", "'NaN'"]);
        let mut out = String::new();
        assert!(Dialect::MySql.literal(floats.as_ref(), 2, &mut out).unwrap_err().contains("NaN"));
        let decimals: ArrayRef = Arc::new(Decimal128Array::from(vec![12345]).with_precision_and_scale(10, 2).unwrap());
        assert_eq!(literals(Dialect::MySql, decimals), ["123.45"]);
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![19723]));
        assert_eq!(literals(Dialect::Postgres, dates), ["'2024-01-01'"]);
        let times: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![1_704_067_200_123]));
        assert_eq!(literals(Dialect::MySql, times), ["'2024-01-01 00:00:00.123000'"]);
        let bytes: ArrayRef = Arc::new(BinaryArray::from(vec![&b"\x01\xff"[..]]));
        assert_eq!(literals(Dialect::MySql, bytes.clone()), ["X'01ff'"]);
        assert_eq!(literals(Dialect::Postgres, bytes), ["'\\x01ff'"]);
    }

    #[test]
    fn upserts_and_deletes_are_written_in_each_databases_words() {
        let columns = ["province".to_string(), "hits".to_string()];
        let keys = ["province".to_string()];
        let rows = ["('a', 1)", "('b', 2)"];
        assert_eq!(
            Dialect::MySql.insert("stats.by_province", &columns, Some(&keys), &rows),
            ["INSERT INTO `stats`.`by_province` (`province`, `hits`) VALUES ('a', 1), ('b', 2) \
              ON DUPLICATE KEY UPDATE `hits` = VALUES(`hits`)"]
        );
        assert_eq!(
            Dialect::Postgres.insert("by_province", &columns, Some(&keys), &rows),
            ["INSERT INTO by_province (province, hits) VALUES ('a', 1), ('b', 2) \
              ON CONFLICT (province) DO UPDATE SET hits = EXCLUDED.hits"]
        );
        assert_eq!(
            Dialect::Postgres.delete("by_province", &keys, &["('a')"]),
            ["DELETE FROM by_province WHERE (province) IN (('a'))"]
        );
        let many: Vec<String> = (0..ROWS_PER_STATEMENT + 1).map(|n| format!("({n})")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(Dialect::MySql.insert("t", &["n".to_string()], None, &many).len(), 2);
    }
}
