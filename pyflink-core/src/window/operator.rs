//! The window operator: assigns each record of a keyed stream to windows, keeps their contents
//! and trigger state per key and window, fires and purges them as triggers decide, and removes
//! them once event (or processing) time passes their end plus the allowed lateness.
//!
//! State is a table from key to the key's live windows (a short list: one or a few windows per
//! key for tumbling, sliding and session windows), so a record costs one keyed lookup.

use std::marker::PhantomData;

use pyflink_state::{KeyGroupAssigner, KeyedTable, StateSection};

use crate::checkpoint::StateSnapshotContext;

use crate::operators::keyed_reduce::KeySelector;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::time::timer_service::InternalTimerService;
use crate::time::TimeDomain;
use crate::window::assigners::WindowAssigner;
use crate::window::contents::WindowContents;
use crate::window::evictors::EvictorContext;
use crate::window::functions::{ProcessWindowFunction, WindowContext, WindowRuntimeContext, WindowStates};
use crate::window::triggers::{Trigger, TriggerContext, WindowTimers};
use crate::window::windows::Window;
use crate::{Data, FlinkError, Key, Result};

/// One live window of a key.
#[derive(Clone)]
struct Slot<W, A, S> {
    window: W,
    contents: Option<A>,
    trigger_state: S,
    timers: TimerMemo,
}

impl<W, A, S: Default> Slot<W, A, S> {
    fn new(window: W) -> Self {
        Slot { window, contents: None, trigger_state: S::default(), timers: TimerMemo::default() }
    }
}

/// The last timers a window registered, per time domain. Triggers register the same timer for
/// every element (the window's end, the cleanup time); remembering them here saves a lookup in
/// the timer queue per element. An entry is forgotten when its timer is deleted or fires.
#[derive(Debug, Clone, Copy)]
struct TimerMemo {
    event: [i64; 2],
    processing: [i64; 2],
}

impl Default for TimerMemo {
    fn default() -> Self {
        TimerMemo { event: [i64::MIN; 2], processing: [i64::MIN; 2] }
    }
}

impl TimerMemo {
    fn entries(&mut self, domain: TimeDomain) -> &mut [i64; 2] {
        match domain {
            TimeDomain::EventTime => &mut self.event,
            TimeDomain::ProcessingTime => &mut self.processing,
        }
    }

    /// Records a registration; false if the timer is known to be registered already.
    #[inline]
    fn remember(&mut self, domain: TimeDomain, time: i64) -> bool {
        let entries = self.entries(domain);
        if entries.contains(&time) {
            return false;
        }
        *entries = [time, entries[0]];
        true
    }

    fn forget(&mut self, domain: TimeDomain, time: i64) {
        for entry in self.entries(domain).iter_mut() {
            if *entry == time {
                *entry = i64::MIN;
            }
        }
    }
}

/// Timers of one key and window, as triggers see them.
struct KeyTimers<'a, K, W> {
    service: &'a mut InternalTimerService<K, W>,
    key: &'a K,
    memo: &'a mut TimerMemo,
    /// Where a trigger's failure waits until its method returns.
    failure: &'a mut Option<FlinkError>,
}

impl<K: Key, W: Window> WindowTimers<W> for KeyTimers<'_, K, W> {
    #[inline]
    fn register_event_time_timer(&mut self, window: &W, time: i64) {
        if self.memo.remember(TimeDomain::EventTime, time) {
            self.service.register_event_time_timer(time, self.key, window);
        }
    }
    #[inline]
    fn register_processing_time_timer(&mut self, window: &W, time: i64) {
        if self.memo.remember(TimeDomain::ProcessingTime, time) {
            self.service.register_processing_time_timer(time, self.key, window);
        }
    }
    fn delete_event_time_timer(&mut self, window: &W, time: i64) {
        self.memo.forget(TimeDomain::EventTime, time);
        self.service.delete_event_time_timer(time, self.key, window);
    }
    fn delete_processing_time_timer(&mut self, window: &W, time: i64) {
        self.memo.forget(TimeDomain::ProcessingTime, time);
        self.service.delete_processing_time_timer(time, self.key, window);
    }
    fn current_processing_time(&self) -> i64 {
        self.service.current_processing_time()
    }
    #[inline]
    fn current_watermark(&self) -> i64 {
        self.service.current_watermark()
    }
    fn fail(&mut self, error: FlinkError) {
        self.failure.get_or_insert(error);
    }
}

