"""Kafka topics as sources and sinks (PyFlink's ``KafkaSource``, ``KafkaSink``,
``KafkaOffsetsInitializer``, ``KafkaRecordSerializationSchema``), on the engine's Kafka
connector: no JVM and no connector jar.

A ``KafkaSource`` reads one split per partition, keeps each partition's position in
checkpoints and commits it to the consumer group when a checkpoint completes. Records become
Python objects through the value deserializer: ``SimpleStringSchema`` (``str``),
``ByteArraySchema`` (``bytes``), ``JsonRowDeserializationSchema`` or
``CsvRowDeserializationSchema`` (``Row``). A ``KafkaSink`` writes with the delivery guarantee
asked for; ``EXACTLY_ONCE`` writes each checkpoint's records in Kafka transactions.
Properties are librdkafka's, plus Flink's ``partition.discovery.interval.ms`` and
``commit.offsets.on.checkpoint``.
"""

from abc import ABC, abstractmethod
from enum import Enum

import cloudpickle

from pyflink_rs import _native
from pyflink_rs.common.serialization import DeserializationSchema, SerializationSchema
from pyflink_rs.datastream.connectors import Sink, Source
from pyflink_rs.datastream.connectors.base import DeliveryGuarantee
from pyflink_rs.datastream.functions import SinkFunction, SourceFunction


class KafkaTopicPartition:
    """A partition of a topic."""

    def __init__(self, topic, partition):
        self._topic = topic
        self._partition = partition

    def __eq__(self, other):
        return isinstance(other, KafkaTopicPartition) and (self._topic, self._partition) == (
            other._topic,
            other._partition,
        )

    def __hash__(self):
        return hash((self._topic, self._partition))

    def __repr__(self):
        return f"KafkaTopicPartition({self._topic!r}, {self._partition})"


class KafkaOffsetResetStrategy(Enum):
    """Where partitions without a committed offset start."""

    LATEST = 0
    EARLIEST = 1
    NONE = 2

    def _native(self):
        return {
            KafkaOffsetResetStrategy.LATEST: _native.OffsetReset.LATEST,
            KafkaOffsetResetStrategy.EARLIEST: _native.OffsetReset.EARLIEST,
            KafkaOffsetResetStrategy.NONE: _native.OffsetReset.NONE,
        }[self]


class KafkaOffsetsInitializer:
    """Where a source starts, or stops, reading each partition."""

    def __init__(self, native):
        self._native = native

    @staticmethod
    def committed_offsets(offset_reset_strategy=KafkaOffsetResetStrategy.NONE):
        """The consumer group's committed offsets; partitions without one start as
        ``offset_reset_strategy`` says (``NONE``: the job fails)."""
        return KafkaOffsetsInitializer(_native.KafkaOffsets.COMMITTED(offset_reset_strategy._native()))

    @staticmethod
    def timestamp(timestamp):
        """The first records at or after ``timestamp`` (milliseconds since the epoch)."""
        return KafkaOffsetsInitializer(_native.KafkaOffsets.TIMESTAMP(int(timestamp)))

    @staticmethod
    def earliest():
        """The first record of each partition."""
        return KafkaOffsetsInitializer(_native.KafkaOffsets.EARLIEST())

    @staticmethod
    def latest():
        """The end of each partition."""
        return KafkaOffsetsInitializer(_native.KafkaOffsets.LATEST())

    @staticmethod
    def offsets(offsets, offset_reset_strategy=KafkaOffsetResetStrategy.EARLIEST):
        """The given offsets, a dict from ``KafkaTopicPartition`` to offset."""
        specific = [
            _native.PartitionOffset(topic=tp._topic, partition=tp._partition, offset=int(offset))
            for tp, offset in offsets.items()
        ]
        return KafkaOffsetsInitializer(_native.KafkaOffsets.SPECIFIC(specific))


class KafkaSource(Source):
    """Reads Kafka topics; built with ``KafkaSource.builder()``."""

    def __init__(self, spec):
        self._spec = spec

    @staticmethod
    def builder():
        return KafkaSourceBuilder()

    def _add_to(self, native_environment):
        return native_environment.from_kafka(self._spec)


