//! Event-time timers: a running sum per name, reported by a timer two seconds (event time)
//! after each record, as PyFlink's `event_time_timer` example does with the same data.
//!
//! All records arrive before the first periodic watermark, so every timer fires at the end of
//! input and reports each name's final sum. Amounts are `f32`, as the example's `Types.FLOAT()`
//! input, and are summed as `f64`, as Python's floats are; lines are printed the way Python
//! prints a tuple.
//!
//! As in PyFlink's example, the state has a one-second time-to-live, renewed on reads and writes;
//! no state expires during this short run.
//!
//! Run: `cargo run --release -p pyflink-examples --bin event_time_timer`

use std::time::Duration;

use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{
    KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, OnTimerContext, Result, StateTtlConfig,
    StreamExecutionEnvironment, UpdateType, ValueState, ValueStateDescriptor,
};

/// Sums each name's amounts and registers a timer two seconds after every record.
#[derive(Clone, Default)]
struct Sum {
    state: Option<ValueState<f64>>,
}

impl Sum {
    fn state(&self) -> &ValueState<f64> {
        self.state.as_ref().expect("created in open")
    }
}

impl KeyedProcessFunction<String, (i64, String, f32), String> for Sum {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, String>) -> Result<()> {
        let mut descriptor = ValueStateDescriptor::new("state");
        descriptor.enable_time_to_live(
            StateTtlConfig::new_builder(Duration::from_secs(1))
                .set_update_type(UpdateType::OnReadAndWrite)
                .disable_cleanup_in_background()
                .build(),
        );
        self.state = Some(context.get_state(&descriptor)?);
        Ok(())
    }

    fn process_element(
        &mut self,
        value: (i64, String, f32),
        ctx: &mut KeyedProcessContext<'_, String, String>,
    ) -> Result<()> {
        let current = self.state().value().unwrap_or(0.0);
        self.state().update(current + f64::from(value.2));
        let timestamp = ctx.timestamp().expect("timestamps are assigned");
        ctx.timer_service().register_event_time_timer(timestamp + 2000);
        Ok(())
    }

    fn on_timer(&mut self, _timestamp: i64, ctx: &mut OnTimerContext<'_, String, String>) -> Result<()> {
        let sum = self.state().value().unwrap_or(0.0);
        // Python's repr of a float is the shortest text that reads back as the same double,
        // which is what `{:?}` prints.
        let line = format!("('{}', {:?})", ctx.get_current_key(), sum);
        ctx.collect(line);
        Ok(())
    }
}

fn main() -> Result<()> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    let events = env.from_collection(vec![
        (1000i64, "Alice".to_string(), 110.1f32),
        (4000, "Bob".into(), 30.2),
        (3000, "Alice".into(), 20.0),
        (2000, "Bob".into(), 53.1),
        (5000, "Alice".into(), 13.1),
        (3000, "Bob".into(), 3.1),
        (7000, "Bob".into(), 16.1),
        (10000, "Alice".into(), 20.1),
    ]);
    events
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_secs(2))
                .with_timestamp_assigner(|event: &(i64, String, f32), _| event.0),
        )
        .key_by(|event| event.1.clone())
        .process(Sum::default())
        .print();
    env.execute("event_time_timer")?;
    Ok(())
}
