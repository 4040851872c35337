//! `Cursor`: reads a statement's tokens one at a time, with errors that say where the
//! statement went wrong and what was expected there.

use crate::ddl::lexer::{syntax_error, tokenize, Token, TokenKind};
use crate::error::{Result, TableError};

/// The names of the one catalog and database tables live in, which qualified names may give.
const DEFAULT_CATALOG: &str = "default_catalog";
const DEFAULT_DATABASE: &str = "default_database";

/// A position in the tokens of a statement.
pub(crate) struct Cursor<'a> {
    sql: &'a str,
    tokens: Vec<Token>,
    next: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(sql: &'a str) -> Result<Self> {
        let mut tokens = tokenize(sql)?;
        // A statement may end with a semicolon.
        if tokens.last().is_some_and(|t| t.is_symbol(';')) {
            tokens.pop();
        }
        Ok(Cursor { sql, tokens, next: 0 })
    }

    pub(crate) fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    /// Takes the next token.
    pub(crate) fn take(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.next).cloned();
        self.next += token.is_some() as usize;
        token
    }

    /// Takes the next token if it is the keyword `word`.
    pub(crate) fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek().is_some_and(|t| t.is_word(word));
        self.next += found as usize;
        found
    }

    /// Takes the next tokens if they are the keywords `words`, all of them.
    pub(crate) fn eat_words(&mut self, words: &[&str]) -> bool {
        let found =
            words.iter().enumerate().all(|(i, word)| self.tokens.get(self.next + i).is_some_and(|t| t.is_word(word)));
        if found {
            self.next += words.len();
        }
        found
    }

    pub(crate) fn eat_symbol(&mut self, symbol: char) -> bool {
        let found = self.peek().is_some_and(|t| t.is_symbol(symbol));
        self.next += found as usize;
        found
    }

    pub(crate) fn expect_word(&mut self, word: &str) -> Result<()> {
        if self.eat_word(word) {
            return Ok(());
        }
        Err(self.expected(word))
    }

    pub(crate) fn expect_symbol(&mut self, symbol: char) -> Result<()> {
        if self.eat_symbol(symbol) {
            return Ok(());
        }
        Err(self.expected(&format!("'{symbol}'")))
    }

    /// Fails unless every token has been read.
    pub(crate) fn expect_end(&self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(token) => Err(syntax_error(self.sql, token.start, &format!("unexpected '{}'", token.text))),
        }
    }

    /// A name: a word or a name in backquotes.
    pub(crate) fn name(&mut self) -> Result<String> {
        match self.peek() {
            Some(token) if token.is_name() => Ok(self.take().map(|t| t.text).unwrap_or_default()),
            _ => Err(self.expected("a name")),
        }
    }

    /// A string literal's text.
    pub(crate) fn string(&mut self) -> Result<String> {
        match self.peek() {
            Some(token) if token.kind == TokenKind::String => Ok(self.take().map(|t| t.text).unwrap_or_default()),
            _ => Err(self.expected("a string literal")),
        }
    }

    /// A table's name, which may be qualified by the default catalog and database.
    pub(crate) fn object_name(&mut self) -> Result<String> {
        let start = self.peek().map_or(self.sql.len(), |t| t.start);
        let mut parts = vec![self.name()?];
        while self.eat_symbol('.') {
            parts.push(self.name()?);
        }
        let name = parts.pop().unwrap_or_default();
        let qualified = match parts.as_slice() {
            [] => true,
            [database] => database == DEFAULT_DATABASE,
            [catalog, database] => catalog == DEFAULT_CATALOG && database == DEFAULT_DATABASE,
            _ => false,
        };
        if !qualified {
            let end = self.tokens.get(self.next.saturating_sub(1)).map_or(self.sql.len(), |t| t.end);
            return Err(TableError::Catalog(format!(
                "'{}' is not in the default catalog and database; only {DEFAULT_CATALOG}.{DEFAULT_DATABASE} exists",
                &self.sql[start..end]
            )));
        }
        Ok(name)
    }

    /// Names separated by commas, up to and including a closing parenthesis.
    pub(crate) fn name_list(&mut self) -> Result<Vec<String>> {
        let mut names = vec![self.name()?];
        while self.eat_symbol(',') {
            names.push(self.name()?);
        }
        self.expect_symbol(')')?;
        Ok(names)
    }

    /// The text of an expression: the tokens up to a comma or closing parenthesis outside any
    /// parentheses, or one of the keywords `stop` there, whichever comes first.
    pub(crate) fn expression(&mut self, stop: &[&str]) -> Result<String> {
        let first = self.next;
        let mut depth = 0usize;
        while let Some(token) = self.peek() {
            if depth == 0 && (token.is_symbol(',') || token.is_symbol(')') || stop.iter().any(|w| token.is_word(w))) {
                break;
            }
            if token.is_symbol('(') {
                depth += 1;
            } else if token.is_symbol(')') {
                depth -= 1;
            }
            self.next += 1;
        }
        if self.next == first {
            return Err(self.expected("an expression"));
        }
        Ok(self.sql[self.tokens[first].start..self.tokens[self.next - 1].end].to_string())
    }

    /// The text from the next token to the end (a query), without a closing semicolon.
    pub(crate) fn rest(&mut self) -> Result<String> {
        let (Some(first), Some(last)) = (self.peek(), self.tokens.last()) else {
            return Err(self.expected("a query"));
        };
        let text = self.sql[first.start..last.end].to_string();
        self.next = self.tokens.len();
        Ok(text)
    }

    /// An error saying `what` was expected where the cursor is.
    pub(crate) fn expected(&self, what: &str) -> TableError {
        match self.peek() {
            Some(token) => syntax_error(self.sql, token.start, &format!("{what} expected, found '{}'", token.text)),
            None => syntax_error(self.sql, self.sql.trim_end().len(), &format!("{what} expected at the end")),
        }
    }

    /// An error saying the statement uses `what`, which is valid Flink SQL not supported yet.
    pub(crate) fn unsupported(&self, what: &str) -> TableError {
        TableError::Unsupported(what.to_string())
    }

    /// The statement's text from byte `start` up to the last token read.
    pub(crate) fn text_since(&self, start: usize) -> &'a str {
        let end = self.tokens.get(self.next.saturating_sub(1)).map_or(start, |t| t.end);
        &self.sql[start..end.max(start)]
    }

    /// Where the next token starts (the end of the text if there is none).
    pub(crate) fn position(&self) -> usize {
        self.peek().map_or(self.sql.len(), |t| t.start)
    }

    /// Skips the tokens up to (not including) a comma or closing parenthesis outside any
    /// parentheses or angle brackets, or one of the keywords `stop` there: the extent of a type.
    pub(crate) fn skip_type(&mut self, stop: &[&str]) {
        let mut depth = 0usize;
        while let Some(token) = self.peek() {
            if depth == 0 && (token.is_symbol(',') || token.is_symbol(')') || stop.iter().any(|w| token.is_word(w))) {
                break;
            }
            if token.is_symbol('(') || token.is_symbol('<') {
                depth += 1;
            } else if (token.is_symbol(')') || token.is_symbol('>')) && depth > 0 {
                depth -= 1;
            }
            self.next += 1;
        }
    }
}
