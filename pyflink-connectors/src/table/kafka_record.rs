//! The rows of a `kafka` table from whole Kafka records: the value's columns in the value
//! format, the key's columns in the key format (`key.format`, `key.fields`), and the METADATA
//! columns from where the record was (`topic`, `partition`, `offset`), its `timestamp`,
//! `timestamp-type` and `headers`. A record whose key or value cannot be read, when parse errors
//! are ignored, is skipped as a whole, so every column of a row comes from one record. An
//! upsert table reads a record without a value (a tombstone) as the deletion (`-D`) of its key.

use std::collections::BTreeMap;
use std::sync::Arc;

use pyflink_core::table::RowKind;
use pyflink_core::{FlinkError, ProcessContext, ProcessFunction, RuntimeContext};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::TableContext;
use pyflink_table::datafusion::arrow::array::{
    new_null_array, ArrayRef, BinaryBuilder, Int32Array, Int64Array, MapBuilder, MapFieldNames, RecordBatch,
    StringArray, StringBuilder, TimestampMillisecondArray, UInt32Array,
};
use pyflink_table::datafusion::arrow::compute::{cast, take};
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema};
use pyflink_table::{Result, TableError};
use serde::{Deserialize, Serialize};

use super::line_format::{ParseErrorCounters, ParseErrors};
use super::record_format::RecordCodec;
use crate::kafka::{Headers, KafkaRecord, KafkaRecordDeserializationSchema, TimestampType};
use crate::serialization::SerializationSchema;

/// What a METADATA column of a Kafka table reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Metadata {
    Topic,
    Partition,
    Offset,
    Timestamp,
    TimestampType,
    Headers,
}

impl Metadata {
    /// The metadata `key` names, with the type Flink gives it.
    pub(super) fn of(key: &str) -> Option<(Metadata, &'static str)> {
        Some(match key {
            "topic" => (Metadata::Topic, "STRING NOT NULL"),
            "partition" => (Metadata::Partition, "INT NOT NULL"),
            "offset" => (Metadata::Offset, "BIGINT NOT NULL"),
            "timestamp" => (Metadata::Timestamp, "TIMESTAMP_LTZ(3) NOT NULL"),
            "timestamp-type" => (Metadata::TimestampType, "STRING NOT NULL"),
            "headers" => (Metadata::Headers, "MAP<STRING, BYTES> NOT NULL"),
            _ => return None,
        })
    }

    /// Whether a sink writes it into the records.
    pub(super) fn is_writable(self) -> bool {
        matches!(self, Metadata::Timestamp | Metadata::Headers)
    }

