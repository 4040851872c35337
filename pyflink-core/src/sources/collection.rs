//! `from_collection`: a bounded, non-parallel source of the elements of a vector.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Boundedness;
use crate::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use crate::{Data, Result};

/// Emits the elements of a collection in order, from one reader (as Flink's `fromCollection`).
pub struct CollectionSource<T> {
    elements: Arc<Vec<T>>,
}

impl<T: Data> CollectionSource<T> {
    /// A source of `elements`.
    pub fn new(elements: Vec<T>) -> Self {
        CollectionSource { elements: Arc::new(elements) }
    }
}

/// The single split of a collection source: the elements and the index of the next one. Only
/// the index goes into checkpoints; a restored reader takes the elements from its source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct CollectionSplit<T> {
    #[serde(skip)]
    elements: Arc<Vec<T>>,
    /// The index of the next element to emit.
    pub next: usize,
}

impl<T: Data> SourceSplit for CollectionSplit<T> {
    fn split_id(&self) -> String {
        "collection".to_string()
    }
}

impl<T: Data> Source<T> for CollectionSource<T> {
    type Split = CollectionSplit<T>;
    type Reader = CollectionReader<T>;

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn enumerate_splits(&self, _context: &SplitEnumeratorContext) -> Result<Vec<Self::Split>> {
        Ok(vec![CollectionSplit { elements: Arc::clone(&self.elements), next: 0 }])
    }

    fn create_reader(&self, _context: &SourceReaderContext) -> Result<Self::Reader> {
        Ok(CollectionReader { elements: Arc::clone(&self.elements), splits: Vec::new() })
    }
}

/// Reads collection splits.
pub struct CollectionReader<T> {
    elements: Arc<Vec<T>>,
    splits: Vec<CollectionSplit<T>>,
}

impl<T: Data> SourceReader<T, CollectionSplit<T>> for CollectionReader<T> {
    fn add_splits(&mut self, splits: Vec<CollectionSplit<T>>) {
        let elements = &self.elements;
        self.splits.extend(splits.into_iter().map(|split| CollectionSplit { elements: Arc::clone(elements), ..split }));
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<InputStatus> {
        for split in &mut self.splits {
            while split.next < split.elements.len() && output.has_capacity() {
                output.collect(split.elements[split.next].clone());
                split.next += 1;
            }
        }
        if self.splits.iter().all(|s| s.next == s.elements.len()) {
            Ok(InputStatus::EndOfInput)
        } else {
            Ok(InputStatus::MoreAvailable)
        }
    }

    fn snapshot_state(&self) -> Vec<CollectionSplit<T>> {
        self.splits.clone()
    }
}
