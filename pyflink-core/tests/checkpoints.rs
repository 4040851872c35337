//! Exactly-once recovery, checked against an oracle: random keyed jobs over random input, with
//! operators panicking, sink commits failing with errors and panics (in
//! `notify_checkpoint_complete`, and in the commit of a restore), and the checkpoint
//! coordinator failing to write checkpoints or panicking on its thread, at random points, end
//! with the output of a run without failures (through
//! a sink that commits on checkpoint completion), on the heap and the RocksDB backend, at
//! parallelism 1 to 4; in at-least-once mode nothing is lost. Some runs pass the input through
//! an operator that emits each batch's results only after the next batch (as process-mode
//! Python operators do), which must not change the outcome either.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checkpointing::{
    committed_records, Committed, CountPerKey, Event, FailureInjector, PacedSource, TransactionalSink,
};
use common::Deferring;
use proptest::prelude::*;
use pyflink_core::checkpoint::{CoordinatorFaults, CoordinatorStep, InjectedFault};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::window::TumblingEventTimeWindows;
use pyflink_core::{CheckpointingMode, RestartStrategy, StateBackendConfig, StreamExecutionEnvironment};

/// The input split by key (each key's records in one split); timestamps rise within a split by
/// each event's step, so that no record is late.
fn splits(events: &[(u8, i64)], split_count: usize) -> Vec<Vec<Event>> {
    let mut splits = vec![Vec::new(); split_count];
    let mut clocks = vec![0i64; split_count];
    for (id, &(key, step)) in events.iter().enumerate() {
        let split = key as usize % split_count;
        clocks[split] += step;
        splits[split].push((key, id as u32, clocks[split]));
    }
    splits
}

/// The committed output of a job, sorted: per-record counts, and per (key, 10 ms window) counts.
#[derive(Debug, PartialEq)]
struct Outcome {
    counts: Vec<(u8, u32, u32)>,
    windows: Vec<(u8, i64, u32)>,
}

/// What a correct run outputs.
fn oracle(splits: &[Vec<Event>]) -> Outcome {
    let mut per_key = BTreeMap::new();
    let mut counts = Vec::new();
    let mut windows = BTreeMap::new();
    for &(key, id, ts) in splits.iter().flatten() {
        let count = per_key.entry(key).or_insert(0u32);
        *count += 1;
        counts.push((key, id, *count));
        *windows.entry((key, ts.div_euclid(10) * 10)).or_insert(0) += 1;
    }
    counts.sort();
    Outcome { counts, windows: windows.into_iter().map(|((k, w), c)| (k, w, c)).collect() }
}

/// Where a run fails: calls of the counting function that panic; commits of the sinks (a
/// commit runs in `notify_checkpoint_complete` when a checkpoint completes, and again for the
/// restored checkpoint on a restore) that fail with an error, or panic; aborts of the
/// transaction a sink writer leaves open when it closes, that fail with an error; writes of the
/// checkpoint coordinator (task state and metadata) that fail with an I/O error; and steps of
/// the coordinator's thread that panic.
#[derive(Debug, Clone)]
struct Failures {
    in_function: Vec<i64>,
    in_commit: Vec<i64>,
    commit_panics: Vec<i64>,
    in_abort: Vec<i64>,
    in_coordinator_writes: Vec<i64>,
    in_coordinator_thread: Vec<i64>,
}

impl Failures {
    fn count(&self) -> usize {
        self.in_function.len()
            + self.in_commit.len()
            + self.commit_panics.len()
            + self.in_abort.len()
            + self.in_coordinator_writes.len()
            + self.in_coordinator_thread.len()
    }

    /// The coordinator's faults: I/O errors at the write points, panics at the tick points.
    fn coordinator(&self) -> CoordinatorFaults {
        let writes = FailureInjector::at(self.in_coordinator_writes.clone());
        let ticks = FailureInjector::at(self.in_coordinator_thread.clone());
        CoordinatorFaults::new(move |step| match step {
            CoordinatorStep::WriteTaskState | CoordinatorStep::CompleteCheckpoint => {
                writes.check().err().map(|_| InjectedFault::IoError)
            }
            CoordinatorStep::Tick => ticks.check().err().map(|_| InjectedFault::Panic),
        })
    }
}

