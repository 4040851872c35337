//! The harness of sources: enumerates and assigns splits, drives the reader in bounded batches,
//! reschedules itself while records remain, and ends its stream with the final watermark.

use std::collections::BTreeMap;
use std::sync::Arc;

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::Capability;
use timely::scheduling::Activator;

use pyflink_state::codec;

use crate::checkpoint::coordinator::TaskSnapshot;
use crate::checkpoint::restore::RestoredOperator;
use crate::checkpoint::task::TaskCheckpoints;
use crate::element::{Element, Watermark};
use crate::runtime::epochs::take_snapshot;
use crate::runtime::graph::{BuildContext, NodePlan};
use crate::runtime::job::activate_guarded;
use crate::runtime::output::{ElementOutput, Output, SendCapability, BATCH};
use crate::runtime::source_watermarks::SourceWatermarks;
use crate::runtime::wakeup::Wakeups;
use crate::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use crate::time::{ProcessingTimeService, WatermarkStrategy};
use crate::{Data, FlinkError, Result};

/// Records a source emits per activation before it yields to downstream operators.
const ACTIVATION_BUDGET: usize = 16 * BATCH;

/// Builds the source node `plan` on this worker.
pub(crate) fn build_source<'s, T: Data, S: Source<T>>(
    context: &mut BuildContext<'s>,
    plan: &NodePlan,
    source: Arc<S>,
    strategy: WatermarkStrategy<T>,
) -> Result<()> {
    let mut builder = OperatorBuilder::new(plan.name.clone(), context.scope);
    let (output, stream) = builder.new_output::<Vec<Element<T>>>();
    context.set_stream(plan.id, 0, stream);
    let address = builder.operator_info().address;
    let checkpoints = context.task_checkpoints(plan, &address);
    let restored = context.restored_operator(plan);
    let activator = context.scope.activator_for(address);
    let subtask = context.worker_index();
    let active = subtask < plan.parallelism;
    let job = context.job.clone();
    let mut task = SourceTask::<T, S> {
        source,
        reader: None,
        subtask,
        parallelism: plan.parallelism,
        output: Output::new(subtask, Vec::new()),
        timely_output: output,
        wakeups: Wakeups::new(ProcessingTimeService::default(), activator.clone()),
        activator,
        // Batch jobs only need the final watermark; a strategy that does nothing costs nothing.
        watermarks: (!strategy.is_noop() && !plan.batch_mode).then(|| SourceWatermarks::new(strategy)),
        interval: plan.auto_watermark_interval,
        checkpoints,
        restored,
        in_checkpoints: BTreeMap::new(),
    };
    let name = plan.name.clone();
    builder.build(move |mut capabilities| {
        let mut held: Option<Capability<u64>> = if active { capabilities.pop() } else { None };
        move |_frontiers| {
            let Some(capability) = held.as_mut() else { return };
            if job.should_stop() {
                held = None;
                return;
            }
            if activate_guarded(&job, &name, subtask, || task.activate(capability)) {
                held = None;
            }
        }
    });
    Ok(())
}

struct SourceTask<T: Data, S: Source<T>> {
    source: Arc<S>,
    reader: Option<S::Reader>,
    subtask: usize,
    parallelism: usize,
    output: Output<T>,
    timely_output: ElementOutput<T>,
    activator: Activator,
    /// Wakes the source for periodic watermarks, also while its reader waits.
    wakeups: Wakeups,
    watermarks: Option<SourceWatermarks<T>>,
    /// The periodic watermark interval in ms (0: none).
    interval: i64,
    checkpoints: TaskCheckpoints,
    /// The source's state in the checkpoint the job restored, if any.
    restored: Option<RestoredOperator>,
    /// The reader's splits in each checkpoint not known to be complete, by checkpoint id.
    in_checkpoints: BTreeMap<u64, Vec<S::Split>>,
}

/// The name of a source reader's file in checkpoints: its splits with their positions.
const SPLITS_FILE: &str = "splits";

impl<T: Data, S: Source<T>> SourceTask<T, S> {
    /// The splits of the source: enumerated afresh, or, after a restore, those all readers had
    /// in the checkpoint, with their positions (in a stable order, whatever the old parallelism).
    fn splits(&self, enumeration: &SplitEnumeratorContext) -> Result<Vec<S::Split>> {
        let Some(restored) = &self.restored else { return self.source.enumerate_splits(enumeration) };
        let mut splits = Vec::new();
        for (_, bytes) in restored.files(SPLITS_FILE)? {
            splits.extend(codec::decode::<Vec<S::Split>>(&bytes, "source splits")?);
        }
        splits.sort_by_key(|split| split.split_id());
        Ok(splits)
    }

