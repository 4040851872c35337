//! `NumberSequenceSource`: the numbers `from ..= to`, split evenly over the readers.

use crate::config::Boundedness;
use crate::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use crate::{FlinkError, Result};

/// A bounded, parallel source of the numbers `from ..= to` (Flink's `NumberSequenceSource`).
///
/// The range is cut into one split per reader; each reader emits its numbers in order.
#[derive(Debug, Clone, Copy)]
pub struct NumberSequenceSource {
    from: i64,
    to: i64,
}

impl NumberSequenceSource {
    /// The numbers `from ..= to`; fails if `from > to`.
    pub fn new(from: i64, to: i64) -> Result<Self> {
        if from > to {
            return Err(FlinkError::InvalidProgram(format!(
                "number sequence start {from} is greater than its end {to}; the end is inclusive and must be at least the start"
            )));
        }
        Ok(NumberSequenceSource { from, to })
    }
}

/// A sub-range of the sequence: the next number to emit and the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NumberSequenceSplit {
    /// The split's index.
    pub index: usize,
    /// The next number to emit; past `to` when the split is done.
    pub next: i128,
    /// The last number of the split (inclusive).
    pub to: i64,
}

impl SourceSplit for NumberSequenceSplit {
    fn split_id(&self) -> String {
        self.index.to_string()
    }
}

impl Source<i64> for NumberSequenceSource {
    type Split = NumberSequenceSplit;
    type Reader = NumberSequenceReader;

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn enumerate_splits(&self, context: &SplitEnumeratorContext) -> Result<Vec<NumberSequenceSplit>> {
        let total = (self.to as i128) - (self.from as i128) + 1;
        let parts = (context.parallelism as i128).min(total).max(1);
        Ok((0..parts)
            .map(|i| {
                let start = self.from as i128 + total * i / parts;
                let end = self.from as i128 + total * (i + 1) / parts - 1;
                NumberSequenceSplit { index: i as usize, next: start, to: end as i64 }
            })
            .collect())
    }

    fn create_reader(&self, _context: &SourceReaderContext) -> Result<NumberSequenceReader> {
        Ok(NumberSequenceReader { splits: Vec::new() })
    }
}

/// Reads number sequence splits.
pub struct NumberSequenceReader {
    splits: Vec<NumberSequenceSplit>,
}

impl SourceReader<i64, NumberSequenceSplit> for NumberSequenceReader {
    fn add_splits(&mut self, splits: Vec<NumberSequenceSplit>) {
        self.splits.extend(splits);
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, i64>) -> Result<InputStatus> {
        for split in &mut self.splits {
            let available = (split.to as i128 - split.next + 1).max(0);
            let count = available.min(output.remaining() as i128);
            for n in split.next..split.next + count {
                output.collect(n as i64);
            }
            split.next += count;
        }
        if self.splits.iter().all(|s| s.next > s.to as i128) {
            Ok(InputStatus::EndOfInput)
        } else {
            Ok(InputStatus::MoreAvailable)
        }
    }

    fn snapshot_state(&self) -> Vec<NumberSequenceSplit> {
        self.splits.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_cover_the_range_once() {
        let source = NumberSequenceSource::new(-5, 20).unwrap();
        for parallelism in 1..8 {
            let splits = source.enumerate_splits(&SplitEnumeratorContext { parallelism }).unwrap();
            let mut covered: Vec<i64> = splits.iter().flat_map(|s| (s.next as i64)..=s.to).collect();
            covered.sort();
            assert_eq!(covered, (-5..=20).collect::<Vec<_>>());
        }
    }

    #[test]
    fn rejects_reversed_range() {
        let err = NumberSequenceSource::new(3, 1).unwrap_err();
        assert!(err.to_string().contains("greater than its end"), "{err}");
    }
}
