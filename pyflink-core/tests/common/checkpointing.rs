//! Parts of the checkpoint tests: a slow, replayable source; a transactional sink that makes
//! records visible only when a checkpoint completes; and a failure injector.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use pyflink_core::Boundedness;
use pyflink_core::{
    Data, FlinkError, KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, Result, ValueState,
    ValueStateDescriptor,
};
use serde::{Deserialize, Serialize};

/// Emits the records of each split in order, a few per poll, so that checkpoints are taken
/// while the job runs. Each split is one list of the input; a split's records carry timestamps
/// from `timestamp_of`.
pub struct PacedSource<T> {
    splits: Arc<Vec<Vec<T>>>,
    per_poll: usize,
}

impl<T: Data> PacedSource<T> {
    /// A source of `splits`, emitting up to `per_poll` records of a split per millisecond.
    pub fn new(splits: Vec<Vec<T>>, per_poll: usize) -> Self {
        PacedSource { splits: Arc::new(splits), per_poll }
    }
}

/// A split of a [`PacedSource`]: which list, and the position in it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PacedSplit {
    index: usize,
    next: usize,
}

impl SourceSplit for PacedSplit {
    fn split_id(&self) -> String {
        format!("{:06}", self.index)
    }
}

impl<T: Data> Source<T> for PacedSource<T> {
    type Split = PacedSplit;
    type Reader = PacedReader<T>;

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn enumerate_splits(&self, _context: &SplitEnumeratorContext) -> Result<Vec<PacedSplit>> {
        Ok((0..self.splits.len()).map(|index| PacedSplit { index, next: 0 }).collect())
    }

    fn create_reader(&self, _context: &SourceReaderContext) -> Result<PacedReader<T>> {
        Ok(PacedReader { data: Arc::clone(&self.splits), splits: Vec::new(), per_poll: self.per_poll })
    }
}

/// Reads [`PacedSplit`]s.
pub struct PacedReader<T> {
    data: Arc<Vec<Vec<T>>>,
    splits: Vec<PacedSplit>,
    per_poll: usize,
}

impl<T: Data> SourceReader<T, PacedSplit> for PacedReader<T> {
    fn add_splits(&mut self, splits: Vec<PacedSplit>) {
        self.splits.extend(splits);
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<InputStatus> {
        let mut pending = false;
        for split in &mut self.splits {
            let records = &self.data[split.index];
            if split.next == records.len() {
                // Restored already finished: it must not hold the watermark back.
                output.finish_split(&split.split_id());
                continue;
            }
            // Watermarks are per split: name the split of the records that follow.
            output.split(&split.split_id());
            let end = (split.next + self.per_poll).min(records.len());
            for record in &records[split.next..end] {
                output.collect(record.clone());
            }
            split.next = end;
            if split.next == records.len() {
                output.finish_split(&split.split_id());
            } else {
                pending = true;
            }
        }
        Ok(if pending { InputStatus::NothingAvailable(Duration::from_millis(1)) } else { InputStatus::EndOfInput })
    }

    fn snapshot_state(&self) -> Vec<PacedSplit> {
        self.splits.clone()
    }
}

/// Records committed by a [`TransactionalSink`], by (writer, checkpoint): committing the same
/// transaction twice keeps one copy, as a real transactional system would.
pub type Committed<T> = Arc<Mutex<BTreeMap<(usize, u64), Vec<T>>>>;

/// A sink whose writers stage records per checkpoint and make them visible on commit.
pub struct TransactionalSink<T> {
    committed: Committed<T>,
    commit_failures: FailureInjector,
    commit_panics: FailureInjector,
    abort_failures: FailureInjector,
}

impl<T> TransactionalSink<T> {
    /// A sink committing into `committed`.
    pub fn new(committed: Committed<T>) -> Self {
        Self::failing_commits(committed, FailureInjector::at(Vec::new()), FailureInjector::at(Vec::new()))
    }

    /// A sink committing into `committed`, whose commits fail with an error at
    /// `commit_failures`' points and panic at `commit_panics`' points, after committing their
    /// first transaction (as when a broker goes away midway, or an acknowledgement is lost).
    pub fn failing_commits(
        committed: Committed<T>,
        commit_failures: FailureInjector,
        commit_panics: FailureInjector,
    ) -> Self {
        let abort_failures = FailureInjector::at(Vec::new());
        TransactionalSink { committed, commit_failures, commit_panics, abort_failures }
    }

