//! Flink's SQL that DataFusion's parser reads otherwise, rewritten before a statement is
//! parsed: the value constructor `MAP[key, value, ...]`, which it would read as DuckDB's
//! `MAP {key: value}`, becomes the call `map_of(key, value, ...)` (see `functions::map_of`); and the binary types
//! `BYTES`, `VARBINARY(n)` and `BINARY(n)` in a `CAST`, which it does not know, become its
//! `BYTEA`.

use std::borrow::Cow;
use std::ops::Range;

use crate::ddl::lexer::{matching_symbol, syntax_error, tokenize, Token};
use crate::error::Result;

/// `sql` with each `MAP[...]` a `map_of(...)` call; `sql` itself when it has none.
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
        edits.push((token.start..open.end, "map_of("));
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

/// `sql` with the binary type of each `CAST(... AS BYTES)` (or `VARBINARY`, `BINARY`, with or
/// without a length) written `BYTEA`; `sql` itself when it has none.
pub(crate) fn rewrite_binary_casts(sql: &str) -> Result<Cow<'_, str>> {
    let upper = sql.to_ascii_uppercase();
    if !upper.contains("CAST") || !upper.contains("BINARY") && !upper.contains("BYTES") {
        return Ok(Cow::Borrowed(sql));
    }
    let Ok(tokens) = tokenize(sql) else { return Ok(Cow::Borrowed(sql)) };
    let mut edits: Vec<Range<usize>> = Vec::new();
    for (i, token) in tokens.iter().enumerate().skip(1) {
        if !["BYTES", "VARBINARY", "BINARY"].iter().any(|name| token.is_word(name)) || !tokens[i - 1].is_word("AS") {
            continue;
        }
        // The type's length, if it has one, and the parenthesis that closes the CAST.
        let mut end = i;
        if tokens.get(i + 1).is_some_and(|t| t.is_symbol('(')) {
            match matching_symbol(&tokens, i + 1, ('(', ')')) {
                Some(close) => end = close,
                None => continue,
            }
        }
        if !tokens.get(end + 1).is_some_and(|t| t.is_symbol(')')) || !opened_by_cast(&tokens, i - 1) {
            continue;
        }
        edits.push(token.start..tokens[end].end);
    }
    if edits.is_empty() {
        return Ok(Cow::Borrowed(sql));
    }
    let mut rewritten = String::with_capacity(sql.len());
    let mut copied = 0;
    for range in edits {
        rewritten.push_str(&sql[copied..range.start]);
        rewritten.push_str("BYTEA");
        copied = range.end;
    }
    rewritten.push_str(&sql[copied..]);
    Ok(Cow::Owned(rewritten))
}

/// Whether the parenthesis open at token `before` (the innermost one it is in) follows `CAST`
/// or `TRY_CAST`.
fn opened_by_cast(tokens: &[Token], before: usize) -> bool {
    let mut depth = 0;
    for i in (0..before).rev() {
        if tokens[i].is_symbol(')') {
            depth += 1;
        } else if tokens[i].is_symbol('(') {
            if depth == 0 {
                return i > 0 && (tokens[i - 1].is_word("CAST") || tokens[i - 1].is_word("TRY_CAST"));
            }
            depth -= 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_constructors_become_map_of_calls_nested_ones_too() {
        let sql = "SELECT MAP['a', ARRAY[1, 2]] AS m, map['b', MAP['c', 3]], 'MAP[' AS text FROM t";
        assert_eq!(
            rewrite_map_constructors(sql).unwrap(),
            "SELECT map_of('a', ARRAY[1, 2]) AS m, map_of('b', map_of('c', 3)), 'MAP[' AS text FROM t"
        );
    }

    #[test]
    fn statements_without_them_are_left_alone_and_an_open_one_is_an_error() {
        assert!(matches!(rewrite_map_constructors("SELECT map_col FROM t").unwrap(), Cow::Borrowed(_)));
        let error = rewrite_map_constructors("SELECT MAP['a', 1 FROM t").unwrap_err().to_string();
        assert!(error.contains("column 11") && error.contains("expected ']'"), "{error}");
    }

    #[test]
    fn binary_types_in_casts_become_bytea_and_aliases_stay() {
        let sql =
            "SELECT CAST(a AS BYTES), TRY_CAST(f(b, c) AS VARBINARY(10)), CAST(d AS binary(3)), e AS bytes FROM t";
        assert_eq!(
            rewrite_binary_casts(sql).unwrap(),
            "SELECT CAST(a AS BYTEA), TRY_CAST(f(b, c) AS BYTEA), CAST(d AS BYTEA), e AS bytes FROM t"
        );
        assert!(matches!(rewrite_binary_casts("SELECT (SELECT a AS bytes) FROM t").unwrap(), Cow::Borrowed(_)));
    }
}
