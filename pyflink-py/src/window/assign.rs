//! Python's window assigners and triggers, chosen when the program is built: one assigner type
//! for every time-window kind and one trigger type for every built-in trigger, so that a window
//! operator from Python is one type whatever the user picked.

use std::time::Duration;

use pyflink_core::time::current_processing_time;
use pyflink_core::window::{
    ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger, CountTrigger, EventTimeSessionWindows,
    EventTimeTrigger, NeverTrigger, ProcessingTimeSessionWindows, ProcessingTimeTrigger, SlidingEventTimeWindows,
    SlidingProcessingTimeWindows, TimeWindow, Trigger, TriggerContext, TriggerResult, TumblingEventTimeWindows,
    TumblingProcessingTimeWindows, WindowAssigner,
};
use pyflink_core::{FlinkError, Result};
use pyo3::prelude::*;
use serde::{Deserialize, Serialize};

use crate::function::{python_error, PyFunction};
use crate::value::KeyedRecord;
use crate::window::custom::{CustomAssigner, CustomTrigger, CustomTriggerValues, TriggerCall};
use crate::window::function::PythonWindow;

/// Which windows a record belongs to (PyFlink's window assigners).
#[derive(Debug, Clone)]
pub enum WindowAssignerSpec {
    /// `Tumbling{Event,Processing}TimeWindows.of(size, offset)`.
    Tumbling { size_ms: i64, offset_ms: i64, event_time: bool },
    /// `Sliding{Event,Processing}TimeWindows.of(size, slide, offset)`.
    Sliding { size_ms: i64, slide_ms: i64, offset_ms: i64, event_time: bool },
    /// `{Event,Processing}TimeSessionWindows.with_gap(gap)`.
    Session { gap_ms: i64, event_time: bool },
    /// `with_dynamic_gap(extractor)`: the cloudpickled `extract(element) -> int`.
    DynamicSession { extractor: Vec<u8>, event_time: bool },
    /// `GlobalWindows.create()`: one window per key, fired only by a custom trigger.
    Global,
    /// `count_window(size, slide)`: windows of `size` records of a key, one every `slide`.
    Count { size: u64, slide: u64 },
    /// A Python `WindowAssigner` subclass (cloudpickled) whose windows are `TimeWindow`s.
    Custom { assigner: Vec<u8>, event_time: bool, merging: bool },
}

/// A built-in trigger (PyFlink's `EventTimeTrigger.create()`, `CountTrigger.of(n)`, ...).
#[derive(Debug, Clone)]
pub enum TriggerSpec {
    /// Fires when the watermark passes the window's end.
    EventTime,
    /// Fires when the wall clock passes the window's end.
    ProcessingTime,
    /// Fires every `count` records of a window.
    Count { count: u64 },
    /// Fires every `interval_ms` of event time, and at the window's end.
    ContinuousEventTime { interval_ms: i64 },
    /// Fires every `interval_ms` of processing time.
    ContinuousProcessingTime { interval_ms: i64 },
    /// Never fires.
    Never,
    /// The one nested trigger, purging the window whenever it fires.
    Purging { nested: Vec<TriggerSpec> },
    /// A Python `Trigger` subclass (cloudpickled), and what its `can_merge()` said.
    Custom { trigger: Vec<u8>, can_merge: bool },
}

/// The assigners of time windows that Python can pick.
#[derive(Clone)]
pub enum PythonTimeWindows {
    TumblingEventTime(TumblingEventTimeWindows),
    TumblingProcessingTime(TumblingProcessingTimeWindows),
    SlidingEventTime(SlidingEventTimeWindows),
    SlidingProcessingTime(SlidingProcessingTimeWindows),
    SessionEventTime(EventTimeSessionWindows),
    SessionProcessingTime(ProcessingTimeSessionWindows),
    /// Sessions whose gap a Python `SessionWindowTimeGapExtractor` computes per record.
    DynamicSession {
        extractor: PyFunction,
        event_time: bool,
    },
    /// A Python `WindowAssigner`.
    Custom(CustomAssigner),
}

