//! The `jdbc` connector's scan: a bounded read of a database table, `scan.fetch-size` rows at a
//! time, split into ranges of `scan.partition.column` when the table says how
//! (`scan.partition.num`, `scan.partition.lower-bound`, `scan.partition.upper-bound`), each
//! range a split read by one of the source's parallel readers.
//!
//! A split remembers how many rows it has emitted; a restored split reads its range again and
//! skips them, which is exact as long as the database gives the range's rows in the same order.

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use pyflink_core::sources::{
    InputStatus, Source, SourceOutput, SourceReader, SourceReaderContext, SourceSplit, SplitEnumeratorContext,
};
use pyflink_core::{Boundedness, FlinkError};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::datafusion::arrow::array::{ArrayRef, BinaryArray, BooleanArray, RecordBatch, StringArray};
use pyflink_table::datafusion::arrow::compute::{cast_with_options, CastOptions};
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef};
use serde::{Deserialize, Serialize};

use super::client::{ConnectionSettings, TextValue};
use super::dialect::Dialect;

/// `scan.partition.*`: the numeric column whose range is split, and how.
#[derive(Debug, Clone)]
pub(crate) struct Partitioning {
    pub(crate) column: String,
    pub(crate) count: u64,
    pub(crate) lower: i64,
    pub(crate) upper: i64,
}

/// What every reader of one table's scan shares.
#[derive(Debug)]
pub(crate) struct ScanSettings {
    pub(crate) connection: ConnectionSettings,
    pub(crate) table: String,
    /// The columns read, with the types they become.
    pub(crate) schema: SchemaRef,
    pub(crate) fetch_size: usize,
    pub(crate) partitioning: Option<Partitioning>,
}

/// One range of a scan (or the whole table), with the rows already emitted from it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScanSplit {
    index: usize,
    /// Inclusive bounds of the partition column, if the scan is partitioned.
    range: Option<(i64, i64)>,
    emitted: u64,
}

impl SourceSplit for ScanSplit {
    fn split_id(&self) -> String {
        format!("jdbc-scan-{}", self.index)
    }
}

/// A bounded scan of a `jdbc` table.
pub(crate) struct JdbcScan {
    pub(crate) settings: Arc<ScanSettings>,
}

impl Source<ChangeBatch> for JdbcScan {
    type Split = ScanSplit;
    type Reader = ScanReader;

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn enumerate_splits(&self, _context: &SplitEnumeratorContext) -> pyflink_core::Result<Vec<ScanSplit>> {
        let Some(partitioning) = &self.settings.partitioning else {
            return Ok(vec![ScanSplit { index: 0, range: None, emitted: 0 }]);
        };
        Ok(ranges(partitioning)
            .into_iter()
            .enumerate()
            .map(|(index, range)| ScanSplit { index, range: Some(range), emitted: 0 })
            .collect())
    }

    fn create_reader(&self, context: &SourceReaderContext) -> pyflink_core::Result<ScanReader> {
        let _ = context;
        Ok(ScanReader { settings: Arc::clone(&self.settings), waiting: VecDeque::new(), reading: None })
    }
}

/// `count` ranges covering `lower ..= upper`, as even as whole numbers allow (the first ones
/// one longer when the span does not divide).
fn ranges(partitioning: &Partitioning) -> Vec<(i64, i64)> {
    let span = (i128::from(partitioning.upper) - i128::from(partitioning.lower) + 1).max(0);
    let count = i128::from(partitioning.count.max(1)).min(span.max(1));
    let (size, extra) = (span / count, span % count);
    let mut start = i128::from(partitioning.lower);
    (0..count)
        .map(|index| {
            let length = size + i128::from(index < extra);
            let range = (start as i64, (start + length - 1) as i64);
            start += length;
            range
        })
        .collect()
}

/// Reads the splits of one parallel instance, one at a time, on a thread of its own that
/// hands over batches of rows.
pub(crate) struct ScanReader {
    settings: Arc<ScanSettings>,
    waiting: VecDeque<ScanSplit>,
    reading: Option<(ScanSplit, Receiver<Result<RecordBatch, String>>)>,
}

