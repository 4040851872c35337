//! Windowing: Rust ports of PyFlink's DataStream windowing examples, on the same data and with
//! the same output.
//!
//! Run one with `cargo run --release -p pyflink-examples --bin windowing -- EXAMPLE`, where
//! EXAMPLE is one of `tumbling_time_window`, `sliding_time_window`, `session_with_gap_window`,
//! `session_with_dynamic_gap_window` or `tumbling_count_window`.

use std::time::Duration;

use pyflink_core::time::WatermarkStrategy;
use pyflink_core::window::{
    EventTimeSessionWindows, SlidingEventTimeWindows, TimeWindow, TumblingEventTimeWindows, WindowAssigner,
    WindowContext,
};
use pyflink_core::{DataStream, FlinkError, Result, StreamExecutionEnvironment};

/// `(key, window start, window end, number of elements)`, as the examples' process function.
type WindowCount = (String, i64, i64, i64);

/// The events of the time-window examples, `(key, timestamp)`, with timestamps assigned.
fn timed_events(env: &StreamExecutionEnvironment, timestamps: &[i64]) -> DataStream<(String, i64)> {
    let events: Vec<(String, i64)> = timestamps.iter().map(|&t| ("hi".to_string(), t)).collect();
    env.from_collection(events).assign_timestamps_and_watermarks(
        WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|e: &(String, i64), _| e.1),
    )
}

/// Counts the elements of each window of each key.
fn count_per_window<A>(events: DataStream<(String, i64)>, assigner: A) -> DataStream<WindowCount>
where
    A: WindowAssigner<(String, i64), Window = TimeWindow>,
{
    events.key_by(|e| e.0.clone()).window(assigner).process(
        |key: &String, ctx: &mut WindowContext<'_, TimeWindow, WindowCount>, elements: &[(String, i64)]| {
            let window = *ctx.window();
            ctx.collect((key.clone(), window.start, window.end, elements.len() as i64));
            Ok(())
        },
    )
}

const TIMESTAMPS: [i64; 8] = [1, 2, 3, 4, 5, 8, 9, 15];
const SESSION_TIMESTAMPS: [i64; 7] = [1, 2, 3, 4, 8, 9, 15];

fn main() -> Result<()> {
    let example = std::env::args().nth(1).unwrap_or_default();
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let millis = Duration::from_millis;
    match example.as_str() {
        "tumbling_time_window" => {
            count_per_window(timed_events(&env, &TIMESTAMPS), TumblingEventTimeWindows::of(millis(5))).print();
        }
        "sliding_time_window" => {
            let assigner = SlidingEventTimeWindows::of(millis(5), millis(2));
            count_per_window(timed_events(&env, &TIMESTAMPS), assigner).print();
        }
        "session_with_gap_window" => {
            let assigner = EventTimeSessionWindows::with_gap(millis(5));
            count_per_window(timed_events(&env, &SESSION_TIMESTAMPS), assigner).print();
        }
        "session_with_dynamic_gap_window" => {
            // The example's gap extractor returns the element's second field as the gap.
            let assigner = EventTimeSessionWindows::with_dynamic_gap(|e: &(String, i64)| e.1);
            count_per_window(timed_events(&env, &SESSION_TIMESTAMPS), assigner).print();
        }
        "tumbling_count_window" => {
            let data = vec![(1i64, "hi"), (2, "hello"), (3, "hi"), (4, "hello"), (5, "hi"), (6, "hello"), (6, "hello")];
            let data: Vec<(i64, String)> = data.into_iter().map(|(n, s)| (n, s.to_string())).collect();
            env.from_collection(data)
                .key_by(|e| e.1.clone())
                .count_window(2)
                .apply(|key: &String, _window, inputs: &[(i64, String)]| {
                    [(key.clone(), inputs.iter().map(|i| i.0).sum::<i64>())]
                })
                .print();
        }
        other => {
            return Err(FlinkError::user(format!(
                "unknown example '{other}'; use tumbling_time_window, sliding_time_window, session_with_gap_window, \
                 session_with_dynamic_gap_window or tumbling_count_window"
            )))
        }
    }
    println!("Printing result to stdout.");
    env.execute(&example)?;
    Ok(())
}