/// What configures a window operator, as recorded by `WindowedStream`.
pub(crate) struct WindowSpec<T, K, A, TR> {
    pub(crate) key: KeySelector<T, K>,
    pub(crate) assigner: A,
    pub(crate) trigger: TR,
    pub(crate) allowed_lateness: i64,
    pub(crate) late_tag: Option<String>,
}

impl<T, K, A: Clone, TR: Clone> Clone for WindowSpec<T, K, A, TR> {
    fn clone(&self) -> Self {
        WindowSpec {
            key: self.key.clone(),
            assigner: self.assigner.clone(),
            trigger: self.trigger.clone(),
            allowed_lateness: self.allowed_lateness,
            late_tag: self.late_tag.clone(),
        }
    }
}

impl<T, K, A: WindowAssigner<T>, TR> WindowSpec<T, K, A, TR> {
    /// When a window's state is dropped: its end plus the allowed lateness in event time, its
    /// end in processing time; never (`i64::MAX`) for windows that do not end.
    fn cleanup_time(&self, window: &A::Window) -> i64 {
        if self.assigner.is_event_time() {
            window.max_timestamp().saturating_add(self.allowed_lateness)
        } else {
            window.max_timestamp()
        }
    }

    fn is_window_late(&self, window: &A::Window, watermark: i64) -> bool {
        self.assigner.is_event_time() && self.cleanup_time(window) <= watermark
    }
}

/// The snapshot section of the live windows of every key.
const WINDOWS: &str = "_windows";

/// A window as checkpoints store it: the window, its contents and its trigger state (the timer
/// memo is a cache and starts empty after a restore).
type SlotState<A, T, C, TR> = (
    <A as WindowAssigner<T>>::Window,
    Option<<C as WindowContents<T, <A as WindowAssigner<T>>::Window>>::Acc>,
    <TR as Trigger<T, <A as WindowAssigner<T>>::Window>>::State,
);

type Slots<A, T, C, TR> = Vec<
    Slot<
        <A as WindowAssigner<T>>::Window,
        <C as WindowContents<T, <A as WindowAssigner<T>>::Window>>::Acc,
        <TR as Trigger<T, <A as WindowAssigner<T>>::Window>>::State,
    >,
>;

/// The window operator of one parallel instance.
pub(crate) struct WindowOperator<T, K, A, TR, C, P, OUT>
where
    K: Key,
    A: WindowAssigner<T>,
    TR: Trigger<T, A::Window>,
    C: WindowContents<T, A::Window>,
{
    spec: WindowSpec<T, K, A, TR>,
    contents: C,
    function: P,
    state: Option<KeyedTable<K, Slots<A, T, C, TR>>>,
    key_groups: KeyGroupAssigner,
    timers: Option<InternalTimerService<K, A::Window>>,
    states: Option<WindowStates<K, A::Window>>,
    assigned: Vec<A::Window>,
    /// A trigger's failure (`TriggerContext::fail`), taken after each trigger call.
    trigger_failure: Option<FlinkError>,
    _types: PhantomData<fn(T) -> OUT>,
}

