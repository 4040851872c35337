//! The heap and RocksDB backends against a model: random operations on every state kind give
//! the same results from both, and snapshots restore every key's state at another parallelism,
//! also across backends.

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use pyflink_state::key_group::key_group_for_key;
use pyflink_state::{
    AggregateFunction, AggregatingState, AggregatingStateDescriptor, KeyGroupRange, KeyedStateBackend,
    KeyedStateSnapshot, ListState, ListStateDescriptor, MapState, MapStateDescriptor, ReducingState,
    ReducingStateDescriptor, RocksDbOptions, StateBackendConfig, ValueState, ValueStateDescriptor,
};

const MAX_PARALLELISM: usize = 128;

/// Average of the values added, as (sum, count).
#[derive(Clone)]
struct Mean;

impl AggregateFunction<i64> for Mean {
    type Accumulator = (i64, u32);
    type Output = (i64, u32);
    fn create_accumulator(&self) -> (i64, u32) {
        (0, 0)
    }
    fn add(&self, value: i64, (sum, n): (i64, u32)) -> (i64, u32) {
        (sum + value, n + 1)
    }
    fn get_result(&self, acc: &(i64, u32)) -> (i64, u32) {
        *acc
    }
    fn merge(&self, a: (i64, u32), b: (i64, u32)) -> (i64, u32) {
        (a.0 + b.0, a.1 + b.1)
    }
}

/// One operation on the current key's states.
#[derive(Debug, Clone)]
enum Op {
    SetValue(i64),
    ClearValue,
    Append(i64),
    ReplaceList(Vec<i64>),
    Put(u8, i64),
    Remove(u8),
    Reduce(i64),
    Aggregate(i64),
    ClearAll,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<i64>().prop_map(Op::SetValue),
        Just(Op::ClearValue),
        (-100i64..100).prop_map(Op::Append),
        proptest::collection::vec(-100i64..100, 0..3).prop_map(Op::ReplaceList),
        (0u8..4, any::<i64>()).prop_map(|(k, v)| Op::Put(k, v)),
        (0u8..4).prop_map(Op::Remove),
        (-1000i64..1000).prop_map(Op::Reduce),
        (-1000i64..1000).prop_map(Op::Aggregate),
        Just(Op::ClearAll),
    ]
}

/// The model of one key's states.
#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    value: Option<i64>,
    list: Vec<i64>,
    map: BTreeMap<u8, i64>,
    reduced: Option<i64>,
    mean: Option<(i64, u32)>,
}

impl Model {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::SetValue(v) => self.value = Some(*v),
            Op::ClearValue => self.value = None,
            Op::Append(v) => self.list.push(*v),
            Op::ReplaceList(vs) => self.list = vs.clone(),
            Op::Put(k, v) => {
                self.map.insert(*k, *v);
            }
            Op::Remove(k) => {
                self.map.remove(k);
            }
            Op::Reduce(v) => self.reduced = Some(self.reduced.map_or(*v, |r| r.max(*v))),
            Op::Aggregate(v) => {
                let (s, n) = self.mean.unwrap_or((0, 0));
                self.mean = Some((s + v, n + 1));
            }
            Op::ClearAll => *self = Model::default(),
        }
    }
}

/// The five states of the test on one backend.
struct States {
    backend: KeyedStateBackend<String>,
    value: ValueState<i64>,
    list: ListState<i64>,
    map: MapState<u8, i64>,
    reduced: ReducingState<i64>,
    mean: AggregatingState<i64, (i64, u32)>,
}

impl States {
    fn open(config: &StateBackendConfig, range: KeyGroupRange, restore: &[KeyedStateSnapshot]) -> States {
        let mut backend = KeyedStateBackend::from_config(config, range, MAX_PARALLELISM, "test").unwrap();
        backend.restore(restore).unwrap();
        States {
            value: backend.get_value_state(&ValueStateDescriptor::new("value")).unwrap(),
            list: backend.get_list_state(&ListStateDescriptor::new("list")).unwrap(),
            map: backend.get_map_state(&MapStateDescriptor::new("map")).unwrap(),
            reduced: backend.get_reducing_state(&ReducingStateDescriptor::new("max", i64::max)).unwrap(),
            mean: backend.get_aggregating_state(&AggregatingStateDescriptor::new("mean", Mean)).unwrap(),
            backend,
        }
    }

    fn apply(&self, key: &str, op: &Op) {
        self.backend.set_current_key(key.to_string());
        self.backend.enter(|| match op {
            Op::SetValue(v) => self.value.update(*v),
            Op::ClearValue => self.value.clear(),
            Op::Append(v) => self.list.add(*v).unwrap(),
            Op::ReplaceList(vs) => self.list.update(vs.clone()).unwrap(),
            Op::Put(k, v) => self.map.put(*k, *v).unwrap(),
            Op::Remove(k) => self.map.remove(k).unwrap(),
            Op::Reduce(v) => self.reduced.add(*v).unwrap(),
            Op::Aggregate(v) => self.mean.add(*v).unwrap(),
            Op::ClearAll => {
                self.value.clear();
                self.list.clear().unwrap();
                self.map.clear().unwrap();
                self.reduced.clear().unwrap();
                self.mean.clear().unwrap();
            }
        });
    }

