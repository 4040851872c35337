//! Triggers decide when a window's contents are evaluated (fired) and when they are dropped
//! (purged). Each window of each key has its own trigger state, of the trigger's `State` type.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::time::duration_millis;
use crate::window::windows::Window;
use crate::FlinkError;

/// What a trigger decides for a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerResult {
    /// Do nothing.
    Continue,
    /// Evaluate the window and emit its result; keep its contents.
    Fire,
    /// Drop the window's contents without evaluating them.
    Purge,
    /// Evaluate the window, emit its result, then drop its contents.
    FireAndPurge,
}

impl TriggerResult {
    /// Whether the window is evaluated.
    pub fn is_fire(self) -> bool {
        matches!(self, TriggerResult::Fire | TriggerResult::FireAndPurge)
    }

    /// Whether the window's contents are dropped.
    pub fn is_purge(self) -> bool {
        matches!(self, TriggerResult::Purge | TriggerResult::FireAndPurge)
    }
}

/// Timer operations for the current key and window, implemented by the window operator.
pub(crate) trait WindowTimers<W> {
    fn register_event_time_timer(&mut self, window: &W, time: i64);
    fn register_processing_time_timer(&mut self, window: &W, time: i64);
    fn delete_event_time_timer(&mut self, window: &W, time: i64);
    fn delete_processing_time_timer(&mut self, window: &W, time: i64);
    fn current_processing_time(&self) -> i64;
    fn current_watermark(&self) -> i64;
    fn fail(&mut self, error: FlinkError);
}

/// What a trigger can do for the window it is called for: timers, time, and its state.
pub struct TriggerContext<'a, W, S> {
    pub(crate) window: &'a W,
    pub(crate) state: &'a mut S,
    pub(crate) timers: &'a mut dyn WindowTimers<W>,
}

impl<W, S> TriggerContext<'_, W, S> {
    /// Calls `on_event_time` for this window when the watermark reaches `time`.
    pub fn register_event_time_timer(&mut self, time: i64) {
        self.timers.register_event_time_timer(self.window, time);
    }

    /// Calls `on_processing_time` for this window when the wall clock reaches `time`.
    pub fn register_processing_time_timer(&mut self, time: i64) {
        self.timers.register_processing_time_timer(self.window, time);
    }

    /// Cancels this window's event-time timer at `time`.
    pub fn delete_event_time_timer(&mut self, time: i64) {
        self.timers.delete_event_time_timer(self.window, time);
    }

    /// Cancels this window's processing-time timer at `time`.
    pub fn delete_processing_time_timer(&mut self, time: i64) {
        self.timers.delete_processing_time_timer(self.window, time);
    }

    /// Fails the window operator's task with `error` once the trigger method returns, for a
    /// trigger whose decision can fail (user code in another language, state it cannot read).
    /// The method's result is then ignored.
    pub fn fail(&mut self, error: FlinkError) {
        self.timers.fail(error);
    }

    /// The current watermark of the operator.
    pub fn get_current_watermark(&self) -> i64 {
        self.timers.current_watermark()
    }

    /// The current processing time.
    pub fn get_current_processing_time(&self) -> i64 {
        self.timers.current_processing_time()
    }

    /// The trigger's state for this key and window (Flink's partitioned state of a trigger).
    pub fn state(&mut self) -> &mut S {
        self.state
    }

    /// Runs `f` with a context for the same window and timers but the state `state`: a
    /// trigger chosen at run time delegates to built-in triggers, whose state types differ,
    /// through it.
    ///
    /// ```
    /// use pyflink_core::window::{CountTrigger, Trigger, TriggerContext, TriggerResult, Window};
    /// /// Counts in the first field of its `(u64, bool)` state.
    /// #[derive(Clone)]
    /// struct Counting(CountTrigger);
    /// impl<T, W: Window> Trigger<T, W> for Counting {
    ///     type State = (u64, bool);
    ///     fn on_element(&self, e: &T, ts: Option<i64>, w: &W, ctx: &mut TriggerContext<'_, W, (u64, bool)>) -> TriggerResult {
    ///         let mut count = ctx.state().0;
    ///         let result = ctx.with_state(&mut count, |inner| self.0.on_element(e, ts, w, inner));
    ///         ctx.state().0 = count;
    ///         result
    ///     }
    ///     fn on_event_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, (u64, bool)>) -> TriggerResult {
    ///         TriggerResult::Continue
    ///     }
    ///     fn on_processing_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, (u64, bool)>) -> TriggerResult {
    ///         TriggerResult::Continue
    ///     }
    ///     fn clear(&self, _: &W, ctx: &mut TriggerContext<'_, W, (u64, bool)>) {
    ///         *ctx.state() = (0, false);
    ///     }
    /// }
    /// ```
    pub fn with_state<S2, R>(&mut self, state: &mut S2, f: impl FnOnce(&mut TriggerContext<'_, W, S2>) -> R) -> R {
        let mut inner = TriggerContext { window: self.window, state, timers: &mut *self.timers };
        f(&mut inner)
    }
}

