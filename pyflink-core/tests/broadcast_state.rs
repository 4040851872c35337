//! Keyed broadcast state: rules broadcast to every instance are applied to keyed records, and
//! both the broadcast state and the keyed state survive a restore at another parallelism.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checkpointing::{committed_records, Committed, TransactionalSink};
use pyflink_core::api::broadcast::{BroadcastContext, KeyedBroadcastProcessFunction, KeyedReadOnlyBroadcastContext};
use pyflink_core::{
    CheckpointingMode, ExternalizedCheckpointRetention, KeyedRuntimeContext, MapStateDescriptor, Result,
    StreamExecutionEnvironment, ValueState, ValueStateDescriptor,
};

type Rule = (String, i64);
type Scaled = (String, i64, u32);

/// Emits `(key, value × the key's factor (0 without a rule), count of the key's records)`.
#[derive(Clone)]
struct ApplyRules {
    rules: MapStateDescriptor<String, i64>,
    count: Option<ValueState<u32>>,
}

impl KeyedBroadcastProcessFunction<String, (String, i64), Rule, Scaled> for ApplyRules {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, String>) -> Result<()> {
        self.count = Some(context.get_state(&ValueStateDescriptor::new("count"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (key, value): (String, i64),
        ctx: &mut KeyedReadOnlyBroadcastContext<'_, String, Scaled>,
    ) -> Result<()> {
        let factor = ctx.get_broadcast_state(&self.rules)?.get(&key).copied().unwrap_or(0);
        let count = self.count.as_ref().unwrap();
        let next = count.value().unwrap_or(0) + 1;
        count.update(next);
        ctx.collect((key, value * factor, next));
        Ok(())
    }

    fn process_broadcast_element(&mut self, (key, factor): Rule, ctx: &mut BroadcastContext<'_, Scaled>) -> Result<()> {
        ctx.get_broadcast_state(&self.rules)?.put(key, factor);
        Ok(())
    }
}

fn latest_checkpoint(dir: &Path) -> PathBuf {
    let mut found = Vec::new();
    for job in std::fs::read_dir(dir).unwrap().flatten() {
        for chk in std::fs::read_dir(job.path()).unwrap().flatten() {
            let name = chk.file_name().to_string_lossy().to_string();
            if let (Some(id), true) = (name.strip_prefix("chk-"), chk.path().join("_metadata").exists()) {
                found.push((id.parse::<u64>().unwrap(), chk.path()));
            }
        }
    }
    found.into_iter().max().unwrap().1
}

fn run(stage: usize, rules: Vec<Rule>, events: Vec<(String, i64)>, parallelism: usize, dir: &Path) -> Vec<Scaled> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.to_path_buf());
    // Later stages start from this job's last checkpoint.
    config.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    config.restore_path = (stage > 0).then(|| latest_checkpoint(dir));
    config.allow_non_restored_state = true;
    env.set_checkpoint_config(config);
    let descriptor = MapStateDescriptor::<String, i64>::new("rules");
    let rules = env.from_collection(rules).uid(&format!("rules-{stage}")).broadcast_with(&descriptor);
    let committed: Committed<Scaled> = Arc::new(Mutex::new(BTreeMap::new()));
    env.from_collection(events)
        .uid(&format!("events-{stage}"))
        .key_by(|e: &(String, i64)| e.0.clone())
        .connect_broadcast(&rules)
        .process(ApplyRules { rules: descriptor, count: None })
        .uid("apply")
        .sink_to(TransactionalSink::new(Arc::clone(&committed)))
        .uid(&format!("sink-{stage}"));
    env.execute("broadcast").unwrap();
    let mut out = committed_records(&committed);
    out.sort();
    out
}

#[test]
fn broadcast_and_keyed_state_survive_a_restore_at_another_parallelism() {
    let dir = tempfile::tempdir().unwrap();
    let rules = vec![("a".to_string(), 10), ("b".to_string(), 100)];
    run(0, rules, vec![("a".into(), 1), ("c".into(), 1)], 2, dir.path());
    let events: Vec<(String, i64)> = ["a", "b", "c", "a"].iter().map(|k| (k.to_string(), 2)).collect();
    let out = run(1, Vec::new(), events, 3, dir.path());
    let expected: Vec<Scaled> =
        vec![("a".into(), 20, 2), ("a".into(), 20, 3), ("b".into(), 200, 1), ("c".into(), 0, 2)];
    assert_eq!(out, expected);
}