/// Runs the job with `failures`.
fn run(
    splits: Vec<Vec<Event>>,
    parallelism: usize,
    backend: StateBackendConfig,
    mode: CheckpointingMode,
    failures: Failures,
    deferred: bool,
) -> Outcome {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env.set_auto_watermark_interval(Duration::from_millis(5));
    env.set_state_backend(backend);
    env.enable_checkpointing(Duration::from_millis(10), mode);
    let attempts = failures.count() as u32 + 1;
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(attempts, Duration::ZERO));
    let dir = tempfile::tempdir().unwrap();
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.path().to_path_buf());
    config.coordinator_faults = Some(failures.coordinator());
    env.set_checkpoint_config(config);

    let strategy = WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|e: &Event, _| e.2);
    let mut events = env.from_source(PacedSource::new(splits, 3), strategy, "events").uid("events");
    if deferred {
        events = events.process(Deferring::default()).name("deferring");
    }
    let counts: Committed<(u8, u32, u32)> = Arc::new(Mutex::new(BTreeMap::new()));
    let windows: Committed<(u8, i64, u32)> = Arc::new(Mutex::new(BTreeMap::new()));
    let injector = FailureInjector::at(failures.in_function);
    // Both sinks count their commits together.
    let commit_failures = FailureInjector::at(failures.in_commit);
    let commit_panics = FailureInjector::at(failures.commit_panics);
    let abort_failures = FailureInjector::at(failures.in_abort);
    events
        .key_by(|e: &Event| e.0)
        .process(CountPerKey::failing_at(injector))
        .uid("count")
        .sink_to(
            TransactionalSink::failing_commits(Arc::clone(&counts), commit_failures.clone(), commit_panics.clone())
                .failing_aborts(abort_failures.clone()),
        )
        .uid("count-sink");
    events
        .map(|(key, _, ts): Event| (key, ts.div_euclid(10) * 10, 1u32))
        .key_by(|w: &(u8, i64, u32)| w.0)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(10)))
        .reduce(|a, b| (a.0, a.1, a.2 + b.2))
        .uid("windows")
        .sink_to(
            TransactionalSink::failing_commits(Arc::clone(&windows), commit_failures, commit_panics)
                .failing_aborts(abort_failures),
        )
        .uid("window-sink");
    env.execute("checkpointed job").expect("the job recovers from every injected failure");
    let (mut counts, mut windows) = (committed_records(&counts), committed_records(&windows));
    counts.sort();
    windows.sort();
    Outcome { counts, windows }
}

/// The backends of this build: the heap, and RocksDB with full and with incremental checkpoints.
fn backends() -> Vec<StateBackendConfig> {
    vec![
        StateBackendConfig::HashMap,
        #[cfg(feature = "rocksdb")]
        StateBackendConfig::RocksDb(pyflink_core::RocksDbOptions::default()),
        #[cfg(feature = "rocksdb")]
        StateBackendConfig::RocksDb(pyflink_core::RocksDbOptions::default().with_incremental_checkpoints(true)),
    ]
}

fn input() -> impl Strategy<Value = (Vec<(u8, i64)>, usize, usize, Failures, bool)> {
    let points = |below: i64| proptest::collection::vec(0i64..below, 0..3);
    let failures = (points(400), points(12), points(12), points(8), points(40), points(60)).prop_map(
        |(in_function, in_commit, commit_panics, in_abort, in_coordinator_writes, in_coordinator_thread)| Failures {
            in_function,
            in_commit,
            commit_panics,
            in_abort,
            in_coordinator_writes,
            in_coordinator_thread,
        },
    );
    (proptest::collection::vec((0u8..6, 0i64..4), 1..250), 1usize..5, 1usize..4, failures, any::<bool>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, max_shrink_iters: 20, ..ProptestConfig::default() })]

    /// Exactly-once: the committed output equals the oracle's, whatever failed, on every backend
    /// (heap, RocksDB, RocksDB with incremental checkpoints).
    #[test]
    fn exactly_once_survives_injected_failures((events, parallelism, split_count, failures, deferred) in input()) {
        let splits = splits(&events, split_count);
        let expected = oracle(&splits);
        for backend in backends() {
            let mode = CheckpointingMode::ExactlyOnce;
            let outcome = run(splits.clone(), parallelism, backend, mode, failures.clone(), deferred);
            prop_assert_eq!(&outcome, &expected);
        }
    }

    /// At-least-once: every record reaches the output at least once.
    #[test]
    fn at_least_once_loses_nothing((events, parallelism, split_count, failures, deferred) in input()) {
        let splits = splits(&events, split_count);
        let mode = CheckpointingMode::AtLeastOnce;
        let outcome = run(splits.clone(), parallelism, StateBackendConfig::HashMap, mode, failures, deferred);
        let seen: BTreeSet<u32> = outcome.counts.iter().map(|&(_, id, _)| id).collect();
        let all: BTreeSet<u32> = splits.iter().flatten().map(|e| e.1).collect();
        prop_assert_eq!(seen, all);
    }
}

/// A checkpoint that cannot complete within its timeout fails the job once the tolerable number
/// of checkpoint failures is exceeded.
#[test]
fn expired_checkpoints_beyond_the_tolerable_number_fail_the_job() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(1);
    env.enable_checkpointing(Duration::from_millis(5), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::no_restart());
    let dir = tempfile::tempdir().unwrap();
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.path().to_path_buf());
    config.timeout = Duration::from_millis(20);
    config.tolerable_failures = 1;
    env.set_checkpoint_config(config);
    let splits = vec![(0..200u32).map(|i| (0u8, i, i as i64)).collect::<Vec<Event>>()];
    env.from_source(PacedSource::new(splits, 1), WatermarkStrategy::no_watermarks(), "events")
        .map(|e: Event| {
            // Far slower than the checkpoint timeout: no checkpoint can complete.
            std::thread::sleep(Duration::from_millis(30));
            e
        })
        .sink_to(TransactionalSink::new(Arc::new(Mutex::new(BTreeMap::new()))));
    let error = env.execute("stalled").unwrap_err().to_string();
    assert!(error.contains("expired") && error.contains("tolerable"), "{error}");
}
