//! `Calc`: filters and projections over change batches, as one operator (Flink's `Calc`). Row
//! kinds go with their rows: a filter drops a retraction exactly when it dropped the row it
//! takes back, since both hold the same values.

use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, BooleanArray, RecordBatch, RecordBatchOptions};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::table::RowKind;
use pyflink_core::{ProcessContext, ProcessFunction};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::evaluate;
use crate::exec::group_aggregate::flink;

/// One step of a calc.
#[derive(Clone)]
pub(crate) enum Step {
    /// Keeps the rows for which the predicate is true.
    Filter(Arc<dyn PhysicalExpr>),
    /// Computes the output columns.
    Project { expressions: Vec<Arc<dyn PhysicalExpr>>, schema: SchemaRef },
}

/// Filters and projections, applied in order to each batch.
#[derive(Clone, Default)]
pub(crate) struct Calc {
    pub(crate) steps: Vec<Step>,
}

impl Calc {
    /// The calc's output for one input batch.
    pub(crate) fn apply(&self, mut batch: ChangeBatch) -> Result<ChangeBatch> {
        for step in &self.steps {
            batch = match step {
                Step::Filter(predicate) => {
                    let mask = evaluate(std::slice::from_ref(predicate), &batch.rows)?.remove(0);
                    let mask = mask.as_boolean();
                    let rows =
                        filter_record_batch(&batch.rows, mask).map_err(|e| TableError::Execution(e.to_string()))?;
                    let kinds = batch.kinds.map(|kinds| kept(&kinds, mask));
                    ChangeBatch { rows, kinds }
                }
                Step::Project { expressions, schema } => {
                    let columns = evaluate(expressions, &batch.rows)?;
                    // A projection of no columns (a query of constants only) keeps the row count.
                    let options = RecordBatchOptions::new().with_row_count(Some(batch.len()));
                    let rows = RecordBatch::try_new_with_options(Arc::clone(schema), columns, &options)
                        .map_err(|e| TableError::Execution(e.to_string()))?;
                    ChangeBatch { rows, kinds: batch.kinds }
                }
            };
        }
        Ok(batch)
    }
}

/// The kinds of the rows `mask` keeps (true, not NULL).
fn kept(kinds: &[RowKind], mask: &BooleanArray) -> Vec<RowKind> {
    kinds.iter().enumerate().filter(|(row, _)| mask.is_valid(*row) && mask.value(*row)).map(|(_, kind)| *kind).collect()
}

impl ProcessFunction<ChangeBatch, ChangeBatch> for Calc {
    fn process_element(
        &mut self,
        value: ChangeBatch,
        ctx: &mut ProcessContext<'_, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let out = self.apply(value).map_err(flink)?;
        if !out.is_empty() {
            ctx.collect(out);
        }
        Ok(())
    }
}