impl PythonTimeWindows {
    /// The assigner of `spec`, if it is one of time windows.
    pub fn new(spec: &WindowAssignerSpec) -> Option<Self> {
        let millis = |ms: i64| Duration::from_millis(ms.max(0) as u64);
        Some(match spec {
            WindowAssignerSpec::Tumbling { size_ms, offset_ms, event_time: true } => {
                Self::TumblingEventTime(TumblingEventTimeWindows::of(millis(*size_ms)).with_offset(*offset_ms))
            }
            WindowAssignerSpec::Tumbling { size_ms, offset_ms, event_time: false } => Self::TumblingProcessingTime(
                TumblingProcessingTimeWindows::of(millis(*size_ms)).with_offset(*offset_ms),
            ),
            WindowAssignerSpec::Sliding { size_ms, slide_ms, offset_ms, event_time: true } => Self::SlidingEventTime(
                SlidingEventTimeWindows::of(millis(*size_ms), millis(*slide_ms)).with_offset(*offset_ms),
            ),
            WindowAssignerSpec::Sliding { size_ms, slide_ms, offset_ms, event_time: false } => {
                Self::SlidingProcessingTime(
                    SlidingProcessingTimeWindows::of(millis(*size_ms), millis(*slide_ms)).with_offset(*offset_ms),
                )
            }
            WindowAssignerSpec::Session { gap_ms, event_time: true } => {
                Self::SessionEventTime(EventTimeSessionWindows::with_gap(millis(*gap_ms)))
            }
            WindowAssignerSpec::Session { gap_ms, event_time: false } => {
                Self::SessionProcessingTime(ProcessingTimeSessionWindows::with_gap(millis(*gap_ms)))
            }
            WindowAssignerSpec::DynamicSession { extractor, event_time } => {
                Self::DynamicSession { extractor: PyFunction::new(extractor.clone()), event_time: *event_time }
            }
            WindowAssignerSpec::Custom { assigner, event_time, merging } => {
                Self::Custom(CustomAssigner::new(assigner.clone(), *event_time, *merging))
            }
            WindowAssignerSpec::Global | WindowAssignerSpec::Count { .. } => return None,
        })
    }

    /// The session window `[time, time + gap)` of `record`, its gap from the Python extractor.
    fn dynamic_session(
        extractor: &PyFunction,
        event_time: bool,
        record: &KeyedRecord,
        timestamp: Option<i64>,
    ) -> Result<TimeWindow> {
        let gap = Python::attach(|py| {
            let gap = extractor.get(py).and_then(|extract| extract.call1((record.value.bind(py),)));
            gap.and_then(|gap| gap.extract::<i64>()).map_err(|e| python_error(py, e))
        })?;
        if gap <= 0 {
            return Err(FlinkError::user(format!(
                "the session window gap extractor returned {gap} ms; gaps must be above 0"
            )));
        }
        let time = match (event_time, timestamp) {
            (false, _) => current_processing_time(),
            (true, Some(timestamp)) => timestamp,
            (true, None) => {
                return Err(FlinkError::InvalidProgram(
                    "a record has no timestamp, but an event-time session window needs one; call \
                     assign_timestamps_and_watermarks() before the window"
                        .into(),
                ))
            }
        };
        Ok(TimeWindow::new(time, time.saturating_add(gap)))
    }
}

impl WindowAssigner<KeyedRecord> for PythonTimeWindows {
    type Window = TimeWindow;
    type DefaultTrigger = PythonTrigger;

    #[inline]
    fn assign_windows(
        &self,
        record: &KeyedRecord,
        timestamp: Option<i64>,
        windows: &mut Vec<TimeWindow>,
    ) -> Result<()> {
        match self {
            Self::TumblingEventTime(assigner) => assigner.assign_windows(record, timestamp, windows),
            Self::TumblingProcessingTime(assigner) => assigner.assign_windows(record, timestamp, windows),
            Self::SlidingEventTime(assigner) => assigner.assign_windows(record, timestamp, windows),
            Self::SlidingProcessingTime(assigner) => assigner.assign_windows(record, timestamp, windows),
            Self::SessionEventTime(assigner) => assigner.assign_windows(record, timestamp, windows),
            Self::SessionProcessingTime(assigner) => assigner.assign_windows(record, timestamp, windows),
            Self::DynamicSession { extractor, event_time } => {
                windows.push(Self::dynamic_session(extractor, *event_time, record, timestamp)?);
                Ok(())
            }
            Self::Custom(assigner) => assigner.assign_windows(record, timestamp, windows),
        }
    }

