//! The expressions of the Table API (Flink's `Expressions`: [`col`], [`lit`], [`call`],
//! [`concat`], [`if_then_else`] and the methods on [`Expression`]), built as Rust values and
//! written out as Flink SQL, which the planner reads as it reads any query. Text converts too:
//! `"price * 2"` is the expression that SQL text reads as, as in Flink's string expressions.
//!
//! ```
//! use pyflink_table::expressions::{col, lit};
//!
//! let total = (col("price") * lit(2)).sum().alias("total");
//! assert_eq!(total.to_sql(), "SUM((`price` * 2))");
//! assert_eq!(total.name(), Some("total"));
//! ```

use std::fmt;
use std::ops;

use crate::types::DataType;

/// A Table API expression: a column, a literal, or a call on other expressions, with the name
/// it gives its column when it has one (`alias`).
#[derive(Debug, Clone, PartialEq)]
pub struct Expression {
    sql: String,
    /// The column this expression reads, when it is only that.
    column: Option<String>,
    /// The names [`Expression::alias`] gave.
    names: Vec<String>,
    /// Whether the expression sorts descending ([`Expression::desc`]).
    descending: bool,
}

/// The column `name` of the table an operation runs on.
///
/// ```
/// assert_eq!(pyflink_table::expressions::col("id").to_sql(), "`id`");
/// ```
pub fn col(name: &str) -> Expression {
    if name == "*" {
        return Expression::of_sql("*");
    }
    Expression { sql: quote_identifier(name), column: Some(name.to_string()), names: Vec::new(), descending: false }
}

/// A literal value: a number, a string or a boolean.
///
/// ```
/// use pyflink_table::expressions::lit;
/// assert_eq!(lit("it's").to_sql(), "'it''s'");
/// assert_eq!(lit(1.5).to_sql(), "1.5");
/// ```
pub fn lit(value: impl Into<Literal>) -> Expression {
    Expression::of_sql(value.into().0)
}

/// A call of the function `name` (built in, or registered) on `arguments`.
///
/// ```
/// use pyflink_table::expressions::{call, col};
/// assert_eq!(call("UPPER", [col("name")]).to_sql(), "UPPER(`name`)");
/// ```
pub fn call(name: &str, arguments: impl IntoIterator<Item = Expression>) -> Expression {
    let arguments: Vec<String> = arguments.into_iter().map(|argument| argument.sql).collect();
    Expression::of_sql(format!("{name}({})", arguments.join(", ")))
}

/// The strings `arguments` joined (SQL's `CONCAT`).
pub fn concat(arguments: impl IntoIterator<Item = Expression>) -> Expression {
    call("CONCAT", arguments)
}

/// `if_true` where `condition` holds, otherwise `if_false` (a `CASE` expression).
pub fn if_then_else(condition: Expression, if_true: Expression, if_false: Expression) -> Expression {
    Expression::of_sql(format!("(CASE WHEN {} THEN {} ELSE {} END)", condition.sql, if_true.sql, if_false.sql))
}

/// A frame bound of `rows` rows, for [`Over`](crate::window::Over)'s `preceding`: `ROWS
/// BETWEEN rows PRECEDING AND CURRENT ROW`.
pub fn row_interval(rows: u64) -> Expression {
    Expression::of_sql(format!("{rows} {ROWS_BOUND}"))
}

/// The marker of a bound in rows (see [`row_interval`]).
pub(crate) const ROWS_BOUND: &str = "ROWS";

/// The frame bound of every row before the current one, counted in rows.
pub fn unbounded_row() -> Expression {
    Expression::of_sql(format!("UNBOUNDED {ROWS_BOUND}"))
}

/// The frame bound of every row before the current one, by time.
pub fn unbounded_range() -> Expression {
    Expression::of_sql("UNBOUNDED")
}

/// The frame bound of the current row (an OVER window's end).
pub fn current_row() -> Expression {
    Expression::of_sql(format!("CURRENT {ROWS_BOUND}"))
}

/// The frame bound of the current row and its peers, the rows of its time.
pub fn current_range() -> Expression {
    Expression::of_sql("CURRENT")
}

/// SQL `NULL` of `data_type`.
pub fn null_of(data_type: &DataType) -> Expression {
    Expression::of_sql(format!("CAST(NULL AS {data_type})"))
}

