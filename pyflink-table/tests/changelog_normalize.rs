//! `normalize_changelog`, which makes an upsert stream (the latest row per key, deletions by
//! key) a full changelog: a property test over random upserts and deletions of a few keys, in
//! random batches, normalized at parallelism 1 to 3. Applied in order, the changelog must only
//! retract rows that are there, insert keys that are not, and end with the last row of each key
//! that was not deleted, which is what the oracle keeps.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use pyflink_core::table::RowKind;
use pyflink_core::{ProcessContext, ProcessFunction, StreamExecutionEnvironment};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::normalize_changelog;
use pyflink_table::datafusion::arrow::array::{AsArray, Int64Array, RecordBatch};
use pyflink_table::datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};

/// An upsert of (key, value), or the deletion of a key (`None`).
type Upsert = (i64, Option<i64>);

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("key", DataType::Int64, false), Field::new("value", DataType::Int64, true)]))
}

/// The upserts as batches of `size` rows: `+I` rows, and `-D` rows with a NULL value.
fn batches(upserts: &[Upsert], size: usize) -> Vec<ChangeBatch> {
    upserts
        .chunks(size)
        .map(|chunk| {
            let keys = Int64Array::from_iter_values(chunk.iter().map(|(key, _)| *key));
            let values: Int64Array = chunk.iter().map(|(_, value)| *value).collect();
            let rows = RecordBatch::try_new(schema(), vec![Arc::new(keys), Arc::new(values)]).unwrap();
            let kinds = chunk
                .iter()
                .map(|(_, value)| if value.is_some() { RowKind::Insert } else { RowKind::Delete })
                .collect();
            ChangeBatch { rows, kinds: Some(kinds) }
        })
        .collect()
}

/// Each change as (kind, key, value).
#[derive(Clone)]
struct Changes;

impl ProcessFunction<ChangeBatch, (RowKind, i64, i64)> for Changes {
    fn process_element(
        &mut self,
        batch: ChangeBatch,
        ctx: &mut ProcessContext<'_, (RowKind, i64, i64)>,
    ) -> pyflink_core::Result<()> {
        let keys = batch.rows.column(0).as_primitive::<Int64Type>();
        let values = batch.rows.column(1).as_primitive::<Int64Type>();
        for row in 0..batch.len() {
            ctx.collect((batch.kind(row), keys.value(row), values.value(row)));
        }
        Ok(())
    }
}

fn normalized(upserts: &[Upsert], batch_size: usize, parallelism: usize) -> Vec<(RowKind, i64, i64)> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let input = env.from_collection(batches(upserts, batch_size));
    normalize_changelog(input, &schema(), &[0], parallelism)
        .unwrap()
        .process(Changes)
        .set_parallelism(parallelism)
        .execute_and_collect()
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_changelog_retracts_what_it_inserted_and_ends_with_each_keys_last_row(
        upserts in prop::collection::vec((0i64..6, prop::option::weighted(0.75, 0i64..4)), 0..120),
        batch_size in 1usize..20,
        parallelism in 1usize..4,
    ) {
        let changes = normalized(&upserts, batch_size, parallelism);
        // Changes of different keys may interleave across instances; those of one key keep
        // their order, so each key's changes are checked in order.
        let mut table: BTreeMap<i64, i64> = BTreeMap::new();
        let mut updating: BTreeMap<i64, bool> = BTreeMap::new();
        for (kind, key, value) in &changes {
            let pending = updating.insert(*key, false).unwrap_or(false);
            match kind {
                RowKind::Insert => prop_assert_eq!(table.insert(*key, *value), None, "+I of a key that has a row"),
                RowKind::UpdateBefore => {
                    prop_assert_eq!(table.remove(key), Some(*value), "-U of a row that is not there");
                    updating.insert(*key, true);
                }
                RowKind::UpdateAfter => {
                    prop_assert!(pending, "+U of key {} without its -U", key);
                    prop_assert_eq!(table.insert(*key, *value), None);
                }
                RowKind::Delete => prop_assert_eq!(table.remove(key), Some(*value), "-D of a row that is not there"),
            }
        }
        let mut oracle = BTreeMap::new();
        for (key, value) in &upserts {
            match value {
                Some(value) => oracle.insert(*key, *value),
                None => oracle.remove(key),
            };
        }
        prop_assert_eq!(table, oracle);
        // Nothing is emitted for a row equal to the key's last one, nor for deleting a key
        // without a row: a change per upsert that changes something, two per update.
        let mut last: BTreeMap<i64, i64> = BTreeMap::new();
        let mut expected = 0;
        for (key, value) in &upserts {
            expected += match (last.get(key).copied(), value) {
                (None, Some(_)) => 1,
                (Some(old), Some(new)) if old != *new => 2,
                (Some(_), None) => 1,
                _ => 0,
            };
            match value {
                Some(value) => last.insert(*key, *value),
                None => last.remove(key),
            };
        }
        prop_assert_eq!(changes.len(), expected);
    }
}
