//! The tableau format of `TableResult.print()`: a box of columns, right-aligned, with the change
//! kind of each row in an `op` column in streaming mode, and the number of rows under it.
//!
//! ```text
//! +----+----------------------+--------------------------------+
//! | op |                   id |                           name |
//! +----+----------------------+--------------------------------+
//! | +I |                    1 |                          Alice |
//! +----+----------------------+--------------------------------+
//! 1 row in set
//! ```
//!
//! As in Flink, the width of a column comes from its type where the type bounds what it prints
//! (numbers, booleans, dates and times; `<NULL>` included), and is the maximal width (30 by
//! default, `table.display.max-column-width`) for the others; longer values are cut with `...`.
//! A character of East Asian wide or full width takes two places.

use std::io::{self, Write};

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{
    ArrowTemporalType, DataType as ArrowType, Date32Type, Date64Type, Decimal128Type, Time32MillisecondType,
    Time32SecondType, Time64MicrosecondType, Time64NanosecondType, TimeUnit,
};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use pyflink_core::table::{RowKind, Value};

use crate::types::{DataType, LogicalType};

/// The widest a column is by default (Flink's `table.display.max-column-width`).
pub const DEFAULT_MAX_COLUMN_WIDTH: usize = 30;

/// How `NULL` shows.
pub const NULL_VALUE: &str = "<NULL>";

/// What marks a value cut to fit its column.
const TRUNCATED: &str = "...";

/// The name of the change-kind column.
const ROW_KIND_COLUMN: &str = "op";

/// Prints rows in the tableau format, column widths fixed by the columns' types.
///
/// ```
/// use pyflink_core::table::{RowKind, Value};
/// use pyflink_table::print::{Tableau, DEFAULT_MAX_COLUMN_WIDTH};
/// use pyflink_table::types::DataType;
///
/// let columns = vec![("word".to_string(), DataType::parse("STRING").unwrap()), ("n".to_string(), DataType::parse("BIGINT").unwrap())];
/// let tableau = Tableau::new(&columns, DEFAULT_MAX_COLUMN_WIDTH, true);
/// let mut out = Vec::new();
/// let rows = vec![(RowKind::Insert, vec![Some("hello".to_string()), Some("1".to_string())])];
/// tableau.print(rows, &mut out).unwrap();
/// let text = String::from_utf8(out).unwrap();
/// assert_eq!(text.lines().nth(3).unwrap(), "| +I |                          hello |                    1 |");
/// assert_eq!(text.lines().last().unwrap(), "1 row in set");
/// ```
#[derive(Debug, Clone)]
pub struct Tableau {
    names: Vec<String>,
    widths: Vec<usize>,
    print_row_kind: bool,
}

impl Tableau {
    /// A tableau of `columns` (name and type), with an `op` column if `print_row_kind`.
    pub fn new(columns: &[(String, DataType)], max_column_width: usize, print_row_kind: bool) -> Self {
        let mut names = Vec::with_capacity(columns.len() + 1);
        let mut widths = Vec::with_capacity(columns.len() + 1);
        if print_row_kind {
            names.push(ROW_KIND_COLUMN.to_string());
            widths.push(ROW_KIND_COLUMN.len());
        }
        for (name, data_type) in columns {
            let by_type = width_of_type(&data_type.logical, max_column_width).max(NULL_VALUE.len());
            widths.push(display_width(name).max(by_type));
            names.push(name.clone());
        }
        Tableau { names, widths, print_row_kind }
    }

    /// Prints `rows` (each value as text, `None` for `NULL`): the header, the rows and the
    /// count, or `Empty set` without rows.
    pub fn print(
        &self,
        rows: impl IntoIterator<Item = (RowKind, Vec<Option<String>>)>,
        out: &mut impl Write,
    ) -> io::Result<()> {
        let mut rows = rows.into_iter().peekable();
        if rows.peek().is_none() {
            return writeln!(out, "Empty set");
        }
        self.print_header(out)?;
        let mut count = 0u64;
        for (kind, values) in rows {
            self.print_row(kind, &values, out)?;
            count += 1;
        }
        self.print_border(out)?;
        writeln!(out, "{count} {} in set", if count == 1 { "row" } else { "rows" })
    }

    /// The border, the column names and the border again (what streaming results start with).
    pub fn print_header(&self, out: &mut impl Write) -> io::Result<()> {
        self.print_border(out)?;
        self.print_cells(self.names.iter().map(String::as_str), out)?;
        self.print_border(out)
    }

