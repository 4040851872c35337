//! The tokens of a statement, for the statements whose Flink grammar DataFusion's parser does
//! not know (DDL, `SHOW`, `DESCRIBE`, `INSERT INTO`): words, names in backquotes, string
//! literals, numbers and symbols, each with where it is in the text, so that expressions inside
//! a statement can be handed on as their original text.

use crate::error::{Result, TableError};

/// What kind of token a [`Token`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A word: a keyword or a name not in quotes.
    Word,
    /// A name in backquotes; its text is the name without them.
    Quoted,
    /// A string literal in single quotes; its text is the string, with `''` read as `'`.
    String,
    Number,
    /// Any other character, alone.
    Symbol,
}

/// A token and where it is in the statement.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) text: String,
    /// Where it starts and ends, in bytes of the statement.
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    /// Whether this is the keyword `word` (in any case).
    pub(crate) fn is_word(&self, word: &str) -> bool {
        self.kind == TokenKind::Word && self.text.eq_ignore_ascii_case(word)
    }

    pub(crate) fn is_symbol(&self, symbol: char) -> bool {
        self.kind == TokenKind::Symbol && self.text.len() == symbol.len_utf8() && self.text.starts_with(symbol)
    }

    /// Whether this token names something: a word or a name in backquotes.
    pub(crate) fn is_name(&self) -> bool {
        matches!(self.kind, TokenKind::Word | TokenKind::Quoted)
    }
}

/// The tokens of `sql`, comments (`-- ...` and `/* ... */`) and white space left out.
pub(crate) fn tokenize(sql: &str) -> Result<Vec<Token>> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < sql.len() {
        let c = sql[i..].chars().next().unwrap_or(' ');
        let start = i;
        if c.is_whitespace() {
            i += c.len_utf8();
        } else if sql[i..].starts_with("--") {
            i = sql[i..].find('\n').map_or(sql.len(), |n| i + n + 1);
        } else if sql[i..].starts_with("/*") {
            match sql[i + 2..].find("*/") {
                Some(n) => i += n + 4,
                None => return Err(syntax_error(sql, start, "a comment opened with /* is not closed")),
            }
        } else if c.is_alphabetic() || c == '_' {
            while let Some(next) = sql[i..].chars().next().filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$') {
                i += next.len_utf8();
            }
            tokens.push(Token { kind: TokenKind::Word, text: sql[start..i].to_string(), start, end: i });
        } else if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            tokens.push(Token { kind: TokenKind::Number, text: sql[start..i].to_string(), start, end: i });
        } else if c == '`' || c == '\'' {
            let (text, end) = quoted(sql, start, c)?;
            let kind = if c == '`' { TokenKind::Quoted } else { TokenKind::String };
            tokens.push(Token { kind, text, start, end });
            i = end;
        } else {
            i += c.len_utf8();
            tokens.push(Token { kind: TokenKind::Symbol, text: c.to_string(), start, end: i });
        }
    }
    Ok(tokens)
}

/// The text between the quote at `start` and its closing quote (a doubled quote stands for one),
/// and where the token ends.
fn quoted(sql: &str, start: usize, quote: char) -> Result<(String, usize)> {
    let mut text = String::new();
    let mut chars = sql[start + 1..].char_indices().peekable();
    while let Some((offset, c)) = chars.next() {
        if c == quote {
            if chars.peek().is_some_and(|(_, next)| *next == quote) {
                chars.next();
                text.push(quote);
                continue;
            }
            return Ok((text, start + 1 + offset + 1));
        }
        text.push(c);
    }
    let what = if quote == '`' { "a name in backquotes" } else { "a string literal" };
    Err(syntax_error(sql, start, &format!("{what} is not closed")))
}

/// A syntax error at byte `position` of `sql`, with its line and column as Flink reports them.
pub(crate) fn syntax_error(sql: &str, position: usize, message: &str) -> TableError {
    let before = &sql[..position.min(sql.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    TableError::Validation(format!("SQL parse failed at line {line}, column {column}: {message}"))
}

/// The index of the `)` that closes the `(` at `open`.
pub(crate) fn matching_paren(tokens: &[Token], open: usize) -> Option<usize> {
    matching_symbol(tokens, open, ('(', ')'))
}

/// The index of the token `close` that closes the token `opening` at `open`, pairs nested in
/// between skipped.
pub(crate) fn matching_symbol(tokens: &[Token], open: usize, (opening, close): (char, char)) -> Option<usize> {
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate().skip(open) {
        if token.is_symbol(opening) {
            depth += 1;
        } else if token.is_symbol(close) {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// The index ranges of `tokens` between the commas outside parentheses (one empty range for
/// no tokens).
pub(crate) fn split_top_level(tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut begin = 0;
    for (i, token) in tokens.iter().enumerate() {
        if token.is_symbol('(') {
            depth += 1;
        } else if token.is_symbol(')') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 && token.is_symbol(',') {
            parts.push(begin..i);
            begin = i + 1;
        }
    }
    parts.push(begin..tokens.len());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_keep_their_places_and_unquote() {
        let sql = "CREATE TABLE `my table` (a INT) -- note\n WITH ('k' = 'it''s')";
        let tokens = tokenize(sql).unwrap();
        let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["CREATE", "TABLE", "my table", "(", "a", "INT", ")", "WITH", "(", "k", "=", "it's", ")"]);
        assert_eq!(tokens[2].kind, TokenKind::Quoted);
        assert_eq!(&sql[tokens[11].start..tokens[11].end], "'it''s'");
        assert!(tokens[7].is_word("with"));
    }

    #[test]
    fn unclosed_quotes_and_comments_say_where() {
        let error = tokenize("SELECT 'abc").unwrap_err().to_string();
        assert!(error.contains("line 1, column 8") && error.contains("string literal is not closed"), "{error}");
        let error = tokenize("SELECT\n /* x").unwrap_err().to_string();
        assert!(error.contains("line 2, column 2"), "{error}");
    }
}
