//! The harness of sources: enumerates and assigns splits, drives the reader in bounded batches,
//! reschedules itself while records remain, waits while the operators downstream are behind
//! (see [`pacing`](super::pacing)) or while it is ahead of its watermark alignment group (see
//! [`alignment`](super::alignment)), and ends its stream with the final watermark.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::Capability;
use timely::scheduling::Activator;

use pyflink_state::codec;

use crate::checkpoint::coordinator::TaskSnapshot;
use crate::checkpoint::restore::RestoredOperator;
use crate::checkpoint::task::TaskCheckpoints;
use crate::element::{Element, Watermark};
use crate::runtime::activation::Activations;
use crate::runtime::alignment::{AlignedWatermark, AlignmentGroups, AssignerWatermark, SourceAlignment};
use crate::runtime::epochs::take_snapshot;
use crate::runtime::graph::{BuildContext, NodePlan};
use crate::runtime::output::{ElementOutput, Output, SendCapability, BATCH};
use crate::runtime::pacing::{Pacing, WAIT_POLL};
use crate::runtime::source_watermarks::SourceWatermarks;
use crate::runtime::timestamp::{current_round, epoch_of, time_at, Time};
use crate::runtime::wakeup::Wakeups;
use crate::runtime::StopSignal;
use crate::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use crate::time::{ProcessingTimeService, WatermarkStrategy};
use crate::{Data, FlinkError, Result};

/// Records a source emits per activation before it yields to downstream operators.
const ACTIVATION_BUDGET: usize = 16 * BATCH;

/// The longest a source sleeps while its reader has nothing: the source moves its capability to
/// the current round when it wakes, and the frontier that other sources pace themselves on
/// cannot pass a sleeping source's round.
const IDLE_REFRESH: Duration = Duration::from_millis(10);

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
    let metrics = context.job.metrics.group(vec![plan.name.clone(), subtask.to_string()]);
    let pacing = Pacing::new(plan.backpressure, context.end_probe(), active.then_some(&metrics));
    let reader_context = SourceReaderContext {
        subtask_index: subtask,
        parallelism: plan.parallelism,
        metric_group: metrics.clone(),
        stop: StopSignal::of_job(&job),
    };
    let watermarks = (!strategy.is_noop() && !plan.batch_mode).then(|| SourceWatermarks::new(strategy.clone()));
    let alignment = match (strategy.alignment(), &watermarks) {
        (Some(settings), Some(_)) if active => Some(SourceAlignment::new(
            Arc::clone(&job.alignment),
            settings.clone(),
            AlignedWatermark::Reader,
            plan.id,
            subtask,
        )),
        _ => None,
    };
    let assigner = (active && alignment.is_none()).then(|| job.alignment.assigner_of(plan.id, subtask));
    let mut task = SourceTask::<T, S> {
        source,
        reader: None,
        reader_context,
        subtask,
        parallelism: plan.parallelism,
        output: Output::new(subtask, Vec::new()),
        timely_output: output,
        wakeups: Wakeups::new(ProcessingTimeService::default(), activator.clone()),
        activator,
        // Batch jobs only need the final watermark; a strategy that does nothing costs nothing.
        watermarks,
        alignment,
        assigner,
        groups: Arc::clone(&job.alignment),
        node: plan.id,
        interval: plan.auto_watermark_interval,
        checkpoints,
        restored,
        in_checkpoints: BTreeMap::new(),
        pacing,
        next_poll: None,
    };
    let activations = Activations::new(&job, &plan.name, subtask, active.then_some(&metrics));
    builder.build(move |mut capabilities| {
        let mut held: Option<Capability<Time>> = if active { capabilities.pop() } else { None };
        move |_frontiers| {
            let Some(capability) = held.as_mut() else { return };
            if activations.should_stop() {
                held = None;
                return;
            }
            if activations.run(|| task.activate(capability)) {
                held = None;
            }
        }
    });
    Ok(())
}

