//! The `kafka` table connector: a table's rows as a topic's records, each value one row in
//! the `csv`, `json`, `raw` or `avro` format (and the key, with `key.format`, its key columns),
//! read by the [`KafkaSource`] (a split
//! per partition, offsets in checkpoints) and written by the [`KafkaSink`] with the sink's
//! delivery guarantee (exactly once through Kafka transactions committed with checkpoints).

use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{DataStream, ProcessContext, ProcessFunction};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::{TableConnector, TableContext};
use pyflink_table::datafusion::arrow::array::{Array, AsArray};
use pyflink_table::datafusion::arrow::compute::cast;
use pyflink_table::datafusion::arrow::datatypes::{DataType as ArrowType, Int64Type, TimeUnit};
use pyflink_table::datafusion::arrow::error::ArrowError;
use pyflink_table::{Result, TableError};

use super::kafka_record::{
    codec_of, key_fields, ColumnSource, KeyBytes, Metadata, RecordReader, RecordsToBatches, SinkRecord, TableRecord,
    ValueBytes,
};
use super::record_format::RecordCodec;
use crate::kafka::{
    DeliveryGuarantee, Headers, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetResetStrategy,
    OffsetsInitializer,
};

/// Reads and writes tables as Kafka topics (`'connector' = 'kafka'`). Options, as Flink names
/// them: `topic` (one, or several separated by `;`) or `topic-pattern`, `properties.*` (client
/// properties, `properties.bootstrap.servers` required, `properties.group.id`), `format` (`csv`,
/// `json`, `raw`, `avro`, with their options such as `csv.ignore-parse-errors`), `scan.startup.mode`
/// (`earliest-offset`, `latest-offset`, `group-offsets` (the default), `timestamp`,
/// `specific-offsets`) with `scan.startup.timestamp-millis` / `scan.startup.specific-offsets`,
/// `scan.bounded.mode` (`unbounded`, `latest-offset`, `timestamp`, `specific-offsets`) with the
/// matching `scan.bounded.*`, `sink.delivery-guarantee` (`none`, `at-least-once` (default),
/// `exactly-once`), `sink.transactional-id-prefix`, `sink.partitioner` (`default`) and
/// `sink.parallelism`. With `key.format` and `key.fields`, the named columns are the records'
/// keys (their names without `key.fields-prefix`) and keyed records are partitioned by key;
/// `value.fields-include` = `EXCEPT_KEY` leaves them out of the value, whose format is then
/// `value.format` with its options under `value.`. METADATA columns read `topic`,
/// `partition`, `offset`, `timestamp`, `timestamp-type` and `headers`; those of `timestamp` and
/// `headers` not declared VIRTUAL also write the records' timestamps and headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct KafkaTableConnector;

const OPTIONS: &[&str] = &[
    "topic",
    "topic-pattern",
    "format",
    "value.format",
    "key.format",
    "key.fields",
    "key.fields-prefix",
    "value.fields-include",
    "scan.startup.mode",
    "scan.startup.specific-offsets",
    "scan.startup.timestamp-millis",
    "scan.bounded.mode",
    "scan.bounded.specific-offsets",
    "scan.bounded.timestamp-millis",
    "scan.topic-partition-discovery.interval",
    "sink.delivery-guarantee",
    "sink.transactional-id-prefix",
    "sink.partitioner",
    "sink.parallelism",
];

impl TableConnector for KafkaTableConnector {
    fn identifier(&self) -> &str {
        "kafka"
    }

