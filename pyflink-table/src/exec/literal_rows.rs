//! Rows written in the query itself: `VALUES (1, 'a'), (2, 'b')` and a `SELECT` without
//! `FROM` (one row of no columns), as a source of one batch.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::{cast, concat};
use datafusion::arrow::datatypes::Schema;
use datafusion::common::DFSchema;
use datafusion::logical_expr::{EmptyRelation, Values};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::{evaluate, physical, Compiler, Planned};

impl Compiler<'_> {
    /// `VALUES`: each row's expressions evaluated once, the rows one batch.
    pub(super) fn values(&self, values: &Values) -> Result<Planned> {
        let schema = Arc::new(values.schema.as_arrow().clone());
        let nothing = DFSchema::empty();
        let one_row = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            Vec::new(),
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )
        .map_err(TableError::execution)?;
        let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::with_capacity(values.values.len()); schema.fields().len()];
        for row in &values.values {
            let expressions = row.iter().map(|value| physical(value, &nothing)).collect::<Result<Vec<_>>>()?;
            for ((column, value), field) in
                columns.iter_mut().zip(evaluate(&expressions, &one_row)?).zip(schema.fields())
            {
                let value = if value.data_type() == field.data_type() {
                    value
                } else {
                    cast(&value, field.data_type()).map_err(TableError::execution)?
                };
                column.push(value);
            }
        }
        let columns = columns
            .iter()
            .map(|parts| {
                let parts: Vec<&dyn datafusion::arrow::array::Array> = parts.iter().map(|part| part.as_ref()).collect();
                concat(&parts).map_err(TableError::execution)
            })
            .collect::<Result<Vec<_>>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(values.values.len()));
        let rows =
            RecordBatch::try_new_with_options(Arc::clone(&schema), columns, &options).map_err(TableError::execution)?;
        let stream = self.env.from_collection(vec![ChangeBatch::inserts(rows)]).name("Source: Values");
        Ok(Planned { stream, schema, updates: false })
    }

    /// A `SELECT` without `FROM`: one row of no columns, for the projection above to fill.
    pub(super) fn empty_relation(&self, empty: &EmptyRelation) -> Result<Planned> {
        let schema = Arc::new(empty.schema.as_arrow().clone());
        let rows = usize::from(empty.produce_one_row);
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let columns = schema
            .fields()
            .iter()
            .map(|field| datafusion::arrow::array::new_null_array(field.data_type(), rows))
            .collect();
        let batch =
            RecordBatch::try_new_with_options(Arc::clone(&schema), columns, &options).map_err(TableError::execution)?;
        let stream = self.env.from_collection(vec![ChangeBatch::inserts(batch)]).name("Source: Values");
        Ok(Planned { stream, schema, updates: false })
    }
}
