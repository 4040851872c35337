//! Event time and processing time: watermark strategies and generators, the processing-time
//! clock, and the timer queues behind timers and windows.
//!
//! Event time comes from the records: a [`WatermarkStrategy`] assigns each record its timestamp
//! and emits watermarks, the assertion that no record with a timestamp at or below the
//! watermark will follow. Watermarks travel in-band with the records; an operator with several
//! upstream instances combines them by taking the minimum over its active inputs, so event-time
//! timers and windows fire exactly when every input has passed them.

mod generators;
pub(crate) mod processing_time;
pub(crate) mod timer_queue;
pub(crate) mod timer_service;
mod watermark_strategy;

pub use processing_time::{current_processing_time, ProcessingTimeService};
pub use timer_queue::TimeDomain;
pub use timer_service::TimerService;
pub(crate) use watermark_strategy::{duration_millis, WatermarkEvent};
pub use watermark_strategy::{
    TimestampAssigner, WatermarkAlignment, WatermarkGenerator, WatermarkOutput, WatermarkStrategy,
    DEFAULT_ALIGNMENT_UPDATE_INTERVAL,
};
