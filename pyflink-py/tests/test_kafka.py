"""Kafka from Python against a real Kafka-protocol broker (tansu): what a KafkaSink writes a
KafkaSource reads, in every format; malformed messages fail the job or are skipped; and
EXACTLY_ONCE delivery commits with checkpoints."""

import pytest

from pyflink_rs.common import ByteArraySchema, SimpleStringSchema, Types, WatermarkStrategy
from pyflink_rs.datastream import CheckpointingMode, StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import DeliveryGuarantee
from pyflink_rs.datastream.connectors.kafka import (
    KafkaOffsetsInitializer,
    KafkaRecordSerializationSchema,
    KafkaSink,
    KafkaSource,
)
from pyflink_rs.datastream.formats.avro import AvroRowDeserializationSchema, AvroRowSerializationSchema
from pyflink_rs.datastream.formats.csv import CsvRowDeserializationSchema, CsvRowSerializationSchema
from pyflink_rs.datastream.formats.json import JsonRowDeserializationSchema, JsonRowSerializationSchema

PEOPLE = Types.ROW_NAMED(["name", "age"], [Types.STRING(), Types.INT()])


def write(broker, topic, records, schema, type_info=None, guarantee=DeliveryGuarantee.AT_LEAST_ONCE, env=None):
    env = env or StreamExecutionEnvironment.get_execution_environment()
    sink = (
        KafkaSink.builder()
        .set_bootstrap_servers(broker.bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder().set_topic(topic).set_value_serialization_schema(schema).build()
        )
        .set_delivery_guarantee(guarantee)
        .set_transactional_id_prefix(f"tests-{topic}")
        # One record per batch: tansu 0.6 tells a partition's end offset wrongly after batches
        # of several records, and bounded sources stop there.
        .set_property("batch.num.messages", "1")
        .build()
    )
    # One writer, so the topic holds the records in their order (tests name records by offset);
    # two writers would interleave them in whatever order their producers deliver.
    env.set_parallelism(1)
    env.from_collection(records, type_info=type_info).sink_to(sink)
    env.execute(f"write {topic}")


