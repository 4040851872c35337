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
