//! `ConnectorTable`: a table declared by `CREATE TABLE`, resolved: the types of its computed
//! columns planned, what its connector reads and writes, and its event-time attribute.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::DFSchemaRef;
use datafusion::logical_expr::Expr;

use pyflink_core::StreamExecutionEnvironment;

use crate::catalog::Catalog;
use crate::connectors::TableContext;
use crate::ddl::{legacy_options, ColumnKind, TableDefinition};
use crate::error::{Result, TableError};
use crate::plan::{plan_columns, ColumnSource};
use crate::types::DataType;

/// A table of a connector, ready to be read and written.
#[derive(Debug, Clone)]
pub(crate) struct ConnectorTable {
    pub(crate) definition: TableDefinition,
    /// The table's columns, in the order declared.
    pub(crate) schema: SchemaRef,
    /// What the connector reads: the physical and metadata columns.
    pub(crate) read_schema: SchemaRef,
    /// Each column of the table as an expression over the columns read.
    pub(crate) columns: Vec<Expr>,
    /// The schema `columns` are expressions over.
    pub(crate) read_columns: DFSchemaRef,
    /// What the connector writes: the physical columns and the metadata ones not `VIRTUAL`.
    pub(crate) write_schema: SchemaRef,
    /// The positions in `schema` of the event-time attribute (the `WATERMARK`'s column) and of
    /// the processing-time attributes (columns `AS PROCTIME()`).
    pub(crate) rowtime: Option<usize>,
    pub(crate) proctime: Vec<usize>,
    /// The `WATERMARK` clause's expression, over the table's columns (qualified by its name).
    pub(crate) watermark: Option<Expr>,
    /// Whether a query's updates are written by the query's unique key, the table having no
    /// primary key (a `jdbc` table declared with Flink 1.10's option keys).
    pub(crate) upsert_by_query_key: bool,
}