    fn source(&self, context: &TableContext<'_>) -> Result<DataStream<ChangeBatch>> {
        let table = Table::of(context, true)?;
        // Values (and keys) are read as bytes: text that is not UTF-8 is a parse error of the format.
        let reader = RecordReader {
            key: table.columns.iter().any(|column| matches!(column, ColumnSource::Key(_))),
            topic: table.columns.iter().any(|column| matches!(column, ColumnSource::Metadata(Metadata::Topic))),
            headers: table.columns.iter().any(|column| matches!(column, ColumnSource::Metadata(Metadata::Headers))),
            tombstones: false,
        };
        let reset = match table.properties.iter().find(|(key, _)| key == "auto.offset.reset") {
            Some((_, value)) if value == "earliest" => OffsetResetStrategy::Earliest,
            Some((_, value)) if value == "none" => OffsetResetStrategy::None,
            // The Kafka consumer's own default.
            _ => OffsetResetStrategy::Latest,
        };
        let startup = match context.options.get("scan.startup.mode").map_or("group-offsets", String::as_str) {
            "group-offsets" => OffsetsInitializer::committed_offsets(reset),
            mode => offsets(context, table.topics.as_deref(), "scan.startup", mode)?,
        };
        let records = read_records(context, reader, table.topics.as_deref(), &table.properties, startup)?;
        let decoder = RecordsToBatches::new(context, table.value, table.key.map(|(codec, _)| codec), table.columns);
        Ok(records.process(decoder).name(&format!("RecordDecoder(format=[{}])", table.format)))
    }

    fn consumes_updates(&self, _context: &TableContext<'_>) -> bool {
        false
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        let table = Table::of(context, false)?;
        let Some([topic]) = table.topics.as_deref() else {
            return Err(invalid(context, "a Kafka sink writes one topic: set 'topic' to one name"));
        };
        let guarantee = delivery_guarantee(context)?;
        if let Some(partitioner) = context.options.get("sink.partitioner").filter(|p| p.as_str() != "default") {
            return Err(TableError::Unsupported(format!(
                "'sink.partitioner' = '{partitioner}' of table '{}': only 'default' (by key, else spread)",
                context.table_name
            )));
        }
        let mut schema = KafkaRecordSerializationSchema::builder()
            .set_topic(topic)
            .set_value_serialization_schema(ValueBytes)
            .set_timestamp_provider(|record: &SinkRecord| record.timestamp)
            .set_header_provider(|record: &SinkRecord| record.headers.clone());
        if table.key.is_some() {
            schema = schema.set_key_serialization_schema(KeyBytes);
        }
        let schema = schema.build().map_err(|e| invalid(context, &e.to_string()))?;
        let mut sink = KafkaSink::builder().set_record_serializer(schema).set_delivery_guarantee(guarantee);
        if table.key.is_some() {
            // The Java client's partitioner, as Flink's default partitioner uses it for keyed records.
            sink = sink.set_property("partitioner", "murmur2_random");
        }
        for (key, value) in &table.properties {
            sink = sink.set_property(key, value);
        }
        if let Some(prefix) = context.options.get("sink.transactional-id-prefix") {
            sink = sink.set_transactional_id_prefix(prefix);
        }
        let sink = sink.build().map_err(|e| invalid(context, &e.to_string()))?;
        let written = |wanted: Metadata| table.metadata.iter().find(|(_, kind)| *kind == wanted).map(|(p, _)| *p);
        let encoder = BatchesToRecords {
            value: table.value,
            value_columns: table.value_columns,
            key: table.key,
            timestamp: written(Metadata::Timestamp),
            headers: written(Metadata::Headers),
        };
        let records = rows.process(encoder).name(&format!("RecordEncoder(format=[{}])", table.format));
        let parallelism: usize = context.option("sink.parallelism", 0)?;
        let added = records.sink_to(sink).name(&format!("Sink: {}[kafka: {topic}]", context.table_name));
        if parallelism > 0 {
            added.set_parallelism(parallelism);
        }
        Ok(())
    }
}

