//! `exchange_by_key`, the keyed shuffle before upserting sinks: from one instance into three,
//! every change of a key reaches one instance, in the order the changes were made.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyflink_core::{ProcessContext, ProcessFunction, RuntimeContext, StreamExecutionEnvironment};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::exchange_by_key;
use pyflink_table::datafusion::arrow::array::{AsArray, Int64Array, RecordBatch};
use pyflink_table::datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};

/// Each row as (the instance that got it, key, sequence number).
#[derive(Clone, Default)]
struct Tag {
    instance: usize,
}

impl ProcessFunction<ChangeBatch, (usize, i64, i64)> for Tag {
    fn open(&mut self, context: &RuntimeContext) -> pyflink_core::Result<()> {
        self.instance = context.get_index_of_this_subtask();
        Ok(())
    }

    fn process_element(
        &mut self,
        batch: ChangeBatch,
        ctx: &mut ProcessContext<'_, (usize, i64, i64)>,
    ) -> pyflink_core::Result<()> {
        let (keys, sequence) =
            (batch.rows.column(0).as_primitive::<Int64Type>(), batch.rows.column(1).as_primitive::<Int64Type>());
        for row in 0..keys.len() {
            ctx.collect((self.instance, keys.value(row), sequence.value(row)));
        }
        Ok(())
    }
}

#[test]
fn every_change_of_a_key_reaches_one_instance_in_order() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Int64, false),
        Field::new("sequence", DataType::Int64, false),
    ]));
    // 40 batches of 25 changes to 17 keys, numbered in the order they are made.
    let batches: Vec<ChangeBatch> = (0..40)
        .map(|batch| {
            let sequence: Vec<i64> = (batch * 25..batch * 25 + 25).collect();
            let keys: Vec<i64> = sequence.iter().map(|n| n * 7 % 17).collect();
            let rows = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![Arc::new(Int64Array::from(keys)), Arc::new(Int64Array::from(sequence))],
            )
            .unwrap();
            ChangeBatch::inserts(rows)
        })
        .collect();
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    let changes = env.from_collection(batches);
    let exchanged = exchange_by_key(changes, &schema, &[0], 3).unwrap();
    let tagged: Vec<(usize, i64, i64)> = exchanged
        .process(Tag::default())
        .set_parallelism(3)
        .execute_and_collect()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tagged.len(), 1000);
    let mut by_key: BTreeMap<i64, (usize, Vec<i64>)> = BTreeMap::new();
    for (instance, key, sequence) in tagged {
        let (owner, seen) = by_key.entry(key).or_insert((instance, Vec::new()));
        assert_eq!(*owner, instance, "key {key} reached two instances");
        seen.push(sequence);
    }
    let instances: std::collections::BTreeSet<usize> = by_key.values().map(|(instance, _)| *instance).collect();
    assert!(instances.len() > 1, "every key went to one instance: {instances:?}");
    for (key, (_, seen)) in by_key {
        assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "the changes of key {key} out of order: {seen:?}");
    }
}
