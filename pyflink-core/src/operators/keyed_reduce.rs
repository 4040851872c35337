//! Keyed `reduce` and the aggregations built on it (`sum`, `min`, `max`, `min_by`, `max_by`):
//! one running value per key, in the instance's keyed state.
//!
//! In streaming mode every input record emits the key's updated value; in batch mode only the
//! final value of every key is emitted, at end of input, as Flink does.

use std::sync::Arc;

use pyflink_state::{DeferredKeyedSnapshot, KeyGroupAssigner, KeyedTable, StateSection};

use crate::checkpoint::StateSnapshotContext;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::{Data, Key, Result};

/// The snapshot section of the running values.
const REDUCED: &str = "reduced";

/// Extracts the key of a record.
pub(crate) type KeySelector<T, K> = Arc<dyn Fn(&T) -> K + Send + Sync>;

/// Folds the records of each key with a reduce function.
pub(crate) struct KeyedReduceOperator<T, K, F> {
    pub(crate) key: KeySelector<T, K>,
    pub(crate) reduce: F,
    pub(crate) state: Option<KeyedTable<K, Option<T>>>,
    pub(crate) assigner: KeyGroupAssigner,
    pub(crate) batch: bool,
}

impl<T, K, F> KeyedReduceOperator<T, K, F> {
    pub(crate) fn new(key: KeySelector<T, K>, reduce: F) -> Self {
        KeyedReduceOperator { key, reduce, state: None, assigner: KeyGroupAssigner::new(1), batch: false }
    }
}

impl<T: Data, K: Key, F: FnMut(T, T) -> T + 'static> OneInputOperator<T, T> for KeyedReduceOperator<T, K, F> {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        let range = context.key_group_range();
        let mut state = KeyedTable::new(range);
        self.assigner = KeyGroupAssigner::new(context.max_parallelism);
        if let Some(restored) = context.restored() {
            for snapshot in restored.keyed(range)? {
                let Some(section) = snapshot.section(REDUCED) else { continue };
                for (_, key, value) in section.entries::<K, T>(range)? {
                    let at = self.assigner.hash_key(&key);
                    state.insert(at, key, Some(value));
                }
            }
        }
        self.state = Some(state);
        self.batch = context.batch_mode;
        Ok(())
    }

    fn snapshot_state(&mut self, context: &mut StateSnapshotContext) -> Result<()> {
        let Some(state) = &self.state else { return Ok(()) };
        // A copy-on-write clone: the task goes on reducing while the coordinator encodes it.
        let frozen = state.clone();
        let mut snapshot = DeferredKeyedSnapshot::new(self.assigner.max_parallelism(), state.range());
        snapshot.push_deferred(move || {
            let mut section = StateSection::raw(REDUCED);
            for (group, key, value) in frozen.iter() {
                if let Some(value) = value {
                    section.add(group, key, value)?;
                }
            }
            Ok(section)
        });
        context.add_keyed(snapshot);
        Ok(())
    }

    #[inline]
    fn process_element(&mut self, value: T, out: &mut Output<T>) -> Result<()> {
        let key = (self.key)(&value);
        let at = self.assigner.hash_key(&key);
        let state = self.state.as_mut().expect("opened before the first record");
        // Most records update a key seen before: look it up first, insert only when it is new.
        match state.get_mut(at, &key) {
            Some(slot) => {
                let next = match slot.take() {
                    Some(accumulated) => (self.reduce)(accumulated, value),
                    None => value,
                };
                if !self.batch {
                    out.collect(next.clone());
                }
                *slot = Some(next);
            }
            None => {
                if !self.batch {
                    out.collect(value.clone());
                }
                state.insert(at, key, Some(value));
            }
        }
        Ok(())
    }

    fn end_input(&mut self, out: &mut Output<T>) -> Result<()> {
        if self.batch {
            if let Some(state) = &self.state {
                for (_, _, value) in state.iter() {
                    if let Some(value) = value {
                        out.collect_with_timestamp(value.clone(), None);
                    }
                }
            }
        }
        Ok(())
    }
}