/// A Kafka table's options, checked.
struct Table {
    topics: Option<Vec<String>>,
    /// The client properties (`properties.*` without the prefix).
    properties: Vec<(String, String)>,
    /// The value format's name.
    format: String,
    /// The value's format, over the value's columns.
    value: RecordCodec,
    /// The positions of the value's columns in the table.
    value_columns: Vec<usize>,
    /// The key's format and the positions of its columns (`key.format`, `key.fields`).
    key: Option<(RecordCodec, Vec<usize>)>,
    /// Where each column of the table comes from, when reading.
    columns: Vec<ColumnSource>,
    /// The METADATA columns: their positions and what they read or write.
    metadata: Vec<(usize, Metadata)>,
}

impl Table {
    /// The table `context` describes, to read (METADATA columns allowed) or to write.
    fn of(context: &TableContext<'_>, reading: bool) -> Result<Table> {
        let mut metadata = Vec::new();
        for (position, key) in &context.metadata {
            let column = context.schema.field(*position).name();
            match Metadata::of(key) {
                Some((kind, _)) if reading || kind.is_writable() => metadata.push((*position, kind)),
                Some(_) => {
                    return Err(TableError::Validation(format!(
                        "Invalid metadata key '{key}' in column '{column}' of table '{}'. The kafka connector \
                         supports the following metadata keys for writing:\n{}\n(declare the column VIRTUAL to \
                         read it only)",
                        context.table_name,
                        Metadata::described(&["headers", "timestamp"])
                    )))
                }
                None => {
                    return Err(TableError::Validation(format!(
                        "Invalid metadata key '{key}' in column '{column}' of table '{}'. The kafka connector \
                         supports the following metadata keys for reading:\n{}",
                        context.table_name,
                        Metadata::described(&[
                            "topic",
                            "partition",
                            "offset",
                            "timestamp",
                            "timestamp-type",
                            "headers"
                        ])
                    )))
                }
            }
        }
        let (format, value_side) = match (context.options.get("format"), context.options.get("value.format")) {
            (Some(format), None) => (format.clone(), None),
            (None, Some(format)) => (format.clone(), Some("value")),
            (Some(_), Some(_)) => {
                return Err(invalid(context, "set 'format' or 'value.format', not both (they name the same thing)"))
            }
            (None, None) => {
                return Err(invalid(
                    context,
                    "add 'format' = 'csv', 'json', 'avro' or 'raw' (the format of the records' values)",
                ))
            }
        };
        let key_format = context.options.get("key.format").cloned();
        let mut formats = vec![(value_side, format.as_str())];
        if let Some(key_format) = &key_format {
            formats.push((Some("key"), key_format.as_str()));
        }
        check_options(context, "kafka", OPTIONS, &formats)?;
        context.require_options(&["properties.bootstrap.servers"])?;
        let properties = client_properties(context);
        let topics = context.options.get("topic").map(|topics| {
            topics.split(';').map(str::trim).filter(|topic| !topic.is_empty()).map(str::to_string).collect()
        });
        if topics.is_none() && !context.options.contains_key("topic-pattern") {
            return Err(invalid(context, "set 'topic' (or 'topic-pattern' to read the topics it matches)"));
        }
        let physical: Vec<usize> =
            (0..context.schema.fields().len()).filter(|i| !metadata.iter().any(|(p, _)| p == i)).collect();
        let key_prefix = context.options.get("key.fields-prefix").map_or("", String::as_str);
        let key = match &key_format {
            Some(key_format) => {
                let positions = key_fields(context, &physical)?;
                Some((codec_of(context, &positions, Some("key"), key_format, key_prefix)?, positions))
            }
            None if context.options.contains_key("key.fields") => {
                return Err(invalid(context, "'key.fields' needs 'key.format', the format of the records' keys"))
            }
            None => None,
        };
        let except_key = match context.options.get("value.fields-include").map(String::as_str) {
            None | Some("ALL") => false,
            Some("EXCEPT_KEY") => true,
            Some(other) => {
                return Err(invalid(
                    context,
                    &format!("'value.fields-include' is 'ALL' or 'EXCEPT_KEY', not '{other}'"),
                ))
            }
        };
        if !key_prefix.is_empty() && !except_key {
            return Err(invalid(
                context,
                "a 'key.fields-prefix' needs 'value.fields-include' = 'EXCEPT_KEY' (the value then holds the other \
                 columns)",
            ));
        }
        let key_positions: &[usize] = key.as_ref().map_or(&[], |(_, positions)| positions.as_slice());
        let value_columns: Vec<usize> =
            physical.iter().copied().filter(|i| !except_key || !key_positions.contains(i)).collect();
        let value = codec_of(context, &value_columns, value_side, &format, "")?;
        let columns = (0..context.schema.fields().len())
            .map(|position| {
                if let Some((_, kind)) = metadata.iter().find(|(p, _)| *p == position) {
                    ColumnSource::Metadata(*kind)
                } else if let Some(index) = key_positions.iter().position(|p| *p == position).filter(|_| except_key) {
                    ColumnSource::Key(index)
                } else {
                    ColumnSource::Value(value_columns.iter().position(|p| *p == position).unwrap_or_default())
                }
            })
            .collect();
        Ok(Table { topics, properties, format, value, value_columns, key, columns, metadata })
    }
}