class KafkaSourceBuilder:
    """Builds a ``KafkaSource``."""

    def __init__(self):
        self._topics = []
        self._topic_pattern = None
        self._partitions = []
        self._properties = {}
        self._starting = KafkaOffsetsInitializer.earliest()
        self._stopping = None
        self._deserializer = None

    def set_bootstrap_servers(self, bootstrap_servers):
        return self.set_property("bootstrap.servers", bootstrap_servers)

    def set_group_id(self, group_id):
        return self.set_property("group.id", group_id)

    def set_topics(self, *topics):
        """The topics to read (a list or several arguments)."""
        names = []
        for topic in topics:
            names.extend([topic] if isinstance(topic, str) else list(topic))
        self._topics = names
        return self

    def set_topic_pattern(self, topic_pattern):
        """Reads every topic whose whole name matches the regular expression, including topics
        created later (found by partition discovery)."""
        self._topic_pattern = topic_pattern
        return self

    def set_partitions(self, partitions):
        """Reads exactly these partitions (``KafkaTopicPartition``s) instead of whole topics."""
        chosen = []
        for partition in partitions:
            if not isinstance(partition, KafkaTopicPartition):
                raise TypeError(f"set_partitions takes KafkaTopicPartitions, not {partition!r}")
            chosen.append(partition)
        self._partitions = chosen
        return self

    def set_starting_offsets(self, starting_offsets_initializer):
        self._starting = starting_offsets_initializer
        return self

    def set_unbounded(self, stopping_offsets_initializer):
        """Stops reading at these offsets."""
        self._stopping = stopping_offsets_initializer
        return self

    def set_bounded(self, stopping_offsets_initializer):
        """Makes the source bounded: it ends at these offsets."""
        self._stopping = stopping_offsets_initializer
        return self

    def set_value_only_deserializer(self, deserialization_schema):
        """Reads each record's value with ``deserialization_schema``."""
        if not isinstance(deserialization_schema, DeserializationSchema):
            raise TypeError(f"set_value_only_deserializer needs a DeserializationSchema, not {deserialization_schema!r}")
        self._deserializer = deserialization_schema
        return self

    def set_client_id_prefix(self, prefix):
        return self.set_property("client.id", prefix)

    def set_property(self, key, value):
        self._properties[str(key)] = str(value)
        return self

    def set_properties(self, props):
        for key, value in props.items():
            self.set_property(key, value)
        return self

    def build(self):
        if self._deserializer is None:
            raise ValueError("the KafkaSource needs a deserializer: call set_value_only_deserializer")
        spec = _native.KafkaSourceSpec(
            topics=self._topics,
            topic_pattern=self._topic_pattern,
            partitions=[_native.TopicPartitionSpec(topic=p._topic, partition=p._partition) for p in self._partitions],
            properties=dict(self._properties),
            starting_offsets=self._starting._native,
            stopping_offsets=self._stopping._native if self._stopping is not None else None,
            value_format=self._deserializer._format(),
        )
        return KafkaSource(spec)


class KafkaTopicSelector(ABC):
    """Picks the topic of each record a ``KafkaSink`` writes
    (``KafkaRecordSerializationSchemaBuilder.set_topic_selector``)."""

    @abstractmethod
    def apply(self, data) -> str:
        """The name of the topic ``data`` goes to."""


class KafkaRecordSerializationSchema:
    """Where and how records are written: the topic (or a topic selector), the value's and
    optionally the key's serialization schema."""

    def __init__(self, topic, value, key, topic_selector=None):
        self._topic = topic
        self._value = value
        self._key = key
        self._topic_selector = topic_selector

    @staticmethod
    def builder():
        return KafkaRecordSerializationSchemaBuilder()


