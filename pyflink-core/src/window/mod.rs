//! Windows: grouping a stream's elements by time or count and evaluating each group.
//!
//! A window pipeline has four parts, as in Flink:
//! - a [`WindowAssigner`] puts each element into windows: [`TumblingEventTimeWindows`],
//!   [`SlidingEventTimeWindows`], [`EventTimeSessionWindows`] (static or dynamic gap), their
//!   processing-time counterparts, or [`GlobalWindows`];
//! - a [`Trigger`] decides when a window fires ([`EventTimeTrigger`], [`ProcessingTimeTrigger`],
//!   [`CountTrigger`], [`ContinuousEventTimeTrigger`], [`PurgingTrigger`], or your own);
//! - an optional [`Evictor`] removes elements before or after evaluation ([`CountEvictor`],
//!   [`TimeEvictor`]);
//! - a window function evaluates it: `reduce` and `aggregate` ([`AggregateFunction`]) fold
//!   elements as they arrive, [`ProcessWindowFunction`] sees all elements (or the folded result)
//!   with the window's context.
//!
//! Event-time windows fire when the watermark passes their end, and are kept for the allowed
//! lateness after that; elements later than that go to the late-data side output if one is set.
//! Results carry the window's max timestamp as their event timestamp.

mod assigners;
pub(crate) mod contents;
mod evictors;
pub(crate) mod functions;
pub(crate) mod operator;
mod sessions;
mod triggers;
mod windows;

pub use assigners::{
    EventTime, GlobalWindows, ProcessingTime, SlidingEventTimeWindows, SlidingProcessingTimeWindows, SlidingWindows,
    TumblingEventTimeWindows, TumblingProcessingTimeWindows, TumblingWindows, WindowAssigner, WindowTime,
};
pub use evictors::{CountEvictor, Evictor, EvictorContext, TimeEvictor, TimestampedValue};
pub use functions::{
    AggregateFunction, ProcessAllWindowFunction, ProcessWindowFunction, TryAggregateFunction, WindowContext,
    WindowRuntimeContext,
};
pub use sessions::{
    DynamicEventTimeSessionWindows, DynamicGap, DynamicProcessingTimeSessionWindows, EventTimeSessionWindows, FixedGap,
    ProcessingTimeSessionWindows, SessionGap, SessionWindows,
};
pub use triggers::{
    ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger, CountTrigger, EventTimeTrigger, NeverTrigger,
    ProcessingTimeTrigger, PurgingTrigger, Trigger, TriggerContext, TriggerResult,
};
pub use windows::{GlobalWindow, TimeWindow, Window};