    /// One row.
    pub fn print_row(&self, kind: RowKind, values: &[Option<String>], out: &mut impl Write) -> io::Result<()> {
        let kind = self.print_row_kind.then(|| kind.short_string());
        let values = values.iter().map(|value| value.as_deref().unwrap_or(NULL_VALUE));
        self.print_cells(kind.into_iter().chain(values), out)
    }

    /// The line of `+---+` above and below the rows.
    pub fn print_border(&self, out: &mut impl Write) -> io::Result<()> {
        let mut line = String::from("+");
        for width in &self.widths {
            line.extend(std::iter::repeat_n('-', width + 2));
            line.push('+');
        }
        writeln!(out, "{line}")
    }

    fn print_cells<'a>(&self, cells: impl Iterator<Item = &'a str>, out: &mut impl Write) -> io::Result<()> {
        let mut line = String::from("|");
        for (cell, &width) in cells.zip(&self.widths) {
            line.push(' ');
            let shown = display_width(cell);
            if shown <= width {
                line.extend(std::iter::repeat_n(' ', width - shown));
                line.push_str(cell);
            } else {
                line.push_str(&cut_to(cell, width.saturating_sub(TRUNCATED.len())));
                line.push_str(TRUNCATED);
            }
            line.push_str(" |");
        }
        writeln!(out, "{line}")
    }
}

/// A value as Flink prints it in a result, as its cast to `STRING` reads: booleans as `TRUE`
/// and `FALSE`, floating point numbers as Java writes them (`1.0`, `1.5E10`, `1.0E-4`), the
/// others in their plain form.
pub fn flink_string(value: &Value) -> String {
    match value {
        Value::Boolean(true) => "TRUE".into(),
        Value::Boolean(false) => "FALSE".into(),
        Value::Float(v) => java_float_string(f64::from(*v), &format!("{v:?}"), &format!("{v:e}")),
        Value::Double(v) => java_float_string(*v, &format!("{v:?}"), &format!("{v:e}")),
        Value::Null => NULL_VALUE.to_string(),
        // Tables print timestamps in SQL's form, to the millisecond.
        Value::Timestamp(millis) => pyflink_core::table::timestamp::sql_timestamp_string(*millis, 3),
        Value::TimestampLtz(millis) => pyflink_core::table::timestamp::sql_timestamp_string(*millis, 3),
        other => other.to_string(),
    }
}

/// The value of `column` at `row` as Flink prints it in a table, `None` for `NULL`: numbers,
/// booleans, strings and timestamps as [`flink_string`]; `DECIMAL`s with their scale, dates and
/// times in ISO form, `BYTES` as `x'cafe'`, arrays as `[1, 2]`, maps as `{a=1, b=2}` and rows
/// as `(1, a)` (Flink's casts of them to `STRING`), a `NULL` inside them as `NULL`.
///
/// ```
/// use std::sync::Arc;
/// use datafusion::arrow::array::{Decimal128Array, ListArray};
/// use datafusion::arrow::datatypes::Int64Type;
/// use pyflink_table::print::cell_string;
///
/// let prices = Decimal128Array::from(vec![2150]).with_precision_and_scale(10, 2).unwrap();
/// assert_eq!(cell_string(&prices, 0).unwrap().as_deref(), Some("21.50"));
/// let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1), None])]);
/// assert_eq!(cell_string(&lists, 0).unwrap().as_deref(), Some("[1, NULL]"));
/// ```
pub fn cell_string(column: &dyn Array, row: usize) -> crate::error::Result<Option<String>> {
    if column.is_null(row) {
        return Ok(None);
    }
    let text = match column.data_type() {
        ArrowType::Decimal128(_, _) => column.as_primitive::<Decimal128Type>().value_as_string(row),
        ArrowType::Date32 => format!("{}", in_range(column.as_primitive::<Date32Type>().value_as_date(row))?),
        ArrowType::Date64 => format!("{}", in_range(column.as_primitive::<Date64Type>().value_as_date(row))?),
        ArrowType::Time32(TimeUnit::Second) => time_string::<Time32SecondType>(column, row)?,
        ArrowType::Time32(TimeUnit::Millisecond) => time_string::<Time32MillisecondType>(column, row)?,
        ArrowType::Time64(TimeUnit::Microsecond) => time_string::<Time64MicrosecondType>(column, row)?,
        ArrowType::Time64(TimeUnit::Nanosecond) => time_string::<Time64NanosecondType>(column, row)?,
        ArrowType::Binary => hex_string(column.as_binary::<i32>().value(row)),
        ArrowType::LargeBinary => hex_string(column.as_binary::<i64>().value(row)),
        ArrowType::BinaryView => hex_string(column.as_binary_view().value(row)),
        ArrowType::FixedSizeBinary(_) => hex_string(column.as_fixed_size_binary().value(row)),
        ArrowType::UInt8 | ArrowType::UInt16 | ArrowType::UInt32 => other_string(column, row)?,
        ArrowType::List(_) => joined("[", &column.as_list::<i32>().value(row), "]")?,
        ArrowType::LargeList(_) => joined("[", &column.as_list::<i64>().value(row), "]")?,
        ArrowType::FixedSizeList(_, _) => joined("[", &column.as_fixed_size_list().value(row), "]")?,
        ArrowType::Map(_, _) => {
            let entries = column.as_map().value(row);
            let mut pairs = Vec::with_capacity(entries.len());
            for entry in 0..entries.len() {
                let key = nested_string(entries.column(0).as_ref(), entry)?;
                pairs.push(format!("{key}={}", nested_string(entries.column(1).as_ref(), entry)?));
            }
            format!("{{{}}}", pairs.join(", "))
        }
        ArrowType::Struct(_) => {
            let fields = column.as_struct();
            let values = fields.columns().iter().map(|field| nested_string(field.as_ref(), row));
            format!("({})", values.collect::<crate::error::Result<Vec<_>>>()?.join(", "))
        }
        ArrowType::Duration(_) | ArrowType::Interval(_) => other_string(column, row)?,
        _ => flink_string(&crate::batch::value_at(column, row)?),
    };
    Ok(Some(text))
}