    fn default_trigger(&self) -> PythonTrigger {
        if self.is_event_time() {
            PythonTrigger::EventTime
        } else {
            PythonTrigger::ProcessingTime
        }
    }

    fn is_event_time(&self) -> bool {
        match self {
            Self::TumblingEventTime(_) | Self::SlidingEventTime(_) | Self::SessionEventTime(_) => true,
            Self::TumblingProcessingTime(_) | Self::SlidingProcessingTime(_) | Self::SessionProcessingTime(_) => false,
            Self::DynamicSession { event_time, .. } => *event_time,
            Self::Custom(assigner) => assigner.event_time,
        }
    }

    fn is_merging(&self) -> bool {
        match self {
            Self::SessionEventTime(_) | Self::SessionProcessingTime(_) | Self::DynamicSession { .. } => true,
            Self::Custom(assigner) => assigner.merging,
            _ => false,
        }
    }

    fn merge_windows(&self, windows: &[TimeWindow]) -> Result<Vec<(TimeWindow, Vec<usize>)>> {
        match self {
            Self::Custom(assigner) => assigner.merge_windows(windows),
            _ => Ok(TimeWindow::merge_windows(windows)),
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        match self {
            Self::TumblingEventTime(a) => WindowAssigner::<KeyedRecord>::validate(a),
            Self::TumblingProcessingTime(a) => WindowAssigner::<KeyedRecord>::validate(a),
            Self::SlidingEventTime(a) => WindowAssigner::<KeyedRecord>::validate(a),
            Self::SlidingProcessingTime(a) => WindowAssigner::<KeyedRecord>::validate(a),
            Self::SessionEventTime(a) => WindowAssigner::<KeyedRecord>::validate(a),
            Self::SessionProcessingTime(a) => WindowAssigner::<KeyedRecord>::validate(a),
            Self::DynamicSession { .. } | Self::Custom(_) => Ok(()),
        }
    }
}

/// A built-in trigger picked from Python.
#[derive(Debug, Clone)]
pub enum PythonTrigger {
    EventTime,
    ProcessingTime,
    Count(CountTrigger),
    ContinuousEventTime(ContinuousEventTimeTrigger),
    ContinuousProcessingTime(ContinuousProcessingTimeTrigger),
    Never,
    Purging(Box<PythonTrigger>),
    Custom(CustomTrigger),
}

impl PythonTrigger {
    /// The trigger of `spec`; a purging trigger holds exactly one nested trigger.
    pub fn new(spec: &TriggerSpec) -> std::result::Result<Self, String> {
        let millis = |ms: i64| Duration::from_millis(ms.max(0) as u64);
        Ok(match spec {
            TriggerSpec::EventTime => Self::EventTime,
            TriggerSpec::ProcessingTime => Self::ProcessingTime,
            TriggerSpec::Count { count } if *count == 0 => return Err("CountTrigger.of() needs a count above 0".into()),
            TriggerSpec::Count { count } => Self::Count(CountTrigger::of(*count)),
            TriggerSpec::ContinuousEventTime { interval_ms } if *interval_ms <= 0 => {
                return Err(format!("ContinuousEventTimeTrigger needs an interval above 0 ms, not {interval_ms} ms"))
            }
            TriggerSpec::ContinuousEventTime { interval_ms } => {
                Self::ContinuousEventTime(ContinuousEventTimeTrigger::of(millis(*interval_ms)))
            }
            TriggerSpec::ContinuousProcessingTime { interval_ms } if *interval_ms <= 0 => {
                return Err(format!(
                    "ContinuousProcessingTimeTrigger needs an interval above 0 ms, not {interval_ms} ms"
                ))
            }
            TriggerSpec::ContinuousProcessingTime { interval_ms } => {
                Self::ContinuousProcessingTime(ContinuousProcessingTimeTrigger::of(millis(*interval_ms)))
            }
            TriggerSpec::Never => Self::Never,
            TriggerSpec::Purging { nested } => match nested.as_slice() {
                [inner] => Self::Purging(Box::new(Self::new(inner)?)),
                _ => return Err("PurgingTrigger.of() takes exactly one trigger".into()),
            },
            TriggerSpec::Custom { trigger, can_merge } => Self::Custom(CustomTrigger::new(trigger.clone(), *can_merge)),
        })
    }
}

/// The state of a [`PythonTrigger`] for one window: each built-in trigger uses its own field.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PythonTriggerState {
    /// The count of `CountTrigger`.
    count: u64,
    /// The next periodic firing of the continuous triggers.
    next_fire: Option<i64>,
    /// The partitioned state of a Python trigger, by name.
    #[serde(default)]
    pub(crate) custom: CustomTriggerValues,
}