impl ConnectorTable {
    /// `definition` resolved against the functions of `catalog`.
    /// Tables declared with Flink 1.10/1.11's option keys get today's ([`legacy_options`]).
    pub(crate) fn resolve(catalog: &Catalog, mut definition: TableDefinition) -> Result<Self> {
        let mut upsert_by_query_key = false;
        if let Some(legacy) = legacy_options::translate(&definition.name, &definition.options) {
            definition.options = legacy.options;
            upsert_by_query_key = legacy.upsert_by_query_key && definition.primary_key.is_none();
        }
        let primary_key = definition.primary_key.clone().unwrap_or_default();
        let field = |name: &str, data_type: &DataType| {
            // The columns of a primary key are NOT NULL, as in Flink.
            let nullable = data_type.nullable && !primary_key.iter().any(|key| key == name);
            Field::new(name, data_type.to_arrow(), nullable)
        };
        let read_fields: Vec<Field> = definition
            .columns
            .iter()
            .filter_map(|column| match &column.kind {
                ColumnKind::Physical(data_type) | ColumnKind::Metadata { data_type, .. } => {
                    Some(field(&column.name, data_type))
                }
                ColumnKind::Computed(_) => None,
            })
            .collect();
        let write_fields: Vec<Field> = definition
            .columns
            .iter()
            .filter_map(|column| match &column.kind {
                ColumnKind::Physical(data_type) | ColumnKind::Metadata { data_type, is_virtual: false, .. } => {
                    Some(field(&column.name, data_type))
                }
                _ => None,
            })
            .collect();
        let read_schema = Arc::new(Schema::new(read_fields));
        let sources: Vec<(String, ColumnSource<'_>)> = definition
            .columns
            .iter()
            .map(|column| {
                let source = match &column.kind {
                    ColumnKind::Computed(text) => ColumnSource::Expression(text),
                    _ => ColumnSource::Input(&column.name),
                };
                (column.name.clone(), source)
            })
            .collect();
        let (columns, schema) = plan_columns(catalog, &definition.name, Arc::clone(&read_schema), &sources)?;
        let read_columns = {
            let scan = datafusion::common::DFSchema::try_from_qualified_schema(definition.name.as_str(), &read_schema)?;
            Arc::new(scan)
        };
        let schema = Arc::new(schema.as_arrow().clone());
        let proctime = definition
            .columns
            .iter()
            .enumerate()
            .filter(|(_, column)| matches!(&column.kind, ColumnKind::Computed(text) if is_proctime_call(text)))
            .map(|(position, _)| position)
            .collect();
        let mut table = ConnectorTable {
            read_schema,
            columns,
            read_columns,
            write_schema: Arc::new(Schema::new(write_fields)),
            rowtime: None,
            proctime,
            watermark: None,
            upsert_by_query_key,
            schema,
            definition,
        };
        if let Some((rowtime, watermark)) = table.check_watermark(catalog)? {
            table.rowtime = Some(rowtime);
            table.watermark = Some(watermark);
        }
        Ok(table)
    }

    /// The position of the watermark's column and the planned watermark expression, after
    /// checking that both are timestamps of at most millisecond precision, as Flink requires.
    fn check_watermark(&self, catalog: &Catalog) -> Result<Option<(usize, Expr)>> {
        let Some(watermark) = &self.definition.watermark else { return Ok(None) };
        let Some((position, field)) = self.schema.column_with_name(&watermark.column) else {
            return Err(TableError::Validation(format!(
                "the rowtime attribute '{}' is not a column of table '{}'",
                watermark.column, self.definition.name
            )));
        };
        let is_rowtime_type = |data_type: &ArrowType| {
            matches!(data_type, ArrowType::Timestamp(TimeUnit::Second | TimeUnit::Millisecond, _))
        };
        if !is_rowtime_type(field.data_type()) {
            return Err(TableError::Validation(format!(
                "Invalid data type of time field for watermark definition. The field must be of type TIMESTAMP(p) or \
                 TIMESTAMP_LTZ(p), the supported precision 'p' is from 0 to 3, but the time field type is {}",
                crate::types::flink_name_of_field(field)
            )));
        }
        let (mut expressions, planned) = plan_columns(
            catalog,
            &self.definition.name,
            Arc::clone(&self.schema),
            &[("watermark".to_string(), ColumnSource::Expression(&watermark.expression))],
        )?;
        let expression_type = planned.field(0);
        if !is_rowtime_type(expression_type.data_type()) {
            return Err(TableError::Validation(format!(
                "Invalid data type of expression for watermark definition. The field must be of type TIMESTAMP(p) or \
                 TIMESTAMP_LTZ(p), the supported precision 'p' is from 0 to 3, but the watermark expression type is {}",
                crate::types::flink_name_of_field(expression_type)
            )));
        }
        let expression = expressions.pop().map(|expression| expression.unalias());
        Ok(expression.map(|expression| (position, expression)))
    }

    /// What the connector is told when it reads the table (`writing` false) or writes it.
    pub(crate) fn context<'a>(
        &'a self,
        env: &'a StreamExecutionEnvironment,
        streaming: bool,
        writing: bool,
    ) -> TableContext<'a> {
        let schema = if writing { Arc::clone(&self.write_schema) } else { Arc::clone(&self.read_schema) };
        let position = |name: &str| schema.index_of(name).ok();
        let primary_key = self
            .definition
            .primary_key
            .as_ref()
            .map(|columns| columns.iter().filter_map(|column| position(column)).collect());
        let metadata = self
            .definition
            .columns
            .iter()
            .filter_map(|column| match &column.kind {
                ColumnKind::Metadata { key, .. } => {
                    Some((position(&column.name)?, key.clone().unwrap_or_else(|| column.name.clone())))
                }
                _ => None,
            })
            .collect();
        let partition_keys = self.definition.partition_keys.iter().filter_map(|column| position(column)).collect();
        TableContext {
            env,
            table_name: &self.definition.name,
            schema,
            options: &self.definition.options,
            primary_key,
            partition_keys,
            metadata,
            streaming,
        }
    }

    /// The rows of `DESCRIBE`: name, type, whether NULL is allowed, key, extras and watermark
    /// of each column.
    pub(crate) fn describe(&self) -> Vec<[String; 6]> {
        let primary_key = self.definition.primary_key.clone().unwrap_or_default();
        self.definition
            .columns
            .iter()
            .zip(self.schema.fields())
            .enumerate()
            .map(|(position, (column, field))| {
                let mut data_type = crate::types::flink_name(field.data_type());
                if self.rowtime == Some(position) {
                    data_type.push_str(" *ROWTIME*");
                } else if self.proctime.contains(&position) {
                    data_type.push_str(" *PROCTIME*");
                }
                let nullable = if field.is_nullable() && !self.proctime.contains(&position) { "TRUE" } else { "FALSE" };
                let key = if primary_key.contains(&column.name) {
                    format!("PRI({})", primary_key.join(", "))
                } else {
                    String::new()
                };
                let extras = match &column.kind {
                    ColumnKind::Physical(_) => String::new(),
                    ColumnKind::Computed(text) => format!("AS {text}"),
                    ColumnKind::Metadata { key, is_virtual, .. } => {
                        let from = key.as_ref().map_or(String::new(), |key| format!(" FROM '{key}'"));
                        format!("METADATA{from}{}", if *is_virtual { " VIRTUAL" } else { "" })
                    }
                };
                let watermark = match &self.definition.watermark {
                    Some(watermark) if watermark.column == column.name => watermark.expression.clone(),
                    _ => String::new(),
                };
                [column.name.clone(), data_type, nullable.to_string(), key, extras, watermark]
            })
            .collect()
    }
}

/// Whether a computed column's expression is `PROCTIME()`.
fn is_proctime_call(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    compact.eq_ignore_ascii_case("PROCTIME()")
}
