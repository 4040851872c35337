//! Property tests: keyed aggregations over random input at random parallelism equal a simple
//! sequential oracle.

mod common;

use std::collections::BTreeMap;

use common::{collect, collect_sorted, env};
use proptest::prelude::*;
use pyflink_core::{DataStream, KeyedStream, RuntimeExecutionMode};

type Row = (u8, i32, u16);

/// Which keyed aggregation to run.
#[derive(Debug, Clone, Copy)]
enum Aggregation {
    Reduce,
    Sum,
    Min,
    Max,
    MinBy,
    MaxBy,
}

const AGGREGATIONS: [Aggregation; 6] =
    [Aggregation::Reduce, Aggregation::Sum, Aggregation::Min, Aggregation::Max, Aggregation::MinBy, Aggregation::MaxBy];

fn apply(keyed: &KeyedStream<Row, u8>, aggregation: Aggregation) -> DataStream<Row> {
    match aggregation {
        Aggregation::Reduce => keyed.reduce(|a, b| (a.0, a.1.wrapping_mul(3).wrapping_add(b.1), a.2.max(b.2))),
        Aggregation::Sum => keyed.sum(|r| &mut r.1),
        Aggregation::Min => keyed.min(|r| &mut r.1),
        Aggregation::Max => keyed.max(|r| &mut r.1),
        Aggregation::MinBy => keyed.min_by(|r| &mut r.1),
        Aggregation::MaxBy => keyed.max_by(|r| &mut r.1),
    }
}

/// The oracle: fold each key's records in input order, as Flink's semantics define.
fn fold(aggregation: Aggregation, acc: Row, next: Row) -> Row {
    match aggregation {
        Aggregation::Reduce => (acc.0, acc.1.wrapping_mul(3).wrapping_add(next.1), acc.2.max(next.2)),
        Aggregation::Sum => (acc.0, acc.1 + next.1, acc.2),
        Aggregation::Min => (acc.0, acc.1.min(next.1), acc.2),
        Aggregation::Max => (acc.0, acc.1.max(next.1), acc.2),
        Aggregation::MinBy => {
            if next.1 < acc.1 {
                next
            } else {
                acc
            }
        }
        Aggregation::MaxBy => {
            if next.1 > acc.1 {
                next
            } else {
                acc
            }
        }
    }
}

/// Every update per key, in order: what streaming mode emits.
fn oracle_updates(aggregation: Aggregation, input: &[Row]) -> BTreeMap<u8, Vec<Row>> {
    let mut current: BTreeMap<u8, Row> = BTreeMap::new();
    let mut updates: BTreeMap<u8, Vec<Row>> = BTreeMap::new();
    for &row in input {
        let next = match current.get(&row.0) {
            Some(&acc) => fold(aggregation, acc, row),
            None => row,
        };
        current.insert(row.0, next);
        updates.entry(row.0).or_default().push(next);
    }
    updates
}

fn rows() -> impl Strategy<Value = Vec<Row>> {
    // Small values so sums stay within i32; few keys so keys repeat.
    proptest::collection::vec((0u8..12, -1000i32..1000, any::<u16>()), 0..250)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn streaming_aggregations_emit_the_oracles_updates_per_key(input in rows(), parallelism in 1usize..=4) {
        for aggregation in AGGREGATIONS {
            let env = env(parallelism);
            let keyed = env.from_collection(input.clone()).key_by(|r: &Row| r.0);
            let out = collect(&apply(&keyed, aggregation));
            let mut per_key: BTreeMap<u8, Vec<Row>> = BTreeMap::new();
            for row in out {
                per_key.entry(row.0).or_default().push(row);
            }
            prop_assert_eq!(per_key, oracle_updates(aggregation, &input), "{:?} at parallelism {}", aggregation, parallelism);
        }
    }

    #[test]
    fn batch_aggregations_emit_the_oracles_final_values(
        input in rows(),
        parallelism in 1usize..=4,
        upstream in 1usize..=4,
    ) {
        // Sum, min and max of a field do not depend on arrival order, so the input may be spread
        // over several upstream instances first.
        for aggregation in [Aggregation::Sum, Aggregation::Min, Aggregation::Max] {
            let env = env(parallelism);
            env.set_runtime_mode(RuntimeExecutionMode::Batch);
            let spread = env.from_collection(input.clone()).rebalance().map(|r| r).set_parallelism(upstream);
            let out = collect_sorted(&apply(&spread.key_by(|r: &Row| r.0), aggregation));
            let expected: Vec<(u8, i32)> = oracle_updates(aggregation, &input)
                .into_iter()
                .map(|(k, updates)| (k, updates.last().unwrap().1))
                .collect();
            let got: Vec<(u8, i32)> = out.iter().map(|r| (r.0, r.1)).collect();
            prop_assert_eq!(got, expected, "{:?} at parallelism {} after {}", aggregation, parallelism, upstream);
        }
    }
}