/// Runs `$body` with `$trigger` bound to the built-in trigger of `$self` and `$inner` to a
/// context whose state is that trigger's field of the [`PythonTriggerState`]. `Purging` is
/// handled by the callers.
macro_rules! delegate {
    ($self:expr, $ctx:expr, |$trigger:ident, $inner:ident| $body:expr) => {{
        let ctx = $ctx;
        match $self {
            PythonTrigger::EventTime => ctx.with_state(&mut (), |$inner| {
                let $trigger = &EventTimeTrigger;
                $body
            }),
            PythonTrigger::ProcessingTime => ctx.with_state(&mut (), |$inner| {
                let $trigger = &ProcessingTimeTrigger;
                $body
            }),
            PythonTrigger::Never => ctx.with_state(&mut (), |$inner| {
                let $trigger = &NeverTrigger;
                $body
            }),
            PythonTrigger::Count($trigger) => {
                let mut count = ctx.state().count;
                let result = ctx.with_state(&mut count, |$inner| $body);
                ctx.state().count = count;
                result
            }
            PythonTrigger::ContinuousEventTime($trigger) => {
                let mut next = ctx.state().next_fire;
                let result = ctx.with_state(&mut next, |$inner| $body);
                ctx.state().next_fire = next;
                result
            }
            PythonTrigger::ContinuousProcessingTime($trigger) => {
                let mut next = ctx.state().next_fire;
                let result = ctx.with_state(&mut next, |$inner| $body);
                ctx.state().next_fire = next;
                result
            }
            PythonTrigger::Purging(_) | PythonTrigger::Custom(_) => {
                unreachable!("purging and Python triggers are handled before delegating")
            }
        }
    }};
}

/// `Fire` as `FireAndPurge`, for a purging trigger.
fn purging(result: TriggerResult) -> TriggerResult {
    if result.is_fire() {
        TriggerResult::FireAndPurge
    } else {
        result
    }
}

type Context<'a, 'b, W> = &'a mut TriggerContext<'b, W, PythonTriggerState>;

impl<W: PythonWindow> Trigger<KeyedRecord, W> for PythonTrigger {
    type State = PythonTriggerState;

    fn on_element(
        &self,
        element: &KeyedRecord,
        timestamp: Option<i64>,
        window: &W,
        ctx: Context<'_, '_, W>,
    ) -> TriggerResult {
        match self {
            PythonTrigger::Purging(nested) => return purging(nested.on_element(element, timestamp, window, ctx)),
            PythonTrigger::Custom(trigger) => {
                return trigger.call(TriggerCall::Element(element, timestamp), window, ctx)
            }
            _ => {}
        }
        delegate!(self, ctx, |trigger, inner| Trigger::<KeyedRecord, W>::on_element(
            trigger, element, timestamp, window, inner
        ))
    }

    fn on_event_time(&self, time: i64, window: &W, ctx: Context<'_, '_, W>) -> TriggerResult {
        match self {
            PythonTrigger::Purging(nested) => return purging(nested.on_event_time(time, window, ctx)),
            PythonTrigger::Custom(trigger) => return trigger.call(TriggerCall::EventTime(time), window, ctx),
            _ => {}
        }
        delegate!(self, ctx, |trigger, inner| Trigger::<KeyedRecord, W>::on_event_time(trigger, time, window, inner))
    }