/// A value inside an array, map or row: as in a table, `NULL` for `NULL`.
fn nested_string(column: &dyn Array, row: usize) -> crate::error::Result<String> {
    Ok(cell_string(column, row)?.unwrap_or_else(|| "NULL".to_string()))
}

/// The values of `items` between `open` and `close`, apart by `, `.
fn joined(open: &str, items: &ArrayRef, close: &str) -> crate::error::Result<String> {
    let values = (0..items.len()).map(|item| nested_string(items.as_ref(), item));
    Ok(format!("{open}{}{close}", values.collect::<crate::error::Result<Vec<_>>>()?.join(", ")))
}

fn time_string<T: ArrowTemporalType>(column: &dyn Array, row: usize) -> crate::error::Result<String>
where
    i64: From<T::Native>,
{
    Ok(format!("{}", in_range(column.as_primitive::<T>().value_as_time(row))?))
}

fn hex_string(bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("x'{hex}'")
}

/// A value as Arrow writes it, for the types Flink has no form of its own for.
fn other_string(column: &dyn Array, row: usize) -> crate::error::Result<String> {
    let formatter = ArrayFormatter::try_new(column, &FormatOptions::default())
        .map_err(|e| crate::error::TableError::Execution(e.to_string()))?;
    Ok(formatter.value(row).to_string())
}

fn in_range<T>(value: Option<T>) -> crate::error::Result<T> {
    value.ok_or_else(|| crate::error::TableError::Execution("a date or time out of range".to_string()))
}

/// Java's `Double.toString`: plain between 10^-3 and 10^7, otherwise scientific with `E`, and
/// always a digit after the point. `plain` and `scientific` are the shortest forms Rust writes.
fn java_float_string(v: f64, plain: &str, scientific: &str) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let magnitude = v.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        return plain.to_string();
    }
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
    format!("{mantissa}E{exponent}")
}

/// The width a column of `logical` values needs, as Flink computes it from the type.
fn width_of_type(logical: &LogicalType, max_column_width: usize) -> usize {
    // The digits of the largest value, and one for a minus sign.
    match logical {
        LogicalType::TinyInt => 4,
        LogicalType::SmallInt => 6,
        LogicalType::Int => 11,
        LogicalType::BigInt => 20,
        // The digits, a sign and a point.
        LogicalType::Decimal { precision, .. } => usize::from(*precision) + 2,
        LogicalType::Boolean => 5,
        LogicalType::Date => 10,
        LogicalType::Time(0) => 8,
        LogicalType::Time(precision) => usize::from(*precision) + 9,
        LogicalType::Timestamp(precision) | LogicalType::TimestampLtz(precision) => match precision {
            0 => 19,
            1..=3 => 23,
            4..=6 => 26,
            _ => 29,
        },
        _ => max_column_width,
    }
}

/// The places `text` takes in a terminal: two for East Asian wide and full-width characters.
pub fn display_width(text: &str) -> usize {
    text.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    if is_wide(c) {
        2
    } else {
        1
    }
}