def read(broker, topic, schema):
    env = StreamExecutionEnvironment.get_execution_environment()
    source = (
        KafkaSource.builder()
        .set_bootstrap_servers(broker.bootstrap)
        .set_topics(topic)
        .set_group_id("tests")
        .set_starting_offsets(KafkaOffsetsInitializer.earliest())
        .set_bounded(KafkaOffsetsInitializer.latest())
        .set_value_only_deserializer(schema)
        .build()
    )
    return list(env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka").execute_and_collect())


def test_strings_and_bytes_round_trip(kafka_broker):
    kafka_broker.create_topic("py-strings")
    write(kafka_broker, "py-strings", ["flink", "née", ""], SimpleStringSchema(), Types.STRING())
    # Two sink instances write, so the topic holds the records in no set order.
    assert sorted(read(kafka_broker, "py-strings", SimpleStringSchema())) == ["", "flink", "née"]
    kafka_broker.create_topic("py-bytes")
    write(kafka_broker, "py-bytes", [b"\x00\xff", bytearray(b"ab")], ByteArraySchema())
    assert sorted(read(kafka_broker, "py-bytes", ByteArraySchema())) == [b"\x00\xff", b"ab"]


def test_rows_round_trip_as_json_and_csv(kafka_broker):
    rows = [("ada", 36), ("grace, \"amazing\"", None)]
    for topic, writer, reader in [
        (
            "py-json",
            JsonRowSerializationSchema.builder().with_type_info(PEOPLE).build(),
            JsonRowDeserializationSchema.builder().type_info(PEOPLE).build(),
        ),
        (
            "py-csv",
            CsvRowSerializationSchema.Builder(PEOPLE).set_field_delimiter(";").build(),
            CsvRowDeserializationSchema.Builder(PEOPLE).set_field_delimiter(";").build(),
        ),
    ]:
        kafka_broker.create_topic(topic)
        write(kafka_broker, topic, rows, writer, PEOPLE)
        read_rows = sorted(read(kafka_broker, topic, reader), key=lambda row: row.name)
        assert [(row.name, row.age) for row in read_rows] == rows, topic
        assert str(read_rows[0]) == "Row(name='ada', age=36)"


def test_rows_round_trip_as_avro_named_by_the_schema(kafka_broker):
    schema = """{"type": "record", "name": "Person", "fields": [
        {"name": "name", "type": "string"}, {"name": "age", "type": ["null", "int"]}]}"""
    kafka_broker.create_topic("py-avro")
    write(kafka_broker, "py-avro", [("ada", 36), ("grace", None)], AvroRowSerializationSchema(avro_schema_string=schema), PEOPLE)
    rows = sorted(read(kafka_broker, "py-avro", AvroRowDeserializationSchema(avro_schema_string=schema)), key=lambda r: r.name)
    assert [(row.name, row.age) for row in rows] == [("ada", 36), ("grace", None)]
    with pytest.raises(Exception, match="not a record schema"):
        read(kafka_broker, "py-avro", AvroRowDeserializationSchema(avro_schema_string='"string"'))


def test_malformed_messages_fail_the_job_or_are_skipped(kafka_broker):
    kafka_broker.create_topic("py-malformed")
    messages = ['{"name": "ada", "age": 36}', "not json", '{"name": "bob", "age": "old"}', '{"name": "cy"}']
    write(kafka_broker, "py-malformed", messages, SimpleStringSchema(), Types.STRING())
    lenient = JsonRowDeserializationSchema.builder().type_info(PEOPLE).ignore_parse_errors().build()
    assert sorted((r.name, r.age) for r in read(kafka_broker, "py-malformed", lenient)) == [("ada", 36), ("cy", None)]
    strict = JsonRowDeserializationSchema.builder().type_info(PEOPLE).build()
    with pytest.raises(Exception, match=r"record \d of py-malformed-0 cannot be read: JSON: cannot read a row: not JSON"):
        read(kafka_broker, "py-malformed", strict)


def test_exactly_once_delivery_commits_with_checkpoints(kafka_broker):
    kafka_broker.create_topic("py-exactly-once")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    env.enable_checkpointing(50, CheckpointingMode.EXACTLY_ONCE)
    words = [f"w{i:03}" for i in range(300)]
    write(kafka_broker, "py-exactly-once", words, SimpleStringSchema(), Types.STRING(), DeliveryGuarantee.EXACTLY_ONCE, env)
    assert sorted(read(kafka_broker, "py-exactly-once", SimpleStringSchema())) == words


def test_bad_kafka_settings_are_refused(kafka_broker):
    with pytest.raises(ValueError, match="transactional id prefix"):
        KafkaSink.builder().set_bootstrap_servers("x:1").set_record_serializer(
            KafkaRecordSerializationSchema.builder().set_topic("t").set_value_serialization_schema(SimpleStringSchema()).build()
        ).set_delivery_guarantee(DeliveryGuarantee.EXACTLY_ONCE).build()
    with pytest.raises(TypeError, match="row type"):
        JsonRowSerializationSchema.builder().with_type_info(Types.STRING()).build()
    with pytest.raises(ValueError, match="one character"):
        CsvRowSerializationSchema.Builder(PEOPLE).set_field_delimiter("::")
    env = StreamExecutionEnvironment.get_execution_environment()
    source = KafkaSource.builder().set_bootstrap_servers("x:1").set_value_only_deserializer(SimpleStringSchema()).build()
    with pytest.raises(Exception, match="set_topics"):
        env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka")
    json_people = JsonRowSerializationSchema.builder().with_type_info(PEOPLE).build()
    kafka_broker.create_topic("py-bad-rows")
    for bad, complaint in [(("ada", True), "field 'age': INT cannot hold bool"), (("ada", 2**40), "field 'age'"),
                           ((7, 1), "field 'name'"), (("ada",), "2 fields")]:
        with pytest.raises(Exception, match=complaint):
            write(kafka_broker, "py-bad-rows", [bad], json_people)
    nested = Types.ROW([Types.LIST(Types.INT())])
    with pytest.raises(Exception, match="not LIST"):
        write(kafka_broker, "never", [([1],)], JsonRowSerializationSchema.builder().with_type_info(nested).build(), nested)


def test_the_legacy_flink_kafka_producer_and_consumer_of_pyflink_1(kafka_broker):
    from pyflink_rs.datastream.connectors.kafka import FlinkKafkaConsumer, FlinkKafkaProducer, Semantic
    from pyflink_rs.datastream.functions import SourceFunction

    kafka_broker.create_topic("py-legacy")
    config = {"bootstrap.servers": kafka_broker.bootstrap, "batch.num.messages": "1"}
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    env.enable_checkpointing(100)
    producer = FlinkKafkaProducer("py-legacy", SimpleStringSchema(), config, semantic=Semantic.EXACTLY_ONCE)
    producer.set_write_timestamp_to_kafka(True).set_log_failures_only(False)
    env.from_collection(["a", "b", "c"], Types.STRING()).add_sink(producer)
    env.execute("legacy write")

    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    consumer = FlinkKafkaConsumer("py-legacy", SimpleStringSchema(), {**config, "group.id": "legacy"})
    assert consumer.get_produced_type() == Types.STRING()
    stream = env.add_source(consumer.set_start_from_earliest(), "legacy source")
    assert stream.get_name() == "legacy source"
    assert sorted(stream.execute_and_collect(limit=3)) == ["a", "b", "c"]
    # Group offsets by default: a new group starts where auto.offset.reset says.
    fresh = FlinkKafkaConsumer(["py-legacy"], SimpleStringSchema(), {**config, "group.id": "fresh",
                                                                      "auto.offset.reset": "earliest"})
    assert sorted(env.add_source(fresh).execute_and_collect(limit=3)) == ["a", "b", "c"]

    class Handwritten(SourceFunction):
        pass

    with pytest.raises(TypeError, match="add_source takes the connectors' sources"):
        env.add_source(Handwritten())


def test_a_source_reads_only_the_partitions_it_is_given(kafka_broker):
    from pyflink_rs.datastream.connectors.kafka import KafkaTopicPartition

    kafka_broker.create_topic("py-partitions", partitions=2)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    sink = (
        KafkaSink.builder().set_bootstrap_servers(kafka_broker.bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder().set_topic("py-partitions")
            .set_key_serialization_schema(SimpleStringSchema())
            .set_value_serialization_schema(SimpleStringSchema()).build()
        )
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .set_property("batch.num.messages", "1")
        .build()
    )
    env.from_collection([f"record {n}" for n in range(20)], Types.STRING()).sink_to(sink)
    env.execute("write two partitions")

    def read(*partitions):
        builder = (
            KafkaSource.builder().set_bootstrap_servers(kafka_broker.bootstrap).set_group_id("partitions")
            .set_starting_offsets(KafkaOffsetsInitializer.earliest()).set_bounded(KafkaOffsetsInitializer.latest())
            .set_value_only_deserializer(SimpleStringSchema())
        )
        source = builder.set_partitions({KafkaTopicPartition("py-partitions", p) for p in partitions}).build()
        env = StreamExecutionEnvironment.get_execution_environment()
        return sorted(env.from_source(source, WatermarkStrategy.no_watermarks(), "kafka").execute_and_collect())

    first, second = read(0), read(1)
    assert first and second, "the keys spread the records over both partitions"
    assert sorted(first + second) == sorted(read(0, 1)) == sorted(f"record {n}" for n in range(20))
    with pytest.raises(Exception, match="partition 7 of topic 'py-partitions' does not exist"):
        read(7)


class ByFirstLetter:
    """Not a KafkaTopicSelector: set_topic_selector takes any callable too."""

    def __call__(self, word):
        return "py-vowels" if word[0] in "aeiou" else "py-consonants"


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_topic_selector_sends_each_record_to_the_topic_it_picks(kafka_broker, mode):
    from pyflink_rs.common import Configuration
    from pyflink_rs.datastream.connectors.kafka import KafkaTopicSelector

    class ByLength(KafkaTopicSelector):
        def apply(self, word):
            return f"py-length-{len(word)}-{mode}"

    words = ["apple", "kiwi", "fig", "olive", "plum", "egg"]
    for name in ("py-vowels", "py-consonants") if mode == "thread" else ():
        kafka_broker.create_topic(name)
    for length in (3, 4, 5):
        kafka_broker.create_topic(f"py-length-{length}-{mode}")
    selectors = [ByLength()] + ([ByFirstLetter()] if mode == "thread" else [])
    for selector in selectors:
        env = StreamExecutionEnvironment.get_execution_environment(
            Configuration().set_string("python.execution-mode", mode))
        env.set_parallelism(1)
        schema = (KafkaRecordSerializationSchema.builder().set_topic_selector(selector)
                  .set_value_serialization_schema(SimpleStringSchema()).build())
        sink = (KafkaSink.builder().set_bootstrap_servers(kafka_broker.bootstrap).set_record_serializer(schema)
                .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE).set_property("batch.num.messages", "1")
                .build())
        env.from_collection(words, Types.STRING()).sink_to(sink)
        env.execute("selected topics")
    for length in (3, 4, 5):
        topic = f"py-length-{length}-{mode}"
        assert sorted(read(kafka_broker, topic, SimpleStringSchema())) == sorted(w for w in words if len(w) == length)
    if mode == "thread":
        assert sorted(read(kafka_broker, "py-vowels", SimpleStringSchema())) == ["apple", "egg", "olive"]
        assert sorted(read(kafka_broker, "py-consonants", SimpleStringSchema())) == ["fig", "kiwi", "plum"]