/// Decides when windows fire. Triggers are shared prototypes: keep per-window data in `State`.
pub trait Trigger<T, W: Window>: Clone + Send + Sync + 'static {
    /// Per-key, per-window state, created with `Default`; part of checkpoints.
    type State: Default + Clone + Send + Sync + Serialize + DeserializeOwned + 'static;

    /// Called for every element added to `window`.
    fn on_element(
        &self,
        element: &T,
        timestamp: Option<i64>,
        window: &W,
        ctx: &mut TriggerContext<'_, W, Self::State>,
    ) -> TriggerResult;

    /// Called when an event-time timer of `window` fires.
    fn on_event_time(&self, time: i64, window: &W, ctx: &mut TriggerContext<'_, W, Self::State>) -> TriggerResult;

    /// Called when a processing-time timer of `window` fires.
    fn on_processing_time(&self, time: i64, window: &W, ctx: &mut TriggerContext<'_, W, Self::State>) -> TriggerResult;

    /// Whether the trigger supports merging windows (session windows).
    fn can_merge(&self) -> bool {
        false
    }

    /// Called when windows merged into `window`; `merged` holds the merged windows' states, and
    /// `ctx.state()` starts from the default. Timers of the merged windows are already cleared.
    fn on_merge(&self, _window: &W, _merged: Vec<Self::State>, _ctx: &mut TriggerContext<'_, W, Self::State>) {}

    /// Called when the window is removed: delete its timers here.
    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W, Self::State>);
}

/// Fires once the watermark passes the end of the window, and again for every late element
/// within the allowed lateness. The default trigger of event-time windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct EventTimeTrigger;

impl<T, W: Window> Trigger<T, W> for EventTimeTrigger {
    type State = ();

    #[inline]
    fn on_element(&self, _: &T, _: Option<i64>, window: &W, ctx: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        if window.max_timestamp() <= ctx.get_current_watermark() {
            TriggerResult::Fire
        } else {
            ctx.register_event_time_timer(window.max_timestamp());
            TriggerResult::Continue
        }
    }

    fn on_event_time(&self, time: i64, window: &W, _: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        if time == window.max_timestamp() {
            TriggerResult::Fire
        } else {
            TriggerResult::Continue
        }
    }

    fn on_processing_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        TriggerResult::Continue
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(&self, window: &W, _: Vec<()>, ctx: &mut TriggerContext<'_, W, ()>) {
        if window.max_timestamp() > ctx.get_current_watermark() {
            ctx.register_event_time_timer(window.max_timestamp());
        }
    }

    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W, ()>) {
        ctx.delete_event_time_timer(window.max_timestamp());
    }
}

/// Fires when the wall clock passes the end of the window. The default trigger of
/// processing-time windows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessingTimeTrigger;

impl<T, W: Window> Trigger<T, W> for ProcessingTimeTrigger {
    type State = ();

    fn on_element(&self, _: &T, _: Option<i64>, window: &W, ctx: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        ctx.register_processing_time_timer(window.max_timestamp());
        TriggerResult::Continue
    }

    fn on_event_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        TriggerResult::Continue
    }

    fn on_processing_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        TriggerResult::Fire
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(&self, window: &W, _: Vec<()>, ctx: &mut TriggerContext<'_, W, ()>) {
        if window.max_timestamp() > ctx.get_current_processing_time() {
            ctx.register_processing_time_timer(window.max_timestamp());
        }
    }

    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W, ()>) {
        ctx.delete_processing_time_timer(window.max_timestamp());
    }
}

