//! The job several benchmarks time: `sequence -> map -> key_by -> sum -> blackhole` over
//! 10,000 keys.

use pyflink_core::StreamExecutionEnvironment;

/// Adds the keyed sum of `records` numbers to `env`.
pub fn add_keyed_sum(env: &StreamExecutionEnvironment, records: i64) {
    env.from_sequence(0, records - 1)
        .expect("valid range")
        .map(|x| (x % 10_000, 1i64))
        .key_by(|t| t.0)
        .sum(|t| &mut t.1)
        .discard();
}
