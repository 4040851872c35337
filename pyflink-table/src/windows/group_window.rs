//! Flink's older group window syntax, as PyFlink 1.x programs write it:
//!
//! ```sql
//! SELECT user, TUMBLE_START(ts, INTERVAL '1' HOUR), COUNT(*)
//! FROM clicks GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), user
//! ```
//!
//! is the window aggregate of a window function call, and is rewritten into one: the table
//! in `FROM` becomes `TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' HOUR))`, the
//! group window in `GROUP BY` becomes `window_start, window_end`, and `TUMBLE_START`,
//! `TUMBLE_END` and `TUMBLE_ROWTIME` become `window_start`, `window_end` and `window_time`
//! (`HOP(ts, slide, size)` and `HOP_...` alike). The query must read one table.

use std::borrow::Cow;

use crate::ddl::lexer::{matching_paren, split_top_level, syntax_error, tokenize, Token};
use crate::error::{Result, TableError};

/// Clause keywords that end a `GROUP BY` list or a `FROM` table.
const CLAUSES: [&str; 8] = ["WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "WINDOW", "QUALIFY"];

/// `sql` with a group window rewritten into a window function call (see the module's
/// documentation); unchanged without one.
pub(crate) fn rewrite_group_window(sql: &str) -> Result<Cow<'_, str>> {
    let upper = sql.to_ascii_uppercase();
    if !upper.contains("GROUP") || !(upper.contains("TUMBLE") || upper.contains("HOP") || upper.contains("SESSION")) {
        return Ok(Cow::Borrowed(sql));
    }
    let tokens = tokenize(sql)?;
    let depths = depths(&tokens);
    let top = |i: usize, word: &str| depths[i] == 0 && tokens[i].is_word(word);
    let Some(group) = (0..tokens.len().saturating_sub(1)).find(|&i| top(i, "GROUP") && tokens[i + 1].is_word("BY"))
    else {
        return Ok(Cow::Borrowed(sql));
    };
    // The group window: a call at the top of the GROUP BY list.
    let list_end = (group + 2..tokens.len()).find(|&i| CLAUSES.iter().any(|c| top(i, c))).unwrap_or(tokens.len());
    let Some(call) = (group + 2..list_end.saturating_sub(1)).find(|&i| {
        depths[i] == 0
            && ["TUMBLE", "HOP", "SESSION"].iter().any(|f| tokens[i].is_word(f))
            && tokens[i + 1].is_symbol('(')
    }) else {
        return Ok(Cow::Borrowed(sql));
    };
    let function = tokens[call].text.to_ascii_uppercase();
    let close = matching_paren(&tokens, call + 1)
        .ok_or_else(|| syntax_error(sql, tokens[call].start, &format!("{function}( is not closed")))?;
    let inside = &tokens[call + 2..close];
    let arguments: Vec<&[Token]> = split_top_level(inside).into_iter().map(|range| &inside[range]).collect();
    let time = match arguments.first() {
        Some(first) if first.last().is_some_and(Token::is_name) => first[first.len() - 1].text.clone(),
        _ => return Err(syntax_error(sql, tokens[call].start, &format!("{function} needs a time attribute first"))),
    };
    let sizes: Vec<&str> = arguments[1..]
        .iter()
        .filter(|argument| !argument.is_empty())
        .map(|argument| &sql[argument[0].start..argument[argument.len() - 1].end])
        .collect();
    let expected = if function == "HOP" { 2 } else { 1 };
    if sizes.len() != expected {
        return Err(syntax_error(
            sql,
            tokens[call].start,
            &format!("{function} group windows take a time attribute and {expected} interval(s)"),
        ));
    }
    // The one table the query reads.
    let from = (0..group).find(|&i| top(i, "FROM")).ok_or_else(|| {
        syntax_error(sql, tokens[group].start, "a group window needs a FROM clause with the table it reads")
    })?;
    let table = tokens
        .get(from + 1)
        .filter(|t| t.is_name())
        .ok_or_else(|| TableError::Unsupported("group windows over a subquery; name a table or view in FROM".into()))?;
    let mut after_table = from + 2;
    if tokens.get(after_table).is_some_and(|t| t.is_word("AS")) {
        after_table += 2;
    } else if tokens.get(after_table).is_some_and(|t| t.is_name() && !CLAUSES.iter().any(|c| t.is_word(c))) {
        after_table += 1;
    }
    if after_table < group && !CLAUSES.iter().any(|c| top(after_table, c)) {
        return Err(TableError::Unsupported(
            "group windows over joins or several tables; read one table or view".into(),
        ));
    }

    // A session window is per group: the other keys partition the sessions.
    let partition = if function == "SESSION" {
        let keys = session_partition(sql, &tokens[group + 2..list_end], call - group - 2)?;
        if keys.is_empty() {
            String::new()
        } else {
            format!(" PARTITION BY ({})", keys.iter().map(|key| format!("`{key}`")).collect::<Vec<_>>().join(", "))
        }
    } else {
        String::new()
    };
    let mut edits: Vec<(usize, usize, String)> = vec![
        (
            table.start,
            table.end,
            format!("TABLE({function}(TABLE `{}`{partition}, DESCRIPTOR(`{time}`), {}))", table.text, sizes.join(", ")),
        ),
        (tokens[call].start, tokens[close].end, "window_start, window_end".into()),
    ];
    // The window's properties wherever the query names them.
    for (i, token) in tokens.iter().enumerate() {
        let property = ["START", "END", "ROWTIME"].iter().find(|p| token.is_word(&format!("{function}_{p}")));
        let Some(property) = property else { continue };
        let Some(end) = tokens.get(i + 1).filter(|t| t.is_symbol('(')).and_then(|_| matching_paren(&tokens, i + 1))
        else {
            continue;
        };
        let column = match *property {
            "START" => "window_start",
            "END" => "window_end",
            _ => "window_time",
        };
        edits.push((token.start, tokens[end].end, column.to_string()));
    }
    edits.sort_by_key(|edit| edit.0);
    let mut rewritten = String::with_capacity(sql.len() + 64);
    let mut copied = 0;
    for (start, end, text) in edits {
        rewritten.push_str(&sql[copied..start]);
        rewritten.push_str(&text);
        copied = end;
    }
    rewritten.push_str(&sql[copied..]);
    Ok(Cow::Owned(rewritten))
}