/// Fires every time the window has received `count` more elements.
#[derive(Debug, Clone, Copy)]
pub struct CountTrigger {
    count: u64,
}

impl CountTrigger {
    /// Fires every `count` elements.
    pub fn of(count: u64) -> Self {
        CountTrigger { count }
    }
}

impl<T, W: Window> Trigger<T, W> for CountTrigger {
    type State = u64;

    #[inline]
    fn on_element(&self, _: &T, _: Option<i64>, _: &W, ctx: &mut TriggerContext<'_, W, u64>) -> TriggerResult {
        let seen = ctx.state();
        *seen += 1;
        if *seen >= self.count {
            *seen = 0;
            TriggerResult::Fire
        } else {
            TriggerResult::Continue
        }
    }

    fn on_event_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, u64>) -> TriggerResult {
        TriggerResult::Continue
    }

    fn on_processing_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, u64>) -> TriggerResult {
        TriggerResult::Continue
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(&self, _: &W, merged: Vec<u64>, ctx: &mut TriggerContext<'_, W, u64>) {
        *ctx.state() = merged.into_iter().sum();
    }

    fn clear(&self, _: &W, ctx: &mut TriggerContext<'_, W, u64>) {
        *ctx.state() = 0;
    }
}

/// Turns every `Fire` of the wrapped trigger into `FireAndPurge`.
#[derive(Debug, Clone, Copy)]
pub struct PurgingTrigger<TR> {
    inner: TR,
}

impl<TR> PurgingTrigger<TR> {
    /// Purges whenever `inner` fires.
    pub fn of(inner: TR) -> Self {
        PurgingTrigger { inner }
    }
}

fn purging(result: TriggerResult) -> TriggerResult {
    if result.is_fire() {
        TriggerResult::FireAndPurge
    } else {
        result
    }
}

impl<T, W: Window, TR: Trigger<T, W>> Trigger<T, W> for PurgingTrigger<TR> {
    type State = TR::State;

    fn on_element(
        &self,
        element: &T,
        timestamp: Option<i64>,
        window: &W,
        ctx: &mut TriggerContext<'_, W, TR::State>,
    ) -> TriggerResult {
        purging(self.inner.on_element(element, timestamp, window, ctx))
    }

    fn on_event_time(&self, time: i64, window: &W, ctx: &mut TriggerContext<'_, W, TR::State>) -> TriggerResult {
        purging(self.inner.on_event_time(time, window, ctx))
    }

    fn on_processing_time(&self, time: i64, window: &W, ctx: &mut TriggerContext<'_, W, TR::State>) -> TriggerResult {
        purging(self.inner.on_processing_time(time, window, ctx))
    }

    fn can_merge(&self) -> bool {
        self.inner.can_merge()
    }

    fn on_merge(&self, window: &W, merged: Vec<TR::State>, ctx: &mut TriggerContext<'_, W, TR::State>) {
        self.inner.on_merge(window, merged, ctx)
    }

    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W, TR::State>) {
        self.inner.clear(window, ctx)
    }
}

/// Never fires: the default trigger of [`GlobalWindows`](super::GlobalWindows), which need a
/// custom trigger to produce anything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NeverTrigger;

impl<T, W: Window> Trigger<T, W> for NeverTrigger {
    type State = ();
    fn on_element(&self, _: &T, _: Option<i64>, _: &W, _: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        TriggerResult::Continue
    }
    fn on_event_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        TriggerResult::Continue
    }
    fn on_processing_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, ()>) -> TriggerResult {
        TriggerResult::Continue
    }
    fn can_merge(&self) -> bool {
        true
    }
    fn clear(&self, _: &W, _: &mut TriggerContext<'_, W, ()>) {}
}

/// Fires periodically in event time, every `interval`, while the window is open, and once
/// more when the watermark passes the window's end.
#[derive(Debug, Clone, Copy)]
pub struct ContinuousEventTimeTrigger {
    interval: i64,
}

impl ContinuousEventTimeTrigger {
    /// Fires every `interval` of event time.
    pub fn of(interval: Duration) -> Self {
        ContinuousEventTimeTrigger { interval: duration_millis(interval).max(1) }
    }
}