impl SourceReader<ChangeBatch, ScanSplit> for ScanReader {
    fn add_splits(&mut self, splits: Vec<ScanSplit>) {
        self.waiting.extend(splits);
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, ChangeBatch>) -> pyflink_core::Result<InputStatus> {
        loop {
            let Some((split, batches)) = &mut self.reading else {
                let Some(split) = self.waiting.pop_front() else { return Ok(InputStatus::EndOfInput) };
                let batches = start_reading(Arc::clone(&self.settings), &split);
                self.reading = Some((split, batches));
                continue;
            };
            match batches.try_recv() {
                Ok(Ok(batch)) => {
                    split.emitted += batch.num_rows() as u64;
                    output.collect(ChangeBatch::inserts(batch));
                    return Ok(InputStatus::MoreAvailable);
                }
                Ok(Err(error)) => {
                    return Err(FlinkError::Connector(format!(
                        "reading the JDBC table '{}': {error}",
                        self.settings.table
                    )))
                }
                Err(TryRecvError::Empty) => return Ok(InputStatus::NothingAvailable(Duration::from_millis(2))),
                Err(TryRecvError::Disconnected) => self.reading = None,
            }
        }
    }

    fn snapshot_state(&self) -> Vec<ScanSplit> {
        self.reading.iter().map(|(split, _)| split.clone()).chain(self.waiting.iter().cloned()).collect()
    }
}

/// Starts the thread that reads `split`: it skips the rows the split has emitted already and
/// sends the rest in batches, waiting while two are unread.
fn start_reading(settings: Arc<ScanSettings>, split: &ScanSplit) -> Receiver<Result<RecordBatch, String>> {
    let (sender, batches) = sync_channel(2);
    let query = select(&settings, split.range);
    let mut skip = split.emitted;
    let name = format!("jdbc scan {} ({})", settings.table, split.split_id());
    let spawned = std::thread::Builder::new().name(name).spawn(move || {
        let read = settings.connection.connect().and_then(|mut connection| {
            let mut failed = None;
            connection.query_in_batches(&query, settings.fetch_size, &mut |mut rows| {
                let skipped = rows.len().min(usize::try_from(skip).unwrap_or(usize::MAX));
                rows.drain(..skipped);
                skip -= skipped as u64;
                if rows.is_empty() {
                    return true;
                }
                match to_batch(settings.connection.url.dialect, &settings.schema, rows) {
                    Ok(batch) => sender.send(Ok(batch)).is_ok(),
                    Err(error) => {
                        failed = Some(error);
                        false
                    }
                }
            })?;
            failed.map_or(Ok(()), Err)
        });
        if let Err(error) = read {
            let _ = sender.send(Err(error));
        }
    });
    if let Err(error) = spawned {
        let (sender, failed) = sync_channel(1);
        let _ = sender.send(Err(format!("no thread to read with: {error}")));
        return failed;
    }
    batches
}

/// The query of `range` (the whole table without one).
fn select(settings: &ScanSettings, range: Option<(i64, i64)>) -> String {
    let dialect = settings.connection.url.dialect;
    let columns: Vec<String> = settings.schema.fields().iter().map(|field| dialect.quote(field.name())).collect();
    let mut query = format!("SELECT {} FROM {}", columns.join(", "), dialect.quote(&settings.table));
    if let (Some((low, high)), Some(partitioning)) = (range, &settings.partitioning) {
        query.push_str(&format!(" WHERE {} BETWEEN {low} AND {high}", dialect.quote(&partitioning.column)));
    }
    query
}

/// Rows of text values as a batch of the scan's schema, each column cast from text the way
/// SQL's CAST reads text; a value that does not read names its column.
pub(super) fn to_batch(dialect: Dialect, schema: &SchemaRef, rows: Vec<Vec<TextValue>>) -> Result<RecordBatch, String> {
    let columns = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(position, field)| {
            let values = rows.iter().map(|row| row.get(position).and_then(|value| value.as_deref()));
            column(dialect, field.data_type(), values).map_err(|error| {
                format!("column '{}' ({}): {error}", field.name(), pyflink_table::types::flink_name(field.data_type()))
            })
        })
        .collect::<Result<Vec<ArrayRef>, String>>()?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| e.to_string())
}

