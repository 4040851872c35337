//! Property tests of event time: window results, late data, sessions and timers over random
//! out-of-order input at random parallelism, each against a brute-force oracle.
//!
//! Watermarks come from a punctuated generator (one per event, `max timestamp - delay - 1`) on a
//! single upstream instance, so the interleaving of records and watermarks every window
//! instance sees is fixed by the input, whatever the parallelism: the oracle can replay it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{collect_sorted, env, timed_source, Event};
use proptest::prelude::*;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::window::{
    AggregateFunction, EventTimeSessionWindows, SlidingEventTimeWindows, TimeWindow, TumblingEventTimeWindows,
    WindowAssigner, WindowContext,
};
use pyflink_core::{KeyedProcessContext, KeyedProcessFunction, OnTimerContext, OutputTag, Result};

/// `(kind, key, a, b, c, d)`: kind 0 is a window result `(start, end, sum, count)`, kind 1 a
/// late event `(timestamp, value, 0, 0)`.
type Tagged = (u8, u8, i64, i64, i64, i64);

/// Sums values and counts elements.
#[derive(Clone)]
struct SumCount;

impl AggregateFunction<Event> for SumCount {
    type Accumulator = (i64, i64);
    type Output = (i64, i64);
    fn create_accumulator(&self) -> (i64, i64) {
        (0, 0)
    }
    fn add(&self, value: Event, acc: (i64, i64)) -> (i64, i64) {
        (acc.0 + value.2, acc.1 + 1)
    }
    fn get_result(&self, acc: &(i64, i64)) -> (i64, i64) {
        *acc
    }
    fn merge(&self, a: (i64, i64), b: (i64, i64)) -> (i64, i64) {
        (a.0 + b.0, a.1 + b.1)
    }
}

fn window_result(key: &u8, ctx: &mut WindowContext<'_, TimeWindow, Tagged>, results: &[(i64, i64)]) -> Result<()> {
    let w = *ctx.window();
    for (sum, count) in results {
        ctx.collect((0, *key, w.start, w.end, *sum, *count));
    }
    Ok(())
}

/// Runs a windowed sum/count with lateness and a late-data side output; returns both outputs.
fn run_windows<A>(events: &[Event], assigner: A, delay: i64, lateness: i64, parallelism: usize) -> Vec<Tagged>
where
    A: WindowAssigner<Event, Window = TimeWindow>,
{
    let env = env(parallelism);
    let late = OutputTag::<Event>::new("late");
    let results = timed_source(&env, events, delay)
        .key_by(|e| e.0)
        .window(assigner)
        .allowed_lateness(Duration::from_millis(lateness as u64))
        .side_output_late_data(&late)
        .aggregate_with_process(SumCount, window_result);
    let late_events = results.get_side_output(&late).unwrap().map(|e| (1, e.0, e.1, e.2, 0, 0));
    collect_sorted(&results.union(&[late_events]))
}

/// The live windows of an oracle replay, `(key, start, end) -> (sum, count)`.
type LiveWindows = BTreeMap<(u8, i64, i64), (i64, i64)>;

/// Event time in an oracle replay: the punctuated watermarks of [`timed_source`], and the
/// windows each watermark advance fires (their end first passed) and drops (past the lateness).
struct OracleClock {
    watermark: i64,
    max: i64,
    delay: i64,
    lateness: i64,
}

impl OracleClock {
    /// The watermark after an event at `timestamp`.
    fn after_event(&mut self, timestamp: i64, live: &mut LiveWindows, out: &mut Vec<Tagged>) {
        self.max = self.max.max(timestamp);
        let next = self.max - self.delay - 1;
        if next > self.watermark {
            self.advance(next, live, out);
        }
    }

    fn advance(&mut self, to: i64, live: &mut LiveWindows, out: &mut Vec<Tagged>) {
        for (&(key, start, end), &(sum, count)) in live.iter() {
            if self.watermark < end - 1 && end - 1 <= to {
                out.push((0, key, start, end, sum, count));
            }
        }
        live.retain(|&(_, _, end), _| (end - 1).saturating_add(self.lateness) > to);
        self.watermark = to;
    }
}

