//! `DataGenSource`: generated rows, with sequence and random fields, a row count and a rate limit.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::config::Boundedness;
use crate::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use crate::{Data, FlinkError, Result};

/// Generates records from a function of the row's index and a seeded random generator, as
/// Flink's `DataGeneratorSource` and the `datagen` connector do.
///
/// ```
/// use pyflink_core::sources::DataGenSource;
/// // 1000 rows of (sequence id, random score in 0..=100), at most 500 rows per second.
/// let source = DataGenSource::new(|ctx| (ctx.sequence(1), ctx.random_long(0, 100)))
///     .number_of_rows(1000)
///     .rows_per_second(500.0)
///     .unwrap();
/// ```
pub struct DataGenSource<T> {
    generator: Arc<dyn Fn(&mut GeneratorContext) -> T + Send + Sync>,
    number_of_rows: Option<u64>,
    rows_per_second: Option<f64>,
    seed: u64,
}

impl<T: Data> DataGenSource<T> {
    /// An unbounded, unthrottled source of `generator(row)` for rows 0, 1, 2, …
    pub fn new(generator: impl Fn(&mut GeneratorContext) -> T + Send + Sync + 'static) -> Self {
        DataGenSource { generator: Arc::new(generator), number_of_rows: None, rows_per_second: None, seed: 0 }
    }

    /// Makes the source bounded: it ends after `rows` rows in total.
    pub fn number_of_rows(mut self, rows: u64) -> Self {
        self.number_of_rows = Some(rows);
        self
    }

    /// Limits the rate to `rows` rows per second over all readers; fails unless positive.
    pub fn rows_per_second(mut self, rows: f64) -> Result<Self> {
        if !(rows.is_finite() && rows > 0.0) {
            return Err(FlinkError::InvalidProgram(format!("rows-per-second must be a positive number, got {rows}")));
        }
        self.rows_per_second = Some(rows);
        Ok(self)
    }

    /// Seeds the random fields, for reproducible data (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// What a generator sees for one row: the row's index and random helpers.
pub struct GeneratorContext {
    index: u64,
    rng: SmallRng,
}

impl GeneratorContext {
    /// The index of the row being generated, unique over all readers, from 0.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// A sequence field: `start + index`.
    pub fn sequence(&self, start: i64) -> i64 {
        start.wrapping_add(self.index as i64)
    }

    /// A random integer in `min ..= max`.
    pub fn random_long(&mut self, min: i64, max: i64) -> i64 {
        self.rng.random_range(min..=max)
    }

    /// A random float in `min .. max`.
    pub fn random_double(&mut self, min: f64, max: f64) -> f64 {
        self.rng.random_range(min..max)
    }

    /// A random boolean.
    pub fn random_bool(&mut self) -> bool {
        self.rng.random()
    }

    /// A random string of `length` lowercase hexadecimal digits, as Flink's `datagen` makes
    /// its random strings.
    pub fn random_string(&mut self, length: usize) -> String {
        random_hex_string(&mut self.rng, length)
    }

    /// The random generator itself, for other distributions.
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }
}

/// `length` random lowercase hexadecimal digits (Flink's `datagen` random strings).
pub fn random_hex_string<R: Rng + ?Sized>(rng: &mut R, length: usize) -> String {
    (0..length).map(|_| char::from_digit(rng.random_range(0..16u32), 16).unwrap_or('0')).collect()
}

/// The rows of one reader: `next, next + stride, …` up to `end` (exclusive) if bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DataGenSplit {
    /// The split's index.
    pub index: usize,
    /// The next row index to generate.
    pub next: u64,
    /// The row index at which the split ends, if bounded.
    pub end: Option<u64>,
    /// The distance between consecutive rows of this split.
    pub stride: u64,
}

impl DataGenSplit {
    /// Whether the split is bounded and has made all its rows.
    pub fn is_finished(&self) -> bool {
        self.end.is_some_and(|end| self.next >= end)
    }
}

impl SourceSplit for DataGenSplit {
    fn split_id(&self) -> String {
        self.index.to_string()
    }
}

impl<T: Data> Source<T> for DataGenSource<T> {
    type Split = DataGenSplit;
    type Reader = DataGenReader<T>;

    fn boundedness(&self) -> Boundedness {
        if self.number_of_rows.is_some() {
            Boundedness::Bounded
        } else {
            Boundedness::ContinuousUnbounded
        }
    }