impl<T, K, A, TR, C, P, OUT> WindowOperator<T, K, A, TR, C, P, OUT>
where
    T: Data,
    K: Key,
    OUT: Data,
    A: WindowAssigner<T>,
    TR: Trigger<T, A::Window>,
    C: WindowContents<T, A::Window>,
    P: ProcessWindowFunction<C::Result, OUT, K, A::Window>,
{
    pub(crate) fn new(spec: WindowSpec<T, K, A, TR>, contents: C, function: P) -> Self {
        WindowOperator {
            spec,
            contents,
            function,
            state: None,
            key_groups: KeyGroupAssigner::new(1),
            timers: None,
            states: None,
            assigned: Vec::new(),
            trigger_failure: None,
            _types: PhantomData,
        }
    }

    /// Merges `new` into the key's windows as the assigner decides; returns the index of the
    /// slot of the window `new` ended up in.
    fn merge_window(
        spec: &WindowSpec<T, K, A, TR>,
        contents: &mut C,
        timers: &mut InternalTimerService<K, A::Window>,
        key: &K,
        slots: &mut Slots<A, T, C, TR>,
        new: A::Window,
        failure: &mut Option<FlinkError>,
    ) -> Result<usize> {
        let mut candidates: Vec<A::Window> = slots.iter().map(|s| s.window.clone()).collect();
        candidates.push(new);
        let new_index = candidates.len() - 1;
        let groups = spec.assigner.merge_windows(&candidates)?;
        let mut old: Vec<Option<_>> = slots.drain(..).map(Some).collect();
        let mut actual = 0;
        for (result, members) in groups {
            let has_new = members.contains(&new_index);
            let existing: Vec<usize> = members.into_iter().filter(|&m| m != new_index).collect();
            let base_position = existing.iter().position(|&m| candidates[m] == result);
            let mut base = match base_position {
                Some(p) => old[existing[p]].take().expect("each window is in one group"),
                None => Slot::new(result.clone()),
            };
            let merged: Vec<usize> =
                existing.iter().enumerate().filter(|(p, _)| Some(*p) != base_position).map(|(_, &m)| m).collect();
            if !merged.is_empty() {
                let mut states = Vec::with_capacity(merged.len() + 1);
                if base_position.is_some() {
                    states.push(std::mem::take(&mut base.trigger_state));
                }
                for m in merged {
                    let mut slot = old[m].take().expect("each window is in one group");
                    let mut access =
                        KeyTimers { service: &mut *timers, key, memo: &mut slot.timers, failure: &mut *failure };
                    let mut ctx =
                        TriggerContext { window: &slot.window, state: &mut slot.trigger_state, timers: &mut access };
                    spec.trigger.clear(&slot.window, &mut ctx);
                    let cleanup = spec.cleanup_time(&slot.window);
                    if spec.assigner.is_event_time() {
                        timers.delete_event_time_timer(cleanup, key, &slot.window);
                    } else {
                        timers.delete_processing_time_timer(cleanup, key, &slot.window);
                    }
                    if let Some(merged_contents) = slot.contents {
                        contents.merge(&mut base.contents, merged_contents)?;
                    }
                    states.push(slot.trigger_state);
                }
                let mut access =
                    KeyTimers { service: &mut *timers, key, memo: &mut base.timers, failure: &mut *failure };
                let mut ctx =
                    TriggerContext { window: &base.window, state: &mut base.trigger_state, timers: &mut access };
                spec.trigger.on_merge(&result, states, &mut ctx);
            }
            if let Some(error) = failure.take() {
                return Err(error);
            }
            slots.push(base);
            if has_new {
                actual = slots.len() - 1;
            }
        }
        Ok(actual)
    }

    /// Evaluates the window of `slot` and emits its results.
    fn emit(
        contents: &mut C,
        function: &mut P,
        states: &WindowStates<K, A::Window>,
        key: &K,
        slot: &mut Slot<A::Window, C::Acc, TR::State>,
        watermark: i64,
        out: &mut Output<OUT>,
    ) -> Result<()> {
        let Some(acc) = slot.contents.as_mut() else {
            return Ok(());
        };
        out.timestamp = Some(slot.window.max_timestamp());
        let evictor_context = EvictorContext {
            current_watermark: watermark,
            current_processing_time: crate::time::current_processing_time(),
        };
        let window = &slot.window;
        contents.with_results(acc, window, &evictor_context, |results| {
            let mut ctx = WindowContext { window, watermark, out };
            states.scoped(key, window, || function.process(key, &mut ctx, results))
        })
    }

    /// Runs a fired timer of `key` and `window`.
    fn on_timer(
        &mut self,
        domain: TimeDomain,
        time: i64,
        key: K,
        window: A::Window,
        out: &mut Output<OUT>,
    ) -> Result<()> {
        let at = self.key_groups.hash_key(&key);
        let cleanup_time = self.spec.cleanup_time(&window);
        let is_event_time = self.spec.assigner.is_event_time();
        let WindowOperator { spec, contents, function, state, timers, states, trigger_failure, .. } = self;
        let (Some(state), Some(timers), Some(states)) = (state.as_mut(), timers.as_mut(), states.as_ref()) else {
            return Ok(());
        };
        let Some(slots) = state.get_mut(at, &key) else { return Ok(()) };
        let Some(index) = slots.iter().position(|s| s.window == window) else { return Ok(()) };
        let slot = &mut slots[index];
        slot.timers.forget(domain, time);
        let watermark = timers.current_watermark();
        let mut access =
            KeyTimers { service: &mut *timers, key: &key, memo: &mut slot.timers, failure: &mut *trigger_failure };
        let mut ctx = TriggerContext { window: &window, state: &mut slot.trigger_state, timers: &mut access };
        let result = match domain {
            TimeDomain::EventTime => spec.trigger.on_event_time(time, &window, &mut ctx),
            TimeDomain::ProcessingTime => spec.trigger.on_processing_time(time, &window, &mut ctx),
        };
        if let Some(error) = trigger_failure.take() {
            return Err(error);
        }
        if result.is_fire() {
            Self::emit(contents, function, states, &key, slot, watermark, out)?;
        }
        if result.is_purge() {
            slot.contents = None;
        }
        let cleanup = time == cleanup_time && (domain == TimeDomain::EventTime) == is_event_time;
        if cleanup {
            // Removing in order keeps the newest windows at the back for the search above.
            let mut slot = slots.remove(index);
            let mut access =
                KeyTimers { service: &mut *timers, key: &key, memo: &mut slot.timers, failure: &mut *trigger_failure };
            let mut ctx = TriggerContext { window: &window, state: &mut slot.trigger_state, timers: &mut access };
            spec.trigger.clear(&window, &mut ctx);
            if let Some(error) = trigger_failure.take() {
                return Err(error);
            }
            out.timestamp = Some(window.max_timestamp());
            let mut ctx = WindowContext { window: &window, watermark, out };
            states.scoped(&key, &window, || function.clear(&key, &mut ctx))?;
            if slots.is_empty() {
                state.remove(at, &key);
            }
        }
        Ok(())
    }
}

