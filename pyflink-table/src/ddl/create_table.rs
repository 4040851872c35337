//! `CREATE TABLE`: a table's columns (physical, computed and metadata), its watermark, primary
//! key, comment, partition keys and connector options, as written.

use std::collections::BTreeMap;

use crate::ddl::cursor::Cursor;
use crate::error::{Result, TableError};
use crate::types::DataType;

/// A table as `CREATE TABLE` declares it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableDefinition {
    pub(crate) name: String,
    pub(crate) columns: Vec<ColumnDefinition>,
    pub(crate) watermark: Option<WatermarkDefinition>,
    /// The primary key's columns (`PRIMARY KEY (...) NOT ENFORCED`).
    pub(crate) primary_key: Option<Vec<String>>,
    pub(crate) comment: Option<String>,
    pub(crate) partition_keys: Vec<String>,
    /// The `WITH` options: `connector` and the connector's own.
    pub(crate) options: BTreeMap<String, String>,
    /// Whether the table was declared `TEMPORARY`.
    pub(crate) temporary: bool,
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ColumnDefinition {
    pub(crate) name: String,
    pub(crate) kind: ColumnKind,
    pub(crate) comment: Option<String>,
}

/// Where a column's values come from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ColumnKind {
    /// Read from the connector: `name TYPE`.
    Physical(DataType),
    /// Computed from the other columns: `name AS expression`.
    Computed(String),
    /// A connector's metadata: `name TYPE METADATA [FROM 'key'] [VIRTUAL]`; a virtual column is
    /// only read, never written.
    Metadata { data_type: DataType, key: Option<String>, is_virtual: bool },
}

/// `WATERMARK FOR column AS expression`: the column is the table's event time.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WatermarkDefinition {
    pub(crate) column: String,
    pub(crate) expression: String,
}

/// Words that end a column's type.
const AFTER_TYPE: &[&str] = &["PRIMARY", "COMMENT", "METADATA", "CONSTRAINT"];

/// The rest of `CREATE TABLE [IF NOT EXISTS]`: the name, the columns in parentheses and the
/// clauses after them.
pub(crate) fn table_definition(cursor: &mut Cursor<'_>, temporary: bool) -> Result<TableDefinition> {
    let name = cursor.object_name()?;
    let mut definition = TableDefinition {
        name,
        columns: Vec::new(),
        watermark: None,
        primary_key: None,
        comment: None,
        partition_keys: Vec::new(),
        options: BTreeMap::new(),
        temporary,
    };
    if cursor.eat_word("LIKE") {
        return Err(cursor.unsupported("CREATE TABLE ... LIKE"));
    }
    cursor.expect_symbol('(')?;
    loop {
        table_element(cursor, &mut definition)?;
        if cursor.eat_symbol(')') {
            break;
        }
        cursor.expect_symbol(',')?;
    }
    if cursor.eat_word("COMMENT") {
        definition.comment = Some(cursor.string()?);
    }
    if cursor.eat_words(&["PARTITIONED", "BY"]) {
        cursor.expect_symbol('(')?;
        definition.partition_keys = cursor.name_list()?;
    }
    if cursor.eat_word("WITH") {
        definition.options = options(cursor)?;
    }
    if cursor.eat_word("LIKE") {
        return Err(cursor.unsupported("CREATE TABLE ... LIKE"));
    }
    check(&definition)?;
    Ok(definition)
}

