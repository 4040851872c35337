//! The `kafka` table connector: a table's rows as the values of a topic's records, each the
//! text of one row in the `csv`, `json` or `raw` format, read by the [`KafkaSource`] (a split
//! per partition, offsets in checkpoints) and written by the [`KafkaSink`] with the sink's
//! delivery guarantee (exactly once through Kafka transactions committed with checkpoints).

use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{DataStream, ProcessContext, ProcessFunction};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::{TableConnector, TableContext};
use pyflink_table::{Result, TableError};

use super::line_format::{LineCodec, LinesToBatches};
use crate::kafka::{
    DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetResetStrategy, OffsetsInitializer,
    RawBytesSchema,
};

/// Reads and writes tables as Kafka topics (`'connector' = 'kafka'`). Options, as Flink names
/// them: `topic` (one, or several separated by `;`) or `topic-pattern`, `properties.*` (client
/// properties, `properties.bootstrap.servers` required, `properties.group.id`), `format` (`csv`,
/// `json`, `raw`, with their options such as `csv.ignore-parse-errors`), `scan.startup.mode`
/// (`earliest-offset`, `latest-offset`, `group-offsets` (the default), `timestamp`,
/// `specific-offsets`) with `scan.startup.timestamp-millis` / `scan.startup.specific-offsets`,
/// `scan.bounded.mode` (`unbounded`, `latest-offset`, `timestamp`, `specific-offsets`) with the
/// matching `scan.bounded.*`, `sink.delivery-guarantee` (`none`, `at-least-once` (default),
/// `exactly-once`), `sink.transactional-id-prefix`, `sink.partitioner` (`default`) and
/// `sink.parallelism`.
#[derive(Debug, Clone, Copy, Default)]
pub struct KafkaTableConnector;

const OPTIONS: &[&str] = &[
    "topic",
    "topic-pattern",
    "format",
    "value.format",
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
        let table = Table::of(context)?;
        // Values are read as bytes, so text that is not UTF-8 is a parse error of the format.
        let mut source = KafkaSource::<Vec<u8>>::builder().set_value_only_deserializer(RawBytesSchema);
        for (key, value) in &table.properties {
            source = source.set_property(key, value);
        }
        if let Some(interval) = super::duration_option(context, "scan.topic-partition-discovery.interval")? {
            source = source.set_property("partition.discovery.interval.ms", interval.as_millis().to_string());
        }
        source = match (&table.topics, context.options.get("topic-pattern")) {
            (Some(topics), None) => source.set_topics(topics.iter().cloned()),
            (None, Some(pattern)) => source.set_topic_pattern(pattern),
            _ => {
                return Err(invalid(
                    context,
                    "Option 'topic' and 'topic-pattern' shouldn't be set together; set one of them",
                ))
            }
        };
        let reset = match table.properties.iter().find(|(key, _)| key == "auto.offset.reset") {
            Some((_, value)) if value == "earliest" => OffsetResetStrategy::Earliest,
            Some((_, value)) if value == "none" => OffsetResetStrategy::None,
            // The Kafka consumer's own default.
            _ => OffsetResetStrategy::Latest,
        };
        let startup = context.options.get("scan.startup.mode").map_or("group-offsets", String::as_str);
        source = source.set_starting_offsets(match startup {
            "group-offsets" => OffsetsInitializer::committed_offsets(reset),
            mode => offsets(context, &table, "scan.startup", mode)?,
        });
        match context.options.get("scan.bounded.mode").map_or("unbounded", String::as_str) {
            "unbounded" if !context.streaming => {
                return Err(invalid(
                    context,
                    "a batch job reads bounded tables only: set 'scan.bounded.mode' (for example 'latest-offset')",
                ))
            }
            "unbounded" => {}
            mode => source = source.set_bounded(offsets(context, &table, "scan.bounded", mode)?),
        }
        let source = source.build().map_err(|e| invalid(context, &e.to_string()))?;
        let name = format!("TableSourceScan(table=[[default_catalog, default_database, {}]])", context.table_name);
        let lines = context.env.from_source(source, WatermarkStrategy::no_watermarks(), &name);
        Ok(lines.process(LinesToBatches::new(table.codec)).name(&format!("RecordDecoder(format=[{}])", table.format)))
    }

    fn consumes_updates(&self, _context: &TableContext<'_>) -> bool {
        false
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        let table = Table::of(context)?;
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
        let schema = KafkaRecordSerializationSchema::builder()
            .set_topic(topic)
            .set_value_serialization_schema(RawBytesSchema)
            .build()
            .map_err(|e| invalid(context, &e.to_string()))?;
        let mut sink = KafkaSink::builder().set_record_serializer(schema).set_delivery_guarantee(guarantee);
        for (key, value) in &table.properties {
            sink = sink.set_property(key, value);
        }
        if let Some(prefix) = context.options.get("sink.transactional-id-prefix") {
            sink = sink.set_transactional_id_prefix(prefix);
        }
        let sink = sink.build().map_err(|e| invalid(context, &e.to_string()))?;
        let records = rows
            .process(BatchesToRecords { codec: table.codec })
            .name(&format!("RecordEncoder(format=[{}])", table.format));
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
    format: String,
    codec: LineCodec,
}

impl Table {
    fn of(context: &TableContext<'_>) -> Result<Table> {
        context.reject_metadata("kafka")?;
        if context.options.contains_key("key.format") || context.options.contains_key("key.fields") {
            return Err(TableError::Unsupported(format!(
                "record keys ('key.format', 'key.fields') of Kafka table '{}'; the value holds the whole row",
                context.table_name
            )));
        }
        let format = context.options.get("format").or_else(|| context.options.get("value.format")).cloned();
        let Some(format) = format else {
            return Err(invalid(context, "add 'format' = 'csv', 'json' or 'raw' (the format of the records' values)"));
        };
        let format_options = LineCodec::options_of(&format).unwrap_or_default();
        let supported: Vec<&str> = OPTIONS.iter().chain(format_options).copied().chain(["properties.*"]).collect();
        context.check_options(
            "kafka",
            &|key| supported.contains(&key) || key.strip_prefix("properties.").is_some_and(|rest| !rest.is_empty()),
            &supported,
        )?;
        context.require_options(&["properties.bootstrap.servers"])?;
        let properties = client_properties(context);
        let topics = context.options.get("topic").map(|topics| {
            topics.split(';').map(str::trim).filter(|topic| !topic.is_empty()).map(str::to_string).collect()
        });
        if topics.is_none() && !context.options.contains_key("topic-pattern") {
            return Err(invalid(context, "set 'topic' (or 'topic-pattern' to read the topics it matches)"));
        }
        let codec = LineCodec::new(context, &format)?;
        Ok(Table { topics, properties, format, codec })
    }
}

/// The offsets of `mode` for the options under `prefix` (`scan.startup` or `scan.bounded`).
fn offsets(context: &TableContext<'_>, table: &Table, prefix: &str, mode: &str) -> Result<OffsetsInitializer> {
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
            let Some([topic]) = table.topics.as_deref() else {
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

/// A table's batches as record values, a row each.
#[derive(Clone)]
struct BatchesToRecords {
    codec: LineCodec,
}

impl ProcessFunction<ChangeBatch, Vec<u8>> for BatchesToRecords {
    fn process_element(
        &mut self,
        batch: ChangeBatch,
        ctx: &mut ProcessContext<'_, Vec<u8>>,
    ) -> pyflink_core::Result<()> {
        for record in self.codec.encode_records(&batch)? {
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
