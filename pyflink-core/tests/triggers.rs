//! Window jobs with non-default triggers and functions, on deterministic punctuated watermarks:
//! continuous event-time triggers, sliding count windows, a custom trigger on global windows,
//! a trigger delegating to built-in ones, fallible reduce and aggregate functions, and
//! `window_all`.

mod common;

use std::time::Duration;

use common::{collect, env, env as env_with, timed_source, Event};
use pyflink_core::window::{
    ContinuousEventTimeTrigger, CountTrigger, EventTimeTrigger, GlobalWindow, GlobalWindows, TimeWindow, Trigger,
    TriggerContext, TriggerResult, TryAggregateFunction, TumblingEventTimeWindows, Window,
};
use pyflink_core::FlinkError;

fn start_and_count(_: &u8, window: &TimeWindow, events: &[Event]) -> [(i64, usize); 1] {
    [(window.start, events.len())]
}

#[test]
fn continuous_event_time_trigger_fires_every_interval_and_at_the_end() {
    let env = env(1);
    let events: Vec<Event> = [1, 2, 4, 7, 12].iter().map(|&ts| (0, ts, 0)).collect();
    let fired = timed_source(&env, &events, 0)
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(10)))
        .trigger(ContinuousEventTimeTrigger::of(Duration::from_millis(3)))
        .apply(start_and_count);
    // As in Flink, the first firing is one interval after the start of the first element's
    // interval: [0,10) fires at 3 and 6 as the watermark passes them, and at its end (9);
    // [10,20) at 15 and 18, and at its end, both on the final watermark.
    assert_eq!(collect(&fired), vec![(0, 3), (0, 4), (0, 4), (10, 1), (10, 1), (10, 1)]);
}

#[test]
fn sliding_count_windows_fire_every_slide_over_the_last_size_elements() {
    let env = env(2);
    let values: Vec<(u8, i64)> = (1..=7).map(|v| (0u8, v)).chain((1..=3).map(|v| (1, v * 100))).collect();
    let sums = env
        .from_collection(values)
        .key_by(|v| v.0)
        .count_window_sliding(3, 2)
        .apply(|key: &u8, _: &GlobalWindow, rows: &[(u8, i64)]| [(*key, rows.iter().map(|r| r.1).sum::<i64>())]);
    let mut out = collect(&sums);
    out.sort();
    assert_eq!(out, vec![(0, 3), (0, 9), (0, 15), (1, 300)]);
}

/// Fires and purges a global window when an element with a negative value arrives.
#[derive(Clone)]
struct OnNegative;

impl Trigger<Event, GlobalWindow> for OnNegative {
    type State = u32;

    fn on_element(
        &self,
        element: &Event,
        _: Option<i64>,
        _: &GlobalWindow,
        ctx: &mut TriggerContext<'_, GlobalWindow, u32>,
    ) -> TriggerResult {
        *ctx.state() += 1;
        if element.2 < 0 {
            TriggerResult::FireAndPurge
        } else {
            TriggerResult::Continue
        }
    }
    fn on_event_time(&self, _: i64, _: &GlobalWindow, _: &mut TriggerContext<'_, GlobalWindow, u32>) -> TriggerResult {
        TriggerResult::Continue
    }
    fn on_processing_time(
        &self,
        _: i64,
        _: &GlobalWindow,
        _: &mut TriggerContext<'_, GlobalWindow, u32>,
    ) -> TriggerResult {
        TriggerResult::Continue
    }
    fn clear(&self, _: &GlobalWindow, ctx: &mut TriggerContext<'_, GlobalWindow, u32>) {
        *ctx.state() = 0;
    }
}

#[test]
fn a_custom_trigger_fires_global_windows() {
    let env = env(2);
    let events: Vec<Event> = vec![(0, 0, 1), (1, 0, 10), (0, 0, 2), (0, 0, -1), (0, 0, 5), (1, 0, -10), (0, 0, 7)];
    let sums = env
        .from_collection(events)
        .key_by(|e| e.0)
        .window(GlobalWindows::create())
        .trigger(OnNegative)
        .reduce(|a, b| (a.0, a.1, a.2 + b.2));
    let mut out = collect(&sums);
    out.sort();
    // Key 0 fires on -1 with 1 + 2 - 1; the 5 and 7 after it never fire. Key 1 fires 10 - 10.
    assert_eq!(out, vec![(0, 0, 2), (1, 0, 0)]);
}

#[test]
fn window_all_runs_one_instance_over_all_keys() {
    let env = env(2);
    let events: Vec<Event> = vec![(0, 1, 0), (1, 2, 0), (2, 6, 0), (3, 3, 0), (1, 12, 0)];
    let counts = timed_source(&env, &events, 10)
        .window_all(TumblingEventTimeWindows::of(Duration::from_millis(5)))
        .apply(|window: &TimeWindow, rows: &[Event]| [(window.start, rows.len())]);
    assert_eq!(collect(&counts), vec![(0, 3), (5, 1), (10, 1)]);

    let second = env_with(2);
    timed_source(&second, &events, 0)
        .window_all(TumblingEventTimeWindows::of(Duration::from_millis(5)))
        .apply(|window: &TimeWindow, rows: &[Event]| [(window.start, rows.len())])
        .set_parallelism(2)
        .discard();
    match second.execute("parallel window_all") {
        Err(FlinkError::InvalidProgram(message)) => assert!(message.contains("not parallel"), "{message}"),
        other => panic!("expected an invalid program, got {other:?}"),
    }
}

