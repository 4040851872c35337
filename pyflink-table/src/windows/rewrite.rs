//! Rewrites Flink's window function calls into table function calls that DataFusion's parser
//! reads: `TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '5' MINUTES, INTERVAL '1' HOUR))`
//! becomes `HOP('t', 'ts', INTERVAL '5' MINUTES, INTERVAL '1' HOUR)`, with the arguments in
//! one order whether they were given by position or by name (`DATA => TABLE t`,
//! `TIMECOL => DESCRIPTOR(ts)`, `SIZE =>`, `SLIDE =>`, `STEP =>`, `OFFSET =>`). Everything else in
//! the statement is kept as written.

use std::borrow::Cow;

use crate::ddl::lexer::{matching_paren, split_top_level, syntax_error, tokenize, Token, TokenKind};
use crate::error::Result;

/// The window functions and the names of their arguments, in the order of positional calls
/// (which is also the order of the rewritten call); `OFFSET` may follow any of them.
const FUNCTIONS: [(&str, &[&str]); 4] = [
    ("TUMBLE", &["DATA", "TIMECOL", "SIZE"]),
    ("HOP", &["DATA", "TIMECOL", "SLIDE", "SIZE"]),
    ("CUMULATE", &["DATA", "TIMECOL", "STEP", "SIZE"]),
    ("SESSION", &["DATA", "TIMECOL", "GAP"]),
];

/// `sql` with each window function call rewritten (see the module's documentation).
pub(crate) fn rewrite_window_calls(sql: &str) -> Result<Cow<'_, str>> {
    // Most statements have no window call: only tokenize those that may.
    let upper = sql.to_ascii_uppercase();
    if !FUNCTIONS.iter().any(|(name, _)| upper.contains(name)) {
        return Ok(Cow::Borrowed(sql));
    }
    let tokens = tokenize(sql)?;
    let mut rewritten = String::with_capacity(sql.len());
    let mut copied = 0;
    let mut i = 0;
    while i < tokens.len() {
        if let Some(call) = window_call_at(sql, &tokens, i)? {
            rewritten.push_str(&sql[copied..tokens[i].start]);
            rewritten.push_str(&call.text);
            copied = tokens[call.last].end;
            i = call.last + 1;
        } else {
            i += 1;
        }
    }
    if copied == 0 {
        return Ok(Cow::Borrowed(sql));
    }
    rewritten.push_str(&sql[copied..]);
    Ok(Cow::Owned(rewritten))
}

/// A window call found in the tokens: its rewritten text, and the index of its last token.
struct Call {
    text: String,
    last: usize,
}

