//! Watermark alignment of sources: a source whose event time runs ahead of the other sources
//! of its alignment group waits for them, and nothing is lost or repeated while it waits.

mod common;

use std::time::Duration;

use common::{collect, env};
use pyflink_core::sources::NumberSequenceSource;
use pyflink_core::time::{WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
use pyflink_core::{DataStream, StreamExecutionEnvironment};

/// Emits a watermark with every record, so the source's watermark follows its reading closely.
struct EveryRecord;

impl WatermarkGenerator<i64> for EveryRecord {
    fn on_event(&mut self, _: &i64, timestamp: i64, output: &mut WatermarkOutput) {
        output.emit_watermark(timestamp);
    }
    fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
}

const RECORDS: i64 = 200_000;
const DRIFT_MS: i64 = 5_000;

/// Where a sequence's watermark strategy is applied.
#[derive(Clone, Copy, PartialEq)]
enum Alignment {
    None,
    /// In the source, as Flink does.
    InSource,
    /// In a timestamp assigner after a map of the source, as the Python API does.
    AfterSource,
}

/// A sequence of `RECORDS` numbers whose event time advances by `step` ms per record, tagged.
fn sequence(env: &StreamExecutionEnvironment, tag: char, step: i64, alignment: Alignment) -> DataStream<(char, i64)> {
    let mut strategy =
        WatermarkStrategy::for_generator(|| EveryRecord).with_timestamp_assigner(move |n: &i64, _| n * step);
    if alignment != Alignment::None {
        strategy = strategy.with_watermark_alignment(
            "sequences",
            Duration::from_millis(DRIFT_MS as u64),
            Some(Duration::from_millis(1)),
        );
    }
    let source = NumberSequenceSource::new(0, RECORDS - 1).unwrap();
    let name = format!("sequence {tag}");
    let numbers = match alignment {
        Alignment::AfterSource => env
            .from_source(source, WatermarkStrategy::no_watermarks(), &name)
            .map(|n| n)
            .assign_timestamps_and_watermarks(strategy),
        _ => env.from_source(source, strategy, &name),
    };
    numbers.map(move |n| (tag, n * step))
}

/// The largest lead, in event time, of the fast sequence over the slow one in arrival order.
fn largest_lead(alignment: Alignment) -> i64 {
    let env = env(1);
    let fast = sequence(&env, 'f', 10, alignment);
    let slow = sequence(&env, 's', 1, alignment);
    let out = collect(&fast.union(&[slow]));
    let (mut fast_seen, mut slow_seen) = (Vec::new(), Vec::new());
    let (mut slow_max, mut lead) = (i64::MIN, 0);
    for (tag, time) in out {
        if tag == 'f' {
            fast_seen.push(time / 10);
            // Once the slow sequence has ended, it no longer holds the group back.
            if slow_seen.len() < RECORDS as usize {
                lead = lead.max(time - slow_max.max(0));
            }
        } else {
            slow_seen.push(time);
            slow_max = slow_max.max(time);
        }
    }
    fast_seen.sort_unstable();
    slow_seen.sort_unstable();
    assert_eq!(fast_seen, (0..RECORDS).collect::<Vec<_>>(), "every fast record exactly once");
    assert_eq!(slow_seen, (0..RECORDS).collect::<Vec<_>>(), "every slow record exactly once");
    lead
}

#[test]
fn an_aligned_source_waits_for_the_slowest_of_its_group() {
    let unaligned = largest_lead(Alignment::None);
    assert!(unaligned > 1_000_000, "without alignment the fast sequence runs ahead (lead {unaligned} ms)");
    // The drift, plus what one batch of each source spans (records are checked per batch).
    let bound = DRIFT_MS + 1024 * 10 + 16 * 1024;
    for alignment in [Alignment::InSource, Alignment::AfterSource] {
        let aligned = largest_lead(alignment);
        assert!(aligned <= bound, "aligned lead {aligned} ms exceeds {bound} ms");
    }
}