#[test]
fn invalid_window_parameters_fail_when_the_job_is_planned() {
    let env = env(1);
    env.from_collection(vec![(0u8, 1i64, 0i64)])
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::ZERO))
        .apply(start_and_count)
        .discard();
    match env.execute("zero window") {
        Err(FlinkError::InvalidProgram(message)) => assert!(message.contains("size above 0"), "{message}"),
        other => panic!("expected an invalid program, got {other:?}"),
    }
}

/// A trigger picked when the job is built, delegating to built-in triggers whose states
/// differ: the count lives in the first field of its state.
#[derive(Clone)]
enum Picked {
    Count(CountTrigger),
    EventTime,
}

impl<W: Window> Trigger<Event, W> for Picked {
    type State = (u64, ());

    fn on_element(
        &self,
        e: &Event,
        ts: Option<i64>,
        w: &W,
        ctx: &mut TriggerContext<'_, W, (u64, ())>,
    ) -> TriggerResult {
        match self {
            Picked::Count(trigger) => {
                let mut count = ctx.state().0;
                let result = ctx.with_state(&mut count, |inner| trigger.on_element(e, ts, w, inner));
                ctx.state().0 = count;
                result
            }
            Picked::EventTime => ctx.with_state(&mut (), |inner| EventTimeTrigger.on_element(e, ts, w, inner)),
        }
    }
    fn on_event_time(&self, time: i64, w: &W, ctx: &mut TriggerContext<'_, W, (u64, ())>) -> TriggerResult {
        match self {
            Picked::Count(_) => TriggerResult::Continue,
            Picked::EventTime => {
                ctx.with_state(&mut (), |inner| Trigger::<Event, W>::on_event_time(&EventTimeTrigger, time, w, inner))
            }
        }
    }
    fn on_processing_time(&self, _: i64, _: &W, _: &mut TriggerContext<'_, W, (u64, ())>) -> TriggerResult {
        TriggerResult::Continue
    }
    fn clear(&self, w: &W, ctx: &mut TriggerContext<'_, W, (u64, ())>) {
        match self {
            Picked::Count(_) => ctx.state().0 = 0,
            Picked::EventTime => {
                ctx.with_state(&mut (), |inner| Trigger::<Event, W>::clear(&EventTimeTrigger, w, inner))
            }
        }
    }
}

#[test]
fn a_trigger_picked_at_run_time_delegates_to_built_in_triggers_with_their_state() {
    let events: Vec<Event> = [1, 2, 3, 4, 5, 6, 7].iter().map(|&ts| (0, ts, 0)).collect();
    let run = |trigger: Picked| {
        let env = env(1);
        let fired = timed_source(&env, &events, 0)
            .key_by(|e| e.0)
            .window(TumblingEventTimeWindows::of(Duration::from_millis(10)))
            .trigger(trigger)
            .apply(start_and_count);
        collect(&fired)
    };
    // Every third element fires the window, counted in the delegated state.
    assert_eq!(run(Picked::Count(CountTrigger::of(3))), vec![(0, 3), (0, 6)]);
    // The event-time trigger fires once, at the window's end.
    assert_eq!(run(Picked::EventTime), vec![(0, 7)]);
}

/// Sums the third fields, failing on a negative one.
#[derive(Clone)]
struct CheckedSum;

impl TryAggregateFunction<Event> for CheckedSum {
    type Accumulator = i64;
    type Output = i64;
    fn try_create_accumulator(&self) -> pyflink_core::Result<i64> {
        Ok(0)
    }
    fn try_add(&self, e: Event, sum: i64) -> pyflink_core::Result<i64> {
        if e.2 < 0 {
            return Err(FlinkError::user(format!("negative amount {}", e.2)));
        }
        Ok(sum + e.2)
    }
    fn try_get_result(&self, sum: &i64) -> pyflink_core::Result<i64> {
        Ok(*sum)
    }
    fn try_merge(&self, a: i64, b: i64) -> pyflink_core::Result<i64> {
        Ok(a + b)
    }
}

#[test]
fn fallible_reduce_and_aggregate_functions_fail_the_job_with_their_error() {
    let good: Vec<Event> = vec![(0, 1, 2), (0, 2, 3), (1, 3, 4)];
    let bad: Vec<Event> = vec![(0, 1, 2), (0, 2, -3), (1, 3, 4)];
    let checked = |a: Event, b: Event| -> pyflink_core::Result<Event> {
        if b.2 < 0 {
            return Err(FlinkError::user(format!("negative amount {}", b.2)));
        }
        Ok((a.0, a.1, a.2 + b.2))
    };
    for (events, ok) in [(&good, true), (&bad, false)] {
        let env = env(2);
        let windowed = || {
            timed_source(&env, events, 0)
                .key_by(|e| e.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(10)))
        };
        windowed().try_reduce(checked).discard();
        windowed().aggregate(CheckedSum).discard();
        match env.execute("checked sums") {
            Ok(_) => assert!(ok, "a negative amount must fail the job"),
            Err(error) => {
                assert!(!ok, "{error}");
                assert!(error.to_string().contains("negative amount -3"), "{error}");
            }
        }
    }
    let env = env(1);
    let sums = timed_source(&env, &good, 0)
        .key_by(|e| e.0)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(10)))
        .aggregate(CheckedSum);
    let mut out = collect(&sums);
    out.sort();
    assert_eq!(out, vec![4, 5]);
}
