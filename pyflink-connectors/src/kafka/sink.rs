//! `KafkaSink`: records written to a Kafka topic with a delivery guarantee.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use pyflink_core::sinks::{Sink, SinkWriter, SinkWriterContext};
use pyflink_core::{Data, FlinkError, Result};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;

use crate::kafka::broker::{bound_of, BrokerCalls, OnStop, MAX_BLOCK_MS};
use crate::kafka::committable::{append_record, OutgoingRecord};
use crate::kafka::schema::KafkaRecordSerializationSchema;
use crate::kafka::transactions::{OpenTransaction, SinkProducer, Transactions};
use crate::kafka::{client_config, kafka_error};

/// What a sink promises about the records it writes (Flink's `DeliveryGuarantee`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryGuarantee {
    /// Records may be lost on failure: nothing waits for the broker at checkpoints.
    None,
    /// No record is lost; a failure may write some twice: every checkpoint waits until the
    /// broker has acknowledged everything sent before it.
    AtLeastOnce,
    /// Every record exactly once, for consumers that read with `isolation.level=read_committed`:
    /// each checkpoint's records go in Kafka transactions that commit when the checkpoint
    /// completes. Needs a transactional id prefix, and checkpointing to make progress.
    ExactlyOnce,
}

/// Writes records to a Kafka topic (Flink's `KafkaSink`).
///
/// ```
/// use pyflink_connectors::kafka::{DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, SimpleStringSchema};
/// let sink = KafkaSink::builder()
///     .set_bootstrap_servers("127.0.0.1:9092")
///     .set_record_serializer(
///         KafkaRecordSerializationSchema::builder().set_topic("out").set_value_serialization_schema(SimpleStringSchema).build().unwrap(),
///     )
///     .set_delivery_guarantee(DeliveryGuarantee::AtLeastOnce)
///     .build();
/// assert!(sink.is_ok());
/// ```
pub struct KafkaSink<T> {
    properties: BTreeMap<String, String>,
    schema: KafkaRecordSerializationSchema<T>,
    guarantee: DeliveryGuarantee,
    /// The bound of each broker call of a writer (`max.block.ms`).
    max_block: Duration,
    /// The transactions of `EXACTLY_ONCE` delivery, kept across the job's restarts.
    transactions: Option<Arc<Transactions>>,
}

/// Builds a [`KafkaSink`].
pub struct KafkaSinkBuilder<T> {
    properties: BTreeMap<String, String>,
    schema: Option<KafkaRecordSerializationSchema<T>>,
    guarantee: DeliveryGuarantee,
    transactional_id_prefix: Option<String>,
}

impl<T: Data> KafkaSink<T> {
    /// A builder of a sink (delivery guarantee `NONE` unless set, as in Flink).
    pub fn builder() -> KafkaSinkBuilder<T> {
        KafkaSinkBuilder {
            properties: BTreeMap::new(),
            schema: None,
            guarantee: DeliveryGuarantee::None,
            transactional_id_prefix: None,
        }
    }
}

impl<T: Data> KafkaSinkBuilder<T> {
    /// The brokers to connect to first (`host:port,host:port`).
    pub fn set_bootstrap_servers(self, servers: impl Into<String>) -> Self {
        self.set_property("bootstrap.servers", servers)
    }

    /// How values become records, and their topic.
    pub fn set_record_serializer(mut self, schema: KafkaRecordSerializationSchema<T>) -> Self {
        self.schema = Some(schema);
        self
    }

    /// What the sink promises about delivery.
    pub fn set_delivery_guarantee(mut self, guarantee: DeliveryGuarantee) -> Self {
        self.guarantee = guarantee;
        self
    }