/// Flink's window semantics replayed sequentially: elements join their windows unless the
/// window is past its cleanup time, fire at once if the watermark passed the window's end,
/// windows fire when the watermark first passes their end and are dropped after the allowed
/// lateness; elements whose windows were all dropped are late.
fn oracle(events: &[Event], assign: impl Fn(i64) -> Vec<(i64, i64)>, delay: i64, lateness: i64) -> Vec<Tagged> {
    let mut out = Vec::new();
    let mut live = LiveWindows::new();
    let mut clock = OracleClock { watermark: i64::MIN, max: i64::MIN, delay, lateness };
    for &(key, ts, value) in events {
        let mut skipped = true;
        for (start, end) in assign(ts) {
            if (end - 1).saturating_add(lateness) <= clock.watermark {
                continue;
            }
            skipped = false;
            let slot = live.entry((key, start, end)).or_insert((0, 0));
            slot.0 += value;
            slot.1 += 1;
            if end - 1 <= clock.watermark {
                out.push((0, key, start, end, slot.0, slot.1));
            }
        }
        if skipped && ts + lateness <= clock.watermark {
            out.push((1, key, ts, value, 0, 0));
        }
        clock.after_event(ts, &mut live, &mut out);
    }
    clock.advance(i64::MAX, &mut live, &mut out);
    out.sort();
    out
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    proptest::collection::vec((0u8..4, 0i64..100, 1i64..50), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn tumbling_windows_match_the_oracle(
        events in events(), size in 1i64..20, delay in 0i64..15, lateness in 0i64..10, parallelism in 1usize..=4,
    ) {
        let assigner = TumblingEventTimeWindows::of(Duration::from_millis(size as u64));
        let assign = |ts: i64| {
            let start = ts - ts.rem_euclid(size);
            vec![(start, start + size)]
        };
        let expected = oracle(&events, assign, delay, lateness);
        prop_assert_eq!(run_windows(&events, assigner, delay, lateness, parallelism), expected);
    }

    #[test]
    fn sliding_windows_match_the_oracle(
        events in events(), size in 1i64..20, slide_seed in 1i64..20, delay in 0i64..15, lateness in 0i64..10,
        parallelism in 1usize..=4,
    ) {
        let slide = 1 + slide_seed % size;
        let assigner = SlidingEventTimeWindows::of(Duration::from_millis(size as u64), Duration::from_millis(slide as u64));
        // Brute force: every window start on the slide grid whose window contains ts.
        let assign = |ts: i64| {
            (ts - size - slide..=ts)
                .filter(|start| start.rem_euclid(slide) == 0 && *start <= ts && ts < start + size)
                .map(|start| (start, start + size))
                .collect::<Vec<_>>()
        };
        let expected = oracle(&events, assign, delay, lateness);
        prop_assert_eq!(run_windows(&events, assigner, delay, lateness, parallelism), expected);
    }

    /// Sessions over all input at once (no watermarks until the end): each key's elements sorted
    /// by time, chained while the next starts at or before the current session's end.
    #[test]
    fn session_windows_match_the_oracle(
        events in events(), gap in 1i64..15, dynamic in any::<bool>(), upstream in 1usize..=3, parallelism in 1usize..=4,
    ) {
        let gap_of = move |e: &Event| if dynamic { e.2 % 7 + 1 } else { gap };
        let env = env(parallelism);
        let stamped = env
            .from_collection(events.clone())
            .set_parallelism(1)
            .rebalance()
            .map(|e| e)
            .set_parallelism(upstream)
            .assign_timestamps_and_watermarks(WatermarkStrategy::no_watermarks().with_timestamp_assigner(|e: &Event, _| e.1));
        let keyed = stamped.key_by(|e| e.0);
        let results = if dynamic {
            keyed.window(EventTimeSessionWindows::with_dynamic_gap(gap_of)).aggregate_with_process(SumCount, window_result)
        } else {
            keyed
                .window(EventTimeSessionWindows::with_gap(Duration::from_millis(gap as u64)))
                .aggregate_with_process(SumCount, window_result)
        };
        let mut expected = Vec::new();
        let mut by_key: BTreeMap<u8, Vec<Event>> = BTreeMap::new();
        for e in &events {
            by_key.entry(e.0).or_default().push(*e);
        }
        for (key, mut list) in by_key {
            list.sort_by_key(|e| e.1);
            let mut current: Option<(i64, i64, i64, i64)> = None;
            for e in list {
                let (start, end) = (e.1, e.1 + gap_of(&e));
                current = match current {
                    Some((s, en, sum, count)) if start <= en => Some((s, en.max(end), sum + e.2, count + 1)),
                    Some((s, en, sum, count)) => {
                        expected.push((0, key, s, en, sum, count));
                        Some((start, end, e.2, 1))
                    }
                    None => Some((start, end, e.2, 1)),
                };
            }
            if let Some((s, en, sum, count)) = current {
                expected.push((0, key, s, en, sum, count));
            }
        }
        expected.sort();
        prop_assert_eq!(collect_sorted(&results), expected);
    }
}

/// Session windows replayed sequentially with Flink's rules: a new element's window merges
/// with every live session it overlaps or touches; the merged session is dropped if already
/// past its cleanup time, fires at once if the watermark passed its end, and otherwise fires when
/// the watermark first passes its end; sessions are removed after the allowed lateness.
fn session_oracle(events: &[Event], gap: i64, delay: i64, lateness: i64) -> Vec<Tagged> {
    let mut out = Vec::new();
    // Sessions of a key never overlap or touch.
    let mut live = LiveWindows::new();
    let mut clock = OracleClock { watermark: i64::MIN, max: i64::MIN, delay, lateness };
    for &(key, ts, value) in events {
        let (mut start, mut end, mut sum, mut count) = (ts, ts + gap, value, 1);
        let touching: Vec<(u8, i64, i64)> =
            live.keys().filter(|w| w.0 == key && w.1 <= ts + gap && w.2 >= ts).copied().collect();
        for window in &touching {
            start = start.min(window.1);
            end = end.max(window.2);
        }
        if (end - 1).saturating_add(lateness) <= clock.watermark {
            if ts + lateness <= clock.watermark {
                out.push((1, key, ts, value, 0, 0));
            }
        } else {
            for window in touching {
                let (s, c) = live.remove(&window).expect("listed above");
                sum += s;
                count += c;
            }
            live.insert((key, start, end), (sum, count));
            if end - 1 <= clock.watermark {
                out.push((0, key, start, end, sum, count));
            }
        }
        clock.after_event(ts, &mut live, &mut out);
    }
    clock.advance(i64::MAX, &mut live, &mut out);
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Sessions in streaming: out-of-order events beyond the watermark delay, lateness, late
    /// data to the side output.
    #[test]
    fn session_windows_with_lateness_match_the_oracle(
        events in events(), gap in 1i64..15, delay in 0i64..15, lateness in 0i64..10, parallelism in 1usize..=4,
    ) {
        let assigner = EventTimeSessionWindows::with_gap(Duration::from_millis(gap as u64));
        let expected = session_oracle(&events, gap, delay, lateness);
        prop_assert_eq!(run_windows(&events, assigner, delay, lateness, parallelism), expected);
    }
}

/// Registers (or, for negative values, deletes) an event-time timer at the event's value and
/// reports every firing as `(key, timer, watermark at firing)`.
#[derive(Clone)]
struct TimerProbe;

impl KeyedProcessFunction<u8, Event, (u8, i64, i64)> for TimerProbe {
    fn process_element(&mut self, e: Event, ctx: &mut KeyedProcessContext<'_, u8, (u8, i64, i64)>) -> Result<()> {
        if e.2 >= 0 {
            ctx.timer_service().register_event_time_timer(e.2);
        } else {
            ctx.timer_service().delete_event_time_timer(-e.2);
        }
        Ok(())
    }

    fn on_timer(&mut self, timestamp: i64, ctx: &mut OnTimerContext<'_, u8, (u8, i64, i64)>) -> Result<()> {
        let watermark = ctx.timer_service().current_watermark();
        let key = ctx.get_current_key();
        prop_assert_timer(ctx.timestamp() == Some(timestamp))?;
        ctx.collect((key, timestamp, watermark));
        Ok(())
    }
}

fn prop_assert_timer(ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(pyflink_core::FlinkError::user("output of an event-time timer must carry the timer's timestamp"))
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every live timer fires exactly once, in timestamp order per key, at the first watermark at
    /// or past it (after registration), and watermarks seen by timers never go back.
    #[test]
    fn timers_fire_once_in_order(
        events in proptest::collection::vec((0u8..3, 0i64..60, -40i64..40), 0..50),
        delay in 0i64..10,
        parallelism in 1usize..=4,
    ) {
        let env = env(parallelism);
        let fired = common::collect(&timed_source(&env, &events, delay).key_by(|e| e.0).process(TimerProbe));
        // Oracle: replay registrations, deletions and watermark advances sequentially.
        let mut pending: BTreeSet<(u8, i64)> = BTreeSet::new();
        let mut expected: BTreeMap<u8, Vec<(i64, i64)>> = BTreeMap::new();
        let mut watermark = i64::MIN;
        let mut max = i64::MIN;
        let mut advance = |to: i64, pending: &mut BTreeSet<(u8, i64)>| {
            let due: Vec<(u8, i64)> = pending.iter().filter(|t| t.1 <= to).copied().collect();
            for timer in due {
                pending.remove(&timer);
                expected.entry(timer.0).or_default().push((timer.1, to));
            }
        };
        for &(key, ts, value) in &events {
            if value >= 0 {
                pending.insert((key, value));
            } else {
                pending.remove(&(key, -value));
            }
            max = max.max(ts);
            if max - delay - 1 > watermark {
                watermark = max - delay - 1;
                advance(watermark, &mut pending);
            }
        }
        advance(i64::MAX, &mut pending);
        let mut actual: BTreeMap<u8, Vec<(i64, i64)>> = BTreeMap::new();
        for (key, timer, watermark) in fired {
            actual.entry(key).or_default().push((timer, watermark));
        }
        prop_assert_eq!(actual, expected);
    }
}

/// Counts firings per window (window state) and per key (global state); `clear` forgets the
/// window's count and reports itself as `(start, 0, -1, 0)`.
#[derive(Clone, Default)]
struct FiringCounter {
    per_window: Option<pyflink_core::ValueState<i64>>,
    per_key: Option<pyflink_core::ValueState<i64>>,
}

impl pyflink_core::window::ProcessWindowFunction<Event, (i64, i64, i64, usize), u8, TimeWindow> for FiringCounter {
    fn open(&mut self, ctx: &mut pyflink_core::window::WindowRuntimeContext<'_, u8, TimeWindow>) -> Result<()> {
        self.per_window = Some(ctx.get_window_state(&pyflink_core::ValueStateDescriptor::new("firings"))?);
        self.per_key = Some(ctx.get_state(&pyflink_core::ValueStateDescriptor::new("total"))?);
        Ok(())
    }

    fn process(
        &mut self,
        _: &u8,
        ctx: &mut WindowContext<'_, TimeWindow, (i64, i64, i64, usize)>,
        elements: &[Event],
    ) -> Result<()> {
        let (per_window, per_key) = (self.per_window.as_ref().unwrap(), self.per_key.as_ref().unwrap());
        let here = per_window.value().unwrap_or(0) + 1;
        per_window.update(here);
        let total = per_key.value().unwrap_or(0) + 1;
        per_key.update(total);
        ctx.collect((ctx.window().start, here, total, elements.len()));
        Ok(())
    }

    fn clear(&mut self, _: &u8, ctx: &mut WindowContext<'_, TimeWindow, (i64, i64, i64, usize)>) -> Result<()> {
        self.per_window.as_ref().unwrap().clear();
        ctx.collect((ctx.window().start, 0, -1, 0));
        Ok(())
    }
}

#[test]
fn window_functions_keep_per_window_and_per_key_state() {
    let env = env(1);
    let events: Vec<Event> = vec![(0, 1, 0), (0, 6, 0), (0, 3, 0), (0, 30, 0)];
    let results = timed_source(&env, &events, 0)
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(5)))
        .allowed_lateness(Duration::from_millis(10))
        .process(FiringCounter::default());
    assert_eq!(
        common::collect(&results),
        vec![
            (0, 1, 1, 1),  // [0,5) fires when the watermark reaches 5
            (0, 2, 2, 2),  // a late element within the lateness fires it again
            (5, 1, 3, 1),  // the watermark reaches 29
            (0, 0, -1, 0), // [0,5) is removed at 4 + 10
            (5, 0, -1, 0),
            (30, 1, 4, 1), // the final watermark
            (30, 0, -1, 0),
        ]
    );
}
