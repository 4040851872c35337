//! `assign_timestamps_and_watermarks`: gives every record its event timestamp and runs the
//! strategy's watermark generator, periodically and per event.

use std::sync::Arc;

use crate::runtime::alignment::AssignerWatermark;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::time::{ProcessingTimeService, WatermarkEvent, WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
use crate::{Data, Result, Watermark};

/// Assigns timestamps and generates watermarks. Watermarks from upstream are dropped, except the
/// final one of a bounded input, which still ends event time. When the strategy aligns
/// watermarks and a source feeds this instance through forward edges, the assigner publishes its
/// watermark for that source instance, which then keeps within its group's drift (see
/// [`alignment`](crate::runtime::alignment)); this is how `from_source` aligns sources in the
/// Python API, which assigns timestamps to Python values after the source.
pub(crate) struct TimestampsAndWatermarksOperator<T: Data> {
    strategy: WatermarkStrategy<T>,
    generator: Option<Box<dyn WatermarkGenerator<T>>>,
    watermarks: WatermarkOutput,
    interval: i64,
    processing_time: Option<ProcessingTimeService>,
    /// Where the aligned source before this instance reads the watermark.
    aligned_source: Option<Arc<AssignerWatermark>>,
}

impl<T: Data> TimestampsAndWatermarksOperator<T> {
    pub(crate) fn new(strategy: WatermarkStrategy<T>) -> Self {
        TimestampsAndWatermarksOperator {
            strategy,
            generator: None,
            watermarks: WatermarkOutput::default(),
            interval: 0,
            processing_time: None,
            aligned_source: None,
        }
    }

    /// Forwards what the generator emitted to `out`, in order.
    fn emit_changes(&mut self, out: &mut Output<T>) {
        for change in self.watermarks.drain() {
            match change {
                WatermarkEvent::Watermark(timestamp) => out.emit_watermark(timestamp),
                WatermarkEvent::Idle(idle) => out.emit_watermark_status(idle),
            }
        }
        if let Some(source) = &self.aligned_source {
            source.publish(self.watermarks.current_watermark(), self.watermarks.is_idle());
        }
    }
}

impl<T: Data> OneInputOperator<T, T> for TimestampsAndWatermarksOperator<T> {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.generator = Some(self.strategy.create_generator());
        if let (Some(settings), Some((groups, source))) = (self.strategy.alignment(), &context.forward_source) {
            let assigner = groups.assigner_of(*source, context.subtask_index);
            assigner.align(settings);
            self.aligned_source = Some(assigner);
        }
        // Batch jobs only need the final watermark at the end of input.
        if context.auto_watermark_interval > 0 && !context.batch_mode {
            self.interval = context.auto_watermark_interval;
            let service = context.processing_time_service().clone();
            service.request_callback(service.current_processing_time() + self.interval);
            self.processing_time = Some(service);
        }
        Ok(())
    }

    #[inline]
    fn process_element(&mut self, value: T, out: &mut Output<T>) -> Result<()> {
        let timestamp = self.strategy.try_extract_timestamp(&value, out.timestamp())?;
        let generator = self.generator.as_mut().expect("opened before the first record");
        match timestamp {
            Some(ts) => {
                generator.on_event(&value, ts, &mut self.watermarks);
                out.collect_with_timestamp(value, Some(ts));
                self.emit_changes(out);
            }
            None => out.collect_with_timestamp(value, None),
        }
        Ok(())
    }

    fn process_watermark(&mut self, timestamp: i64, out: &mut Output<T>) -> Result<()> {
        if timestamp == Watermark::MAX_TIMESTAMP {
            self.watermarks.emit_watermark(timestamp);
            self.emit_changes(out);
        }
        Ok(())
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Output<T>) -> Result<()> {
        if let Some(generator) = self.generator.as_mut() {
            generator.on_periodic_emit(&mut self.watermarks);
        }
        self.emit_changes(out);
        if let Some(service) = &self.processing_time {
            service.request_callback(now + self.interval);
        }
        Ok(())
    }
}
