"""Writes random CDN access logs to a Kafka topic as CSV lines, for `cdn_log_analysis.py`:
`uuid,client_ip,request_time,response_size,uri,event_ts`, with request times in milliseconds
and response sizes in bytes. Most client addresses fall in the ranges of `cdn/ip_ranges.csv`.
With `--malformed`, that share of the lines is broken as real logs break: cut short, with a
field that is not a number, or with fields too many (which the job's CSV format skips).

    python examples/python/cdn_log_producer.py --count 100000 --malformed 0.01

The same `--seed` writes the same lines. `--rate` paces them (lines per second), as a CDN
would send them, for a job to read while they arrive.
"""

import argparse
import ipaddress
import random
import time
import uuid

from pyflink_rs.common import SimpleStringSchema, Types
from pyflink_rs.datastream import MapFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import DeliveryGuarantee
from pyflink_rs.datastream.connectors.kafka import KafkaRecordSerializationSchema, KafkaSink

from cdn.cdn_udf import load_ranges

URIS = ["/videos/launch.mp4", "/images/banner.png", "/scripts/app.js", "/styles/site.css", "/index.html",
        "/downloads/installer.dmg", "/videos/trailer.webm", "/fonts/regular.woff2"]
START_MS = 1_593_561_600_000  # 2020-07-01T00:00:00Z


def access_logs(count, seed=0, malformed=0.0):
    """`count` access-log lines, made from `seed`; `malformed` of them (a share) broken."""
    rng = random.Random(seed)
    starts, ends, _ = load_ranges()
    for n in range(count):
        if rng.random() < 0.9:
            pick = rng.randrange(len(starts))
            address = rng.randint(starts[pick], ends[pick])
        else:
            address = rng.getrandbits(32)
        fields = [
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            str(ipaddress.IPv4Address(address)),
            str(rng.randint(1, 5_000)),
            str(rng.randint(100, 50_000_000)),
            rng.choice(URIS),
            str(START_MS + n * 10 + rng.randint(0, 9)),
        ]
        if rng.random() < malformed:
            kind = rng.randrange(3)
            if kind == 0:
                fields = fields[:rng.randint(1, 5)]
            elif kind == 1:
                fields[rng.choice([2, 3, 5])] = rng.choice(["n/a", "12ms", "-", "1.5e3x"])
            else:
                fields.append(rng.choice(["curl/8.5.0", "Mozilla/5.0", ""]))
        yield ",".join(fields)


class Paced(MapFunction):
    """Passes lines on at `rate` a second at most."""

    def __init__(self, rate):
        self.rate = rate

    def open(self, runtime_context):
        self.started, self.passed = time.monotonic(), 0

    def map(self, line):
        self.passed += 1
        if self.passed % 100 == 0:
            ahead = self.passed / self.rate - (time.monotonic() - self.started)
            if ahead > 0:
                time.sleep(ahead)
        return line


def write(lines, bootstrap_servers, topic, rate=None):
    """Writes `lines` to `topic`, in their order, each acknowledged by the broker; `rate` lines
    a second at most when given."""
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    sink = (
        KafkaSink.builder()
        .set_bootstrap_servers(bootstrap_servers)
        .set_record_serializer(
            KafkaRecordSerializationSchema.builder().set_topic(topic)
            .set_value_serialization_schema(SimpleStringSchema()).build())
        .set_delivery_guarantee(DeliveryGuarantee.AT_LEAST_ONCE)
        .build()
    )
    stream = env.from_collection(list(lines))
    if rate:
        stream = stream.map(Paced(rate), output_type=Types.STRING())
    stream.sink_to(sink)
    env.execute(f"write access logs to {topic}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", default="localhost:9092")
    parser.add_argument("--topic", default="access_log")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--malformed", type=float, default=0.0, help="the share of broken lines, 0 to 1")
    parser.add_argument("--rate", type=float, default=0, help="lines a second (as fast as it can when 0)")
    args = parser.parse_args(argv)
    write(access_logs(args.count, args.seed, args.malformed), args.bootstrap_servers, args.topic, args.rate)
    print(f"wrote {args.count} access logs to {args.topic}")


if __name__ == "__main__":
    main()
