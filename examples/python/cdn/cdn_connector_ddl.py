"""The job's two tables, declared with Flink 1.10's connector keys as the original job declared
them: the access log, CSV lines on a Kafka topic, and the statistics, a MySQL table the job
upserts by province. The addresses come from the environment when set (KAFKA_BOOTSTRAP_SERVERS,
CDN_TOPIC, CDN_JDBC_URL, CDN_JDBC_USER, CDN_JDBC_PASSWORD), else are those of a local setup."""

import os

BOOTSTRAP_SERVERS = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
TOPIC = os.environ.get("CDN_TOPIC", "access_log")
JDBC_URL = os.environ.get("CDN_JDBC_URL", "jdbc:mysql://localhost:3306/flink")
JDBC_USER = os.environ.get("CDN_JDBC_USER", "root")
JDBC_PASSWORD = os.environ.get("CDN_JDBC_PASSWORD", "root")

# Read from the topic's first record (the original read from the consumer group's offsets,
# which starts at the end of the topic the first time), so what the producer wrote before the
# job started is counted too.
kafka_source_ddl = f"""
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
 'connector.topic' = '{TOPIC}',
 'connector.startup-mode' = 'earliest-offset',
 'connector.properties.zookeeper.connect' = 'localhost:2181',
 'connector.properties.bootstrap.servers' = '{BOOTSTRAP_SERVERS}',
 'connector.properties.group.id' = 'cdn_log_analysis',
 'format.type' = 'csv',
 'format.ignore-parse-errors' = 'true'
)
"""

mysql_sink_ddl = f"""
CREATE TABLE cdn_access_statistic (
 province VARCHAR,
 access_count BIGINT,
 total_download BIGINT,
 download_speed DOUBLE
) WITH (
 'connector.type' = 'jdbc',
 'connector.url' = '{JDBC_URL}',
 'connector.table' = 'cdn_access_statistic',
 'connector.username' = '{JDBC_USER}',
 'connector.password' = '{JDBC_PASSWORD}',
 'connector.write.flush.interval' = '1s'
)
"""