    fn on_processing_time(&self, time: i64, window: &W, ctx: Context<'_, '_, W>) -> TriggerResult {
        match self {
            PythonTrigger::Purging(nested) => return purging(nested.on_processing_time(time, window, ctx)),
            PythonTrigger::Custom(trigger) => return trigger.call(TriggerCall::ProcessingTime(time), window, ctx),
            _ => {}
        }
        delegate!(self, ctx, |trigger, inner| Trigger::<KeyedRecord, W>::on_processing_time(
            trigger, time, window, inner
        ))
    }

    fn can_merge(&self) -> bool {
        match self {
            PythonTrigger::EventTime => Trigger::<KeyedRecord, W>::can_merge(&EventTimeTrigger),
            PythonTrigger::ProcessingTime => Trigger::<KeyedRecord, W>::can_merge(&ProcessingTimeTrigger),
            PythonTrigger::Never => Trigger::<KeyedRecord, W>::can_merge(&NeverTrigger),
            PythonTrigger::Count(trigger) => Trigger::<KeyedRecord, W>::can_merge(trigger),
            PythonTrigger::ContinuousEventTime(trigger) => Trigger::<KeyedRecord, W>::can_merge(trigger),
            PythonTrigger::ContinuousProcessingTime(trigger) => Trigger::<KeyedRecord, W>::can_merge(trigger),
            PythonTrigger::Purging(nested) => Trigger::<KeyedRecord, W>::can_merge(&**nested),
            PythonTrigger::Custom(trigger) => trigger.can_merge(),
        }
    }

    fn on_merge(&self, window: &W, merged: Vec<PythonTriggerState>, ctx: Context<'_, '_, W>) {
        // The merged states are projected to the field the built-in trigger keeps.
        let units = || vec![(); merged.len()];
        let fires = || merged.iter().map(|state| state.next_fire).collect::<Vec<_>>();
        match self {
            PythonTrigger::Purging(nested) => nested.on_merge(window, merged, ctx),
            PythonTrigger::Custom(trigger) => {
                let values = merged.into_iter().map(|state| state.custom).collect();
                trigger.call(TriggerCall::Merge(values), window, ctx);
            }
            PythonTrigger::EventTime => ctx.with_state(&mut (), |inner| {
                Trigger::<KeyedRecord, W>::on_merge(&EventTimeTrigger, window, units(), inner)
            }),
            PythonTrigger::ProcessingTime => ctx.with_state(&mut (), |inner| {
                Trigger::<KeyedRecord, W>::on_merge(&ProcessingTimeTrigger, window, units(), inner)
            }),
            PythonTrigger::Never => ctx.with_state(&mut (), |inner| {
                Trigger::<KeyedRecord, W>::on_merge(&NeverTrigger, window, units(), inner)
            }),
            PythonTrigger::Count(trigger) => {
                let counts = merged.iter().map(|state| state.count).collect();
                let mut count = ctx.state().count;
                ctx.with_state(&mut count, |inner| Trigger::<KeyedRecord, W>::on_merge(trigger, window, counts, inner));
                ctx.state().count = count;
            }
            PythonTrigger::ContinuousEventTime(trigger) => {
                let mut next = ctx.state().next_fire;
                ctx.with_state(&mut next, |inner| Trigger::<KeyedRecord, W>::on_merge(trigger, window, fires(), inner));
                ctx.state().next_fire = next;
            }
            PythonTrigger::ContinuousProcessingTime(trigger) => {
                let mut next = ctx.state().next_fire;
                ctx.with_state(&mut next, |inner| Trigger::<KeyedRecord, W>::on_merge(trigger, window, fires(), inner));
                ctx.state().next_fire = next;
            }
        }
    }

    fn clear(&self, window: &W, ctx: Context<'_, '_, W>) {
        match self {
            PythonTrigger::Purging(nested) => return nested.clear(window, ctx),
            PythonTrigger::Custom(trigger) => {
                trigger.call(TriggerCall::Clear, window, ctx);
                return;
            }
            _ => {}
        }
        delegate!(self, ctx, |trigger, inner| Trigger::<KeyedRecord, W>::clear(trigger, window, inner))
    }
}