def test_a_topic_selector_that_returns_no_name_fails_the_job_and_a_topic_excludes_it(kafka_broker):
    builder = KafkaRecordSerializationSchema.builder().set_topic("t")
    with pytest.raises(ValueError, match="a topic is already set"):
        builder.set_topic_selector(lambda v: "x")
    with pytest.raises(TypeError, match="KafkaTopicSelector or a callable"):
        KafkaRecordSerializationSchema.builder().set_topic_selector("topic")
    schema = (KafkaRecordSerializationSchema.builder().set_topic_selector(lambda v: None)
              .set_value_serialization_schema(SimpleStringSchema()).build())
    sink = (KafkaSink.builder().set_bootstrap_servers(kafka_broker.bootstrap).set_record_serializer(schema).build())
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection(["a"], Types.STRING()).sink_to(sink)
    with pytest.raises(Exception, match="the Kafka topic selector returned None, not a topic name"):
        env.execute("no topic")


def test_row_field_extractor_schema_writes_a_bytes_field_as_key_and_value(kafka_broker):
    from pyflink_rs.common import Row
    from pyflink_rs.common.serialization import RowFieldExtractorSchema

    kafka_broker.create_topic("py-row-fields")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    schema = (KafkaRecordSerializationSchema.builder().set_topic("py-row-fields")
              .set_key_serialization_schema(RowFieldExtractorSchema(0))
              .set_value_serialization_schema(RowFieldExtractorSchema(1)).build())
    sink = (KafkaSink.builder().set_bootstrap_servers(kafka_broker.bootstrap).set_record_serializer(schema)
            .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE).set_property("batch.num.messages", "1").build())
    env.from_collection([Row(b"k1", b"first"), (b"k2", bytearray(b"second"))]).sink_to(sink)
    env.execute("row fields")
    assert sorted(read(kafka_broker, "py-row-fields", ByteArraySchema())) == [b"first", b"second"]

    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([Row("text", b"v")]).sink_to(sink)
    with pytest.raises(Exception, match="field 0 is str, not bytes"):
        env.execute("not bytes")
    with pytest.raises(ValueError, match="non-negative int"):
        RowFieldExtractorSchema(-1)
