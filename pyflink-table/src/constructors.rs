//! Flink's value constructor `MAP[key, value, ...]`, which DataFusion's SQL parser would read
//! as DuckDB's `MAP {key: value}`: it is rewritten into the call `make_map(key, value, ...)`
//! before the statement is parsed.

use std::borrow::Cow;
use std::ops::Range;

use crate::ddl::lexer::{matching_symbol, syntax_error, tokenize};
use crate::error::Result;

/// `sql` with each `MAP[...]` a `make_map(...)` call; `sql` itself when it has none.
pub(crate) fn rewrite_map_constructors(sql: &str) -> Result<Cow<'_, str>> {
    if !sql.to_ascii_uppercase().contains("MAP") {
        return Ok(Cow::Borrowed(sql));
    }
    // What the lexer cannot read, the SQL parser reports better.
    let Ok(tokens) = tokenize(sql) else { return Ok(Cow::Borrowed(sql)) };
    let mut edits: Vec<(Range<usize>, &str)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let Some(open) = tokens.get(i + 1).filter(|next| token.is_word("MAP") && next.is_symbol('[')) else {
            continue;
        };
        let Some(close) = matching_symbol(&tokens, i + 1, ('[', ']')) else {
            return Err(syntax_error(sql, open.start, "expected ']' to close MAP[...]"));
        };
        edits.push((token.start..open.end, "make_map("));
        edits.push((tokens[close].start..tokens[close].end, ")"));
    }
    if edits.is_empty() {
        return Ok(Cow::Borrowed(sql));
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut rewritten = String::with_capacity(sql.len() + 8 * edits.len());
    let mut copied = 0;
    for (range, text) in edits {
        rewritten.push_str(&sql[copied..range.start]);
        rewritten.push_str(text);
        copied = range.end;
    }
    rewritten.push_str(&sql[copied..]);
    Ok(Cow::Owned(rewritten))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_constructors_become_make_map_calls_nested_ones_too() {
        let sql = "SELECT MAP['a', ARRAY[1, 2]] AS m, map['b', MAP['c', 3]], 'MAP[' AS text FROM t";
        assert_eq!(
            rewrite_map_constructors(sql).unwrap(),
            "SELECT make_map('a', ARRAY[1, 2]) AS m, make_map('b', make_map('c', 3)), 'MAP[' AS text FROM t"
        );
    }

    #[test]
    fn statements_without_them_are_left_alone_and_an_open_one_is_an_error() {
        assert!(matches!(rewrite_map_constructors("SELECT map_col FROM t").unwrap(), Cow::Borrowed(_)));
        let error = rewrite_map_constructors("SELECT MAP['a', 1 FROM t").unwrap_err().to_string();
        assert!(error.contains("column 11") && error.contains("expected ']'"), "{error}");
    }
}