    /// The prefix of the transactional ids of `EXACTLY_ONCE` delivery: unique per sink among
    /// all the jobs that write to the cluster, as two sinks with one prefix fence each other off.
    pub fn set_transactional_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.transactional_id_prefix = Some(prefix.into());
        self
    }

    /// Sets a librdkafka producer property.
    pub fn set_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// The sink; fails without bootstrap servers or a record serializer.
    pub fn build(self) -> Result<KafkaSink<T>> {
        if !self.properties.contains_key("bootstrap.servers") {
            return Err(FlinkError::InvalidProgram(
                "the KafkaSink needs bootstrap servers (set_bootstrap_servers)".into(),
            ));
        }
        let schema = self.schema.ok_or_else(|| {
            FlinkError::InvalidProgram("the KafkaSink needs a record serializer (set_record_serializer)".into())
        })?;
        if self.properties.contains_key("transactional.id") {
            return Err(FlinkError::InvalidProgram(
                "the KafkaSink names its transactions itself: set set_transactional_id_prefix and \
                 DeliveryGuarantee.EXACTLY_ONCE instead of the property transactional.id"
                    .into(),
            ));
        }
        let max_block = bound_of(&self.properties, MAX_BLOCK_MS)?;
        let transactions = match (self.guarantee, self.transactional_id_prefix) {
            (DeliveryGuarantee::ExactlyOnce, Some(prefix)) if !prefix.is_empty() => {
                Some(Arc::new(Transactions::new(prefix, self.properties.clone(), max_block)))
            }
            (DeliveryGuarantee::ExactlyOnce, _) => {
                return Err(FlinkError::InvalidProgram(
                    "EXACTLY_ONCE delivery needs a transactional id prefix (set_transactional_id_prefix), \
                     unique among the sinks that write to the cluster"
                        .into(),
                ))
            }
            _ => None,
        };
        Ok(KafkaSink { properties: self.properties, schema, guarantee: self.guarantee, max_block, transactions })
    }
}

/// Collects the first delivery failure the producer reports.
#[derive(Default)]
pub(crate) struct DeliveryReports {
    /// Whether `failure` holds one: read for every record, so that the lock is taken only then.
    failed: AtomicBool,
    failure: Mutex<Option<String>>,
}

impl DeliveryReports {
    /// The first failure reported since the last call, if any.
    pub(crate) fn take_failure(&self) -> Option<String> {
        if !self.failed.load(Ordering::Acquire) {
            return None;
        }
        self.failed.store(false, Ordering::Release);
        self.failure.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

impl ClientContext for DeliveryReports {}

impl ProducerContext for DeliveryReports {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
            failure.get_or_insert_with(|| error.to_string());
            self.failed.store(true, Ordering::Release);
        }
    }
}

impl<T: Data> Sink<T> for KafkaSink<T> {
    type Writer = KafkaWriter<T>;

    fn create_writer(&self, context: &SinkWriterContext) -> Result<KafkaWriter<T>> {
        let calls = BrokerCalls::new(&context.metric_group, context.stop.clone(), self.max_block, MAX_BLOCK_MS);
        let (producer, transactional) = match &self.transactions {
            Some(transactions) => {
                transactions.recover(context.subtask_index, context.parallelism, &calls)?;
                let writer = TransactionalWriter {
                    transactions: Arc::clone(transactions),
                    subtask: context.subtask_index,
                    open: None,
                    mark_topic: None,
                    records: Vec::new(),
                };
                (None, Some(writer))
            }
            None => {
                let producer: SinkProducer = client_config(&self.properties)
                    .create_with_context(DeliveryReports::default())
                    .map_err(|e| kafka_error("create a producer", e))?;
                (Some(producer), None)
            }
        };
        Ok(KafkaWriter {
            producer,
            transactional,
            schema: self.schema.clone(),
            guarantee: self.guarantee,
            partitions: HashMap::new(),
            calls,
        })
    }

    fn commit(&self, committables: Vec<Vec<u8>>) -> Result<()> {
        let Some(transactions) = &self.transactions else { return Ok(()) };
        transactions.commit(&committables)
    }
}

/// Writes one parallel instance's records.
pub struct KafkaWriter<T> {
    /// Where records go: the writer's producer, or with `EXACTLY_ONCE` the producer of the open
    /// transaction (none between a checkpoint and the next record).
    producer: Option<SinkProducer>,
    transactional: Option<TransactionalWriter>,
    schema: KafkaRecordSerializationSchema<T>,
    guarantee: DeliveryGuarantee,
    /// Each topic's number of partitions, read when a partitioner first needs it.
    partitions: HashMap<String, usize>,
    /// How the writer waits for the broker.
    calls: BrokerCalls,
}

