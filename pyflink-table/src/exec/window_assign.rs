//! `WindowAssign`: the rows of a window function call. Each input row is kept once per window
//! that holds its time, with the window's `window_start`, `window_end` and `window_time`
//! columns added.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, TimestampMillisecondArray, UInt32Array};
use datafusion::arrow::compute::take;
use datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef};
use pyflink_core::{ProcessContext, ProcessFunction};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::group_aggregate::flink;
use crate::exec::watermarks::millis;
use crate::windows::WindowTvf;

/// Assigns the rows of each batch to their windows.
#[derive(Clone)]
pub(crate) struct WindowAssign {
    pub(crate) window: Arc<WindowTvf>,
    /// The input's columns and the three window columns.
    pub(crate) schema: SchemaRef,
}

impl WindowAssign {
    fn assign(&self, input: &ChangeBatch) -> Result<RecordBatch> {
        if input.kinds.is_some() {
            return Err(TableError::Unsupported(format!(
                "{} over a table that is updated (a changelog) in queries; window functions read tables \
                 that are only appended to",
                self.window.name()
            )));
        }
        let rows = &input.rows;
        let times = millis(rows.column(self.window.time_column))?;
        if times.null_count() > 0 {
            return Err(TableError::Execution(
                "RowTime field should not be null, please convert it to a non-null long value.".into(),
            ));
        }
        let capacity = rows.num_rows() * self.window.windows_per_row();
        let mut positions = Vec::with_capacity(capacity);
        let mut starts = Vec::with_capacity(capacity);
        let mut ends = Vec::with_capacity(capacity);
        for (row, &time) in times.values().iter().enumerate() {
            self.window.windows(time, |start, end| {
                positions.push(row as u32);
                starts.push(start);
                ends.push(end);
            });
        }
        let mut columns: Vec<ArrayRef> = if positions.len() == rows.num_rows() {
            rows.columns().to_vec()
        } else {
            let positions = UInt32Array::from(positions);
            rows.columns()
                .iter()
                .map(|column| take(column.as_ref(), &positions, None))
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| TableError::Execution(e.to_string()))?
        };
        let window_time: Vec<i64> = ends.iter().map(|end| end - 1).collect();
        let time_zone = match self.schema.field(self.schema.fields().len() - 1).data_type() {
            ArrowType::Timestamp(_, time_zone) => time_zone.clone(),
            _ => None,
        };
        columns.push(Arc::new(TimestampMillisecondArray::from(starts)));
        columns.push(Arc::new(TimestampMillisecondArray::from(ends)));
        columns.push(Arc::new(TimestampMillisecondArray::from(window_time).with_timezone_opt(time_zone)));
        RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| TableError::Execution(e.to_string()))
    }
}

impl ProcessFunction<ChangeBatch, ChangeBatch> for WindowAssign {
    fn process_element(
        &mut self,
        value: ChangeBatch,
        ctx: &mut ProcessContext<'_, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let rows = self.assign(&value).map_err(flink)?;
        if rows.num_rows() > 0 {
            ctx.collect(ChangeBatch::inserts(rows));
        }
        Ok(())
    }
}
