//! The statements of Flink SQL that DataFusion's parser does not read the Flink way: `CREATE
//! TABLE` (with computed and metadata columns, `WATERMARK`, `PRIMARY KEY ... NOT ENFORCED` and
//! `WITH` options), `CREATE VIEW`, `CREATE FUNCTION`, `DROP`, `SHOW TABLES`, `DESCRIBE`, `INSERT INTO` and
//! `EXPLAIN` (with Flink's details: `EXPLAIN PLAN_ADVICE SELECT ...`). A statement is told apart by its first words; any other statement is a query,
//! which DataFusion parses and plans ([`crate::plan`]).
//!
//! Expressions inside these statements (computed columns, watermarks, the query of a view or an
//! `INSERT`) are kept as their text and planned by DataFusion too, so they mean exactly what
//! they mean in a query.

mod create_table;
mod cursor;
pub(crate) mod legacy_options;
pub(crate) mod lexer;

pub(crate) use create_table::{ColumnDefinition, ColumnKind, TableDefinition, WatermarkDefinition};

use crate::ddl::cursor::Cursor;
use crate::ddl::lexer::TokenKind;
use crate::error::Result;
use crate::explain::ExplainDetail;

/// One statement of Flink SQL, as `execute_sql` runs it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Statement {
    /// `CREATE [TEMPORARY] TABLE [IF NOT EXISTS] name (...) WITH (...)`.
    CreateTable { definition: TableDefinition, if_not_exists: bool },
    /// `CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name AS query`.
    CreateView { name: String, query: String, if_not_exists: bool },
    /// `DROP [TEMPORARY] TABLE [IF EXISTS] name`, and the same for views.
    Drop { name: String, if_exists: bool, view: bool },
    /// `CREATE [TEMPORARY] [SYSTEM] FUNCTION [IF NOT EXISTS] name AS 'identifier' [LANGUAGE
    /// language]`: a function found by its identifier (a class, or a Python object's module path).
    CreateFunction { name: String, identifier: String, language: String, if_not_exists: bool },
    /// `DROP [TEMPORARY] [SYSTEM] FUNCTION [IF EXISTS] name`.
    DropFunction { name: String, if_exists: bool },
    /// `SHOW TABLES` or `SHOW VIEWS`.
    Show { views: bool },
    /// `DESCRIBE name` or `DESC name`.
    Describe { name: String },
    /// `INSERT INTO name [(columns)] query`.
    Insert { table: String, columns: Option<Vec<String>>, query: String },
    /// `EXPLAIN [PLAN FOR] query`.
    Explain { details: Vec<ExplainDetail>, query: String },
    /// Any other statement: a query, for DataFusion to parse.
    Query(String),
}

/// The statement `sql`, read as far as telling which statement it is takes.
pub(crate) fn parse_statement(sql: &str) -> Result<Statement> {
    let mut cursor = Cursor::new(sql)?;
    if cursor.eat_word("CREATE") {
        let temporary = cursor.eat_word("TEMPORARY");
        if cursor.eat_word("TABLE") {
            let if_not_exists = cursor.eat_words(&["IF", "NOT", "EXISTS"]);
            let definition = create_table::table_definition(&mut cursor, temporary)?;
            cursor.expect_end()?;
            return Ok(Statement::CreateTable { definition, if_not_exists });
        }
        if cursor.eat_word("VIEW") {
            let if_not_exists = cursor.eat_words(&["IF", "NOT", "EXISTS"]);
            let name = cursor.object_name()?;
            if cursor.peek().is_some_and(|t| t.is_symbol('(')) {
                return Err(cursor.unsupported("a column list after the view's name"));
            }
            cursor.expect_word("AS")?;
            let query = cursor.rest()?;
            return Ok(Statement::CreateView { name, query, if_not_exists });
        }
        cursor.eat_word("SYSTEM");
        if cursor.eat_word("FUNCTION") {
            let if_not_exists = cursor.eat_words(&["IF", "NOT", "EXISTS"]);
            let name = cursor.object_name()?;
            cursor.expect_word("AS")?;
            let identifier = cursor.string()?;
            let language =
                if cursor.eat_word("LANGUAGE") { cursor.name()?.to_ascii_uppercase() } else { "JAVA".into() };
            cursor.eat_symbol(';');
            cursor.expect_end()?;
            return Ok(Statement::CreateFunction { name, identifier, language, if_not_exists });
        }
        return Err(
            cursor.unsupported("this CREATE statement (CREATE TABLE, CREATE VIEW and CREATE FUNCTION are supported)")
        );
    }
    if cursor.eat_word("DROP") {
        cursor.eat_word("TEMPORARY");
        cursor.eat_word("SYSTEM");
        if cursor.eat_word("FUNCTION") {
            let if_exists = cursor.eat_words(&["IF", "EXISTS"]);
            let name = cursor.object_name()?;
            cursor.eat_symbol(';');
            cursor.expect_end()?;
            return Ok(Statement::DropFunction { name, if_exists });
        }
        let view = if cursor.eat_word("VIEW") {
            true
        } else {
            cursor.expect_word("TABLE")?;
            false
        };
        let if_exists = cursor.eat_words(&["IF", "EXISTS"]);
        let name = cursor.object_name()?;
        cursor.expect_end()?;
        return Ok(Statement::Drop { name, if_exists, view });
    }
    if cursor.eat_word("SHOW") {
        let views = if cursor.eat_word("VIEWS") {
            true
        } else {
            cursor.expect_word("TABLES")?;
            false
        };
        cursor.expect_end()?;
        return Ok(Statement::Show { views });
    }
    if cursor.eat_word("DESCRIBE") || cursor.eat_word("DESC") {
        let name = cursor.object_name()?;
        cursor.expect_end()?;
        return Ok(Statement::Describe { name });
    }
    if cursor.eat_word("INSERT") {
        if cursor.eat_word("OVERWRITE") {
            return Err(cursor.unsupported("INSERT OVERWRITE"));
        }
        cursor.expect_word("INTO")?;
        let table = cursor.object_name()?;
        let columns = if cursor.eat_symbol('(') { Some(cursor.name_list()?) } else { None };
        let query = cursor.rest()?;
        return Ok(Statement::Insert { table, columns, query });
    }
    if cursor.eat_word("EXPLAIN") {
        let details = if cursor.eat_words(&["PLAN", "FOR"]) { Vec::new() } else { explain_details(&mut cursor)? };
        return Ok(Statement::Explain { details, query: cursor.rest()? });
    }
    Ok(Statement::Query(sql.to_string()))
}

