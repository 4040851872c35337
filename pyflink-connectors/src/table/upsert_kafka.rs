//! The `upsert-kafka` table connector: a changelog written to a topic as the table's latest
//! row per primary key, so that a compacted topic (or a reader that keeps the last record per
//! key) holds the table, and such a topic read back as the table's changelog.
//!
//! Writing, each `+I` or `+U` row is a record whose key is the primary key's columns in
//! `key.format` and whose value is the row in `value.format`; each `-D` row is a tombstone
//! (the key without a value); `-U` rows are dropped, as the `+U` that follows replaces them.
//! Records of one key go to one partition (the Java client's murmur2 hash of the key bytes),
//! in order.
//!
//! Reading, from the earliest offsets as Flink does, each record is the latest row of its key
//! and each tombstone its key's deletion; [`normalize_changelog`] keeps each key's last row
//! and makes of them the changelog (`+I`, `-U`/`+U`, `-D`) that queries retract by.

use pyflink_core::table::RowKind;
use pyflink_core::{DataStream, ProcessContext, ProcessFunction};
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::{exchange_by_key, normalize_changelog, TableConnector, TableContext};
use pyflink_table::{Result, TableError};

use super::kafka::{check_options, client_properties, delivery_guarantee, invalid, read_records};
use super::kafka_record::{codec_of, ColumnSource, KeyBytes, RecordReader, RecordsToBatches, SinkRecord, ValueBytes};
use super::record_format::RecordCodec;
use crate::kafka::{KafkaRecordSerializationSchema, KafkaSink, OffsetsInitializer};

/// Writes a table's changelog to a Kafka topic by primary key (`'connector' = 'upsert-kafka'`).
/// Options, as Flink names them: `topic` (one), `properties.bootstrap.servers` and the other
/// `properties.*`, `key.format` and `value.format` (`csv`, `json`, `avro` or `raw`, with their options
/// under `key.` and `value.`, such as `value.json.encode.ignore-null-fields`),
/// `key.fields-prefix` (the prefix of the key columns' names that the key format leaves out),
/// `value.fields-include` (`ALL`, the default, or `EXCEPT_KEY`), `sink.delivery-guarantee`
/// (`at-least-once` by default, or `exactly-once` through transactions committed with
/// checkpoints), `sink.transactional-id-prefix` and `sink.parallelism`; reading,
/// `scan.bounded.mode` (`unbounded` by default, `latest-offset`, `timestamp`,
/// `specific-offsets`) with the matching `scan.bounded.*`. The table needs a PRIMARY KEY.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpsertKafkaConnector;

const OPTIONS: &[&str] = &[
    "topic",
    "key.format",
    "key.fields-prefix",
    "value.format",
    "value.fields-include",
    "sink.delivery-guarantee",
    "sink.transactional-id-prefix",
    "sink.parallelism",
    "scan.bounded.mode",
    "scan.bounded.specific-offsets",
    "scan.bounded.timestamp-millis",
    "scan.topic-partition-discovery.interval",
];

impl TableConnector for UpsertKafkaConnector {
    fn identifier(&self) -> &str {
        "upsert-kafka"
    }

    fn source(&self, context: &TableContext<'_>) -> Result<DataStream<ChangeBatch>> {
        let table = UpsertTable::of(context)?;
        let reader = RecordReader { key: true, topic: false, headers: false, tombstones: true };
        let topics = [table.topic.clone()];
        let records =
            read_records(context, reader, Some(&topics), &client_properties(context), OffsetsInitializer::earliest())?;
        let ChangesToUpserts { key, value } = table.encoder;
        // The key's columns from the key (a tombstone has nothing else), the others from the value.
        let columns = (0..context.schema.fields().len())
            .map(|position| match key.columns.iter().position(|&p| p == position) {
                Some(index) => ColumnSource::Key(index),
                None => ColumnSource::Value(value.columns.iter().position(|&p| p == position).unwrap_or_default()),
            })
            .collect();
        let decoder = RecordsToBatches::new(context, value.codec, Some(key.codec), columns);
        let upserts = records.process(decoder).name(&format!("UpsertDecoder(topic=[{}])", table.topic));
        normalize_changelog(upserts, &context.schema, &table.key_columns, context.env.get_parallelism())
    }

    fn produces_updates(&self, _context: &TableContext<'_>) -> bool {
        true
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        let table = UpsertTable::of(context)?;
        let schema = KafkaRecordSerializationSchema::builder()
            .set_topic(&table.topic)
            .set_key_serialization_schema(KeyBytes)
            .set_value_serialization_schema(ValueBytes)
            .build()
            .map_err(|e| invalid(context, &e.to_string()))?;
        let mut sink = KafkaSink::builder()
            .set_record_serializer(schema)
            .set_delivery_guarantee(delivery_guarantee(context)?)
            // The Java client's partitioner, as Flink's upsert-kafka writes with it: a key's
            // records land in the partition other Kafka clients expect.
            .set_property("partitioner", "murmur2_random");
        for (key, value) in client_properties(context) {
            sink = sink.set_property(key, value);
        }
        if let Some(prefix) = context.options.get("sink.transactional-id-prefix") {
            sink = sink.set_transactional_id_prefix(prefix);
        }
        let sink = sink.build().map_err(|e| invalid(context, &e.to_string()))?;
        let topic = table.topic.clone();
        // Every change of a key on one writer, in order: its records keep their order in the
        // key's partition.
        let parallelism: usize = context.option("sink.parallelism", 0)?;
        let instances = if parallelism > 0 { parallelism } else { context.env.get_parallelism() };
        let rows = exchange_by_key(rows, &context.schema, &table.key_columns, instances)?;
        let records =
            rows.process(table.encoder).name(&format!("UpsertEncoder(topic=[{topic}])")).set_parallelism(instances);
        records
            .sink_to(sink)
            .name(&format!("Sink: {}[upsert-kafka: {topic}]", context.table_name))
            .set_parallelism(instances);
        Ok(())
    }
}

