//! Watermarks of a table with a `WATERMARK FOR rowtime AS expression` clause: the watermark is
//! the highest value of the expression over the rows read so far, as in Flink SQL.
//!
//! Flink emits that value every `pipeline.auto-watermark-interval`; here it goes out after each
//! batch that raised it. A batch holds up to a few thousand rows that arrived together, so this
//! is about as often, and it makes which rows are late a matter of the input's order alone,
//! not of timing.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, TimestampMillisecondArray};
use datafusion::arrow::compute::{cast, max};
use datafusion::arrow::datatypes::{DataType as ArrowType, TimeUnit};
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::time::{TimestampAssigner, WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
use pyflink_core::DataStream;

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::evaluate;
use crate::exec::group_aggregate::flink;

/// `stream` with the watermarks `expression` (over its rows) makes.
pub(crate) fn assign_watermarks(
    stream: DataStream<ChangeBatch>,
    expression: Arc<dyn PhysicalExpr>,
) -> DataStream<ChangeBatch> {
    let strategy = WatermarkStrategy::for_generator(HighestValue::default)
        .with_timestamp_assigner(WatermarkOfBatch { expression });
    stream.assign_timestamps_and_watermarks(strategy)
}

/// Gives each batch, as its record timestamp, the highest value of the watermark expression
/// over its rows (the rows' own event times stay in their rowtime column), so that
/// [`HighestValue`] sees it.
struct WatermarkOfBatch {
    expression: Arc<dyn PhysicalExpr>,
}

impl TimestampAssigner<ChangeBatch> for WatermarkOfBatch {
    fn extract_timestamp(&self, batch: &ChangeBatch, record_timestamp: Option<i64>) -> i64 {
        self.try_extract_timestamp(batch, record_timestamp).unwrap_or(i64::MIN)
    }

    fn try_extract_timestamp(&self, batch: &ChangeBatch, _: Option<i64>) -> pyflink_core::Result<i64> {
        let values = evaluate(std::slice::from_ref(&self.expression), &batch.rows).map_err(flink)?;
        let values = millis(&values[0]).map_err(flink)?;
        Ok(max(&values).unwrap_or(i64::MIN))
    }
}

/// Emits the highest watermark value seen, whenever a batch raises it.
#[derive(Default)]
struct HighestValue;

impl WatermarkGenerator<ChangeBatch> for HighestValue {
    fn on_event(&mut self, _batch: &ChangeBatch, watermark: i64, output: &mut WatermarkOutput) {
        // The output ignores a watermark that does not rise.
        if watermark > i64::MIN {
            output.emit_watermark(watermark);
        }
    }

    fn on_periodic_emit(&mut self, _output: &mut WatermarkOutput) {}
}

/// The values of a timestamp column in epoch milliseconds (a `TIMESTAMP(0)` column holds
/// seconds).
/// The event times of `column` in milliseconds, which must all be there: a row's time
/// attribute decides its window, so a NULL one is an error, as in Flink.
pub(crate) fn row_times(column: &ArrayRef) -> Result<TimestampMillisecondArray> {
    let times = millis(column)?;
    if times.null_count() > 0 {
        return Err(TableError::Execution(
            "RowTime field should not be null, please convert it to a non-null long value.".into(),
        ));
    }
    Ok(times)
}

pub(crate) fn millis(column: &ArrayRef) -> Result<TimestampMillisecondArray> {
    let target = ArrowType::Timestamp(TimeUnit::Millisecond, None);
    let converted = match column.data_type() {
        ArrowType::Timestamp(_, _) => {
            cast(column.as_ref(), &target).map_err(|e| TableError::Execution(e.to_string()))?
        }
        other => return Err(TableError::Execution(format!("a time attribute must be a timestamp, not {other}"))),
    };
    converted
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .cloned()
        .ok_or_else(|| TableError::Execution("a timestamp column did not convert to milliseconds".into()))
}