impl<T, K, A, TR, C, P, OUT> OneInputOperator<T, OUT> for WindowOperator<T, K, A, TR, C, P, OUT>
where
    T: Data,
    K: Key,
    OUT: Data,
    A: WindowAssigner<T>,
    TR: Trigger<T, A::Window>,
    C: WindowContents<T, A::Window>,
    P: ProcessWindowFunction<C::Result, OUT, K, A::Window>,
{
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        P::within_batch(batch)
    }

    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        let range = context.key_group_range();
        let restored = context.restored_keyed()?;
        self.key_groups = KeyGroupAssigner::new(context.max_parallelism);
        let mut state = KeyedTable::new(range);
        for section in restored.iter().filter_map(|s| s.section(WINDOWS)) {
            for (_, key, windows) in section.entries::<K, Vec<SlotState<A, T, C, TR>>>(range)? {
                let slots = windows
                    .into_iter()
                    .map(|(window, contents, trigger_state)| Slot {
                        window,
                        contents,
                        trigger_state,
                        timers: TimerMemo::default(),
                    })
                    .collect();
                state.insert(self.key_groups.hash_key(&key), key, slots);
            }
        }
        self.state = Some(state);
        let mut timers = InternalTimerService::new(context.processing_time_service().clone());
        timers.restore(&restored, range)?;
        self.timers = Some(timers);
        let states = self.states.insert(WindowStates::new(context, &restored)?);
        self.function.open(&mut WindowRuntimeContext { runtime: context, states })
    }

    fn snapshot_state(&mut self, context: &mut StateSnapshotContext) -> Result<()> {
        let (Some(state), Some(timers), Some(states)) = (&self.state, &self.timers, &self.states) else {
            return Ok(());
        };
        let mut snapshot = states.snapshot()?;
        // The window contents are frozen by a copy-on-write clone and encoded off the task thread.
        let frozen = state.clone();
        snapshot.push_deferred(move || {
            let mut windows = StateSection::raw(WINDOWS);
            for (group, key, slots) in frozen.iter() {
                if slots.is_empty() {
                    continue;
                }
                let slots: Vec<_> =
                    slots.iter().map(|slot| (&slot.window, &slot.contents, &slot.trigger_state)).collect();
                windows.add(group, key, &slots)?;
            }
            Ok(windows)
        });
        for section in timers.snapshot(&self.key_groups)? {
            snapshot.push_section(section);
        }
        context.add_keyed(snapshot);
        Ok(())
    }

    #[inline]
    fn process_element(&mut self, value: T, out: &mut Output<OUT>) -> Result<()> {
        let timestamp = out.timestamp();
        let WindowOperator {
            spec,
            contents,
            function,
            state,
            key_groups,
            timers,
            states,
            assigned,
            trigger_failure,
            ..
        } = self;
        let (Some(state), Some(timers), Some(states)) = (state.as_mut(), timers.as_mut(), states.as_ref()) else {
            unreachable!("the harness opens operators before the first record")
        };
        let key = (spec.key)(&value);
        let at = key_groups.hash_key(&key);
        assigned.clear();
        spec.assigner.assign_windows(&value, timestamp, assigned)?;
        let watermark = timers.current_watermark();
        let slots = state.get_or_insert_cloned(at, &key, Vec::new);
        let count = assigned.len();
        let mut value = Some(value);
        let mut skipped = true;
        let mut outcome = Ok(());
        for (position, window) in assigned.drain(..).enumerate() {
            let index = if spec.assigner.is_merging() {
                let index = match Self::merge_window(spec, contents, timers, &key, slots, window, trigger_failure) {
                    Ok(index) => index,
                    Err(error) => {
                        outcome = Err(error);
                        break;
                    }
                };
                if spec.is_window_late(&slots[index].window, watermark) {
                    slots.swap_remove(index);
                    continue;
                }
                index
            } else {
                if spec.is_window_late(&window, watermark) {
                    continue;
                }
                // Windows are appended as time moves on, so the element's window is most often
                // the newest: search from the back.
                match slots.iter().rposition(|s| s.window == window) {
                    Some(index) => index,
                    None => {
                        slots.push(Slot::new(window));
                        slots.len() - 1
                    }
                }
            };
            skipped = false;
            let element = if position + 1 == count { value.take() } else { value.clone() };
            let element = element.expect("the element is moved only into the last window");
            let slot = &mut slots[index];
            let cleanup = spec.cleanup_time(&slot.window);
            let mut access =
                KeyTimers { service: &mut *timers, key: &key, memo: &mut slot.timers, failure: &mut *trigger_failure };
            let mut ctx = TriggerContext { window: &slot.window, state: &mut slot.trigger_state, timers: &mut access };
            let result = spec.trigger.on_element(&element, timestamp, &slot.window, &mut ctx);
            if let Some(error) = trigger_failure.take() {
                outcome = Err(error);
                break;
            }
            outcome = contents.add(&mut slot.contents, element, timestamp);
            if outcome.is_err() {
                break;
            }
            if result.is_fire() {
                outcome = Self::emit(contents, function, states, &key, slot, watermark, out);
                if outcome.is_err() {
                    break;
                }
            }
            if result.is_purge() {
                slot.contents = None;
            }
            if cleanup != i64::MAX {
                let mut access = KeyTimers {
                    service: &mut *timers,
                    key: &key,
                    memo: &mut slot.timers,
                    failure: &mut *trigger_failure,
                };
                if spec.assigner.is_event_time() {
                    access.register_event_time_timer(&slot.window, cleanup);
                } else {
                    access.register_processing_time_timer(&slot.window, cleanup);
                }
            }
        }
        if slots.is_empty() {
            state.remove(at, &key);
        }
        outcome?;
        if skipped {
            let late = spec.assigner.is_event_time()
                && timestamp.is_some_and(|ts| ts.saturating_add(spec.allowed_lateness) <= watermark);
            if let (true, Some(tag), Some(value)) = (late, &spec.late_tag, value) {
                out.timestamp = timestamp;
                out.side_output(tag, value);
            }
        }
        Ok(())
    }

    fn process_watermark(&mut self, timestamp: i64, out: &mut Output<OUT>) -> Result<()> {
        if let Some(timers) = self.timers.as_mut() {
            timers.advance_watermark(timestamp);
        }
        while let Some((time, key, window)) = self.timers.as_mut().and_then(|t| t.event.pop_due(timestamp)) {
            self.on_timer(TimeDomain::EventTime, time, key, window, out)?;
        }
        out.emit_watermark(timestamp);
        Ok(())
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Output<OUT>) -> Result<()> {
        while let Some((time, key, window)) = self.timers.as_mut().and_then(|t| t.processing.pop_due(now)) {
            self.on_timer(TimeDomain::ProcessingTime, time, key, window, out)?;
        }
        if let Some(timers) = self.timers.as_mut() {
            timers.rearm_processing_time();
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.function.close()
    }
}
