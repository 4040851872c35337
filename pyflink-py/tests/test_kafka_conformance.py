"""PyFlink's Kafka examples (kafka_json_format, kafka_csv_format, kafka_avro_format,
kafka_bytearray_format) run
on pyflink-rs with only their imports changed, against a real Kafka-protocol broker (tansu) on
localhost:9092, where the examples look for one.

Each example writes records to a topic, then reads the topic forever and prints what it reads:
the test waits for every expected line, lets a moment pass for any extra line to show, and
stops the example. The expected lines follow from the examples' data and from how PyFlink
prints rows (`+I[1, hi]`) and strings; PyFlink's own Kafka connector cannot run here (its jar
is not downloadable), so they are not recorded output.
"""

import json
import queue
import subprocess
import sys
import threading
import time

import pytest

from test_conformance import example_script, pyflink_wheel, result_lines  # noqa: F401 (a fixture)

ROWS = ["+I[1, hi]", "+I[2, hello]", "+I[3, hi]", "+I[4, hello]", "+I[5, hi]", "+I[6, hello]", "+I[6, hello]"]
COUNTRIES = [json.dumps({"id": i, "country": c}) for i, c in [(1, "USA"), (2, "Canada"), (3, "Germany")]]

EXAMPLES = {
    "kafka_json_format": ("test_json_topic", ROWS),
    "kafka_csv_format": ("test_csv_topic", ROWS),
    "kafka_avro_format": ("test_avro_topic", ROWS),
    "kafka_bytearray_format": ("test_bytearray_topic", COUNTRIES),
}


def run_until(script, expected, timeout=120):
    """The lines `script` prints until it has printed `expected` (and a moment more)."""
    process = subprocess.Popen(
        [sys.executable, "-u", str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.rstrip("\n")) for line in process.stdout], daemon=True).start()
    seen = []
    deadline = time.monotonic() + timeout
    try:
        while sorted(result_lines("\n".join(seen))) != sorted(expected):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or process.poll() is not None and lines.empty():
                break
            try:
                seen.append(lines.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                pass
        grace = time.monotonic() + 1.0
        while time.monotonic() < grace:
            try:
                seen.append(lines.get(timeout=0.1))
            except queue.Empty:
                pass
    finally:
        process.kill()
        stderr = process.communicate()[1]
    return seen, stderr


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_pyflink_kafka_example_prints_what_it_wrote(example, kafka_broker, pyflink_wheel, tmp_path):
    topic, records = EXAMPLES[example]
    kafka_broker.create_topic(topic, partitions=1)
    script = example_script(f"connectors/{example}", pyflink_wheel, tmp_path)
    expected = ["start writing data to kafka", "start reading data from kafka", *records]
    seen, stderr = run_until(script, expected)
    if result_lines("\n".join(seen)) != sorted(expected):
        # Whether the topic lacks a record or the example's reader skipped one.
        stderr += f"\nthe topic holds: {topic_values(kafka_broker, topic, tmp_path)}"
    assert result_lines("\n".join(seen)) == sorted(expected), stderr[-3000:]


def topic_values(broker, topic, tmp_path):
    """The values in `topic`, as a separate unbounded job prints them within 15 seconds (a
    bounded read would stop early: tansu 0.6 tells a wrong end offset after batches of several
    records)."""
    script = tmp_path / "read_topic.py"
    script.write_text(
        "from pyflink_rs.common import SimpleStringSchema, WatermarkStrategy\n"
        "from pyflink_rs.datastream import StreamExecutionEnvironment\n"
        "from pyflink_rs.datastream.connectors.kafka import KafkaOffsetsInitializer, KafkaSource\n"
        "env = StreamExecutionEnvironment.get_execution_environment()\n"
        f"source = KafkaSource.builder().set_bootstrap_servers({broker.bootstrap!r}).set_topics({topic!r})"
        ".set_starting_offsets(KafkaOffsetsInitializer.earliest())"
        ".set_value_only_deserializer(SimpleStringSchema()).build()\n"
        "env.from_source(source, WatermarkStrategy.no_watermarks(), 'topic').map(repr).print()\n"
        "env.execute()\n"
    )
    seen, _ = run_until(script, [None], timeout=15)
    return seen