/// The records of the table's topics (`topics`, or the `topic-pattern` option), read with
/// the client `properties` by `reader` from `startup`, up to the `scan.bounded.*` offsets.
pub(super) fn read_records(
    context: &TableContext<'_>,
    reader: RecordReader,
    topics: Option<&[String]>,
    properties: &[(String, String)],
    startup: OffsetsInitializer,
) -> Result<DataStream<TableRecord>> {
    let mut source = KafkaSource::<TableRecord>::builder().set_deserializer(reader);
    for (key, value) in properties {
        source = source.set_property(key, value);
    }
    if let Some(interval) = super::duration_option(context, "scan.topic-partition-discovery.interval")? {
        source = source.set_property("partition.discovery.interval.ms", interval.as_millis().to_string());
    }
    source = match (topics, context.options.get("topic-pattern")) {
        (Some(topics), None) => source.set_topics(topics.iter().cloned()),
        (None, Some(pattern)) => source.set_topic_pattern(pattern),
        _ => {
            return Err(invalid(
                context,
                "Option 'topic' and 'topic-pattern' shouldn't be set together; set one of them",
            ))
        }
    };
    source = source.set_starting_offsets(startup);
    match context.options.get("scan.bounded.mode").map_or("unbounded", String::as_str) {
        "unbounded" if !context.streaming => {
            return Err(invalid(
                context,
                "a batch job reads bounded tables only: set 'scan.bounded.mode' (for example 'latest-offset')",
            ))
        }
        "unbounded" => {}
        mode => source = source.set_bounded(offsets(context, topics, "scan.bounded", mode)?),
    }
    let source = source.build().map_err(|e| invalid(context, &e.to_string()))?;
    let name = format!("TableSourceScan(table=[[default_catalog, default_database, {}]])", context.table_name);
    Ok(context.env.from_source(source, WatermarkStrategy::no_watermarks(), &name))
}

/// The offsets of `mode` for the options under `prefix` (`scan.startup` or `scan.bounded`).
fn offsets(
    context: &TableContext<'_>,
    topics: Option<&[String]>,
    prefix: &str,
    mode: &str,
) -> Result<OffsetsInitializer> {
    Ok(match mode {
        "earliest-offset" => OffsetsInitializer::earliest(),
        "latest-offset" => OffsetsInitializer::latest(),
        "timestamp" => {
            let key = format!("{prefix}.timestamp-millis");
            if !context.options.contains_key(&key) {
                return Err(invalid(context, &format!("'{prefix}.mode' = 'timestamp' needs '{key}'")));
            }
            OffsetsInitializer::timestamp(context.option(&key, 0)?)
        }
        "specific-offsets" => {
            let key = format!("{prefix}.specific-offsets");
            let Some(text) = context.options.get(&key) else {
                return Err(invalid(context, &format!("'{prefix}.mode' = 'specific-offsets' needs '{key}'")));
            };
            let Some([topic]) = topics else {
                return Err(invalid(context, "specific offsets are given for a table of one 'topic'"));
            };
            OffsetsInitializer::offsets(
                specific_offsets(topic, text).map_err(|e| invalid(context, &format!("'{key}': {e}")))?,
            )
        }
        other => {
            return Err(invalid(
                context,
                &format!(
                    "unsupported value '{other}' for '{prefix}.mode': use 'earliest-offset', 'latest-offset', \
                     'timestamp' or 'specific-offsets'{}",
                    if prefix == "scan.startup" { ", or 'group-offsets'" } else { ", or 'unbounded'" }
                ),
            ))
        }
    })
}