/// The transaction side of an `EXACTLY_ONCE` writer.
struct TransactionalWriter {
    transactions: Arc<Transactions>,
    subtask: usize,
    /// The id and token of the open transaction, whose producer is the writer's.
    open: Option<(String, i64)>,
    /// The first topic the open transaction wrote to, where its mark goes.
    mark_topic: Option<String>,
    /// A copy of the open transaction's records, for the checkpoint (see
    /// [`crate::kafka::committable`]).
    records: Vec<u8>,
}

impl TransactionalWriter {
    /// Keeps a copy of a record sent in the open transaction.
    fn keep(&mut self, record: &OutgoingRecord<'_>) -> Result<()> {
        if self.mark_topic.is_none() {
            self.mark_topic = Some(record.topic.to_string());
        }
        append_record(&mut self.records, record)
    }
}

impl<T: Data> KafkaWriter<T> {
    /// The number of partitions of `topic`, read from the broker the first time (cached in
    /// `known`).
    fn partitions(
        known: &mut HashMap<String, usize>,
        producer: Option<&SinkProducer>,
        calls: &BrokerCalls,
        topic: &str,
    ) -> Result<usize> {
        if let Some(count) = known.get(topic) {
            return Ok(*count);
        }
        let Some(producer) = producer else { return Ok(1) };
        let metadata = calls
            .call(OnStop::GiveUp, |timeout| producer.client().fetch_metadata(Some(topic), timeout))
            .map_err(|failure| failure.into_error(&format!("read the partitions of topic '{topic}'")))?;
        let count = metadata.topics().first().map_or(0, |t| t.partitions().len()).max(1);
        known.insert(topic.to_string(), count);
        Ok(count)
    }

    /// With `EXACTLY_ONCE`, begins a transaction if none is open.
    fn ensure_producer(&mut self) -> Result<()> {
        if self.producer.is_some() {
            return Ok(());
        }
        let Some(transactional) = self.transactional.as_mut() else {
            return Err(FlinkError::Runtime("the Kafka writer was used after it closed".into()));
        };
        let OpenTransaction { id, token, producer } =
            transactional.transactions.begin(transactional.subtask, &self.calls)?;
        transactional.open = Some((id, token));
        self.producer = Some(producer);
        Ok(())
    }

    /// Waits until the broker has acknowledged every record sent, failing if one was refused.
    fn flush(&mut self) -> Result<()> {
        let Some(producer) = self.producer.as_ref() else { return Ok(()) };
        self.calls
            .call(OnStop::GiveUp, |timeout| producer.flush(timeout))
            .map_err(|failure| failure.into_error("flush records to the broker"))?;
        self.check_deliveries()
    }

    fn check_deliveries(&self) -> Result<()> {
        let Some(producer) = self.producer.as_ref() else { return Ok(()) };
        match producer.context().take_failure() {
            Some(failure) => Err(FlinkError::Connector(match self.schema.topic() {
                Some(topic) => format!("Kafka: a record for topic '{topic}' was not delivered: {failure}"),
                None => format!("Kafka: a record was not delivered: {failure}"),
            })),
            None => Ok(()),
        }
    }

    /// The open transaction, taken from the writer with its mark topic and copied records.
    fn take_transaction(&mut self) -> Option<TakenTransaction> {
        let transactional = self.transactional.as_mut()?;
        let (id, token) = transactional.open.take()?;
        let producer = self.producer.take()?;
        Some(TakenTransaction {
            transactions: Arc::clone(&transactional.transactions),
            subtask: transactional.subtask,
            transaction: OpenTransaction { id, token, producer },
            mark_topic: transactional.mark_topic.take().unwrap_or_default(),
            records: std::mem::take(&mut transactional.records),
        })
    }

    /// Aborts the open transaction, if there is one.
    fn abort_open_transaction(&mut self) -> Result<()> {
        match self.take_transaction() {
            Some(taken) => taken.transactions.abort(taken.transaction, &self.calls),
            None => Ok(()),
        }
    }
}