/// Whether `c` is East Asian wide or full width (Unicode's `East_Asian_Width` W or F), for the
/// blocks where such characters are.
fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x2FFFD
        | 0x30000..=0x3FFFD)
}

/// The longest start of `text` that fits `width` places, padded on the left to take them all.
fn cut_to(text: &str, width: usize) -> String {
    let mut taken = 0;
    let mut end = 0;
    for (index, c) in text.char_indices() {
        if taken + char_width(c) > width {
            break;
        }
        taken += char_width(c);
        end = index + c.len_utf8();
    }
    let mut cut = " ".repeat(width - taken);
    cut.push_str(&text[..end]);
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(spec: &[(&str, &str)]) -> Vec<(String, DataType)> {
        spec.iter().map(|(name, t)| (name.to_string(), DataType::parse(t).unwrap())).collect()
    }

    fn printed(tableau: &Tableau, rows: Vec<(RowKind, Vec<Option<&str>>)>) -> String {
        let rows =
            rows.into_iter().map(|(kind, values)| (kind, values.into_iter().map(|v| v.map(String::from)).collect()));
        let mut out = Vec::new();
        tableau.print(rows, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_streaming_result_has_the_op_column_and_widths_by_type() {
        let tableau = Tableau::new(
            &columns(&[
                ("b", "BOOLEAN"),
                ("i", "INT"),
                ("d", "DECIMAL(5, 2)"),
                ("ts", "TIMESTAMP(3)"),
                ("s", "STRING"),
            ]),
            DEFAULT_MAX_COLUMN_WIDTH,
            true,
        );
        let text = printed(
            &tableau,
            vec![
                (
                    RowKind::Insert,
                    vec![Some("true"), Some("1"), Some("1.50"), Some("2024-01-01 00:00:00.000"), Some("abc")],
                ),
                (RowKind::UpdateBefore, vec![None, None, None, None, None]),
            ],
        );
        let expected = "\
+----+--------+-------------+---------+-------------------------+--------------------------------+
| op |      b |           i |       d |                      ts |                              s |
+----+--------+-------------+---------+-------------------------+--------------------------------+
| +I |   true |           1 |    1.50 | 2024-01-01 00:00:00.000 |                            abc |
| -U | <NULL> |      <NULL> |  <NULL> |                  <NULL> |                         <NULL> |
+----+--------+-------------+---------+-------------------------+--------------------------------+
2 rows in set
";
        assert_eq!(text, expected);
    }

    #[test]
    fn long_values_are_cut_and_wide_characters_take_two_places() {
        let tableau = Tableau::new(&columns(&[("a_rather_long_column_name", "STRING")]), 10, false);
        let text = printed(
            &tableau,
            vec![
                (RowKind::Insert, vec![Some("a value longer than the column is wide")]),
                (RowKind::Insert, vec![Some("中文")]),
                (RowKind::Insert, vec![Some("中文中文中文中文中文中文中文")]),
                // A wide character that would overflow is left out; a space makes up the place.
                (RowKind::Insert, vec![Some("a中文中文中文中文中文中文中")]),
            ],
        );
        let expected = "\
+---------------------------+
| a_rather_long_column_name |
+---------------------------+
| a value longer than th... |
|                      中文 |
| 中文中文中文中文中文中... |
|  a中文中文中文中文中文... |
+---------------------------+
4 rows in set
";
        assert_eq!(text, expected);
    }

    #[test]
    fn floating_point_numbers_print_as_java_writes_them() {
        let cases =
            [(1.0, "1.0"), (1.5, "1.5"), (0.001, "0.001"), (1e-4, "1.0E-4"), (1.5e10, "1.5E10"), (1e7, "1.0E7")];
        for (value, expected) in cases {
            assert_eq!(flink_string(&Value::Double(value)), expected);
        }
        assert_eq!(flink_string(&Value::Double(-2.5e-7)), "-2.5E-7");
        assert_eq!(flink_string(&Value::Float(0.1)), "0.1");
        assert_eq!(flink_string(&Value::Double(f64::NAN)), "NaN");
        assert_eq!(flink_string(&Value::BigInt(-3)), "-3");
        assert_eq!(flink_string(&Value::Boolean(false)), "FALSE");
    }

    #[test]
    fn nothing_to_print_is_an_empty_set() {
        let tableau = Tableau::new(&columns(&[("a", "INT")]), DEFAULT_MAX_COLUMN_WIDTH, true);
        assert_eq!(printed(&tableau, Vec::new()), "Empty set\n");
    }
}