fn column<'a>(
    dialect: Dialect,
    data_type: &ArrowType,
    values: impl Iterator<Item = Option<&'a [u8]>>,
) -> Result<ArrayRef, String> {
    match data_type {
        ArrowType::Binary | ArrowType::LargeBinary | ArrowType::FixedSizeBinary(_) | ArrowType::BinaryView => {
            let bytes = values
                .map(|value| value.map(|value| binary(dialect, value)).transpose())
                .collect::<Result<BinaryArray, String>>()?;
            cast(Arc::new(bytes), data_type)
        }
        ArrowType::Boolean => values
            .map(|value| value.map(boolean).transpose())
            .collect::<Result<BooleanArray, String>>()
            .map(|array| Arc::new(array) as ArrayRef),
        _ => {
            let text = values
                .map(|value| {
                    value
                        .map(|bytes| std::str::from_utf8(bytes).map_err(|_| "text that is not UTF-8".to_string()))
                        .transpose()
                })
                .collect::<Result<StringArray, String>>()?;
            cast(Arc::new(text), data_type)
        }
    }
}

fn cast(array: ArrayRef, data_type: &ArrowType) -> Result<ArrayRef, String> {
    let options = CastOptions { safe: false, ..CastOptions::default() };
    cast_with_options(&array, data_type, &options).map_err(|e| e.to_string())
}

/// A bytes value: raw from MySQL, `\x` and hexadecimal digits from PostgreSQL.
fn binary(dialect: Dialect, value: &[u8]) -> Result<Vec<u8>, String> {
    match dialect {
        Dialect::MySql => Ok(value.to_vec()),
        Dialect::Postgres => {
            let digits = value.strip_prefix(b"\\x").ok_or("a bytea value not in hex format")?;
            digits
                .chunks(2)
                .map(|pair| {
                    std::str::from_utf8(pair)
                        .ok()
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                        .ok_or_else(|| "a bytea value with a bad hex digit".to_string())
                })
                .collect()
        }
    }
}

/// `t` / `f` from PostgreSQL, `1` / `0` from MySQL's BOOLEAN (a TINYINT).
fn boolean(value: &[u8]) -> Result<bool, String> {
    match value {
        b"t" | b"true" | b"1" | b"TRUE" => Ok(true),
        b"f" | b"false" | b"0" | b"FALSE" => Ok(false),
        other => Err(format!("'{}' is not a boolean", String::from_utf8_lossy(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partitioned_scan_covers_its_bounds_in_even_ranges() {
        let partitioning = Partitioning { column: "id".into(), count: 3, lower: 1, upper: 10 };
        assert_eq!(ranges(&partitioning), [(1, 4), (5, 7), (8, 10)]);
        let more_than_values = Partitioning { column: "id".into(), count: 5, lower: 0, upper: 1 };
        assert_eq!(ranges(&more_than_values), [(0, 0), (1, 1)]);
    }

    #[test]
    fn text_values_become_typed_columns_and_bad_ones_say_why() {
        let bytes = column(Dialect::Postgres, &ArrowType::Binary, [Some(&b"\\x01ff"[..]), None].into_iter()).unwrap();
        assert_eq!(bytes.as_any().downcast_ref::<BinaryArray>().unwrap().value(0), [1, 255]);
        let flags = column(Dialect::MySql, &ArrowType::Boolean, [Some(&b"1"[..]), Some(b"0")].into_iter()).unwrap();
        assert!(flags.as_any().downcast_ref::<BooleanArray>().unwrap().value(0));
        let numbers = column(Dialect::MySql, &ArrowType::Int64, [Some(&b"42"[..]), None].into_iter()).unwrap();
        assert_eq!(numbers.null_count(), 1);
        let bad = column(Dialect::MySql, &ArrowType::Int32, [Some(&b"forty"[..])].into_iter()).unwrap_err();
        assert!(bad.contains("forty"), "{bad}");
    }
}