/// Flink's `partition:0,offset:42;partition:1,offset:300`.
fn specific_offsets(
    topic: &str,
    text: &str,
) -> std::result::Result<std::collections::HashMap<(String, i32), i64>, String> {
    text.split(';')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| {
            let bad = || format!("'{pair}' is not 'partition:<n>,offset:<n>'");
            let (partition, offset) = pair.trim().split_once(',').ok_or_else(bad)?;
            let partition =
                partition.trim().strip_prefix("partition:").and_then(|n| n.trim().parse().ok()).ok_or_else(bad)?;
            let offset = offset.trim().strip_prefix("offset:").and_then(|n| n.trim().parse().ok()).ok_or_else(bad)?;
            Ok(((topic.to_string(), partition), offset))
        })
        .collect()
}

/// The sink's `sink.delivery-guarantee` (`at-least-once` unless set).
pub(super) fn delivery_guarantee(context: &TableContext<'_>) -> Result<DeliveryGuarantee> {
    Ok(match context.options.get("sink.delivery-guarantee").map_or("at-least-once", String::as_str) {
        "none" => DeliveryGuarantee::None,
        "at-least-once" => DeliveryGuarantee::AtLeastOnce,
        "exactly-once" => DeliveryGuarantee::ExactlyOnce,
        other => {
            return Err(invalid(
                context,
                &format!("'sink.delivery-guarantee' is 'none', 'at-least-once' or 'exactly-once', not '{other}'"),
            ))
        }
    })
}

/// Fails on options a table of `connector` does not take: its `options`, the client's
/// `properties.*`, and the options of each of `formats` (a side, `key` or `value`, and its
/// format; the options of a format without a side are not prefixed).
pub(super) fn check_options(
    context: &TableContext<'_>,
    connector: &str,
    options: &[&str],
    formats: &[(Option<&str>, &str)],
) -> Result<()> {
    let format_options: Vec<String> = formats
        .iter()
        .flat_map(|(side, format)| {
            RecordCodec::options_of(format).unwrap_or_default().iter().map(move |option| match side {
                Some(side) => format!("{side}.{option}"),
                None => option.to_string(),
            })
        })
        .collect();
    let supported: Vec<&str> =
        options.iter().copied().chain(format_options.iter().map(String::as_str)).chain(["properties.*"]).collect();
    context.check_options(
        connector,
        &|key| supported.contains(&key) || key.strip_prefix("properties.").is_some_and(|rest| !rest.is_empty()),
        &supported,
    )
}

/// The client properties of `properties.*`, without the prefix.
pub(super) fn client_properties(context: &TableContext<'_>) -> Vec<(String, String)> {
    context
        .options
        .iter()
        .filter_map(|(key, value)| Some((key.strip_prefix("properties.")?.to_string(), value.clone())))
        .collect()
}

pub(super) fn invalid(context: &TableContext<'_>, why: &str) -> TableError {
    TableError::Validation(format!("Kafka table '{}': {why}", context.table_name))
}

