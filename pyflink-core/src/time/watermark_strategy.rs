//! `WatermarkStrategy`: how a stream gets event timestamps and watermarks, as in Flink.
//!
//! A strategy pairs a [`TimestampAssigner`] (where a record's event time comes from) with a
//! factory of [`WatermarkGenerator`]s (when event time has progressed). Generators see every
//! event through `on_event` and are asked periodically (`pipeline.auto-watermark-interval`,
//! 200 ms by default) through `on_periodic_emit`; both may emit through a [`WatermarkOutput`].

use std::sync::Arc;
use std::time::Duration;

use crate::time::generators::{BoundedOutOfOrderness, NoWatermarks, WithIdleness};

/// Extracts the event timestamp (milliseconds) of a record; `record_timestamp` is the timestamp
/// the record already carries, if any.
pub trait TimestampAssigner<T>: Send + Sync + 'static {
    /// The event timestamp of `value`.
    fn extract_timestamp(&self, value: &T, record_timestamp: Option<i64>) -> i64;

    /// The event timestamp of `value`, or the error that fails the task. `assign_timestamps_and_watermarks`
    /// calls this form; an assigner that runs code which can fail (a Python function) overrides it.
    fn try_extract_timestamp(&self, value: &T, record_timestamp: Option<i64>) -> crate::Result<i64> {
        Ok(self.extract_timestamp(value, record_timestamp))
    }
}

impl<T, F: Fn(&T, Option<i64>) -> i64 + Send + Sync + 'static> TimestampAssigner<T> for F {
    fn extract_timestamp(&self, value: &T, record_timestamp: Option<i64>) -> i64 {
        self(value, record_timestamp)
    }
}

/// Generates watermarks from the events of one stream (or one source split).
pub trait WatermarkGenerator<T>: Send + 'static {
    /// Called for every event with its timestamp; may emit a watermark (punctuated generators).
    fn on_event(&mut self, event: &T, event_timestamp: i64, output: &mut WatermarkOutput);

    /// Called every auto-watermark interval; periodic generators emit here.
    fn on_periodic_emit(&mut self, output: &mut WatermarkOutput);
}

/// Where a [`WatermarkGenerator`] emits. Watermarks only ever rise: a watermark at or below
/// the highest emitted one is ignored. Emitting a watermark marks an idle output active again.
#[derive(Debug)]
pub struct WatermarkOutput {
    current: i64,
    idle: bool,
    events: Vec<WatermarkEvent>,
}

/// A change a generator made to its output, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WatermarkEvent {
    Watermark(i64),
    Idle(bool),
}

impl Default for WatermarkOutput {
    fn default() -> Self {
        WatermarkOutput { current: i64::MIN, idle: false, events: Vec::new() }
    }
}

impl WatermarkOutput {
    /// Emits a watermark at `timestamp` if it is above every watermark emitted before.
    pub fn emit_watermark(&mut self, timestamp: i64) {
        if timestamp <= self.current {
            return;
        }
        self.current = timestamp;
        self.mark_active();
        self.events.push(WatermarkEvent::Watermark(timestamp));
    }

    /// Declares the output idle: it holds no downstream watermark back until it emits again.
    pub fn mark_idle(&mut self) {
        if !self.idle {
            self.idle = true;
            self.events.push(WatermarkEvent::Idle(true));
        }
    }

    /// Declares an idle output active again.
    pub fn mark_active(&mut self) {
        if self.idle {
            self.idle = false;
            self.events.push(WatermarkEvent::Idle(false));
        }
    }

    /// The highest watermark emitted so far.
    pub fn current_watermark(&self) -> i64 {
        self.current
    }

    /// Whether the output is idle.
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Whether changes are waiting to be drained.
    #[inline]
    pub(crate) fn has_pending(&self) -> bool {
        !self.events.is_empty()
    }

    /// Takes the changes made since the last call, in order.
    pub(crate) fn drain(&mut self) -> std::vec::Drain<'_, WatermarkEvent> {
        self.events.drain(..)
    }
}

type GeneratorFactory<T> = Arc<dyn Fn() -> Box<dyn WatermarkGenerator<T>> + Send + Sync>;