    /// The metadata `keys`, each with its type, a line each.
    pub(super) fn described(keys: &[&str]) -> String {
        keys.iter()
            .map(|key| format!("{key}: {}", Metadata::of(key).map_or("", |(_, t)| t)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A Kafka record as a table reads it: its value and what else the table's columns need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct TableRecord {
    /// The value; none for a tombstone.
    value: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    topic: Option<String>,
    partition: i32,
    offset: i64,
    timestamp: Option<i64>,
    timestamp_type: TimestampType,
    headers: Option<Vec<(String, Option<Vec<u8>>)>>,
}

/// Reads what a table needs of each record; records without a value are skipped unless the
/// table reads `tombstones` (an upsert table's deletions).
#[derive(Debug, Clone, Copy)]
pub(super) struct RecordReader {
    pub(super) key: bool,
    pub(super) topic: bool,
    pub(super) headers: bool,
    pub(super) tombstones: bool,
}

impl KafkaRecordDeserializationSchema<TableRecord> for RecordReader {
    fn deserialize(&self, record: &KafkaRecord<'_>) -> pyflink_core::Result<Option<TableRecord>> {
        if record.value.is_none() && !self.tombstones {
            return Ok(None);
        }
        Ok(Some(TableRecord {
            value: record.value.map(<[u8]>::to_vec),
            key: if self.key { record.key.map(<[u8]>::to_vec) } else { None },
            topic: self.topic.then(|| record.topic.to_string()),
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            timestamp_type: record.timestamp_type,
            headers: self.headers.then(|| {
                record.headers().into_iter().map(|(key, value)| (key.to_string(), value.map(<[u8]>::to_vec))).collect()
            }),
        }))
    }
}

/// A record as the Kafka table sinks write it: key bytes (empty without a key format), value
/// bytes unless a tombstone, and the METADATA columns written: its timestamp and headers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SinkRecord {
    pub(super) key: Vec<u8>,
    pub(super) value: Option<Vec<u8>>,
    pub(super) timestamp: Option<i64>,
    pub(super) headers: Headers,
}

impl SinkRecord {
    pub(super) fn new(key: Vec<u8>, value: Option<Vec<u8>>) -> Self {
        SinkRecord { key, value, timestamp: None, headers: Headers::new() }
    }
}

/// The key bytes of a record.
pub(super) struct KeyBytes;

impl SerializationSchema<SinkRecord> for KeyBytes {
    fn serialize(&self, record: &SinkRecord) -> pyflink_core::Result<Vec<u8>> {
        Ok(record.key.clone())
    }
}

/// The value bytes of a record; none for a tombstone.
pub(super) struct ValueBytes;

impl SerializationSchema<SinkRecord> for ValueBytes {
    fn serialize(&self, record: &SinkRecord) -> pyflink_core::Result<Vec<u8>> {
        Ok(record.value.clone().unwrap_or_default())
    }

    fn serialize_or_tombstone(&self, record: &SinkRecord) -> pyflink_core::Result<Option<Vec<u8>>> {
        Ok(record.value.clone())
    }
}

/// Where each of a table's columns comes from.
#[derive(Debug, Clone)]
pub(super) enum ColumnSource {
    /// The value's column at this position of the value format's columns.
    Value(usize),
    /// The key's column at this position of the key format's columns.
    Key(usize),
    Metadata(Metadata),
}

/// The records of each input batch as one batch of the table's rows.
#[derive(Clone)]
pub(super) struct RecordsToBatches {
    pub(super) value: RecordCodec,
    pub(super) key: Option<RecordCodec>,
    pub(super) columns: Vec<ColumnSource>,
    pub(super) schema: pyflink_table::datafusion::arrow::datatypes::SchemaRef,
    pub(super) table: Arc<str>,
    pub(super) records: Vec<TableRecord>,
    pub(super) counters: ParseErrorCounters,
}

impl RecordsToBatches {
    pub(super) fn new(
        context: &TableContext<'_>,
        value: RecordCodec,
        key: Option<RecordCodec>,
        columns: Vec<ColumnSource>,
    ) -> Self {
        RecordsToBatches {
            value,
            key,
            columns,
            schema: Arc::clone(&context.schema),
            table: context.table_name.into(),
            records: Vec::new(),
            counters: ParseErrorCounters::default(),
        }
    }

    /// The rows of the records gathered: `+I` for each record, `-D` for each tombstone.
    fn batch(&mut self) -> pyflink_core::Result<Option<ChangeBatch>> {
        let records = std::mem::take(&mut self.records);
        let count = records.len();
        let with_value: Vec<usize> = (0..count).filter(|&i| records[i].value.is_some()).collect();
        let (values, value_kept, errors) =
            self.value.decode(with_value.iter().map(|&i| records[i].value.as_deref()))?;
        let value_rows = rows_of(count, &with_value, &value_kept);
        let (mut skipped, mut null_values) = (errors.skipped_lines, errors.null_values);
        let (keys, key_rows) = match &self.key {
            Some(codec) => {
                let (keys, key_kept, key_errors) = codec.decode(records.iter().map(|r| r.key.as_deref()))?;
                null_values += key_errors.null_values;
                let every_record: Vec<usize> = (0..count).collect();
                (keys, rows_of(count, &every_record, &key_kept))
            }
            None => (None, vec![None; count]),
        };
        // A record is a row when its value was read (or it is a tombstone) and so was its key,
        // if the table has key columns; one whose value was read but not its key is skipped too.
        let value_read = |i: usize| records[i].value.is_none() || value_rows[i].is_some();
        let key_read = |i: usize| self.key.is_none() || key_rows[i].is_some();
        let rows: Vec<usize> = (0..count).filter(|&i| value_read(i) && key_read(i)).collect();
        skipped += (0..count).filter(|&i| value_read(i) && !key_read(i)).count() as u64;
        self.counters.count(ParseErrors { skipped_lines: skipped, null_values });
        if rows.is_empty() {
            return Ok(None);
        }
        // Where each row is among the decoded values and keys: NULL where a row has no such
        // part (a tombstone's value), which `take` makes a NULL.
        let value_indices: UInt32Array = rows.iter().map(|&i| value_rows[i]).collect();
        let key_indices: UInt32Array = rows.iter().map(|&i| key_rows[i]).collect();
        let of_rows = |decoded: &Option<RecordBatch>, indices: &UInt32Array, column: usize, field: &Field| {
            let Some(decoded) = decoded else { return Ok(new_null_array(field.data_type(), rows.len())) };
            take(decoded.column(column).as_ref(), indices, None).map_err(|e| self.runtime(&e))
        };
        let chosen: Vec<&TableRecord> = rows.iter().map(|&i| &records[i]).collect();
        let mut columns = Vec::with_capacity(self.columns.len());
        for (source, field) in self.columns.iter().zip(self.schema.fields()) {
            let column = match source {
                ColumnSource::Value(i) => of_rows(&values, &value_indices, *i, field)?,
                ColumnSource::Key(i) => of_rows(&keys, &key_indices, *i, field)?,
                ColumnSource::Metadata(metadata) => self.metadata(*metadata, &chosen, field.data_type())?,
            };
            columns.push(column);
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| self.runtime(&e))?;
        let kinds = chosen.iter().any(|record| record.value.is_none()).then(|| {
            chosen.iter().map(|record| if record.value.is_some() { RowKind::Insert } else { RowKind::Delete }).collect()
        });
        Ok(Some(ChangeBatch { rows: batch, kinds }))
    }

    fn metadata(
        &self,
        metadata: Metadata,
        records: &[&TableRecord],
        data_type: &ArrowType,
    ) -> pyflink_core::Result<ArrayRef> {
        let column: ArrayRef = match metadata {
            Metadata::Topic => Arc::new(records.iter().map(|r| r.topic.as_deref()).collect::<StringArray>()),
            Metadata::Partition => Arc::new(records.iter().map(|r| r.partition).collect::<Int32Array>()),
            Metadata::Offset => Arc::new(records.iter().map(|r| r.offset).collect::<Int64Array>()),
            Metadata::Timestamp => Arc::new(records.iter().map(|r| r.timestamp).collect::<TimestampMillisecondArray>()),
            Metadata::TimestampType => {
                Arc::new(records.iter().map(|r| Some(r.timestamp_type.name())).collect::<StringArray>())
            }
            Metadata::Headers => return self.headers(records, data_type),
        };
        cast(&column, data_type).map_err(|e| self.runtime(&e))
    }

    /// The headers as a MAP column of `data_type`'s field names (a key repeated keeps its last value).
    fn headers(&self, records: &[&TableRecord], data_type: &ArrowType) -> pyflink_core::Result<ArrayRef> {
        let names = match data_type {
            ArrowType::Map(entries, _) => match entries.data_type() {
                ArrowType::Struct(fields) if fields.len() == 2 => MapFieldNames {
                    entry: entries.name().clone(),
                    key: fields[0].name().clone(),
                    value: fields[1].name().clone(),
                },
                _ => return Err(self.runtime(&"the headers column is no MAP<STRING, BYTES>")),
            },
            _ => return Err(self.runtime(&"the headers column is no MAP<STRING, BYTES>")),
        };
        let mut builder = MapBuilder::new(Some(names), StringBuilder::new(), BinaryBuilder::new());
        for record in records {
            for (key, value) in record.headers.iter().flatten() {
                builder.keys().append_value(key);
                builder.values().append_option(value.as_deref());
            }
            builder.append(true).map_err(|e| self.runtime(&e))?;
        }
        let built: ArrayRef = Arc::new(builder.finish());
        cast(&built, data_type).map_err(|e| self.runtime(&e))
    }

    fn runtime(&self, error: &dyn std::fmt::Display) -> FlinkError {
        FlinkError::Runtime(format!("kafka table '{}': {error}", self.table))
    }
}

impl ProcessFunction<TableRecord, ChangeBatch> for RecordsToBatches {
    fn open(&mut self, context: &RuntimeContext) -> pyflink_core::Result<()> {
        self.counters.open(context);
        Ok(())
    }

    fn process_element(
        &mut self,
        record: TableRecord,
        _ctx: &mut ProcessContext<'_, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.records.push(record);
        Ok(())
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, ChangeBatch>) -> pyflink_core::Result<()> {
        if let Some(rows) = self.batch()? {
            ctx.collect(rows);
        }
        Ok(())
    }
}

/// For each of `count` records, its row among the decoded rows of the parts of records
/// `decoded` (in order), of which those `kept` became rows.
fn rows_of(count: usize, decoded: &[usize], kept: &[bool]) -> Vec<Option<u32>> {
    let mut rows = vec![None; count];
    for (row, (&record, _)) in decoded.iter().zip(kept).filter(|(_, kept)| **kept).enumerate() {
        rows[record] = Some(row as u32);
    }
    rows
}

/// The positions of `key.fields` among the table's physical columns, checked.
pub(super) fn key_fields(context: &TableContext<'_>, physical: &[usize]) -> Result<Vec<usize>> {
    let Some(fields) = context.options.get("key.fields") else {
        return Err(TableError::Validation(format!(
            "table '{}': a key format 'key.format' requires the declaration of one or more of key fields using \
             'key.fields'",
            context.table_name
        )));
    };
    fields
        .split(';')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            physical.iter().copied().find(|&i| context.schema.field(i).name() == name).ok_or_else(|| {
                TableError::Validation(format!(
                    "table '{}': could not find the field '{name}' of 'key.fields' among the physical columns",
                    context.table_name
                ))
            })
        })
        .collect()
}