class KafkaRecordSerializationSchemaBuilder:
    """Builds a ``KafkaRecordSerializationSchema``."""

    def __init__(self):
        self._topic = None
        self._topic_selector = None
        self._value = None
        self._key = None

    def set_topic(self, topic):
        """The one topic every record is written to."""
        if self._topic_selector is not None:
            raise ValueError("a topic selector is already set: records go to one topic or to selected topics")
        self._topic = topic
        return self

    def set_topic_selector(self, topic_selector):
        """Picks each record's topic: a ``KafkaTopicSelector`` or a function of the record that
        returns the topic's name."""
        if not isinstance(topic_selector, KafkaTopicSelector) and not callable(topic_selector):
            raise TypeError("topic_selector must be KafkaTopicSelector or a callable")
        if self._topic is not None:
            raise ValueError("a topic is already set: records go to one topic or to selected topics")
        self._topic_selector = topic_selector
        return self

    def set_value_serialization_schema(self, value_serialization_schema):
        if not isinstance(value_serialization_schema, SerializationSchema):
            raise TypeError(f"a value serialization schema is a SerializationSchema, not {value_serialization_schema!r}")
        self._value = value_serialization_schema
        return self

    def set_key_serialization_schema(self, key_serialization_schema):
        if not isinstance(key_serialization_schema, SerializationSchema):
            raise TypeError(f"a key serialization schema is a SerializationSchema, not {key_serialization_schema!r}")
        self._key = key_serialization_schema
        return self

    def build(self):
        if self._topic is None and self._topic_selector is None:
            raise ValueError(
                "the KafkaRecordSerializationSchema needs a topic: call set_topic or set_topic_selector")
        if self._value is None:
            raise ValueError("the KafkaRecordSerializationSchema needs a value serialization schema")
        return KafkaRecordSerializationSchema(self._topic, self._value, self._key, self._topic_selector)


_GUARANTEES = {
    DeliveryGuarantee.NONE: _native.DeliveryGuarantee.NONE,
    DeliveryGuarantee.AT_LEAST_ONCE: _native.DeliveryGuarantee.AT_LEAST_ONCE,
    DeliveryGuarantee.EXACTLY_ONCE: _native.DeliveryGuarantee.EXACTLY_ONCE,
}


class KafkaSink(Sink):
    """Writes records to a Kafka topic; built with ``KafkaSink.builder()``."""

    def __init__(self, spec):
        self._spec = spec

    @staticmethod
    def builder():
        return KafkaSinkBuilder()

    def _add_to(self, native_stream):
        return native_stream.sink_to_kafka(self._spec)


class KafkaSinkBuilder:
    """Builds a ``KafkaSink`` (delivery guarantee ``NONE`` unless set, as in Flink)."""

    def __init__(self):
        self._properties = {}
        self._serializer = None
        self._guarantee = DeliveryGuarantee.NONE
        self._prefix = None

    def set_bootstrap_servers(self, bootstrap_servers):
        return self.set_property("bootstrap.servers", bootstrap_servers)

    def set_delivery_guarantee(self, delivery_guarantee):
        if not isinstance(delivery_guarantee, DeliveryGuarantee):
            raise TypeError(f"set_delivery_guarantee needs a DeliveryGuarantee, not {delivery_guarantee!r}")
        self._guarantee = delivery_guarantee
        return self

    def set_transactional_id_prefix(self, transactional_id_prefix):
        """The prefix of the transactional ids of ``EXACTLY_ONCE`` delivery, unique per sink."""
        self._prefix = transactional_id_prefix
        return self

    def set_record_serializer(self, record_serializer):
        if not isinstance(record_serializer, KafkaRecordSerializationSchema):
            raise TypeError(f"set_record_serializer needs a KafkaRecordSerializationSchema, not {record_serializer!r}")
        self._serializer = record_serializer
        return self

    def set_property(self, key, value):
        self._properties[str(key)] = str(value)
        return self

    def build(self):
        if self._serializer is None:
            raise ValueError("the KafkaSink needs a record serializer: call set_record_serializer")
        if "bootstrap.servers" not in self._properties:
            raise ValueError("the KafkaSink needs bootstrap servers: call set_bootstrap_servers")
        if self._guarantee == DeliveryGuarantee.EXACTLY_ONCE and not self._prefix:
            raise ValueError("EXACTLY_ONCE delivery needs a transactional id prefix: call set_transactional_id_prefix")
        serializer = self._serializer
        selector = serializer._topic_selector
        if isinstance(selector, KafkaTopicSelector):
            selector = selector.apply
        spec = _native.KafkaSinkSpec(
            topic=serializer._topic,
            topic_selector=cloudpickle.dumps(selector) if selector is not None else None,
            value_format=serializer._value._format(),
            key_format=serializer._key._format() if serializer._key is not None else None,
            properties=dict(self._properties),
            delivery_guarantee=_GUARANTEES[self._guarantee],
            transactional_id_prefix=self._prefix,
        )
        return KafkaSink(spec)


