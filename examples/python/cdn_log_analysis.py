"""PyFlink's CDN log analysis job, as its 1.10 write-up has it, on pyflink-rs: CDN access logs
arrive as CSV lines on a Kafka topic; a Python function maps each client's address to its
province; a GROUP BY counts the accesses, sums the bytes downloaded and computes the download
speed per province; the statistics are upserted into a MySQL (or PostgreSQL) table by province.

    python examples/python/cdn_log_producer.py --count 100000   # access logs to the topic
    python examples/python/cdn_log_analysis.py                  # runs until stopped

It needs a Kafka broker on localhost:9092 and a MySQL database `flink` with this table (the
addresses and credentials can be changed through the variables that `cdn/cdn_connector_ddl.py`
reads):

    CREATE TABLE cdn_access_statistic (province VARCHAR(32) PRIMARY KEY,
        access_count BIGINT, total_download BIGINT, download_speed DOUBLE);

Checkpointing, and a checkpoint to restart from, are set outside the program, in
`$FLINK_CONF_DIR/config.yaml`, for example:

    execution.checkpointing.interval: 10 s
    execution.checkpointing.dir: file:///tmp/cdn-checkpoints
    execution.savepoint.path: /tmp/cdn-checkpoints/chk-42   # to restart from it

The program is PyFlink 1.10's, with `pyflink` changed to `pyflink_rs` in its imports (and the
web service of the address lookup replaced by a table); it runs as written, with deprecation
warnings for the calls and keys PyFlink 2 no longer has.
"""

import os

from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.table import StreamTableEnvironment, EnvironmentSettings

from cdn.cdn_udf import ip_to_province
from cdn.cdn_connector_ddl import kafka_source_ddl, mysql_sink_ddl

# The table environment, with the planner chosen as Flink 1.10 chose it.
env = StreamExecutionEnvironment.get_execution_environment()
t_env = StreamTableEnvironment.create(
    env,
    environment_settings=EnvironmentSettings.new_instance().use_blink_planner().build())

# The Kafka source table and the MySQL result table.
t_env.sql_update(kafka_source_ddl)
t_env.sql_update(mysql_sink_ddl)

# The function from a client's address to its province.
t_env.register_function("ip_to_province", ip_to_province)

# The Python files the function needs, for process mode's workers.
here = os.path.dirname(os.path.abspath(__file__))
t_env.add_python_file(os.path.join(here, "cdn"))

# The statistics per province.
t_env.from_path("cdn_access_log")\
    .select("uuid, "
            "ip_to_province(client_ip) as province, "
            "response_size, request_time")\
    .group_by("province")\
    .select(
            "province, "
            "count(uuid) as access_count, "
            "sum(response_size) as total_download,  "
            "sum(response_size) * 1.0 / sum(request_time) as download_speed") \
    .insert_into("cdn_access_statistic")

# Runs the job.
t_env.execute("pyFlink_parse_cdn_log")