/// A table's batches as records, a row each: the value's columns in the value format, the
/// key's in the key format when the table has one, and the record's timestamp and headers
/// from the METADATA columns that write them.
#[derive(Clone)]
struct BatchesToRecords {
    value: RecordCodec,
    value_columns: Vec<usize>,
    key: Option<(RecordCodec, Vec<usize>)>,
    /// The positions of the `timestamp` and `headers` columns.
    timestamp: Option<usize>,
    headers: Option<usize>,
}

impl BatchesToRecords {
    /// The milliseconds of the timestamp column at `position`, a row each.
    fn timestamps(batch: &ChangeBatch, position: usize) -> pyflink_core::Result<Vec<Option<i64>>> {
        let runtime = |e: ArrowError| pyflink_core::FlinkError::Runtime(format!("the record timestamp: {e}"));
        let millis = cast(batch.rows.column(position), &ArrowType::Timestamp(TimeUnit::Millisecond, None))
            .and_then(|millis| cast(&millis, &ArrowType::Int64))
            .map_err(runtime)?;
        Ok(millis.as_primitive::<Int64Type>().iter().collect())
    }

    /// The entries of the headers column at `position`, a row each.
    fn headers(batch: &ChangeBatch, position: usize) -> pyflink_core::Result<Vec<Headers>> {
        let Some(maps) = batch.rows.column(position).as_map_opt() else {
            return Err(pyflink_core::FlinkError::Runtime("the headers column is no MAP<STRING, BYTES>".into()));
        };
        let runtime = |e: ArrowError| pyflink_core::FlinkError::Runtime(format!("the record headers: {e}"));
        let keys = cast(maps.keys(), &ArrowType::Utf8).map_err(runtime)?;
        let values = cast(maps.values(), &ArrowType::Binary).map_err(runtime)?;
        let (keys, values) = (keys.as_string::<i32>(), values.as_binary::<i32>());
        let offsets = maps.value_offsets();
        Ok((0..maps.len())
            .map(|row| {
                if maps.is_null(row) {
                    return Headers::new();
                }
                (offsets[row] as usize..offsets[row + 1] as usize)
                    .filter(|&entry| keys.is_valid(entry))
                    .map(|entry| {
                        (keys.value(entry).to_string(), values.is_valid(entry).then(|| values.value(entry).to_vec()))
                    })
                    .collect()
            })
            .collect())
    }
}

impl ProcessFunction<ChangeBatch, SinkRecord> for BatchesToRecords {
    fn process_element(
        &mut self,
        batch: ChangeBatch,
        ctx: &mut ProcessContext<'_, SinkRecord>,
    ) -> pyflink_core::Result<()> {
        let part = |codec: &RecordCodec, columns: &[usize]| -> pyflink_core::Result<Vec<Vec<u8>>> {
            let rows = batch.rows.project(columns).map_err(|e| pyflink_core::FlinkError::Runtime(e.to_string()))?;
            codec.encode(&ChangeBatch { rows, kinds: batch.kinds.clone() })
        };
        let values = part(&self.value, &self.value_columns)?;
        let keys = match &self.key {
            Some((codec, columns)) => part(codec, columns)?,
            None => vec![Vec::new(); values.len()],
        };
        let mut timestamps = self.timestamp.map(|p| Self::timestamps(&batch, p)).transpose()?.map(Vec::into_iter);
        let mut headers = self.headers.map(|p| Self::headers(&batch, p)).transpose()?.map(Vec::into_iter);
        for (key, value) in keys.into_iter().zip(values) {
            let mut record = SinkRecord::new(key, Some(value));
            record.timestamp = timestamps.as_mut().and_then(Iterator::next).flatten();
            record.headers = headers.as_mut().and_then(Iterator::next).unwrap_or_default();
            ctx.collect(record);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_offsets_are_read_as_flink_writes_them() {
        let offsets = specific_offsets("t", "partition:0,offset:42;partition:1,offset:300").unwrap();
        assert_eq!(offsets[&("t".to_string(), 1)], 300);
        assert!(specific_offsets("t", "0:42").unwrap_err().contains("partition:<n>,offset:<n>"));
    }
}
