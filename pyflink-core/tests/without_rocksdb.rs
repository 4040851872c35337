//! A build without the cargo feature `rocksdb`: choosing the RocksDB backend fails the job when it
//! is executed, at once and with an error that names the feature to enable. The workspace's tests
//! build pyflink-core with the feature (the Python package turns it on), so this file has tests
//! only in a build of pyflink-core alone: `cargo test -p pyflink-core --test without_rocksdb`.
#![cfg(not(feature = "rocksdb"))]

use std::time::{Duration, Instant};

use pyflink_core::{
    CheckpointingMode, Configuration, FlinkError, RocksDbOptions, StateBackendConfig, StreamExecutionEnvironment,
};
use pyflink_state::StateError;

/// A keyed running sum, the kind of job that keeps state in the backend.
fn keyed_sum(env: &StreamExecutionEnvironment) {
    env.from_collection(vec![("a".to_string(), 1i64), ("b".to_string(), 2), ("a".to_string(), 3)])
        .key_by(|(word, _)| word.clone())
        .sum(|(_, count)| count)
        .discard();
}

/// Asserts that `error` is the missing-backend error and that its message says what to do.
fn assert_names_the_feature(error: FlinkError) {
    let message = error.to_string();
    assert!(
        matches!(error, FlinkError::State(StateError::BackendNotBuilt { backend: "rocksdb", feature: "rocksdb" })),
        "{message}"
    );
    assert!(message.contains("'rocksdb' is not in this build"), "{message}");
    assert!(message.contains("enable the cargo feature 'rocksdb' of pyflink-core"), "{message}");
    assert!(message.contains("'hashmap'"), "the message offers the backend that is there: {message}");
}

#[test]
fn state_backend_type_rocksdb_fails_the_job_with_the_feature_to_enable() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    let mut config = Configuration::new();
    config.set_string("state.backend.type", "rocksdb");
    env.configure(&config).expect("the setting itself is valid Flink configuration");
    keyed_sum(&env);
    assert_names_the_feature(env.execute("rocksdb without the feature").unwrap_err());
}

#[test]
fn a_job_with_restarts_fails_at_once_rather_than_in_every_attempt() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_state_backend(StateBackendConfig::RocksDb(RocksDbOptions::default().with_incremental_checkpoints(true)));
    // With checkpointing on, the default restart strategy would retry a failing task.
    env.enable_checkpointing(Duration::from_millis(50), CheckpointingMode::ExactlyOnce);
    keyed_sum(&env);
    let started = Instant::now();
    assert_names_the_feature(env.execute_async("rocksdb without the feature").err().unwrap());
    assert!(started.elapsed() < Duration::from_secs(1), "failed after {:?}", started.elapsed());
}

#[test]
fn the_heap_backend_runs_the_same_job() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_state_backend(StateBackendConfig::HashMap);
    keyed_sum(&env);
    env.execute("heap").expect("the heap backend is in every build");
}