/// The window call `TABLE(<function>(...))` that starts at token `i`, if one does.
fn window_call_at(sql: &str, tokens: &[Token], i: usize) -> Result<Option<Call>> {
    let starts_call = tokens.len() > i + 3
        && tokens[i].is_word("TABLE")
        && tokens[i + 1].is_symbol('(')
        && tokens[i + 2].kind == TokenKind::Word
        && tokens[i + 3].is_symbol('(');
    if !starts_call {
        return Ok(None);
    }
    let function = &tokens[i + 2];
    let Some((name, parameters)) = FUNCTIONS.iter().find(|(name, _)| function.is_word(name)) else {
        return Ok(None);
    };
    let (arguments, close) = split_arguments(sql, tokens, i + 4)?;
    if !tokens.get(close + 1).is_some_and(|t| t.is_symbol(')')) {
        let at = tokens.get(close + 1).map_or(sql.len(), |t| t.start);
        return Err(syntax_error(sql, at, &format!("expected ')' to close TABLE({name}(...)")));
    }
    let mut values: Vec<Option<String>> = vec![None; parameters.len() + 1];
    let mut partition = Vec::new();
    for (position, argument) in arguments.iter().enumerate() {
        let slot = match &argument.name {
            Some(named) if named.eq_ignore_ascii_case("OFFSET") => parameters.len(),
            Some(named) => parameters.iter().position(|p| p.eq_ignore_ascii_case(named)).ok_or_else(|| {
                syntax_error(
                    sql,
                    argument.start,
                    &format!("{name} has no parameter {named}; its parameters are {}, OFFSET", parameters.join(", ")),
                )
            })?,
            None => position,
        };
        if slot > parameters.len() {
            return Err(syntax_error(sql, argument.start, &format!("too many arguments for {name}")));
        }
        let value = match slot {
            0 => {
                let (table, keys) = table_argument(sql, &tokens[argument.tokens.clone()], argument.start)?;
                if !keys.is_empty() && *name != "SESSION" {
                    return Err(syntax_error(
                        sql,
                        argument.start,
                        &format!("{name} takes no PARTITION BY; SESSION does"),
                    ));
                }
                partition = keys;
                table
            }
            1 => descriptor_argument(sql, &tokens[argument.tokens.clone()], argument.start)?,
            _ => sql[argument.start..argument.end].to_string(),
        };
        if values[slot].replace(value).is_some() {
            return Err(syntax_error(sql, argument.start, &format!("{name} got a value twice for one parameter")));
        }
    }
    let mut text = format!("{name}(");
    for (slot, value) in values.iter().enumerate() {
        match value {
            Some(value) => {
                if slot > 0 {
                    text.push_str(", ");
                }
                text.push_str(value);
            }
            None if slot == parameters.len() => {}
            None => {
                return Err(syntax_error(
                    sql,
                    function.start,
                    &format!("{name} needs its {} argument ({})", parameters[slot], parameters.join(", ")),
                ))
            }
        }
    }
    // SESSION's partition columns follow its gap.
    for key in partition {
        text.push_str(", ");
        text.push_str(&key);
    }
    text.push(')');
    Ok(Some(Call { text, last: close + 1 }))
}

/// One argument of a call: its name if given as `NAME => value`, and its value's tokens and
/// text span.
struct Argument {
    name: Option<String>,
    tokens: std::ops::Range<usize>,
    start: usize,
    end: usize,
}

/// The arguments of the call whose first argument token is `first`, and the index of the `)`
/// that closes it.
fn split_arguments(sql: &str, tokens: &[Token], first: usize) -> Result<(Vec<Argument>, usize)> {
    let close = matching_paren(tokens, first - 1)
        .ok_or_else(|| syntax_error(sql, sql.len(), "the window function call is not closed with ')'"))?;
    let mut arguments = Vec::new();
    for range in split_top_level(&tokens[first..close]) {
        let (begin, end) = (first + range.start, first + range.end);
        if begin == end {
            // The comma or `)` where an argument should be.
            return Err(syntax_error(sql, tokens[end].start, "expected an argument"));
        }
        arguments.push(argument(&tokens[begin..end], begin));
    }
    Ok((arguments, close))
}

/// The argument made of `tokens` (which start at index `offset`).
fn argument(tokens: &[Token], offset: usize) -> Argument {
    let named = tokens.len() > 3 && tokens[0].is_name() && tokens[1].is_symbol('=') && tokens[2].is_symbol('>');
    let skip = if named { 3 } else { 0 };
    Argument {
        name: named.then(|| tokens[0].text.clone()),
        tokens: offset + skip..offset + tokens.len(),
        start: tokens[skip].start,
        end: tokens[tokens.len() - 1].end,
    }
}

/// `TABLE name`, with `PARTITION BY column` or `PARTITION BY (column, ...)` after it, as the
/// quoted name and partition columns.
fn table_argument(sql: &str, tokens: &[Token], at: usize) -> Result<(String, Vec<String>)> {
    let expected = || syntax_error(sql, at, "the first argument of a window function is a table: TABLE <name>");
    let (table, partition) = match tokens {
        [table, name, rest @ ..] if table.is_word("TABLE") && name.is_name() => (quoted(&name.text), rest),
        _ => return Err(expected()),
    };
    let columns: Vec<&Token> = match partition {
        [] => return Ok((table, Vec::new())),
        [partition, by, columns @ ..] if partition.is_word("PARTITION") && by.is_word("BY") => match columns {
            [open, inner @ .., close] if open.is_symbol('(') && close.is_symbol(')') => {
                inner.iter().step_by(2).collect()
            }
            _ => columns.iter().collect(),
        },
        _ => return Err(expected()),
    };
    if columns.is_empty() || columns.iter().any(|column| !column.is_name()) {
        return Err(syntax_error(
            sql,
            at,
            "PARTITION BY takes a column, or columns in parentheses: PARTITION BY (a, b)",
        ));
    }
    Ok((table, columns.iter().map(|column| quoted(&column.text)).collect()))
}