/// One element between the parentheses: a column, the watermark or a primary key.
fn table_element(cursor: &mut Cursor<'_>, definition: &mut TableDefinition) -> Result<()> {
    if cursor.eat_word("WATERMARK") {
        if definition.watermark.is_some() {
            return Err(cursor.expected("one WATERMARK only; ','"));
        }
        cursor.expect_word("FOR")?;
        let column = cursor.name()?;
        cursor.expect_word("AS")?;
        let expression = cursor.expression(&[])?;
        definition.watermark = Some(WatermarkDefinition { column, expression });
        return Ok(());
    }
    if cursor.eat_word("CONSTRAINT") {
        cursor.name()?;
    }
    if cursor.eat_words(&["PRIMARY", "KEY"]) {
        cursor.expect_symbol('(')?;
        let columns = cursor.name_list()?;
        not_enforced(cursor)?;
        return set_primary_key(definition, columns);
    }
    let name = cursor.name()?;
    let kind = if cursor.eat_word("AS") {
        ColumnKind::Computed(cursor.expression(&["COMMENT"])?)
    } else {
        let start = cursor.position();
        cursor.skip_type(AFTER_TYPE);
        let text = cursor.text_since(start);
        let data_type = DataType::parse(text).map_err(|error| match error {
            TableError::TypeParse { message, .. } => {
                TableError::Validation(format!("the type of column '{name}' ('{text}'): {message}"))
            }
            other => other,
        })?;
        if cursor.eat_word("METADATA") {
            let key = if cursor.eat_word("FROM") { Some(cursor.string()?) } else { None };
            let is_virtual = cursor.eat_word("VIRTUAL");
            ColumnKind::Metadata { data_type, key, is_virtual }
        } else {
            if cursor.eat_word("CONSTRAINT") {
                cursor.name()?;
            }
            if cursor.eat_words(&["PRIMARY", "KEY"]) {
                not_enforced(cursor)?;
                set_primary_key(definition, vec![name.clone()])?;
            }
            ColumnKind::Physical(data_type)
        }
    };
    let comment = if cursor.eat_word("COMMENT") { Some(cursor.string()?) } else { None };
    definition.columns.push(ColumnDefinition { name, kind, comment });
    Ok(())
}

/// `NOT ENFORCED`, the only mode of constraints Flink has.
fn not_enforced(cursor: &mut Cursor<'_>) -> Result<()> {
    if cursor.eat_words(&["NOT", "ENFORCED"]) {
        return Ok(());
    }
    if cursor.peek().is_some_and(|t| t.is_word("ENFORCED")) {
        return Err(TableError::Validation(
            "Flink doesn't support ENFORCED mode for PRIMARY KEY constraint: Flink does not own the data, so \
             its constraints are never checked; declare it NOT ENFORCED"
                .into(),
        ));
    }
    Err(cursor.expected("NOT ENFORCED"))
}

fn set_primary_key(definition: &mut TableDefinition, columns: Vec<String>) -> Result<()> {
    if definition.primary_key.is_some() {
        return Err(TableError::Validation(format!(
            "Duplicate primary key definition in table '{}': a table has one primary key",
            definition.name
        )));
    }
    definition.primary_key = Some(columns);
    Ok(())
}

/// `('key' = 'value', ...)`.
fn options(cursor: &mut Cursor<'_>) -> Result<BTreeMap<String, String>> {
    let mut options = BTreeMap::new();
    cursor.expect_symbol('(')?;
    if cursor.eat_symbol(')') {
        return Ok(options);
    }
    loop {
        let key = cursor.string()?;
        cursor.expect_symbol('=')?;
        let value = cursor.string()?;
        if options.insert(key.clone(), value).is_some() {
            return Err(TableError::Validation(format!("the option '{key}' is given twice")));
        }
        if cursor.eat_symbol(')') {
            return Ok(options);
        }
        cursor.expect_symbol(',')?;
    }
}

