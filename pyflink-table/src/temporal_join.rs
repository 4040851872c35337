//! `FOR SYSTEM_TIME AS OF`: a table read as of a row's processing time, the right side of a
//! lookup join (`JOIN customers FOR SYSTEM_TIME AS OF o.proc_time AS c ON o.customer_id =
//! c.id`). DataFusion's SQL front end does not read the clause, so before parsing each
//! `<table> FOR SYSTEM_TIME AS OF <column>` is rewritten to the call of a table function,
//! `FOR_SYSTEM_TIME_AS_OF('<table>', '<column>')` (aliased as the table when no alias follows),
//! whose source is a [`LookupSource`]; the compiler turns a join whose right side reads one into
//! a lookup join (`exec::lookup_join`).

use std::borrow::Cow;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{plan_err, ScalarValue};
use datafusion::logical_expr::{Expr, TableSource};

use crate::catalog::{Catalog, TableData};
use crate::ddl::lexer::{syntax_error, tokenize, Token};
use crate::error::Result;

/// The table function a temporal table is rewritten to.
pub(crate) const FUNCTION: &str = "FOR_SYSTEM_TIME_AS_OF";

/// Words that end a join's table reference: a name after the time column that is one of these
/// is no alias.
const NOT_ALIASES: &[&str] = &[
    "ON", "WHERE", "JOIN", "LEFT", "RIGHT", "INNER", "FULL", "CROSS", "GROUP", "ORDER", "UNION", "LIMIT", "HAVING",
    "WINDOW", "USING", "NATURAL",
];

/// `sql` with each `<table> FOR SYSTEM_TIME AS OF <column>` rewritten (see the module).
pub(crate) fn rewrite_temporal_joins(sql: &str) -> Result<Cow<'_, str>> {
    if !sql.to_ascii_uppercase().contains("SYSTEM_TIME") {
        return Ok(Cow::Borrowed(sql));
    }
    let tokens = tokenize(sql)?;
    let mut rewritten = String::with_capacity(sql.len() + 32);
    let mut copied = 0;
    let mut i = 0;
    while i < tokens.len() {
        let clause = ["FOR", "SYSTEM_TIME", "AS", "OF"];
        let at_clause = tokens.len() >= i + clause.len()
            && clause.iter().zip(&tokens[i..]).all(|(word, token)| token.is_word(word));
        if !at_clause {
            i += 1;
            continue;
        }
        let Some(table_start) = dotted_name_ending_at(&tokens, i) else {
            return Err(syntax_error(sql, tokens[i].start, "FOR SYSTEM_TIME AS OF follows the name of a table"));
        };
        let time_end = dotted_name_starting_at(&tokens, i + 4).ok_or_else(|| {
            let at = tokens.get(i + 4).map_or(sql.len(), |token| token.start);
            syntax_error(
                sql,
                at,
                "FOR SYSTEM_TIME AS OF takes a time attribute column of the left table, such as o.proc_time",
            )
        })?;
        let table = &tokens[i - 1];
        let time_column = &sql[tokens[i + 4].start..tokens[time_end].end];
        rewritten.push_str(&sql[copied..tokens[table_start].start]);
        rewritten.push_str(&format!("{FUNCTION}({}, {})", quoted(&table.text), quoted(time_column)));
        let next = tokens.get(time_end + 1);
        let has_alias = next.is_some_and(|token| {
            token.is_word("AS") || (token.is_name() && !NOT_ALIASES.iter().any(|word| token.is_word(word)))
        });
        if !has_alias {
            rewritten.push_str(&format!(" AS {}", &sql[table.start..table.end]));
        }
        copied = tokens[time_end].end;
        i = time_end + 1;
    }
    rewritten.push_str(&sql[copied..]);
    Ok(Cow::Owned(rewritten))
}