    fn read(&self, key: &str) -> Model {
        self.backend.set_current_key(key.to_string());
        self.backend.enter(|| Model {
            value: self.value.value(),
            list: self.list.get().unwrap(),
            map: self.map.items().unwrap().into_iter().collect(),
            reduced: self.reduced.get().unwrap(),
            mean: self.mean.get().unwrap(),
        })
    }
}

fn rocksdb() -> StateBackendConfig {
    StateBackendConfig::RocksDb(RocksDbOptions::default())
}

fn rocksdb_incremental() -> StateBackendConfig {
    StateBackendConfig::RocksDb(RocksDbOptions::default().with_incremental_checkpoints(true))
}

fn key(i: u8) -> String {
    format!("key-{i}")
}

/// Splits a snapshot history over `parallelism` instances of `config`, each restored from all
/// `snapshots`, and reads every key from its owner.
fn read_all(
    config: &StateBackendConfig,
    parallelism: usize,
    snapshots: &[KeyedStateSnapshot],
    keys: &[u8],
) -> (HashMap<u8, Model>, Vec<KeyedStateSnapshot>) {
    let instances: Vec<States> = (0..parallelism)
        .map(|i| States::open(config, KeyGroupRange::for_operator(MAX_PARALLELISM, parallelism, i), snapshots))
        .collect();
    let mut seen = HashMap::new();
    for &k in keys {
        let group = key_group_for_key(&key(k), MAX_PARALLELISM);
        let owner = instances.iter().find(|s| s.backend.key_group_range().contains(group)).unwrap();
        seen.insert(k, owner.read(&key(k)));
    }
    let next = instances.iter().map(|s| s.backend.snapshot().unwrap()).collect();
    (seen, next)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The backends (heap, RocksDB, RocksDB with incremental checkpoints) equal the model, and
    /// after snapshots and restores at parallelism 2 -> 2 -> 3 -> 1 (switching backends on the
    /// way) every key still has exactly its state.
    #[test]
    fn backends_match_the_model_and_survive_rescaling(
        ops in proptest::collection::vec((0u8..12, op()), 1..120),
    ) {
        let configs = [StateBackendConfig::HashMap, rocksdb(), rocksdb_incremental()];
        let mut model: HashMap<u8, Model> = HashMap::new();
        let keys: Vec<u8> = (0..12).collect();
        let mut snapshots_by_config = Vec::new();
        for config in &configs {
            let instances: Vec<States> = (0..2)
                .map(|i| States::open(config, KeyGroupRange::for_operator(MAX_PARALLELISM, 2, i), &[]))
                .collect();
            let owner = |k: u8| {
                let group = key_group_for_key(&key(k), MAX_PARALLELISM);
                instances.iter().find(|s| s.backend.key_group_range().contains(group)).unwrap()
            };
            let mut expected: HashMap<u8, Model> = HashMap::new();
            for (k, op) in &ops {
                owner(*k).apply(&key(*k), op);
                expected.entry(*k).or_default().apply(op);
                prop_assert_eq!(owner(*k).read(&key(*k)), expected[k].clone(), "after {:?} on {}", op, k);
            }
            model = expected;
            snapshots_by_config.push(instances.iter().map(|s| s.backend.snapshot().unwrap()).collect::<Vec<_>>());
        }
        let expected = |k: &u8| model.get(k).cloned().unwrap_or_default();
        // Heap snapshots restore into RocksDB and the other way round: the bytes are the same.
        // Incremental snapshots restore into any backend too, and into an incremental backend of
        // the same key groups by opening RocksDB's files. Each chain starts from the snapshots
        // of one backend and restores them as (backend, parallelism) in turn.
        let chains: [(usize, &[(usize, usize)]); 4] = [
            (0, &[(1, 3), (0, 1)]),
            (1, &[(0, 3), (1, 1)]),
            (2, &[(2, 2), (2, 3), (0, 1)]),
            (0, &[(2, 3), (1, 1)]),
        ];
        for (start, steps) in chains {
            let mut snapshots = snapshots_by_config[start].clone();
            for &(config, parallelism) in steps {
                let (seen, next) = read_all(&configs[config], parallelism, &snapshots, &keys);
                for k in &keys {
                    prop_assert_eq!(&seen[k], &expected(k), "from {} restored into {} at {}", start, config, parallelism);
                }
                snapshots = next;
            }
        }
    }
}
