//! Operator (non-keyed) list state: checkpointed with the operator, and on a restore at another
//! parallelism split over the new instances or, for union lists, given to all of them.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::checkpointing::{committed_records, Committed, TransactionalSink};
use pyflink_core::{
    CheckpointingMode, ExternalizedCheckpointRetention, ListStateDescriptor, ProcessContext, ProcessFunction, Result,
    RuntimeContext, StreamExecutionEnvironment,
};
use pyflink_state::OperatorListState;

/// Remembers every record in a split list and a union list; on its first record emits what it
/// restored: `(subtask, split elements, union elements)`.
#[derive(Clone, Default)]
struct Remember {
    subtask: usize,
    split: Option<OperatorListState<u32>>,
    union: Option<OperatorListState<u32>>,
    reported: bool,
}

type Report = (usize, Vec<u32>, Vec<u32>);

impl ProcessFunction<u32, Report> for Remember {
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.subtask = context.get_index_of_this_subtask();
        let store = context.get_operator_state_store();
        self.split = Some(store.get_list_state(&ListStateDescriptor::new("seen"))?);
        self.union = Some(store.get_union_list_state(&ListStateDescriptor::new("seen-everywhere"))?);
        Ok(())
    }

    fn process_element(&mut self, value: u32, ctx: &mut ProcessContext<'_, Report>) -> Result<()> {
        let (split, union) = (self.split.as_ref().unwrap(), self.union.as_ref().unwrap());
        if !self.reported {
            self.reported = true;
            let (mut s, mut u) = (split.get(), union.get());
            s.sort();
            u.sort();
            ctx.collect((self.subtask, s, u));
        }
        split.add(value);
        union.add(value);
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

fn run(input: Vec<u32>, parallelism: usize, dir: &Path, from: Option<PathBuf>) -> Vec<Report> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env.enable_checkpointing(Duration::from_millis(20), CheckpointingMode::ExactlyOnce);
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(dir.to_path_buf());
    // Later stages start from this job's last checkpoint.
    config.externalized_retention = ExternalizedCheckpointRetention::RetainOnCancellation;
    config.restore_path = from;
    config.allow_non_restored_state = true;
    env.set_checkpoint_config(config);
    let committed: Committed<Report> = Arc::new(Mutex::new(BTreeMap::new()));
    env.from_collection(input)
        .uid(&format!("input-{parallelism}"))
        .rebalance()
        .process(Remember::default())
        .uid("remember")
        .sink_to(TransactionalSink::new(Arc::clone(&committed)))
        .uid(&format!("sink-{parallelism}"));
    env.execute("operator state").unwrap();
    let mut reports = committed_records(&committed);
    reports.sort();
    reports
}

#[test]
fn split_lists_are_shared_out_and_union_lists_go_to_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let first: Vec<u32> = (0..40).collect();
    let reports = run(first.clone(), 2, dir.path(), None);
    assert!(reports.iter().all(|(_, s, u)| s.is_empty() && u.is_empty()), "nothing to restore at first");

    let reports = run((100..130).collect(), 3, dir.path(), Some(latest_checkpoint(dir.path())));
    assert_eq!(reports.len(), 3, "every instance reports");
    let mut split: Vec<u32> = reports.iter().flat_map(|(_, s, _)| s.clone()).collect();
    split.sort();
    assert_eq!(split, first, "the split list's elements are shared out, each exactly once");
    for (subtask, _, union) in &reports {
        assert_eq!(union, &first, "instance {subtask} gets the whole union list");
    }
}
