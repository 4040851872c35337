//! Restoring from a checkpoint at another parallelism and with another state backend: keyed
//! state follows its key groups, operators find their state by uid, and a corrupt checkpoint is
//! refused with a message that says what is wrong.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checkpointing::{committed_records, Committed, TransactionalSink};
use pyflink_core::{
    CheckpointingMode, ExternalizedCheckpointRetention, FlinkError, KeyedProcessContext, KeyedProcessFunction,
    KeyedRuntimeContext, ListState, ListStateDescriptor, Result, StateBackendConfig, StreamExecutionEnvironment,
    ValueState, ValueStateDescriptor,
};

/// Emits `(key, value, count of the key's records, the key's last three values)`.
#[derive(Clone, Default)]
struct Tally {
    count: Option<ValueState<u32>>,
    recent: Option<ListState<i64>>,
}

type Tallied = (u16, i64, u32, Vec<i64>);

impl KeyedProcessFunction<u16, (u16, i64), Tallied> for Tally {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, u16>) -> Result<()> {
        self.count = Some(context.get_state(&ValueStateDescriptor::new("count"))?);
        self.recent = Some(context.get_list_state(&ListStateDescriptor::new("recent"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (key, value): (u16, i64),
        ctx: &mut KeyedProcessContext<'_, u16, Tallied>,
    ) -> Result<()> {
        let (count, recent) = (self.count.as_ref().unwrap(), self.recent.as_ref().unwrap());
        let next = count.value().unwrap_or(0) + 1;
        count.update(next);
        let mut last = recent.get()?;
        last.push(value);
        if last.len() > 3 {
            last.remove(0);
        }
        recent.update(last.clone())?;
        ctx.collect((key, value, next, last));
        Ok(())
    }
}

/// The newest complete checkpoint under `dir` (any job).
fn latest_checkpoint(dir: &Path) -> PathBuf {
    let mut found: Vec<(u64, PathBuf)> = Vec::new();
    for job in std::fs::read_dir(dir).unwrap().flatten() {
        for chk in std::fs::read_dir(job.path()).unwrap().flatten() {
            let name = chk.file_name().to_string_lossy().to_string();
            if let (Some(id), true) = (name.strip_prefix("chk-"), chk.path().join("_metadata").exists()) {
                found.push((id.parse().unwrap(), chk.path()));
            }
        }
    }
    found.into_iter().max().expect("a complete checkpoint").1
}

/// Runs one job over `input` at `parallelism`, restoring `from`, checkpointing under `dir`.
fn run(
    input: Vec<(u16, i64)>,
    stage: usize,
    parallelism: usize,
    backend: StateBackendConfig,
    dir: &Path,
    from: Option<PathBuf>,
) -> std::result::Result<Vec<Tallied>, FlinkError> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env.set_state_backend(backend);
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.to_path_buf());
    // Later stages start from this job's last checkpoint.
    config.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    config.restore_path = from;
    // Each stage reads a new input: the state of the previous stage's source is not needed.
    config.allow_non_restored_state = true;
    env.set_checkpoint_config(config);
    let committed: Committed<Tallied> = Arc::new(Mutex::new(BTreeMap::new()));
    env.from_collection(input)
        .uid(&format!("input-{stage}"))
        .key_by(|r: &(u16, i64)| r.0)
        .process(Tally::default())
        .uid("tally")
        .sink_to(TransactionalSink::new(Arc::clone(&committed)))
        .uid(&format!("sink-{stage}"));
    env.execute("stage")?;
    let mut out = committed_records(&committed);
    out.sort();
    Ok(out)
}

/// The expected output of the stages run one after the other with state carried over.
#[cfg(feature = "rocksdb")]
fn oracle(stages: &[Vec<(u16, i64)>]) -> Vec<Vec<Tallied>> {
    let mut counts: BTreeMap<u16, (u32, Vec<i64>)> = BTreeMap::new();
    stages
        .iter()
        .map(|input| {
            let mut out: Vec<Tallied> = input
                .iter()
                .map(|&(key, value)| {
                    let (count, last) = counts.entry(key).or_default();
                    *count += 1;
                    last.push(value);
                    if last.len() > 3 {
                        last.remove(0);
                    }
                    (key, value, *count, last.clone())
                })
                .collect();
            out.sort();
            out
        })
        .collect()
}

fn stage_input(stage: i64) -> Vec<(u16, i64)> {
    (0..600).map(|i| ((i * 7 % 97) as u16, stage * 1000 + i)).collect()
}

#[test]
#[cfg(feature = "rocksdb")]
fn state_survives_rescaling_from_2_to_3_to_1_across_backends() {
    let dir = tempfile::tempdir().unwrap();
    let stages = vec![stage_input(1), stage_input(2), stage_input(3), stage_input(4)];
    let expected = oracle(&stages);
    let rocksdb = StateBackendConfig::RocksDb(pyflink_core::RocksDbOptions::default());
    let incremental =
        StateBackendConfig::RocksDb(pyflink_core::RocksDbOptions::default().with_incremental_checkpoints(true));
    // Incremental RocksDB checkpoints restore into the same key groups (opening their files),
    // then into other key groups and another backend.
    let plan = [(2, incremental.clone()), (2, incremental), (3, rocksdb), (1, StateBackendConfig::HashMap)];
    let mut from = None;
    for (stage, (parallelism, backend)) in plan.into_iter().enumerate() {
        let out = run(stages[stage].clone(), stage, parallelism, backend, dir.path(), from.take()).unwrap();
        assert_eq!(out, expected[stage], "stage {stage} at parallelism {parallelism}");
        let checkpoint = latest_checkpoint(dir.path());
        let shared = checkpoint.parent().unwrap().join("shared");
        let sst_files = std::fs::read_dir(&shared).map_or(0, |d| d.flatten().count());
        assert_eq!(sst_files > 0, stage < 2, "stage {stage}: SST files in {}", shared.display());
        from = Some(checkpoint);
    }
}

#[test]
fn a_corrupt_checkpoint_is_refused_and_unclaimed_state_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    run(stage_input(1), 0, 2, StateBackendConfig::HashMap, dir.path(), None).unwrap();
    let checkpoint = latest_checkpoint(dir.path());

    // A new job without the operator `input-0` that has state in the checkpoint.
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.path().to_path_buf());
    config.restore_path = Some(checkpoint.clone());
    env.set_checkpoint_config(config);
    env.from_collection(vec![1u16]).uid("other").print();
    let error = env.execute("unclaimed").unwrap_err().to_string();
    assert!(error.contains("input-0") && error.contains("uid"), "{error}");

    // Flip a byte of one state file: the restore names the file and the checksum.
    let file = std::fs::read_dir(&checkpoint)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().ends_with("keyed"))
        .expect("a keyed state file");
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&file, bytes).unwrap();
    let error = run(stage_input(2), 1, 2, StateBackendConfig::HashMap, dir.path(), Some(checkpoint)).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("corrupt") && message.contains("checksum"), "{message}");
}

#[test]
fn checkpoints_are_deleted_when_a_job_ends_unless_retained() {
    let dir = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.path().to_path_buf());
    env.set_checkpoint_config(config);
    env.from_collection(stage_input(1)).key_by(|r: &(u16, i64)| r.0).process(Tally::default()).print();
    env.execute("not retained").unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the job's checkpoint directory is gone");
}