struct SourceTask<T: Data, S: Source<T>> {
    source: Arc<S>,
    reader: Option<S::Reader>,
    /// What the reader is told of where it runs, when it is created.
    reader_context: SourceReaderContext,
    subtask: usize,
    parallelism: usize,
    output: Output<T>,
    timely_output: ElementOutput<T>,
    activator: Activator,
    /// Wakes the source for periodic watermarks, also while its reader waits.
    wakeups: Wakeups,
    watermarks: Option<SourceWatermarks<T>>,
    /// The source's part in its watermark alignment group, if it has one.
    alignment: Option<SourceAlignment>,
    /// The watermark of the timestamp assigner after this instance, which aligns the source
    /// once it asks to; with the job's groups and the source's node id to join them.
    assigner: Option<Arc<AssignerWatermark>>,
    groups: Arc<AlignmentGroups>,
    node: usize,
    /// The periodic watermark interval in ms (0: none).
    interval: i64,
    checkpoints: TaskCheckpoints,
    /// The source's state in the checkpoint the job restored, if any.
    restored: Option<RestoredOperator>,
    /// The reader's splits in each checkpoint not known to be complete, by checkpoint id.
    in_checkpoints: BTreeMap<u64, Vec<S::Split>>,
    /// What the source has in flight downstream.
    pacing: Pacing,
    /// When the reader, having had nothing, asked to be polled again.
    next_poll: Option<Instant>,
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
    /// what was read in the epoch that closes; true when a savepoint that drains the job closes
    /// it, and the input ended there instead (see [`SourceTask::end_input`]).
    fn advance_epoch(&mut self, capability: &mut Capability<Time>) -> Result<bool> {
        let target = self.checkpoints.triggered_epoch();
        let epoch = epoch_of(*capability.time());
        if !self.checkpoints.enabled() || target <= epoch {
            return Ok(false);
        }
        if self.checkpoints.drains(&(epoch..target)) {
            self.end_input(capability)?;
            return Ok(true);
        }
        let mut session = self.timely_output.activate();
        self.output.flush(&mut session, SendCapability::Held(std::slice::from_ref(capability)));
        drop(session);
        let snapshot = self.snapshot(epoch)?;
        self.checkpoints.acknowledge(epoch..target, snapshot);
        capability.downgrade(&time_at(target, current_round()));
        Ok(false)
    }

    /// Ends this instance's input, at the end of its splits or when the job is stopped with
    /// drain: a watermark at the end of event time follows what was read (so that every
    /// event-time window and timer downstream fires), and the reader's position is its final
    /// snapshot.
    fn end_input(&mut self, capability: &Capability<Time>) -> Result<()> {
        if let Some(alignment) = self.alignment.as_mut() {
            alignment.finish();
        }
        self.output.emit_watermark(Watermark::MAX_TIMESTAMP);
        let mut session = self.timely_output.activate();
        self.output.flush(&mut session, SendCapability::Held(std::slice::from_ref(capability)));
        drop(session);
        if self.checkpoints.enabled() {
            let epoch = epoch_of(*capability.time());
            let snapshot = self.snapshot(epoch)?;
            self.checkpoints.finish(epoch, snapshot);
        }
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
        let mut reader = self.source.create_reader(&self.reader_context)?;
        if let Some(watermarks) = self.watermarks.as_mut() {
            for split in &mine {
                watermarks.register_split(&split.split_id());
            }
        }
        reader.add_splits(mine);
        Ok(reader)
    }

    /// Joins the alignment group the timestamp assigner after this instance asks for, once it
    /// has opened.
    fn follow_assigner(&mut self) {
        if self.alignment.is_some() {
            return;
        }
        let Some(assigner) = &self.assigner else { return };
        if let Some(settings) = assigner.settings() {
            let follows = AlignedWatermark::Assigner(Arc::clone(assigner));
            let groups = Arc::clone(&self.groups);
            self.alignment = Some(SourceAlignment::new(groups, settings.clone(), follows, self.node, self.subtask));
        }
    }

