//! Periodic watermarks and processing time, on slow sources so that time passes while the job
//! runs: processing-time timers and windows fire, and periodic watermarks fire event-time
//! windows before the input ends.

mod common;

use std::time::Duration;

use common::{collect, collect_sorted, env};
use pyflink_core::sources::DataGenSource;
use pyflink_core::time::{TimeDomain, WatermarkStrategy};
use pyflink_core::window::{TimeWindow, TumblingEventTimeWindows, TumblingProcessingTimeWindows};
use pyflink_core::{KeyedProcessContext, KeyedProcessFunction, OnTimerContext, Result};

/// `rows` rows at `rate` per second: `(key, index)` with keys 0 and 1.
fn slow_source(rows: u64, rate: f64) -> DataGenSource<(u8, i64)> {
    DataGenSource::new(|ctx| ((ctx.index() % 2) as u8, ctx.index() as i64))
        .number_of_rows(rows)
        .rows_per_second(rate)
        .unwrap()
}

/// Registers a processing-time timer 30 ms after each key's first record.
#[derive(Clone)]
struct FirstSeen;

impl KeyedProcessFunction<u8, (u8, i64), (u8, bool, Option<i64>)> for FirstSeen {
    fn process_element(
        &mut self,
        value: (u8, i64),
        ctx: &mut KeyedProcessContext<'_, u8, (u8, bool, Option<i64>)>,
    ) -> Result<()> {
        if value.1 < 2 {
            let now = ctx.timer_service().current_processing_time();
            ctx.timer_service().register_processing_time_timer(now + 30);
        }
        Ok(())
    }

    fn on_timer(&mut self, _: i64, ctx: &mut OnTimerContext<'_, u8, (u8, bool, Option<i64>)>) -> Result<()> {
        let key = ctx.get_current_key();
        let domain = ctx.time_domain() == Some(TimeDomain::ProcessingTime);
        let timestamp = ctx.timestamp();
        ctx.collect((key, domain, timestamp));
        Ok(())
    }
}

#[test]
fn processing_time_timers_fire_while_the_job_runs() {
    for parallelism in [1, 2] {
        let env = env(parallelism);
        let stream = env.from_source(slow_source(16, 40.0), WatermarkStrategy::no_watermarks(), "slow");
        let fired = collect_sorted(&stream.key_by(|e| e.0).process(FirstSeen));
        assert_eq!(fired, vec![(0, true, None), (1, true, None)], "parallelism {parallelism}");
    }
}

#[test]
fn processing_time_windows_fire_on_the_wall_clock() {
    let env = env(2);
    let stream = env.from_source(slow_source(30, 60.0), WatermarkStrategy::no_watermarks(), "slow");
    let windows = collect(
        &stream
            .key_by(|e| e.0)
            .window(TumblingProcessingTimeWindows::of(Duration::from_millis(100)))
            .apply(|key: &u8, window: &TimeWindow, rows: &[(u8, i64)]| [(*key, *window, rows.len())]),
    );
    assert!(!windows.is_empty(), "windows fire while the 0.5 s input runs");
    for (_, window, count) in &windows {
        assert_eq!(window.end - window.start, 100);
        assert_eq!(window.start.rem_euclid(100), 0, "aligned to the epoch");
        assert!(*count > 0);
    }
    // Processing-time windows still open when the input ends do not fire, as in Flink.
    assert!(windows.iter().map(|w| w.2).sum::<usize>() <= 30);
}

#[test]
fn periodic_watermarks_fire_event_time_windows_before_the_end() {
    let env = env(2);
    env.set_auto_watermark_interval(Duration::from_millis(20));
    // Event time runs 10 ms per row, 100 rows per second: windows of 100 ms close every 0.1 s.
    let strategy = WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_millis(5))
        .with_timestamp_assigner(|e: &(u8, i64), _| e.1 * 10);
    let stream = env.from_source(slow_source(40, 100.0), strategy, "slow");
    let results = stream.key_by(|e| e.0).window(TumblingEventTimeWindows::of(Duration::from_millis(100))).process(
        |key: &u8,
         ctx: &mut pyflink_core::window::WindowContext<'_, TimeWindow, (u8, i64, i64, bool)>,
         rows: &[(u8, i64)]| {
            // Fired before the end of input: the watermark is below the final MAX watermark.
            let early = ctx.current_watermark() < i64::MAX;
            ctx.collect((*key, ctx.window().start, rows.len() as i64, early));
            Ok(())
        },
    );
    let mut out = collect(&results);
    out.sort();
    let expected: Vec<(u8, i64, i64)> =
        [0u8, 1].into_iter().flat_map(|key| (0..4).map(move |w| (key, w * 100, 5i64))).collect();
    assert_eq!(out.iter().map(|r| (r.0, r.1, r.2)).collect::<Vec<_>>(), expected);
    assert!(out.iter().any(|r| r.3), "periodic watermarks fired some windows before the input ended");
}