/// The index of the first token of the dotted name (`a.b.c`) whose last token is just before
/// `end`.
fn dotted_name_ending_at(tokens: &[Token], end: usize) -> Option<usize> {
    let mut start = end.checked_sub(1)?;
    if !tokens[start].is_name() {
        return None;
    }
    while start >= 2 && tokens[start - 1].is_symbol('.') && tokens[start - 2].is_name() {
        start -= 2;
    }
    Some(start)
}

/// The index of the last token of the dotted name that starts at `start`.
fn dotted_name_starting_at(tokens: &[Token], start: usize) -> Option<usize> {
    if !tokens.get(start)?.is_name() {
        return None;
    }
    let mut end = start;
    while tokens.get(end + 1).is_some_and(|t| t.is_symbol('.')) && tokens.get(end + 2).is_some_and(Token::is_name) {
        end += 2;
    }
    Some(end)
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A connector table read as of each row's processing time: the right side of a lookup join.
#[derive(Debug)]
pub(crate) struct LookupSource {
    /// The table's name in the catalog.
    pub(crate) table: String,
    /// The left table's time column, as written.
    pub(crate) time_column: String,
    pub(crate) schema: SchemaRef,
}

impl TableSource for LookupSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// The source of `FOR_SYSTEM_TIME_AS_OF(table, time column)`, or `None` for another function.
pub(crate) fn lookup_source(
    catalog: &Catalog,
    function: &str,
    arguments: &[Expr],
) -> Option<datafusion::common::Result<Arc<dyn TableSource>>> {
    if !function.eq_ignore_ascii_case(FUNCTION) {
        return None;
    }
    let text = |expr: &Expr| match expr {
        Expr::Literal(ScalarValue::Utf8(Some(text)), _) => Some(text.clone()),
        _ => None,
    };
    let (Some(table), Some(time_column)) = (arguments.first().and_then(text), arguments.get(1).and_then(text)) else {
        return Some(plan_err!("{FUNCTION} takes a table's name and a time column"));
    };
    let source = match catalog.table(&table).map(|found| &found.data) {
        Some(TableData::Connector(connector)) => {
            Ok(Arc::new(LookupSource { table, time_column, schema: Arc::clone(&connector.schema) })
                as Arc<dyn TableSource>)
        }
        Some(_) => plan_err!(
            "'{table}' is read FOR SYSTEM_TIME AS OF, which joins the rows of a connector's table looked up by key \
             (a lookup join, such as of a 'jdbc' table); '{table}' is a view or a table of values"
        ),
        None => plan_err!("Object '{table}' not found"),
    };
    Some(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temporal_table_becomes_a_function_call_keeping_or_adding_its_alias() {
        let rewritten = rewrite_temporal_joins(
            "SELECT * FROM orders AS o JOIN customers FOR SYSTEM_TIME AS OF o.proc_time AS c ON o.id = c.id",
        )
        .unwrap();
        assert_eq!(
            rewritten,
            "SELECT * FROM orders AS o JOIN FOR_SYSTEM_TIME_AS_OF('customers', 'o.proc_time') AS c ON o.id = c.id"
        );
        let rewritten =
            rewrite_temporal_joins("SELECT * FROM o LEFT JOIN db.dim FOR SYSTEM_TIME AS OF o.pt ON o.k = dim.k")
                .unwrap();
        assert_eq!(rewritten, "SELECT * FROM o LEFT JOIN FOR_SYSTEM_TIME_AS_OF('dim', 'o.pt') AS dim ON o.k = dim.k");
        let rewritten = rewrite_temporal_joins("SELECT 1 FROM o JOIN d FOR SYSTEM_TIME AS OF pt x ON k = x.k").unwrap();
        assert_eq!(rewritten, "SELECT 1 FROM o JOIN FOR_SYSTEM_TIME_AS_OF('d', 'pt') x ON k = x.k");
    }

    #[test]
    fn a_clause_without_a_column_is_a_syntax_error() {
        let error = rewrite_temporal_joins("SELECT * FROM o JOIN d FOR SYSTEM_TIME AS OF 5 ON true").unwrap_err();
        assert!(error.to_string().contains("time attribute column"), "{error}");
    }
}