    /// Reads up to the activation budget, unless the source must wait; true once the input has
    /// ended.
    fn activate(&mut self, capability: &mut Capability<Time>) -> Result<bool> {
        if self.reader.is_none() {
            self.reader = Some(self.open()?);
        }
        self.notify_completed();
        self.follow_assigner();
        if self.advance_epoch(capability)? {
            return Ok(true);
        }
        // Everything sent from now on is sent in this round; earlier rounds are let go of, so
        // that the frontier can pass them.
        let round = current_round();
        let now = time_at(epoch_of(*capability.time()), round);
        if now > *capability.time() {
            capability.downgrade(&now);
        }
        let mut session = self.timely_output.activate();
        let reader = self.reader.as_mut().expect("opened");
        let caps = std::slice::from_ref(&*capability);
        let mut emitted = 0;
        if let (Some(watermarks), true) = (self.watermarks.as_mut(), self.interval > 0) {
            emit_periodic_watermarks(watermarks, &mut self.wakeups, self.interval, &mut self.output);
        }
        if let Some(alignment) = self.alignment.as_mut() {
            let (reported, _) = aligned_watermark(alignment, &self.watermarks);
            alignment.maybe_report(reported);
        }
        let waiting_for_poll = self.next_poll.filter(|&at| at > Instant::now());
        let waiting_for_group = ahead_of_group(&self.alignment, &self.watermarks);
        if self.pacing.must_wait(round) || waiting_for_poll.is_some() || waiting_for_group {
            self.output.flush(&mut session, SendCapability::Held(caps));
            let sleep = match (waiting_for_poll, &self.alignment) {
                (Some(at), _) => at.saturating_duration_since(Instant::now()).min(IDLE_REFRESH),
                (None, Some(alignment)) if waiting_for_group => {
                    alignment.recheck_after().clamp(Duration::from_millis(1), IDLE_REFRESH)
                }
                (None, _) => WAIT_POLL,
            };
            self.activator.activate_after(sleep);
            self.wakeups.schedule();
            return Ok(false);
        }
        self.next_poll = None;
        // A source aligned by the assigner after it yields after each batch, so that the
        // assigner's watermark follows what was read before the source reads on.
        let following = matches!(self.alignment, Some(SourceAlignment { follows: AlignedWatermark::Assigner(_), .. }));
        let budget = if following { BATCH } else { ACTIVATION_BUDGET }.min(self.pacing.allowance());
        let time = *capability.time();
        loop {
            let mut batch = SourceOutput::new(&mut self.output, self.watermarks.as_mut(), BATCH);
            let status = reader.poll_next(&mut batch)?;
            let produced = BATCH - batch.remaining();
            emitted += produced;
            self.pacing.sent(time, produced);
            // An aligned source follows its watermark between batches, so that it stops close
            // to where its group allows.
            if let Some(alignment) = self.alignment.as_mut() {
                if let (Some(watermarks), true) = (self.watermarks.as_mut(), self.interval > 0) {
                    emit_periodic_watermarks(watermarks, &mut self.wakeups, self.interval, &mut self.output);
                }
                let (reported, _) = aligned_watermark(alignment, &self.watermarks);
                alignment.maybe_report(reported);
            }
            match status {
                // A reader that reports more but emitted nothing yields, so it cannot spin here.
                InputStatus::MoreAvailable
                    if produced > 0 && emitted < budget && !ahead_of_group(&self.alignment, &self.watermarks) =>
                {
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
                    self.next_poll = Some(Instant::now() + delay);
                    self.activator.activate_after(delay.min(IDLE_REFRESH));
                    self.wakeups.schedule();
                    return Ok(false);
                }
                InputStatus::EndOfInput => {
                    drop(session);
                    self.end_input(capability)?;
                    return Ok(true);
                }
            }
        }
    }
}

/// The watermark an aligned source reports to its group (`None` before the first, the maximum
/// while idle) and the one it compares with the group's: its assigner's or its own.
#[inline]
fn aligned_watermark<T: Data>(
    alignment: &SourceAlignment,
    watermarks: &Option<SourceWatermarks<T>>,
) -> (Option<i64>, i64) {
    match (alignment.assigner_watermark(), watermarks) {
        (Some(assigner), _) => assigner,
        (None, Some(watermarks)) => (watermarks.reported(), watermarks.current()),
        (None, None) => (None, i64::MIN),
    }
}

/// Whether an aligned source's watermark is too far ahead of its group for it to read on.
#[inline]
fn ahead_of_group<T: Data>(alignment: &Option<SourceAlignment>, watermarks: &Option<SourceWatermarks<T>>) -> bool {
    alignment.as_ref().is_some_and(|alignment| alignment.must_wait(aligned_watermark(alignment, watermarks).1))
}

/// Runs the periodic watermark generators once their interval has passed, and asks to be woken
/// for the next time.
fn emit_periodic_watermarks<T: Data>(
    watermarks: &mut SourceWatermarks<T>,
    wakeups: &mut Wakeups,
    interval: i64,
    output: &mut Output<T>,
) {
    if wakeups.due().is_some() {
        watermarks.on_periodic_emit();
        watermarks.emit(output);
    }
    let service = wakeups.service();
    if service.requested() == i64::MAX {
        service.request_callback(service.current_processing_time() + interval);
    }
}