class FlinkKafkaConsumerBase(SourceFunction):
    """The legacy Kafka consumer of PyFlink 1.x (``env.add_source(FlinkKafkaConsumer(...))``),
    read by the engine's Kafka source: from the group's committed offsets unless told
    otherwise (``auto.offset.reset`` where there are none), committing offsets when
    checkpoints complete."""

    def __init__(self, topics, deserialization_schema, properties):
        if not isinstance(deserialization_schema, DeserializationSchema):
            raise TypeError(f"expected a DeserializationSchema, not {deserialization_schema!r}")
        self._topics = [topics] if isinstance(topics, str) else list(topics)
        self._schema = deserialization_schema
        self._properties = {str(k): str(v) for k, v in dict(properties).items()}
        reset = self._properties.get("auto.offset.reset", "latest").strip().lower()
        self._starting = KafkaOffsetsInitializer.committed_offsets(
            KafkaOffsetResetStrategy.EARLIEST if reset in ("earliest", "smallest") else KafkaOffsetResetStrategy.LATEST
        )

    def set_commit_offsets_on_checkpoints(self, commit_on_checkpoints):
        """Whether completed checkpoints commit the read offsets to the consumer group."""
        self._properties["commit.offsets.on.checkpoint"] = "true" if commit_on_checkpoints else "false"
        return self

    def set_start_from_earliest(self):
        self._starting = KafkaOffsetsInitializer.earliest()
        return self

    def set_start_from_latest(self):
        self._starting = KafkaOffsetsInitializer.latest()
        return self

    def set_start_from_timestamp(self, startup_offsets_timestamp):
        """Starts each partition at its first record at or after the timestamp (ms)."""
        self._starting = KafkaOffsetsInitializer.timestamp(startup_offsets_timestamp)
        return self

    def set_start_from_group_offsets(self):
        """Starts from the group's committed offsets (the default)."""
        reset = self._properties.get("auto.offset.reset", "latest").strip().lower()
        strategy = KafkaOffsetResetStrategy.EARLIEST if reset in ("earliest", "smallest") else KafkaOffsetResetStrategy.LATEST
        self._starting = KafkaOffsetsInitializer.committed_offsets(strategy)
        return self

    def disable_filter_restored_partitions_with_subscribed_topics(self):
        """Restored partitions are those of the subscribed topics here; kept for the API."""
        return self

    def get_produced_type(self):
        """The type of the records (what the deserialization schema produces)."""
        return self._produced_type()

    def _produced_type(self):
        from pyflink_rs.common.serialization import ByteArraySchema, SimpleStringSchema
        from pyflink_rs.common.typeinfo import Types

        if isinstance(self._schema, SimpleStringSchema):
            return Types.STRING()
        if isinstance(self._schema, ByteArraySchema):
            return Types.PRIMITIVE_ARRAY(Types.BYTE())
        return getattr(self._schema, "_type_info", None)

    def _add_to(self, native_environment):
        source = KafkaSource.builder().set_topics(self._topics).set_properties(self._properties)
        source.set_starting_offsets(self._starting).set_value_only_deserializer(self._schema)
        return source.build()._add_to(native_environment)