/// The columns of the `GROUP BY` list `items` other than the group window (which starts at
/// index `window`): a session window's partition keys, which must be columns.
fn session_partition(sql: &str, items: &[Token], window: usize) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    for range in split_top_level(items) {
        if range.contains(&window) {
            continue;
        }
        match &items[range] {
            [.., last] if last.is_name() => keys.push(last.text.clone()),
            other => {
                let at = other.first().map_or(sql.len(), |token| token.start);
                return Err(syntax_error(sql, at, "the other keys of a SESSION group window must be columns"));
            }
        }
    }
    Ok(keys)
}

/// The parenthesis depth of each token (a `(` counts at the depth outside it).
fn depths(tokens: &[Token]) -> Vec<usize> {
    let mut depth = 0usize;
    tokens
        .iter()
        .map(|token| {
            if token.is_symbol(')') {
                depth = depth.saturating_sub(1);
            }
            let at = depth;
            if token.is_symbol('(') {
                depth += 1;
            }
            at
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_window_becomes_a_window_function_call() {
        let sql = "SELECT `user`, TUMBLE_START(ts, INTERVAL '1' HOUR) AS s, COUNT(*) FROM clicks \
                   WHERE amount > 0 GROUP BY TUMBLE(ts, INTERVAL '1' HOUR), `user`";
        assert_eq!(
            rewrite_group_window(sql).unwrap(),
            "SELECT `user`, window_start AS s, COUNT(*) FROM \
             TABLE(TUMBLE(TABLE `clicks`, DESCRIPTOR(`ts`), INTERVAL '1' HOUR)) \
             WHERE amount > 0 GROUP BY window_start, window_end, `user`"
        );
        let sql = "SELECT HOP_END(c.ts, INTERVAL '1' MINUTE, INTERVAL '1' HOUR), SUM(amount) FROM clicks AS c \
                   GROUP BY HOP(c.ts, INTERVAL '1' MINUTE, INTERVAL '1' HOUR)";
        assert_eq!(
            rewrite_group_window(sql).unwrap(),
            "SELECT window_end, SUM(amount) FROM \
             TABLE(HOP(TABLE `clicks`, DESCRIPTOR(`ts`), INTERVAL '1' MINUTE, INTERVAL '1' HOUR)) AS c \
             GROUP BY window_start, window_end"
        );
    }

    #[test]
    fn a_session_group_window_is_partitioned_by_the_other_keys() {
        let sql = "SELECT `user`, SESSION_END(ts, INTERVAL '5' SECOND), COUNT(*) FROM clicks \
                   GROUP BY `user`, SESSION(ts, INTERVAL '5' SECOND)";
        assert_eq!(
            rewrite_group_window(sql).unwrap(),
            "SELECT `user`, window_end, COUNT(*) FROM \
             TABLE(SESSION(TABLE `clicks` PARTITION BY (`user`), DESCRIPTOR(`ts`), INTERVAL '5' SECOND)) \
             GROUP BY `user`, window_start, window_end"
        );
    }

    #[test]
    fn queries_without_a_group_window_are_kept() {
        let sql = "SELECT k, COUNT(*) FROM t GROUP BY k";
        assert!(matches!(rewrite_group_window(sql).unwrap(), Cow::Borrowed(_)));
        let sql = "SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND))";
        assert!(matches!(rewrite_group_window(sql).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn what_cannot_be_rewritten_is_told() {
        let error = |sql: &str| rewrite_group_window(sql).unwrap_err().to_string();
        assert!(error("SELECT 1 FROM a, b GROUP BY TUMBLE(ts, INTERVAL '1' SECOND)").contains("several tables"));
        assert!(error("SELECT 1 FROM a JOIN b ON x GROUP BY TUMBLE(ts, INTERVAL '1' SECOND)").contains("joins"));
        assert!(error("SELECT 1 FROM (SELECT * FROM a) GROUP BY TUMBLE(ts, INTERVAL '1' SECOND)").contains("subquery"));
        assert!(error("SELECT 1 FROM a GROUP BY HOP(ts, INTERVAL '1' SECOND)").contains("2 interval"));
    }
}