/// `DESCRIPTOR(column)` as the quoted column name.
fn descriptor_argument(sql: &str, tokens: &[Token], at: usize) -> Result<String> {
    match tokens {
        [descriptor, open, name, close]
            if descriptor.is_word("DESCRIPTOR") && open.is_symbol('(') && name.is_name() && close.is_symbol(')') =>
        {
            Ok(quoted(&name.text))
        }
        _ => Err(syntax_error(sql, at, "the time column of a window function is given as DESCRIPTOR(<column>)")),
    }
}

/// `text` as an SQL string literal.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positional_and_named_calls_become_table_function_calls() {
        let sql = "SELECT * FROM TABLE(TUMBLE(TABLE Bid, DESCRIPTOR(bidtime), INTERVAL '10' MINUTES)) WHERE x > 1";
        assert_eq!(
            rewrite_window_calls(sql).unwrap(),
            "SELECT * FROM TUMBLE('Bid', 'bidtime', INTERVAL '10' MINUTES) WHERE x > 1"
        );
        let sql = "SELECT * FROM TABLE(HOP(DATA => TABLE `Bid`, TIMECOL => DESCRIPTOR(ts), \
                   SIZE => INTERVAL '10' MINUTES, SLIDE => INTERVAL '5' MINUTES, OFFSET => INTERVAL '1' MINUTE))";
        assert_eq!(
            rewrite_window_calls(sql).unwrap(),
            "SELECT * FROM HOP('Bid', 'ts', INTERVAL '5' MINUTES, INTERVAL '10' MINUTES, INTERVAL '1' MINUTE)"
        );
    }

    #[test]
    fn session_calls_carry_their_partition_columns_after_the_gap() {
        let sql = "SELECT * FROM TABLE(SESSION(TABLE Bid PARTITION BY item, DESCRIPTOR(ts), INTERVAL '5' MINUTES))";
        assert_eq!(
            rewrite_window_calls(sql).unwrap(),
            "SELECT * FROM SESSION('Bid', 'ts', INTERVAL '5' MINUTES, 'item')"
        );
        let sql = "SELECT * FROM TABLE(SESSION(TABLE Bid PARTITION BY (a, `b`), DESCRIPTOR(ts), INTERVAL '1' SECOND))";
        assert_eq!(
            rewrite_window_calls(sql).unwrap(),
            "SELECT * FROM SESSION('Bid', 'ts', INTERVAL '1' SECOND, 'a', 'b')"
        );
        let sql = "SELECT * FROM TABLE(SESSION(TABLE Bid, DESCRIPTOR(ts), INTERVAL '1' SECOND))";
        assert_eq!(rewrite_window_calls(sql).unwrap(), "SELECT * FROM SESSION('Bid', 'ts', INTERVAL '1' SECOND)");
    }

    #[test]
    fn statements_without_window_calls_are_kept() {
        let sql = "SELECT tumble FROM t";
        assert!(matches!(rewrite_window_calls(sql).unwrap(), Cow::Borrowed(_)));
    }

    #[test]
    fn malformed_calls_are_told_apart() {
        let error = |sql: &str| rewrite_window_calls(sql).unwrap_err().to_string();
        assert!(error("SELECT * FROM TABLE(TUMBLE(TABLE t, ts, INTERVAL '1' SECOND))").contains("DESCRIPTOR"));
        assert!(error("SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts)))").contains("needs its SIZE"));
        assert!(error("SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), GAP => INTERVAL '1' SECOND))")
            .contains("no parameter GAP"));
        assert!(error("SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' SECOND)").contains("')'"));
        assert!(error("SELECT * FROM TABLE(TUMBLE(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' SECOND))")
            .contains("takes no PARTITION BY"));
    }
}