impl<T: Data> SinkWriter<T> for KafkaWriter<T> {
    fn write(&mut self, value: T, timestamp: Option<i64>) -> Result<()> {
        self.ensure_producer()?;
        let KafkaWriter { schema, partitions, producer, calls, .. } = self;
        let serialized =
            schema.serialize(&value, |topic| Self::partitions(partitions, producer.as_ref(), calls, topic))?;
        let topic = serialized.topic.as_deref().or(schema.topic()).unwrap_or_default();
        let Some(producer) = self.producer.as_ref() else {
            return Err(FlinkError::Runtime("the Kafka writer has no producer to send a record with".into()));
        };
        let record = OutgoingRecord::of(topic, &serialized, serialized.timestamp.or(timestamp));
        if let Some(transactional) = self.transactional.as_mut() {
            transactional.keep(&record)?;
        }
        record.send(producer, &self.calls)?;
        self.check_deliveries()
    }

    fn prepare_commit(&mut self, _checkpoint_id: u64) -> Result<Vec<Vec<u8>>> {
        match self.guarantee {
            DeliveryGuarantee::None => Ok(Vec::new()),
            DeliveryGuarantee::AtLeastOnce => self.flush().map(|()| Vec::new()),
            DeliveryGuarantee::ExactlyOnce => {
                // Everything sent must be in the transaction before it is handed over.
                self.flush()?;
                match self.take_transaction() {
                    Some(TakenTransaction { transactions, subtask, transaction, mark_topic, records }) => {
                        Ok(vec![transactions.prepare(transaction, subtask, mark_topic, records, &self.calls)?])
                    }
                    None => Ok(Vec::new()),
                }
            }
        }
    }

    fn flush(&mut self, _end_of_input: bool) -> Result<()> {
        KafkaWriter::flush(self)
    }

    fn close(&mut self) -> Result<()> {
        self.abort_open_transaction()
    }
}

impl<T> Drop for KafkaWriter<T> {
    fn drop(&mut self) {
        // A writer dropped with a transaction open (its task failed) aborts it, so that it
        // holds back no read_committed consumer until the broker times it out.
        if let (Some(transactional), Some(producer)) = (self.transactional.as_mut(), self.producer.take()) {
            if let Some((id, token)) = transactional.open.take() {
                let transaction = OpenTransaction { id, token, producer };
                if let Err(error) = transactional.transactions.abort(transaction, &self.calls) {
                    tracing::warn!(%error, "a failed Kafka writer could not abort its transaction");
                }
            }
        }
    }
}

/// A writer's open transaction, taken to be prepared or aborted.
struct TakenTransaction {
    transactions: Arc<Transactions>,
    subtask: usize,
    transaction: OpenTransaction,
    mark_topic: String,
    records: Vec<u8>,
}

impl OutgoingRecord<'_> {
    /// Hands the record to `producer`; while its queue is full, lets it deliver some and tries
    /// again, as long as `max.block.ms` allows (the Java producer's send blocks as long).
    pub(crate) fn send(&self, producer: &SinkProducer, calls: &BrokerCalls) -> Result<()> {
        let mut record = BaseRecord::<[u8], [u8]>::to(self.topic);
        if let Some(payload) = self.value {
            record = record.payload(payload);
        }
        if let Some(key) = self.key {
            record = record.key(key);
        }
        if let Some(partition) = self.partition {
            record = record.partition(partition);
        }
        if let Some(timestamp) = self.timestamp {
            record = record.timestamp(timestamp);
        }
        if !self.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(self.headers.len());
            for (key, value) in self.headers {
                headers = headers.insert(Header { key, value: value.as_deref() });
            }
            record = record.headers(headers);
        }
        let mut full_since = None;
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                    record = returned;
                    let since = *full_since.get_or_insert_with(Instant::now);
                    calls
                        .keep_waiting(since, OnStop::GiveUp)
                        .map_err(|failure| failure.into_error("send a record: the producer's queue stays full"))?;
                    let before = Instant::now();
                    producer.poll(Duration::from_millis(10));
                    calls.count_wait(before);
                }
                Err((error, _)) => return Err(kafka_error("send a record", error)),
            }
        }
        producer.poll(Duration::ZERO);
        Ok(())
    }
}
