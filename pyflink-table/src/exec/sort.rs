//! `Sort`: `ORDER BY` over bounded input (batch mode). All rows meet in one instance (one key),
//! which keeps them until its input ends, then emits them sorted, only the first `fetch` when
//! the query has a limit.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::{concat_batches, lexsort_to_indices, take_record_batch, SortColumn, SortOptions};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::evaluate;
use crate::exec::group_aggregate::flink;
use crate::exec::key_split::GroupKey;

/// One sort key: what to sort by, and which way.
#[derive(Clone)]
pub(crate) struct SortKey {
    pub(crate) expression: Arc<dyn PhysicalExpr>,
    pub(crate) options: SortOptions,
}

/// Sorts all its input by `keys` at the end of input.
#[derive(Clone)]
pub(crate) struct Sort {
    pub(crate) keys: Vec<SortKey>,
    pub(crate) fetch: Option<usize>,
    pub(crate) schema: SchemaRef,
    /// The rows so far.
    rows: Vec<RecordBatch>,
}

impl Sort {
    pub(crate) fn new(keys: Vec<SortKey>, fetch: Option<usize>, schema: SchemaRef) -> Self {
        Sort { keys, fetch, schema, rows: Vec::new() }
    }

    /// The rows kept, sorted and cut to `fetch`.
    fn sorted(&mut self) -> Result<RecordBatch> {
        let failed = |e: datafusion::arrow::error::ArrowError| TableError::Execution(format!("sorting failed: {e}"));
        let all = concat_batches(&self.schema, &std::mem::take(&mut self.rows)).map_err(failed)?;
        let values = evaluate(&self.keys.iter().map(|key| Arc::clone(&key.expression)).collect::<Vec<_>>(), &all)?;
        let columns: Vec<SortColumn> = values
            .into_iter()
            .zip(&self.keys)
            .map(|(values, key)| SortColumn { values, options: Some(key.options) })
            .collect();
        let indices = lexsort_to_indices(&columns, self.fetch).map_err(failed)?;
        take_record_batch(&all, &indices).map_err(failed)
    }
}

impl KeyedProcessFunction<GroupKey, ChangeBatch, ChangeBatch> for Sort {
    fn process_element(
        &mut self,
        changes: ChangeBatch,
        _ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        if changes.kinds.is_some() {
            return Err(flink(TableError::Unsupported("ORDER BY over a table that is updated in queries".into())));
        }
        self.rows.push(changes.rows);
        Ok(())
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> pyflink_core::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let sorted = self.sorted().map_err(flink)?;
        ctx.collect(ChangeBatch::inserts(sorted));
        Ok(())
    }
}