/// An upsert-kafka table's options, checked.
struct UpsertTable {
    topic: String,
    /// The primary key's columns.
    key_columns: Vec<usize>,
    encoder: ChangesToUpserts,
}

impl UpsertTable {
    fn of(context: &TableContext<'_>) -> Result<UpsertTable> {
        context.reject_metadata("upsert-kafka")?;
        let Some(primary_key) = context.primary_key.clone().filter(|key| !key.is_empty()) else {
            return Err(TableError::Validation(format!(
                "'upsert-kafka' tables require to define a PRIMARY KEY constraint (table '{}'). The PRIMARY KEY \
                 specifies which columns are written to the Kafka message key, and by which key the table's rows \
                 are updated and deleted",
                context.table_name
            )));
        };
        let (Some(key_format), Some(value_format)) =
            (context.options.get("key.format"), context.options.get("value.format"))
        else {
            return Err(invalid(context, "set 'key.format' and 'value.format' ('csv', 'json', 'avro' or 'raw')"));
        };
        check_options(context, "upsert-kafka", OPTIONS, &[(Some("key"), key_format), (Some("value"), value_format)])?;
        context.require_options(&["topic", "properties.bootstrap.servers"])?;
        let topic = context.options["topic"].trim().to_string();
        if topic.contains(';') {
            return Err(invalid(context, "an upsert-kafka table is one topic: set 'topic' to one name"));
        }
        let value_columns: Vec<usize> = match context.options.get("value.fields-include").map(String::as_str) {
            None | Some("ALL") => (0..context.schema.fields().len()).collect(),
            Some("EXCEPT_KEY") => (0..context.schema.fields().len()).filter(|i| !primary_key.contains(i)).collect(),
            Some(other) => {
                return Err(invalid(
                    context,
                    &format!("'value.fields-include' is 'ALL' or 'EXCEPT_KEY', not '{other}'"),
                ))
            }
        };
        if value_columns.is_empty() {
            return Err(invalid(
                context,
                "with 'value.fields-include' = 'EXCEPT_KEY' the value has no columns: the table needs a column \
                 outside its primary key",
            ));
        }
        let key_prefix = context.options.get("key.fields-prefix").map_or("", String::as_str);
        let key = Projection::new(context, &primary_key, "key", key_format, key_prefix)?;
        let value = Projection::new(context, &value_columns, "value", value_format, "")?;
        Ok(UpsertTable { topic, key_columns: primary_key, encoder: ChangesToUpserts { key, value } })
    }
}

/// Some of a table's columns, written in a format of their own.
#[derive(Clone)]
pub(super) struct Projection {
    columns: Vec<usize>,
    codec: RecordCodec,
}

impl Projection {
    /// The `columns` of `context`'s table in `format` (see [`codec_of`]).
    fn new(context: &TableContext<'_>, columns: &[usize], side: &str, format: &str, name_prefix: &str) -> Result<Self> {
        Ok(Projection {
            columns: columns.to_vec(),
            codec: codec_of(context, columns, Some(side), format, name_prefix)?,
        })
    }

    /// The text of these columns of each row of `batch`, in its format.
    fn encode(&self, batch: &ChangeBatch) -> pyflink_core::Result<Vec<Vec<u8>>> {
        let rows = batch.rows.project(&self.columns).map_err(|e| pyflink_core::FlinkError::Runtime(e.to_string()))?;
        self.codec.encode(&ChangeBatch::inserts(rows))
    }
}

/// A changelog's batches as upsert records: `+I` / `+U` rows as key and value, `-D` rows as
/// tombstones of their key, `-U` rows dropped.
#[derive(Clone)]
struct ChangesToUpserts {
    key: Projection,
    value: Projection,
}

impl ProcessFunction<ChangeBatch, SinkRecord> for ChangesToUpserts {
    fn process_element(
        &mut self,
        batch: ChangeBatch,
        ctx: &mut ProcessContext<'_, SinkRecord>,
    ) -> pyflink_core::Result<()> {
        let keys = self.key.encode(&batch)?;
        let values = self.value.encode(&batch)?;
        for (row, (key, value)) in keys.into_iter().zip(values).enumerate() {
            match batch.kind(row) {
                RowKind::Insert | RowKind::UpdateAfter => ctx.collect(SinkRecord::new(key, Some(value))),
                RowKind::Delete => ctx.collect(SinkRecord::new(key, None)),
                RowKind::UpdateBefore => {}
            }
        }
        Ok(())
    }
}