/// How a stream gets timestamps and watermarks; see the module docs.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::time::WatermarkStrategy;
///
/// let strategy = WatermarkStrategy::<(String, i64)>::for_bounded_out_of_orderness(Duration::from_secs(2))
///     .with_timestamp_assigner(|event: &(String, i64), _| event.1)
///     .with_idleness(Duration::from_secs(30));
/// # let _ = strategy;
/// ```
pub struct WatermarkStrategy<T> {
    generator: GeneratorFactory<T>,
    assigner: Option<Arc<dyn TimestampAssigner<T>>>,
    idle_timeout: Option<Duration>,
    no_watermarks: bool,
    alignment: Option<WatermarkAlignment>,
}

/// How a source's watermark is kept close to the other sources of its group; see
/// [`WatermarkStrategy::with_watermark_alignment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatermarkAlignment {
    /// The sources aligned with each other (any source of the job may join any group).
    pub group: String,
    /// How far a source instance's watermark may be ahead of the group's lowest before it
    /// stops reading.
    pub max_drift: Duration,
    /// How often instances report their watermark and learn the group's lowest.
    pub update_interval: Duration,
}

/// Flink's default of how often aligned sources report their watermarks.
pub const DEFAULT_ALIGNMENT_UPDATE_INTERVAL: Duration = Duration::from_secs(1);

impl<T> Clone for WatermarkStrategy<T> {
    fn clone(&self) -> Self {
        WatermarkStrategy {
            generator: Arc::clone(&self.generator),
            assigner: self.assigner.clone(),
            idle_timeout: self.idle_timeout,
            no_watermarks: self.no_watermarks,
            alignment: self.alignment.clone(),
        }
    }
}

impl<T: 'static> WatermarkStrategy<T> {
    /// Watermarks for timestamps that never decrease: the watermark trails the highest timestamp
    /// seen by one millisecond.
    pub fn for_monotonous_timestamps() -> Self {
        Self::for_bounded_out_of_orderness(Duration::ZERO)
    }

    /// Watermarks for events at most `max_out_of_orderness` late: the watermark is the highest
    /// timestamp seen minus that bound minus one millisecond.
    pub fn for_bounded_out_of_orderness(max_out_of_orderness: Duration) -> Self {
        let delay = duration_millis(max_out_of_orderness);
        Self::for_generator(move || BoundedOutOfOrderness::new(delay))
    }

    /// No watermarks at all: event time never advances (except at the end of a bounded input).
    pub fn no_watermarks() -> Self {
        WatermarkStrategy { no_watermarks: true, ..Self::for_generator(|| NoWatermarks) }
    }

    /// A strategy with a custom generator, one created per stream instance or split.
    pub fn for_generator<G: WatermarkGenerator<T>>(factory: impl Fn() -> G + Send + Sync + 'static) -> Self {
        WatermarkStrategy {
            generator: Arc::new(move || Box::new(factory()) as Box<dyn WatermarkGenerator<T>>),
            assigner: None,
            idle_timeout: None,
            no_watermarks: false,
            alignment: None,
        }
    }

    /// Takes event timestamps from `assigner` instead of the timestamps records already carry.
    pub fn with_timestamp_assigner(mut self, assigner: impl TimestampAssigner<T>) -> Self {
        self.assigner = Some(Arc::new(assigner));
        self
    }

    /// Marks the stream (or split) idle when it has had no events for `idle_timeout` of
    /// processing time, so it does not hold back downstream watermarks.
    pub fn with_idleness(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = Some(idle_timeout);
        self
    }

    /// Aligns the watermarks of the sources that use this strategy with those of the other
    /// sources in `group`: a source instance whose watermark is more than `max_drift` ahead of
    /// the lowest watermark in the group stops reading until the group catches up. Instances
    /// report every `update_interval` ([`DEFAULT_ALIGNMENT_UPDATE_INTERVAL`] when `None`).
    /// Only sources are aligned; `assign_timestamps_and_watermarks` ignores this, as in Flink.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pyflink_core::time::WatermarkStrategy;
    ///
    /// let strategy = WatermarkStrategy::<i64>::for_monotonous_timestamps()
    ///     .with_watermark_alignment("orders-and-payments", Duration::from_secs(20), None);
    /// assert_eq!(strategy.alignment().unwrap().update_interval, Duration::from_secs(1));
    /// ```
    pub fn with_watermark_alignment(
        mut self,
        group: &str,
        max_drift: Duration,
        update_interval: Option<Duration>,
    ) -> Self {
        self.alignment = Some(WatermarkAlignment {
            group: group.to_string(),
            max_drift,
            update_interval: update_interval.unwrap_or(DEFAULT_ALIGNMENT_UPDATE_INTERVAL),
        });
        self
    }

    /// The strategy's watermark alignment, if it has one.
    pub fn alignment(&self) -> Option<&WatermarkAlignment> {
        self.alignment.as_ref()
    }

    /// A new generator, wrapped for idleness detection if configured.
    pub(crate) fn create_generator(&self) -> Box<dyn WatermarkGenerator<T>> {
        let inner = (self.generator)();
        match self.idle_timeout {
            Some(timeout) => Box::new(WithIdleness::new(inner, duration_millis(timeout))),
            None => inner,
        }
    }

    /// Whether the strategy neither assigns timestamps nor generates watermarks, so a source
    /// can skip it per record.
    pub(crate) fn is_noop(&self) -> bool {
        self.assigner.is_none() && self.idle_timeout.is_none() && self.no_watermarks
    }

    /// The event timestamp of a record: from the assigner if there is one, else the one the
    /// record carries.
    #[inline]
    pub(crate) fn extract_timestamp(&self, value: &T, record_timestamp: Option<i64>) -> Option<i64> {
        match &self.assigner {
            Some(assigner) => Some(assigner.extract_timestamp(value, record_timestamp)),
            None => record_timestamp,
        }
    }

    /// The same as `extract_timestamp`, with the assigner's failure as an error.
    #[inline]
    pub(crate) fn try_extract_timestamp(&self, value: &T, record_timestamp: Option<i64>) -> crate::Result<Option<i64>> {
        match &self.assigner {
            Some(assigner) => assigner.try_extract_timestamp(value, record_timestamp).map(Some),
            None => Ok(record_timestamp),
        }
    }
}