/// The details Flink's `EXPLAIN` takes before the statement (`EXPLAIN PLAN_ADVICE, CHANGELOG_MODE
/// SELECT ...`), none or several, separated by commas.
fn explain_details(cursor: &mut Cursor<'_>) -> Result<Vec<ExplainDetail>> {
    let mut details = Vec::new();
    while let Some(token) = cursor.peek().filter(|token| token.kind == TokenKind::Word) {
        let Some(detail) = ExplainDetail::from_name(&token.text) else { break };
        cursor.take();
        details.push(detail);
        if !cursor.eat_symbol(',') {
            break;
        }
    }
    Ok(details)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_told_apart_by_their_first_words() {
        assert_eq!(parse_statement("show tables;").unwrap(), Statement::Show { views: false });
        assert_eq!(parse_statement("DESC `my t`").unwrap(), Statement::Describe { name: "my t".into() });
        assert_eq!(
            parse_statement("DROP TEMPORARY VIEW IF EXISTS v").unwrap(),
            Statement::Drop { name: "v".into(), if_exists: true, view: true }
        );
        assert_eq!(
            parse_statement("INSERT INTO default_catalog.default_database.sink (a, b) SELECT x, y FROM t;").unwrap(),
            Statement::Insert {
                table: "sink".into(),
                columns: Some(vec!["a".into(), "b".into()]),
                query: "SELECT x, y FROM t".into()
            }
        );
        assert_eq!(
            parse_statement("CREATE TEMPORARY VIEW v AS SELECT 1").unwrap(),
            Statement::CreateView { name: "v".into(), query: "SELECT 1".into(), if_not_exists: false }
        );
        assert_eq!(parse_statement("SELECT * FROM t").unwrap(), Statement::Query("SELECT * FROM t".into()));
    }

    #[test]
    fn functions_are_created_from_an_identifier_in_a_language_and_dropped() {
        assert_eq!(
            parse_statement("CREATE TEMPORARY SYSTEM FUNCTION IF NOT EXISTS f AS 'udfs.add_one' LANGUAGE PYTHON")
                .unwrap(),
            Statement::CreateFunction {
                name: "f".into(),
                identifier: "udfs.add_one".into(),
                language: "PYTHON".into(),
                if_not_exists: true
            }
        );
        let java = parse_statement("CREATE FUNCTION g AS 'com.example.G'").unwrap();
        assert!(matches!(java, Statement::CreateFunction { language, .. } if language == "JAVA"));
        assert_eq!(
            parse_statement("DROP TEMPORARY FUNCTION IF EXISTS f;").unwrap(),
            Statement::DropFunction { name: "f".into(), if_exists: true }
        );
    }

    #[test]
    fn explain_takes_flink_details_or_plan_for() {
        let explain = |details: Vec<ExplainDetail>| Statement::Explain { details, query: "SELECT a FROM t".into() };
        assert_eq!(parse_statement("EXPLAIN PLAN FOR SELECT a FROM t").unwrap(), explain(vec![]));
        assert_eq!(parse_statement("EXPLAIN SELECT a FROM t").unwrap(), explain(vec![]));
        assert_eq!(
            parse_statement("explain plan_advice, CHANGELOG_MODE SELECT a FROM t").unwrap(),
            explain(vec![ExplainDetail::PlanAdvice, ExplainDetail::ChangelogMode])
        );
    }

    #[test]
    fn unknown_or_broken_statements_say_what_is_wrong() {
        let error = parse_statement("SHOW FUNCTIONZ").unwrap_err().to_string();
        assert!(error.contains("TABLES expected") && error.contains("FUNCTIONZ"), "{error}");
        let error = parse_statement("DROP TABLE a.b.c.d").unwrap_err().to_string();
        assert!(error.contains("a.b.c.d"), "{error}");
        let error = parse_statement("INSERT INTO t").unwrap_err().to_string();
        assert!(error.contains("a query expected"), "{error}");
    }
}