/// What a table's declaration must hold together: distinct column names, and a watermark and
/// primary key on columns the table has.
fn check(definition: &TableDefinition) -> Result<()> {
    let names: Vec<&str> = definition.columns.iter().map(|c| c.name.as_str()).collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(TableError::Validation(format!(
                "the column '{name}' of table '{}' is declared twice",
                definition.name
            )));
        }
    }
    if let Some(watermark) = &definition.watermark {
        if !names.contains(&watermark.column.as_str()) {
            return Err(TableError::Validation(format!(
                "the rowtime attribute '{}' of the WATERMARK is not a column of table '{}'; its columns are: {}",
                watermark.column,
                definition.name,
                names.join(", ")
            )));
        }
    }
    for column in definition.primary_key.iter().flatten() {
        match definition.columns.iter().find(|c| &c.name == column) {
            None => {
                return Err(TableError::Validation(format!(
                    "Could not create a PRIMARY KEY: column '{column}' does not exist in table '{}'",
                    definition.name
                )))
            }
            Some(ColumnDefinition { kind: ColumnKind::Physical(_), .. }) => {}
            Some(_) => {
                return Err(TableError::Validation(format!(
                    "Could not create a PRIMARY KEY with column '{column}': a primary key is made of physical columns, \
                     not computed or metadata ones"
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::{parse_statement, Statement};

    fn definition(sql: &str) -> TableDefinition {
        match parse_statement(sql).unwrap() {
            Statement::CreateTable { definition, .. } => definition,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_full_declaration_is_read_as_written() {
        let table = definition(
            "CREATE TEMPORARY TABLE orders (
                order_id BIGINT NOT NULL,
                price DECIMAL(10, 2),
                tags ARRAY<ROW<k STRING, v INT>> COMMENT 'labels',
                total AS price * 2,
                ts TIMESTAMP(3),
                pt AS PROCTIME(),
                part INT METADATA FROM 'partition' VIRTUAL,
                WATERMARK FOR ts AS ts - INTERVAL '5' SECOND,
                PRIMARY KEY (order_id) NOT ENFORCED
            ) COMMENT 'all orders' WITH ('connector' = 'datagen', 'number-of-rows' = '10')",
        );
        assert_eq!(table.name, "orders");
        assert!(table.temporary);
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["order_id", "price", "tags", "total", "ts", "pt", "part"]);
        assert_eq!(table.columns[0].kind, ColumnKind::Physical(DataType::parse("BIGINT NOT NULL").unwrap()));
        assert_eq!(table.columns[2].comment.as_deref(), Some("labels"));
        assert_eq!(table.columns[3].kind, ColumnKind::Computed("price * 2".into()));
        assert_eq!(table.columns[5].kind, ColumnKind::Computed("PROCTIME()".into()));
        assert_eq!(
            table.columns[6].kind,
            ColumnKind::Metadata {
                data_type: DataType::parse("INT").unwrap(),
                key: Some("partition".into()),
                is_virtual: true
            }
        );
        assert_eq!(
            table.watermark,
            Some(WatermarkDefinition { column: "ts".into(), expression: "ts - INTERVAL '5' SECOND".into() })
        );
        assert_eq!(table.primary_key, Some(vec!["order_id".into()]));
        assert_eq!(table.comment.as_deref(), Some("all orders"));
        assert_eq!(table.options["number-of-rows"], "10");
    }

    #[test]
    fn a_column_may_be_its_own_primary_key() {
        let table =
            definition("CREATE TABLE t (id INT PRIMARY KEY NOT ENFORCED, v STRING) WITH ('connector' = 'print')");
        assert_eq!(table.primary_key, Some(vec!["id".into()]));
    }

    #[test]
    fn mistakes_are_named() {
        let error = |sql: &str| parse_statement(sql).unwrap_err().to_string();
        assert!(error("CREATE TABLE t (a INT, a STRING)").contains("'a' of table 't' is declared twice"));
        assert!(error("CREATE TABLE t (a INT, WATERMARK FOR b AS b)").contains("'b' of the WATERMARK"));
        assert!(error("CREATE TABLE t (a INT, PRIMARY KEY (a) ENFORCED)").contains("NOT ENFORCED"));
        assert!(error("CREATE TABLE t (a INT, PRIMARY KEY (c) NOT ENFORCED)").contains("column 'c' does not exist"));
        assert!(error("CREATE TABLE t (a INTEGR)").contains("column 'a'"));
        assert!(error("CREATE TABLE t (a INT) WITH ('k' = 'v', 'k' = 'w')").contains("'k' is given twice"));
        assert!(error("CREATE TABLE t (a INT) WITH ('k' 'v')").contains("'=' expected"));
        assert!(error("CREATE TABLE t (a INT").contains("expected at the end"));
    }
}
