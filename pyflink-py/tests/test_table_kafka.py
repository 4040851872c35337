"""The `kafka` table connector from Python against a real broker (tansu): the CDN job's Kafka
source table as PyFlink 1.10 declared it (legacy keys, CSV values, parse errors ignored as
Flink's CSV ignores them)."""

from pyflink_rs.common import SimpleStringSchema
from table_helpers import streaming
from test_kafka import write


def test_the_cdn_jobs_legacy_kafka_source_table_is_read_with_malformed_lines_skipped_or_nulled(kafka_broker):
    kafka_broker.create_topic("py-cdn-access-log")
    lines = [f"u{n},{n % 3}.0.0.1,{n % 5 + 1},{n * 10},/file,{n}" for n in range(60)]
    # Too many fields: skipped. A size that is no number: NULL.
    lines[7] = "u7,not,a,valid,line,at,all"
    lines[8] = "u8,1.0.0.1,3,80KB,/file,8"
    write(kafka_broker, "py-cdn-access-log", lines, SimpleStringSchema())
    t_env = streaming(1)
    t_env.execute_sql(f"""
        CREATE TABLE cdn_access_log (
         uuid VARCHAR,
         client_ip VARCHAR,
         request_time BIGINT,
         response_size BIGINT,
         uri VARCHAR,
         event_ts BIGINT
        ) WITH (
         'connector.type' = 'kafka',
         'connector.version' = 'universal',
         'connector.topic' = 'py-cdn-access-log',
         'connector.startup-mode' = 'earliest-offset',
         'connector.properties.zookeeper.connect' = 'localhost:2181',
         'connector.properties.bootstrap.servers' = '{kafka_broker.bootstrap}',
         'format.type' = 'csv',
         'format.ignore-parse-errors' = 'true'
        )""")
    with t_env.execute_sql("SELECT uuid, response_size FROM cdn_access_log").collect() as results:
        seen = [next(results) for _ in range(59)]
    expected = [(f"u{n}", None if n == 8 else n * 10) for n in range(60) if n != 7]
    assert sorted((row[0], row[1]) for row in seen) == sorted(expected, key=lambda pair: (pair[0], pair[1] or 0))
