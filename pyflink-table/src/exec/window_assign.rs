//! `WindowAssign`: the rows of a window function call. Each input row is kept once per window
//! that holds its time, with the window's `window_start`, `window_end` and `window_time`
//! columns added.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, TimestampMillisecondArray};
use datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef};
use pyflink_core::{ProcessContext, ProcessFunction};

use crate::batch::{take_rows, ChangeBatch};
use crate::error::{Result, TableError};
use crate::exec::group_aggregate::flink;
use crate::exec::watermarks::row_times;
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
        let times = row_times(rows.column(self.window.time_column))?;
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
        let columns: Vec<ArrayRef> = if positions.len() == rows.num_rows() {
            rows.columns().to_vec()
        } else {
            take_rows(rows, positions)?.columns().to_vec()
        };
        with_window_columns(&self.schema, columns, starts, ends)
    }
}

/// The rows of `columns` (the input's) with the window columns of a window function added:
/// `window_start` and `window_end` of each row's window, and `window_time`, its last
/// millisecond, in the time zone of the input's time attribute (`schema`'s last column).
pub(crate) fn with_window_columns(
    schema: &SchemaRef,
    mut columns: Vec<ArrayRef>,
    starts: Vec<i64>,
    ends: Vec<i64>,
) -> Result<RecordBatch> {
    let window_time: Vec<i64> = ends.iter().map(|end| end - 1).collect();
    let time_zone = match schema.field(schema.fields().len() - 1).data_type() {
        ArrowType::Timestamp(_, time_zone) => time_zone.clone(),
        _ => None,
    };
    columns.push(Arc::new(TimestampMillisecondArray::from(starts)));
    columns.push(Arc::new(TimestampMillisecondArray::from(ends)));
    columns.push(Arc::new(TimestampMillisecondArray::from(window_time).with_timezone_opt(time_zone)));
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(TableError::execution)
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