/// A duration in whole milliseconds, saturating at `i64::MAX`.
pub(crate) fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(output: &mut WatermarkOutput) -> Vec<WatermarkEvent> {
        output.drain().collect()
    }

    #[test]
    fn output_only_rises_and_reactivates_idle_outputs() {
        let mut out = WatermarkOutput::default();
        out.emit_watermark(10);
        out.emit_watermark(5);
        out.mark_idle();
        out.mark_idle();
        out.emit_watermark(10);
        out.emit_watermark(11);
        assert_eq!(
            events(&mut out),
            vec![
                WatermarkEvent::Watermark(10),
                WatermarkEvent::Idle(true),
                WatermarkEvent::Idle(false),
                WatermarkEvent::Watermark(11)
            ]
        );
        assert_eq!(out.current_watermark(), 11);
    }

    #[test]
    fn bounded_out_of_orderness_trails_the_maximum() {
        let strategy = WatermarkStrategy::<i64>::for_bounded_out_of_orderness(Duration::from_millis(100))
            .with_timestamp_assigner(|v: &i64, _| *v);
        let mut generator = strategy.create_generator();
        let mut out = WatermarkOutput::default();
        generator.on_periodic_emit(&mut out);
        assert!(events(&mut out).is_empty(), "no watermark before the first event");
        for ts in [1000, 3000, 2000] {
            let ts = strategy.extract_timestamp(&ts, None).unwrap();
            generator.on_event(&ts, ts, &mut out);
        }
        generator.on_periodic_emit(&mut out);
        assert_eq!(events(&mut out), vec![WatermarkEvent::Watermark(2899)]);
    }

    #[test]
    fn monotonous_trails_by_one_and_no_watermarks_emits_nothing() {
        let mut out = WatermarkOutput::default();
        let mut monotonous = WatermarkStrategy::<()>::for_monotonous_timestamps().create_generator();
        monotonous.on_event(&(), 7, &mut out);
        monotonous.on_periodic_emit(&mut out);
        assert_eq!(events(&mut out), vec![WatermarkEvent::Watermark(6)]);
        let mut none = WatermarkStrategy::<()>::no_watermarks().create_generator();
        none.on_event(&(), 7, &mut out);
        none.on_periodic_emit(&mut out);
        assert!(events(&mut out).is_empty());
    }

    #[test]
    fn without_assigner_the_record_timestamp_is_kept() {
        let strategy = WatermarkStrategy::<u8>::for_monotonous_timestamps();
        assert_eq!(strategy.extract_timestamp(&1, Some(42)), Some(42));
        assert_eq!(strategy.extract_timestamp(&1, None), None);
    }
}