/// A literal's SQL text; made from Rust values by `From`.
#[derive(Debug, Clone, PartialEq)]
pub struct Literal(String);

macro_rules! integer_literals {
    ($($t:ty),*) => {$(
        impl From<$t> for Literal {
            fn from(value: $t) -> Self {
                Literal(value.to_string())
            }
        }
    )*};
}
integer_literals!(i8, i16, i32, i64, u8, u16, u32);

impl From<f64> for Literal {
    fn from(value: f64) -> Self {
        // `{:?}` keeps a point on whole numbers, so `1.0` stays a floating point literal.
        Literal(format!("{value:?}"))
    }
}

impl From<bool> for Literal {
    fn from(value: bool) -> Self {
        Literal(if value { "TRUE" } else { "FALSE" }.to_string())
    }
}

impl From<&str> for Literal {
    fn from(value: &str) -> Self {
        Literal(quote_string(value))
    }
}

impl From<String> for Literal {
    fn from(value: String) -> Self {
        Literal(quote_string(&value))
    }
}

/// `name` as a quoted SQL identifier.
pub(crate) fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `text` as a SQL string literal.
pub(crate) fn quote_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl Expression {
    /// The expression that the SQL text `sql` reads as (Flink's string expressions).
    ///
    /// ```
    /// use pyflink_table::expressions::Expression;
    /// assert_eq!(Expression::of_sql("a + 1").to_sql(), "a + 1");
    /// ```
    pub fn of_sql(sql: impl Into<String>) -> Expression {
        Expression { sql: sql.into(), column: None, names: Vec::new(), descending: false }
    }

    /// The expression as SQL text, without its alias.
    pub fn to_sql(&self) -> String {
        self.sql.clone()
    }

    /// The name the expression gives its column, if [`Expression::alias`] gave it one.
    pub fn name(&self) -> Option<&str> {
        self.names.first().map(String::as_str)
    }

    /// The names [`Expression::alias_all`] gave (several for a function of several columns).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column the expression reads, when it is only a column.
    pub fn column(&self) -> Option<&str> {
        self.column.as_deref()
    }

    /// Whether the expression sorts descending.
    pub fn is_descending(&self) -> bool {
        self.descending
    }

    /// The expression, whose column is called `name`.
    pub fn alias(mut self, name: &str) -> Expression {
        self.names = vec![name.to_string()];
        self
    }

    /// The expression, whose columns are called `names`.
    pub fn alias_all<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Expression {
        self.names = names.into_iter().map(|name| name.as_ref().to_string()).collect();
        self
    }

    fn unary(self, function: &str) -> Expression {
        Expression::of_sql(format!("{function}({})", self.sql))
    }

    fn infix(self, operator: &str, other: Expression) -> Expression {
        Expression::of_sql(format!("({} {operator} {})", self.sql, other.sql))
    }

    fn postfix(self, operator: &str) -> Expression {
        Expression::of_sql(format!("({} {operator})", self.sql))
    }

    /// `self = other`.
    pub fn is_equal(self, other: impl Into<Expression>) -> Expression {
        self.infix("=", other.into())
    }

    /// `self <> other`.
    pub fn is_not_equal(self, other: impl Into<Expression>) -> Expression {
        self.infix("<>", other.into())
    }

    /// `self > other`.
    pub fn is_greater(self, other: impl Into<Expression>) -> Expression {
        self.infix(">", other.into())
    }

    /// `self >= other`.
    pub fn is_greater_or_equal(self, other: impl Into<Expression>) -> Expression {
        self.infix(">=", other.into())
    }

    /// `self < other`.
    pub fn is_less(self, other: impl Into<Expression>) -> Expression {
        self.infix("<", other.into())
    }

    /// `self <= other`.
    pub fn is_less_or_equal(self, other: impl Into<Expression>) -> Expression {
        self.infix("<=", other.into())
    }

    /// `self AND other`.
    pub fn and(self, other: impl Into<Expression>) -> Expression {
        self.infix("AND", other.into())
    }

    /// `self OR other`.
    pub fn or(self, other: impl Into<Expression>) -> Expression {
        self.infix("OR", other.into())
    }

    /// `self % other`.
    pub fn modulo(self, other: impl Into<Expression>) -> Expression {
        self.infix("%", other.into())
    }

    /// `self IS NULL`.
    pub fn is_null(self) -> Expression {
        self.postfix("IS NULL")
    }

    /// `self IS NOT NULL`.
    pub fn is_not_null(self) -> Expression {
        self.postfix("IS NOT NULL")
    }

    /// `self LIKE pattern`.
    pub fn like(self, pattern: impl Into<Expression>) -> Expression {
        self.infix("LIKE", pattern.into())
    }

    /// `self BETWEEN low AND high`.
    pub fn between(self, low: impl Into<Expression>, high: impl Into<Expression>) -> Expression {
        Expression::of_sql(format!("({} BETWEEN {} AND {})", self.sql, low.into().sql, high.into().sql))
    }

    /// `self IN (values...)`.
    pub fn in_values(self, values: impl IntoIterator<Item = Expression>) -> Expression {
        let values: Vec<String> = values.into_iter().map(|value| value.sql).collect();
        Expression::of_sql(format!("({} IN ({}))", self.sql, values.join(", ")))
    }

    /// The value as `data_type` (`CAST(self AS data_type)`).
    pub fn cast(self, data_type: &DataType) -> Expression {
        Expression::of_sql(format!("CAST({} AS {data_type})", self.sql))
    }

    /// The value at the JSON path `path` of the JSON text `self`, as a string (`JSON_VALUE`);
    /// `NULL` where the path leads to nothing, to an object or array, or the text is no JSON.
    pub fn json_value(self, path: &str) -> Expression {
        Expression::of_sql(format!("JSON_VALUE({}, {})", self.sql, quote_string(path)))
    }

    /// The sum of the values (`SUM`).
    pub fn sum(self) -> Expression {
        self.unary("SUM")
    }

    /// The number of values that are not `NULL` (`COUNT`).
    pub fn count(self) -> Expression {
        self.unary("COUNT")
    }

    /// The average of the values (`AVG`).
    pub fn avg(self) -> Expression {
        self.unary("AVG")
    }

    /// The smallest value (`MIN`).
    pub fn min(self) -> Expression {
        self.unary("MIN")
    }

    /// The largest value (`MAX`).
    pub fn max(self) -> Expression {
        self.unary("MAX")
    }

    /// The aggregate `self` over the OVER window named `window` (after
    /// [`Table::over_window`](crate::environment::Table::over_window)).
    pub fn over(self, window: impl Into<Expression>) -> Expression {
        let window = window.into();
        let name = window.column().map_or_else(|| window.to_sql(), quote_identifier);
        Expression::of_sql(format!("{} OVER {name}", self.sql))
    }

    /// The aggregate `self` over distinct values only (`COUNT(DISTINCT x)` for `col(x).count().distinct()`).
    pub fn distinct(self) -> Expression {
        match self.sql.find('(') {
            Some(open) if self.sql.ends_with(')') => {
                Expression::of_sql(format!("{}(DISTINCT {}", &self.sql[..open], &self.sql[open + 1..]))
            }
            _ => Expression::of_sql(format!("DISTINCT {}", self.sql)),
        }
    }

    /// The string in upper case (`UPPER`).
    pub fn upper_case(self) -> Expression {
        self.unary("UPPER")
    }

    /// The string in lower case (`LOWER`).
    pub fn lower_case(self) -> Expression {
        self.unary("LOWER")
    }

    /// The number of characters of the string (`CHAR_LENGTH`).
    pub fn char_length(self) -> Expression {
        self.unary("CHAR_LENGTH")
    }

    /// The string without leading and trailing spaces (`TRIM`).
    pub fn trim(self) -> Expression {
        self.unary("TRIM")
    }

    /// The absolute value (`ABS`).
    pub fn abs(self) -> Expression {
        self.unary("ABS")
    }

    /// An interval of `self` units of `unit` (`SECOND`, `MINUTE`, `HOUR`, `DAY`, ...): `INTERVAL
    /// '5' SECOND` for `lit(5).interval("SECOND")`.
    pub fn interval(self, unit: &str) -> Expression {
        let amount = self.sql.trim_matches('\'');
        Expression::of_sql(format!("INTERVAL '{amount}' {unit}"))
    }

    /// The start of the group window `self` names (`col("w").start()` after
    /// [`Table::window`](crate::environment::Table::window)): the column `window_start`.
    pub fn start(self) -> Expression {
        Expression::of_sql("window_start")
    }

    /// The end of the group window `self` names: the column `window_end`.
    pub fn end(self) -> Expression {
        Expression::of_sql("window_end")
    }

    /// The event time of the results of the group window `self` names, its last millisecond:
    /// the column `window_time`.
    pub fn rowtime(self) -> Expression {
        Expression::of_sql("window_time")
    }

    /// An interval of `self` seconds.
    pub fn seconds(self) -> Expression {
        self.interval("SECOND")
    }

    /// An interval of `self` minutes.
    pub fn minutes(self) -> Expression {
        self.interval("MINUTE")
    }

    /// An interval of `self` hours.
    pub fn hours(self) -> Expression {
        self.interval("HOUR")
    }

    /// An interval of `self` days.
    pub fn days(self) -> Expression {
        self.interval("DAY")
    }

    /// An interval of `self` milliseconds.
    pub fn millis(self) -> Expression {
        match self.sql.trim_matches('\'').parse::<i64>() {
            Ok(ms) => Expression::of_sql(format!("INTERVAL '{}.{:03}' SECOND", ms / 1000, (ms % 1000).abs())),
            Err(_) => Expression::of_sql(format!("({} * INTERVAL '0.001' SECOND)", self.sql)),
        }
    }

    /// Sorts ascending (in `order_by`).
    pub fn asc(mut self) -> Expression {
        self.descending = false;
        self
    }

    /// Sorts descending (in `order_by`).
    pub fn desc(mut self) -> Expression {
        self.descending = true;
        self
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sql)?;
        if !self.names.is_empty() {
            let names: Vec<String> = self.names.iter().map(|name| quote_identifier(name)).collect();
            write!(f, " AS {}", names.join(", "))?;
        }
        Ok(())
    }
}