    /// The sink, with writers whose abort of the transaction left open when they close fails
    /// with an error at `abort_failures`' points (as a Kafka writer's does when its broker does
    /// not answer).
    pub fn failing_aborts(self, abort_failures: FailureInjector) -> Self {
        TransactionalSink { abort_failures, ..self }
    }
}

/// Every committed record.
pub fn committed_records<T: Clone>(committed: &Committed<T>) -> Vec<T> {
    committed.lock().unwrap().values().flatten().cloned().collect()
}

impl<T: Data> Sink<T> for TransactionalSink<T> {
    type Writer = StagingWriter<T>;

    fn create_writer(&self, context: &SinkWriterContext) -> Result<StagingWriter<T>> {
        Ok(StagingWriter {
            subtask: context.subtask_index,
            staged: Vec::new(),
            abort_failures: self.abort_failures.clone(),
        })
    }

    fn commit(&self, committables: Vec<Vec<u8>>) -> Result<()> {
        for (n, bytes) in committables.into_iter().enumerate() {
            let (subtask, checkpoint, records): (usize, u64, Vec<T>) =
                pyflink_state::codec::decode(&bytes, "test transaction").expect("own encoding");
            self.committed.lock().unwrap().entry((subtask, checkpoint)).or_insert(records);
            if n == 0 {
                // With the lock released: a panic here must not poison the committed records.
                self.commit_failures.check()?;
                self.commit_panics.tick();
            }
        }
        Ok(())
    }
}

/// The writer of [`TransactionalSink`]: records wait in a transaction until it is committed.
pub struct StagingWriter<T> {
    subtask: usize,
    staged: Vec<T>,
    abort_failures: FailureInjector,
}

impl<T: Data> SinkWriter<T> for StagingWriter<T> {
    fn write(&mut self, value: T, _timestamp: Option<i64>) -> Result<()> {
        self.staged.push(value);
        Ok(())
    }

    fn prepare_commit(&mut self, checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        let records = std::mem::take(&mut self.staged);
        let transaction = (self.subtask, checkpoint_id, records);
        Ok(vec![pyflink_state::codec::encode(&transaction).expect("records encode")])
    }

    /// Aborts the transaction left open: what was staged after the last checkpoint.
    fn close(&mut self) -> Result<()> {
        self.staged.clear();
        self.abort_failures.check()
    }
}

/// Panics when the number of calls across all attempts of a job reaches one of its points.
#[derive(Clone)]
pub struct FailureInjector {
    calls: Arc<AtomicI64>,
    points: Arc<Vec<i64>>,
}

impl FailureInjector {
    /// Fails at the given call numbers (each once).
    pub fn at(points: Vec<i64>) -> Self {
        FailureInjector { calls: Arc::new(AtomicI64::new(0)), points: Arc::new(points) }
    }

    /// Counts a call and panics if it is a failure point.
    pub fn tick(&self) {
        if let Err(error) = self.check() {
            panic!("{error}");
        }
    }

    /// Counts a call and returns an error if it is a failure point.
    pub fn check(&self) -> Result<()> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if self.points.contains(&call) {
            return Err(FlinkError::Runtime(format!("injected failure at call {call}")));
        }
        Ok(())
    }
}

/// `(key, id, timestamp)`; ids are unique, timestamps increase within a split.
pub type Event = (u8, u32, i64);

/// Emits `(key, id, number of the key's records so far)` and fails where its injector says.
#[derive(Clone)]
pub struct CountPerKey {
    injector: FailureInjector,
    count: Option<ValueState<u32>>,
}

impl CountPerKey {
    /// Counts, failing at the injector's points.
    pub fn failing_at(injector: FailureInjector) -> Self {
        CountPerKey { injector, count: None }
    }

    /// Counts without failing.
    pub fn new() -> Self {
        Self::failing_at(FailureInjector::at(Vec::new()))
    }
}

impl KeyedProcessFunction<u8, Event, (u8, u32, u32)> for CountPerKey {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, u8>) -> Result<()> {
        self.count = Some(context.get_state(&ValueStateDescriptor::new("count"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (key, id, _): Event,
        ctx: &mut KeyedProcessContext<'_, u8, (u8, u32, u32)>,
    ) -> Result<()> {
        self.injector.tick();
        let count = self.count.as_ref().expect("opened");
        let next = count.value().unwrap_or(0) + 1;
        count.update(next);
        ctx.collect((key, id, next));
        Ok(())
    }
}