    fn enumerate_splits(&self, context: &SplitEnumeratorContext) -> Result<Vec<DataGenSplit>> {
        let parts = context.parallelism as u64;
        Ok((0..parts)
            .map(|i| DataGenSplit { index: i as usize, next: i, end: self.number_of_rows, stride: parts })
            .collect())
    }

    fn create_reader(&self, context: &SourceReaderContext) -> Result<DataGenReader<T>> {
        Ok(DataGenReader {
            generator: Arc::clone(&self.generator),
            splits: Vec::new(),
            seed: self.seed,
            rng: None,
            pace: Pace::new(self.rows_per_second.map(|r| r / context.parallelism as f64)),
        })
    }
}

/// Generates the rows of its splits.
pub struct DataGenReader<T> {
    generator: Arc<dyn Fn(&mut GeneratorContext) -> T + Send + Sync>,
    splits: Vec<DataGenSplit>,
    seed: u64,
    rng: Option<SmallRng>,
    pace: Pace,
}

/// A reader's rate limit: how many rows it may make now, given how many it has made since
/// its first, at `rate` rows per second (no limit without one).
#[derive(Debug, Clone)]
pub struct Pace {
    rate: Option<f64>,
    started: Option<Instant>,
    emitted: u64,
}

impl Pace {
    /// A pace of `rate` rows per second, or none.
    pub fn new(rate: Option<f64>) -> Self {
        Pace { rate, started: None, emitted: 0 }
    }

    /// How many rows the rate limit allows now, or how long to wait for the next one; the
    /// clock starts at the first call.
    pub fn allowance(&mut self) -> std::result::Result<u64, Duration> {
        let Some(rate) = self.rate else { return Ok(u64::MAX) };
        let started = *self.started.get_or_insert_with(Instant::now);
        let due = (started.elapsed().as_secs_f64() * rate) as u64 + 1;
        if due > self.emitted {
            Ok(due - self.emitted)
        } else {
            let next_at = (self.emitted as f64) / rate;
            Err(Duration::from_secs_f64((next_at - started.elapsed().as_secs_f64()).max(0.001)))
        }
    }

    /// Counts `rows` made.
    pub fn made(&mut self, rows: u64) {
        self.emitted += rows;
    }
}

impl<T: Data> SourceReader<T, DataGenSplit> for DataGenReader<T> {
    fn add_splits(&mut self, splits: Vec<DataGenSplit>) {
        if self.rng.is_none() {
            let first = splits.first().map_or(0, |s| s.index as u64);
            self.rng = Some(SmallRng::seed_from_u64(self.seed ^ first.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        }
        self.splits.extend(splits);
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, T>) -> Result<InputStatus> {
        let mut allowed = match self.pace.allowance() {
            Ok(rows) => rows,
            Err(wait) => return Ok(InputStatus::NothingAvailable(wait)),
        };
        let rng = self.rng.take().unwrap_or_else(|| SmallRng::seed_from_u64(self.seed));
        let mut context = GeneratorContext { index: 0, rng };
        for split in &mut self.splits {
            while output.has_capacity() && allowed > 0 && split.end.is_none_or(|end| split.next < end) {
                context.index = split.next;
                output.collect((self.generator)(&mut context));
                split.next += split.stride;
                allowed -= 1;
                self.pace.made(1);
            }
        }
        self.rng = Some(context.rng);
        if self.splits.iter().all(DataGenSplit::is_finished) {
            Ok(InputStatus::EndOfInput)
        } else {
            Ok(InputStatus::MoreAvailable)
        }
    }

    fn snapshot_state(&self) -> Vec<DataGenSplit> {
        self.splits.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_strings_are_lowercase_hexadecimal_as_flinks_are() {
        let mut rng = SmallRng::seed_from_u64(7);
        let text = random_hex_string(&mut rng, 400);
        assert_eq!(text.len(), 400);
        assert!(text.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{text}");
        // Every digit shows up in 400 draws of 16.
        assert_eq!(text.chars().collect::<std::collections::BTreeSet<_>>().len(), 16);
    }

    #[test]
    fn a_pace_allows_rows_as_its_rate_makes_them_due() {
        assert_eq!(Pace::new(None).allowance(), Ok(u64::MAX));
        let mut pace = Pace::new(Some(1.0));
        // The first row is due at once; the next one a second later.
        assert_eq!(pace.allowance(), Ok(1));
        pace.made(1);
        let wait = pace.allowance().unwrap_err();
        assert!(wait > Duration::from_millis(500) && wait <= Duration::from_secs(1), "{wait:?}");
    }
}