/// Registers the next periodic firing at `time`, but not after the window's end.
fn next_fire<W: Window>(time: i64, window: &W, ctx: &mut TriggerContext<'_, W, Option<i64>>, event_time: bool) {
    let next = time.min(window.max_timestamp());
    *ctx.state() = Some(next);
    if event_time {
        ctx.register_event_time_timer(next);
    } else {
        ctx.register_processing_time_timer(next);
    }
}

impl<T, W: Window> Trigger<T, W> for ContinuousEventTimeTrigger {
    type State = Option<i64>;

    fn on_element(
        &self,
        _: &T,
        timestamp: Option<i64>,
        window: &W,
        ctx: &mut TriggerContext<'_, W, Option<i64>>,
    ) -> TriggerResult {
        if window.max_timestamp() <= ctx.get_current_watermark() {
            return TriggerResult::Fire;
        }
        ctx.register_event_time_timer(window.max_timestamp());
        if ctx.state().is_none() {
            // The first firing is one interval after the start of the interval the element is
            // in, as in Flink.
            let timestamp = timestamp.unwrap_or(i64::MIN);
            let aligned = timestamp.saturating_sub(timestamp.rem_euclid(self.interval));
            next_fire(aligned.saturating_add(self.interval), window, ctx, true);
        }
        TriggerResult::Continue
    }

    fn on_event_time(&self, time: i64, window: &W, ctx: &mut TriggerContext<'_, W, Option<i64>>) -> TriggerResult {
        if time == window.max_timestamp() {
            return TriggerResult::Fire;
        }
        if *ctx.state() == Some(time) {
            next_fire(time.saturating_add(self.interval), window, ctx, true);
            return TriggerResult::Fire;
        }
        TriggerResult::Continue
    }

    fn on_processing_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, Option<i64>>) -> TriggerResult {
        TriggerResult::Continue
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(&self, window: &W, merged: Vec<Option<i64>>, ctx: &mut TriggerContext<'_, W, Option<i64>>) {
        if let Some(next) = merged.into_iter().flatten().min() {
            next_fire(next, window, ctx, true);
        }
        if window.max_timestamp() > ctx.get_current_watermark() {
            ctx.register_event_time_timer(window.max_timestamp());
        }
    }

    fn clear(&self, window: &W, ctx: &mut TriggerContext<'_, W, Option<i64>>) {
        if let Some(next) = ctx.state().take() {
            ctx.delete_event_time_timer(next);
        }
        ctx.delete_event_time_timer(window.max_timestamp());
    }
}

/// Fires periodically in processing time, every `interval`, while the window has elements.
#[derive(Debug, Clone, Copy)]
pub struct ContinuousProcessingTimeTrigger {
    interval: i64,
}

impl ContinuousProcessingTimeTrigger {
    /// Fires every `interval` of processing time.
    pub fn of(interval: Duration) -> Self {
        ContinuousProcessingTimeTrigger { interval: duration_millis(interval).max(1) }
    }
}

impl<T, W: Window> Trigger<T, W> for ContinuousProcessingTimeTrigger {
    type State = Option<i64>;

    fn on_element(
        &self,
        _: &T,
        _: Option<i64>,
        window: &W,
        ctx: &mut TriggerContext<'_, W, Option<i64>>,
    ) -> TriggerResult {
        if ctx.state().is_none() {
            let now = ctx.get_current_processing_time();
            next_fire(now - now.rem_euclid(self.interval) + self.interval, window, ctx, false);
        }
        TriggerResult::Continue
    }

    fn on_event_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, Option<i64>>) -> TriggerResult {
        TriggerResult::Continue
    }

    fn on_processing_time(&self, time: i64, window: &W, ctx: &mut TriggerContext<'_, W, Option<i64>>) -> TriggerResult {
        if *ctx.state() == Some(time) {
            next_fire(time.saturating_add(self.interval), window, ctx, false);
            return TriggerResult::Fire;
        }
        TriggerResult::Continue
    }

    fn can_merge(&self) -> bool {
        true
    }

    fn on_merge(&self, window: &W, merged: Vec<Option<i64>>, ctx: &mut TriggerContext<'_, W, Option<i64>>) {
        if let Some(next) = merged.into_iter().flatten().min() {
            next_fire(next, window, ctx, false);
        }
    }

    fn clear(&self, _: &W, ctx: &mut TriggerContext<'_, W, Option<i64>>) {
        if let Some(next) = ctx.state().take() {
            ctx.delete_processing_time_timer(next);
        }
    }
}