/// The codec of the `columns` of `context`'s table in `format`: their names without
/// `name_prefix`, and the format's options under `side.` (`key.` or `value.`; the table's own
/// options when `side` is `None`).
pub(super) fn codec_of(
    context: &TableContext<'_>,
    columns: &[usize],
    side: Option<&str>,
    format: &str,
    name_prefix: &str,
) -> Result<RecordCodec> {
    let fields: Vec<_> = columns
        .iter()
        .map(|&i| {
            let field = context.schema.field(i);
            let name = field.name().strip_prefix(name_prefix).unwrap_or(field.name());
            field.as_ref().clone().with_name(name)
        })
        .collect();
    let mut options: BTreeMap<String, String> = match side {
        Some(side) => context
            .options
            .iter()
            .filter_map(|(key, value)| Some((key.strip_prefix(side)?.strip_prefix('.')?.to_string(), value.clone())))
            .filter(|(key, _)| key != "format")
            .collect(),
        None => context.options.clone(),
    };
    options.insert("connector".into(), context.options.get("connector").cloned().unwrap_or_default());
    let projected = TableContext {
        env: context.env,
        table_name: context.table_name,
        schema: Arc::new(Schema::new(fields)),
        options: &options,
        primary_key: None,
        partition_keys: Vec::new(),
        metadata: Vec::new(),
        streaming: context.streaming,
    };
    RecordCodec::new(&projected, format)
}