    /// The reader's splits, encoded for a checkpoint.
    fn snapshot(&mut self, epoch: u64) -> Result<TaskSnapshot> {
        let splits = self.reader.as_ref().map(|r| r.snapshot_state()).unwrap_or_default();
        let snapshot = take_snapshot(&self.checkpoints, epoch, |context| {
            context.add_file(SPLITS_FILE, codec::encode(&splits)?);
            Ok(())
        })?;
        self.in_checkpoints.insert(self.checkpoints.checkpoint_id(epoch), splits);
        Ok(snapshot)
    }

    /// Tells the reader of the newest completed checkpoint, with its splits in it.
    fn notify_completed(&mut self) {
        let Some(completed) = self.checkpoints.newly_completed() else { return };
        let later = self.in_checkpoints.split_off(&(completed + 1));
        let done = std::mem::replace(&mut self.in_checkpoints, later);
        if let (Some(reader), Some((id, splits))) = (self.reader.as_mut(), done.into_iter().next_back()) {
            reader.notify_checkpoint_complete(id, &splits);
        }
    }

    /// Snapshots the reader and moves to the epoch the coordinator triggered, after sending
    /// what was read in the epoch that closes.
    fn advance_epoch(&mut self, capability: &mut Capability<u64>) -> Result<()> {
        let target = self.checkpoints.triggered_epoch();
        let epoch = *capability.time();
        if !self.checkpoints.enabled() || target <= epoch {
            return Ok(());
        }
        let mut session = self.timely_output.activate();
        self.output.flush(&mut session, SendCapability::Held(std::slice::from_ref(capability)));
        drop(session);
        let snapshot = self.snapshot(epoch)?;
        self.checkpoints.acknowledge(epoch..target, snapshot);
        capability.downgrade(&target);
        Ok(())
    }

    /// Opens the reader with the splits of this instance.
    fn open(&mut self) -> Result<S::Reader> {
        let enumeration = SplitEnumeratorContext { parallelism: self.parallelism };
        let splits = self.splits(&enumeration)?;
        let mut mine = Vec::new();
        for (position, split) in splits.into_iter().enumerate() {
            let owner = self.source.assign_split(&split, position, &enumeration);
            if owner >= self.parallelism {
                return Err(FlinkError::InvalidProgram(format!(
                    "split '{}' was assigned to reader {owner}, but the source has only {} readers",
                    split.split_id(),
                    self.parallelism
                )));
            }
            if owner == self.subtask {
                mine.push(split);
            }
        }
        let mut reader = self
            .source
            .create_reader(&SourceReaderContext { subtask_index: self.subtask, parallelism: self.parallelism })?;
        if let Some(watermarks) = self.watermarks.as_mut() {
            for split in &mine {
                watermarks.register_split(&split.split_id());
            }
        }
        reader.add_splits(mine);
        Ok(reader)
    }

    /// Reads up to the activation budget; true once the input has ended.
    fn activate(&mut self, capability: &mut Capability<u64>) -> Result<bool> {
        if self.reader.is_none() {
            self.reader = Some(self.open()?);
        }
        self.notify_completed();
        self.advance_epoch(capability)?;
        let mut session = self.timely_output.activate();
        let reader = self.reader.as_mut().expect("opened");
        let caps = std::slice::from_ref(&*capability);
        let mut emitted = 0;
        if let (Some(watermarks), true) = (self.watermarks.as_mut(), self.interval > 0) {
            if self.wakeups.due().is_some() {
                watermarks.on_periodic_emit();
                watermarks.emit(&mut self.output);
            }
            let service = self.wakeups.service();
            if service.requested() == i64::MAX {
                service.request_callback(service.current_processing_time() + self.interval);
            }
        }
        loop {
            let mut batch = SourceOutput::new(&mut self.output, self.watermarks.as_mut(), BATCH);
            let status = reader.poll_next(&mut batch)?;
            let produced = BATCH - batch.remaining();
            emitted += produced;
            match status {
                // A reader that reports more but emitted nothing yields, so it cannot spin here.
                InputStatus::MoreAvailable if produced > 0 && emitted < ACTIVATION_BUDGET => {
                    if self.output.buffer.len() >= BATCH {
                        self.output.flush(&mut session, SendCapability::Held(caps));
                    }
                }
                InputStatus::MoreAvailable => {
                    self.output.flush(&mut session, SendCapability::Held(caps));
                    self.activator.activate();
                    self.wakeups.schedule();
                    return Ok(false);
                }
                InputStatus::NothingAvailable(delay) => {
                    self.output.flush(&mut session, SendCapability::Held(caps));
                    self.activator.activate_after(delay);
                    self.wakeups.schedule();
                    return Ok(false);
                }
                InputStatus::EndOfInput => {
                    self.output.emit_watermark(Watermark::MAX_TIMESTAMP);
                    self.output.flush(&mut session, SendCapability::Held(caps));
                    drop(session);
                    if self.checkpoints.enabled() {
                        let epoch = *capability.time();
                        let snapshot = self.snapshot(epoch)?;
                        self.checkpoints.finish(epoch, snapshot);
                    }
                    return Ok(true);
                }
            }
        }
    }
}