class FlinkKafkaConsumer(FlinkKafkaConsumerBase):
    """``FlinkKafkaConsumer(topics, deserialization_schema, properties)``."""


class Semantic(Enum):
    """The delivery guarantee of the legacy ``FlinkKafkaProducer``."""

    EXACTLY_ONCE = 0
    AT_LEAST_ONCE = 1
    NONE = 2


_SEMANTICS = {
    Semantic.EXACTLY_ONCE: DeliveryGuarantee.EXACTLY_ONCE,
    Semantic.AT_LEAST_ONCE: DeliveryGuarantee.AT_LEAST_ONCE,
    Semantic.NONE: DeliveryGuarantee.NONE,
}


class FlinkKafkaProducerBase(SinkFunction):
    """The legacy Kafka producer of PyFlink 1.x (``stream.add_sink(FlinkKafkaProducer(...))``),
    written by the engine's Kafka sink."""

    def __init__(self, topic, serialization_schema, producer_config, semantic):
        if not isinstance(serialization_schema, SerializationSchema):
            raise TypeError(f"expected a SerializationSchema, not {serialization_schema!r}")
        if not isinstance(semantic, Semantic):
            raise TypeError(f"expected a Semantic, not {semantic!r}")
        self._topic = topic
        self._schema = serialization_schema
        self._config = {str(k): str(v) for k, v in dict(producer_config).items()}
        self._semantic = semantic
        self._log_failures_only = False
        self._flush_on_checkpoint = True
        self._write_timestamp = False

    def set_log_failures_only(self, log_failures_only):
        """Kept: a failed write fails the job here, so that no record is lost silently."""
        self._log_failures_only = bool(log_failures_only)
        return self

    def set_flush_on_checkpoint(self, flush_on_checkpoint):
        """Kept: at-least-once and exactly-once writes are flushed at every checkpoint."""
        self._flush_on_checkpoint = bool(flush_on_checkpoint)
        return self

    def set_write_timestamp_to_kafka(self, write_timestamp_to_kafka):
        """Kept: records are written with the broker's timestamps."""
        self._write_timestamp = bool(write_timestamp_to_kafka)
        return self

    def _add_to(self, native_stream):
        serializer = KafkaRecordSerializationSchema.builder().set_topic(self._topic)
        serializer = serializer.set_value_serialization_schema(self._schema).build()
        sink = KafkaSink.builder().set_record_serializer(serializer).set_delivery_guarantee(_SEMANTICS[self._semantic])
        for key, value in self._config.items():
            sink.set_property(key, value)
        if self._semantic is Semantic.EXACTLY_ONCE:
            # Stable across restarts, so that a restarted job aborts its earlier transactions.
            sink.set_transactional_id_prefix(self._config.get("transactional.id", f"pyflink-rs-{self._topic}"))
        return sink.build()._add_to(native_stream)


class FlinkKafkaProducer(FlinkKafkaProducerBase):
    """``FlinkKafkaProducer(topic, serialization_schema, producer_config, kafka_producer_pool_size=5,
    semantic=Semantic.AT_LEAST_ONCE)``."""

    def __init__(self, topic, serialization_schema, producer_config, kafka_producer_pool_size=5,
                 semantic=Semantic.AT_LEAST_ONCE):
        super().__init__(topic, serialization_schema, producer_config, semantic)
        if int(kafka_producer_pool_size) < 1:
            raise ValueError(f"the producer pool size must be at least 1, not {kafka_producer_pool_size}")
        self._pool_size = int(kafka_producer_pool_size)

    def ignore_failures_after_transaction_timeout(self):
        """Kept: transactions are committed before their timeout when checkpoints complete."""
        return self


__all__ = [
    "FlinkKafkaConsumer",
    "FlinkKafkaProducer",
    "Semantic",
    "DeliveryGuarantee",
    "KafkaOffsetResetStrategy",
    "KafkaOffsetsInitializer",
    "KafkaRecordSerializationSchema",
    "KafkaSink",
    "KafkaSource",
    "KafkaTopicPartition",
    "KafkaTopicSelector",
]