impl From<&str> for Expression {
    /// The expression that the SQL text reads as; a bare name is that column.
    fn from(sql: &str) -> Self {
        let trimmed = sql.trim();
        let is_name = !trimmed.is_empty() && trimmed.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
        match is_name {
            true => col(trimmed),
            false => Expression::of_sql(sql),
        }
    }
}

impl From<String> for Expression {
    fn from(sql: String) -> Self {
        Expression::from(sql.as_str())
    }
}

macro_rules! operator {
    ($trait:ident, $method:ident, $symbol:literal) => {
        impl<T: Into<Expression>> ops::$trait<T> for Expression {
            type Output = Expression;
            fn $method(self, other: T) -> Expression {
                self.infix($symbol, other.into())
            }
        }
    };
}
operator!(Add, add, "+");
operator!(Sub, sub, "-");
operator!(Mul, mul, "*");
operator!(Div, div, "/");
operator!(Rem, rem, "%");

impl ops::Neg for Expression {
    type Output = Expression;
    fn neg(self) -> Expression {
        Expression::of_sql(format!("(- {})", self.sql))
    }
}

impl ops::Not for Expression {
    type Output = Expression;
    fn not(self) -> Expression {
        Expression::of_sql(format!("(NOT {})", self.sql))
    }
}

macro_rules! literal_expressions {
    ($($t:ty),*) => {$(
        impl From<$t> for Expression {
            fn from(value: $t) -> Self {
                lit(value)
            }
        }
    )*};
}
literal_expressions!(i32, i64, f64, bool);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_write_flink_sql() {
        assert_eq!((col("a") + 1).is_greater(col("b")).to_sql(), "((`a` + 1) > `b`)");
        assert_eq!(col("id").count().distinct().to_sql(), "COUNT(DISTINCT `id`)");
        assert_eq!(lit(5).seconds().to_sql(), "INTERVAL '5' SECOND");
        assert_eq!(lit(1).millis().to_sql(), "INTERVAL '0.001' SECOND");
        assert_eq!(lit(1500).millis().to_sql(), "INTERVAL '1.500' SECOND");
        assert_eq!(
            if_then_else(col("x").is_null(), lit("none"), col("x")).to_sql(),
            "(CASE WHEN (`x` IS NULL) THEN 'none' ELSE `x` END)"
        );
        assert_eq!(col("we`ird").to_sql(), "`we``ird`");
        assert_eq!(col("a").alias("b").to_string(), "`a` AS `b`");
        assert_eq!(Expression::from("a").column(), Some("a"));
        assert_eq!(Expression::from("a + 1").column(), None);
        assert_eq!((!col("ok")).to_sql(), "(NOT `ok`)");
    }
}
