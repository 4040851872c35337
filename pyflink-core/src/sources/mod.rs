//! Sources: the split-based [`Source`] API (Flink's FLIP-27 shape) and the built-in sources.
//!
//! A source enumerates *splits* (a Kafka partition, a file, a range of numbers), assigns them to
//! its parallel readers, and each [`SourceReader`] reads its splits in small batches. A reader's
//! [`SourceReader::snapshot_state`] returns its splits with their current positions, which is what
//! checkpoints store.

mod collection;
mod datagen;
mod number_sequence;

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

pub use collection::{CollectionSource, CollectionSplit};
pub use datagen::{random_hex_string, DataGenSource, DataGenSplit, GeneratorContext, Pace};
pub use number_sequence::{NumberSequenceSource, NumberSequenceSplit};

use crate::config::Boundedness;
use crate::metrics::{MetricGroup, MetricRegistry};
use crate::runtime::output::Output;
use crate::runtime::source_watermarks::SourceWatermarks;
use crate::runtime::StopSignal;
use crate::{Data, Result};

/// A unit of work of a source, with its reading position. Splits are what checkpoints store of a
/// source, so they are serializable.
pub trait SourceSplit: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// An id unique among the source's splits.
    fn split_id(&self) -> String;
}

/// What split enumeration knows: the source's parallelism.
#[derive(Debug, Clone, Copy)]
pub struct SplitEnumeratorContext {
    /// The number of parallel readers.
    pub parallelism: usize,
}

/// What a reader knows about where it runs.
#[derive(Debug, Clone)]
pub struct SourceReaderContext {
    /// The index of this reader, `0 .. parallelism`.
    pub subtask_index: usize,
    /// The number of parallel readers.
    pub parallelism: usize,
    /// The source instance's metric group, for the reader's own metrics.
    pub metric_group: MetricGroup,
    /// Turns true when the reader's task must stop: calls that wait for an outside system check
    /// it between short waits.
    pub stop: StopSignal,
}

impl SourceReaderContext {
    /// The context of reader `subtask_index` of `parallelism` outside a job: its metrics are
    /// registered nowhere and it is never asked to stop.
    ///
    /// ```
    /// use pyflink_core::sources::SourceReaderContext;
    /// let context = SourceReaderContext::new(1, 2);
    /// assert_eq!((context.subtask_index, context.parallelism), (1, 2));
    /// ```
    pub fn new(subtask_index: usize, parallelism: usize) -> Self {
        let metric_group = MetricRegistry::default().group(vec!["source".into(), subtask_index.to_string()]);
        SourceReaderContext { subtask_index, parallelism, metric_group, stop: StopSignal::never() }
    }
}

/// What a reader reports after a call to [`SourceReader::poll_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputStatus {
    /// More records can be read right away.
    MoreAvailable,
    /// Nothing to read now; call again after the given delay (used for rate limits and polling).
    NothingAvailable(Duration),
    /// All splits of this reader are done.
    EndOfInput,
}

/// A split-based source of records of type `T`.
///
/// Every worker enumerates the splits the same way, so enumeration must be deterministic for a
/// given configuration; [`Source::assign_split`] then decides which reader reads each split.
pub trait Source<T: Data>: Send + Sync + 'static {
    /// The split type.
    type Split: SourceSplit;
    /// The reader type, created on the worker thread that runs it.
    type Reader: SourceReader<T, Self::Split>;

    /// Whether the source ends.
    fn boundedness(&self) -> Boundedness;

    /// The source's splits.
    fn enumerate_splits(&self, context: &SplitEnumeratorContext) -> Result<Vec<Self::Split>>;

    /// The reader of the `position`-th split; round robin unless overridden.
    fn assign_split(&self, _split: &Self::Split, position: usize, context: &SplitEnumeratorContext) -> usize {
        position % context.parallelism
    }

    /// Creates the reader of one parallel instance.
    fn create_reader(&self, context: &SourceReaderContext) -> Result<Self::Reader>;
}

/// Reads the splits assigned to one parallel instance of a source.
pub trait SourceReader<T: Data, S: SourceSplit>: 'static {
    /// Adds splits to read.
    fn add_splits(&mut self, splits: Vec<S>);

    /// Emits available records into `output` while [`SourceOutput::has_capacity`] holds, and
    /// reports whether more are available.
    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<InputStatus>;

    /// The reader's splits with their current positions, for checkpoints.
    fn snapshot_state(&self) -> Vec<S>;

    /// Called when the checkpoint `checkpoint_id` is complete, with the splits this reader
    /// had in it: a reader may tell its external system how far it has read (a Kafka source
    /// commits its offsets for the consumer group). Positions live in checkpoints, so what
    /// the reader does here must not fail the job.
    fn notify_checkpoint_complete(&mut self, _checkpoint_id: u64, _splits: &[S]) {}
}

/// Where a reader emits records; bounded per call so that a reader yields regularly.
///
/// With a watermark strategy on the source, each record's timestamp comes from the strategy
/// and watermarks are generated per split: a reader that reads several splits names the split
/// of the records that follow with [`SourceOutput::split`], and reports finished splits with
/// [`SourceOutput::finish_split`]. Once a reader names splits, every split assigned to it holds
/// the watermark back until it is finished, so such a reader must also finish the splits it was
/// given already finished (after a restore).
pub struct SourceOutput<'a, T: Data> {
    output: &'a mut Output<T>,
    watermarks: Option<&'a mut SourceWatermarks<T>>,
    remaining: usize,
}

impl<'a, T: Data> SourceOutput<'a, T> {
    pub(crate) fn new(
        output: &'a mut Output<T>,
        watermarks: Option<&'a mut SourceWatermarks<T>>,
        capacity: usize,
    ) -> Self {
        SourceOutput { output, watermarks, remaining: capacity }
    }

    #[inline]
    fn emit(&mut self, value: T, timestamp: Option<i64>) {
        self.remaining = self.remaining.saturating_sub(1);
        match self.watermarks.as_deref_mut() {
            None => self.output.collect_with_timestamp(value, timestamp),
            Some(watermarks) => {
                let timestamp = watermarks.on_record(&value, timestamp);
                self.output.collect_with_timestamp(value, timestamp);
                if watermarks.has_changes() {
                    watermarks.emit(self.output);
                }
            }
        }
    }

    /// Emits a record without timestamp (the source's timestamp assigner may give it one).
    #[inline]
    pub fn collect(&mut self, value: T) {
        self.emit(value, None);
    }

    /// Emits a record with an event timestamp.
    #[inline]
    pub fn collect_with_timestamp(&mut self, value: T, timestamp: i64) {
        self.emit(value, Some(timestamp));
    }

    /// Makes `split_id` the split of the records emitted next, for per-split watermarks.
    pub fn split(&mut self, split_id: &str) {
        if let Some(watermarks) = self.watermarks.as_deref_mut() {
            watermarks.select_split(split_id);
        }
    }

    /// Reports that `split_id` has no more records: it no longer holds the watermark back.
    pub fn finish_split(&mut self, split_id: &str) {
        if let Some(watermarks) = self.watermarks.as_deref_mut() {
            watermarks.finish_split(split_id);
            watermarks.emit(self.output);
        }
    }

    /// Whether the reader should emit more in this call.
    #[inline]
    pub fn has_capacity(&self) -> bool {
        self.remaining > 0
    }

    /// How many more records this call may emit.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}
