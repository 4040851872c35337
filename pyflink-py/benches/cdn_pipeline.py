"""Throughput of the CDN job's shape, in records/s: CSV access logs on a Kafka topic -> a
Python function (an address's region, by binary search in a table of 1,000 ranges) -> GROUP BY
region (count, sums, speed) -> JDBC upsert into MariaDB, at parallelism 1 and 2.

It starts its own tansu broker (`TANSU_BIN`, or where `.ci/run` installs it) and MariaDB
(Debian's `mariadb-server`, as the tests do), writes the records to the topic first, then for
each parallelism times the job from its start until the database table holds every record's
count (the JDBC sink flushing every 100 ms), and checks the totals. Run against a wheel built in
the release profile (`pip install ./pyflink-py`):

    python pyflink-py/benches/cdn_pipeline.py [records]    # 1,000,000 unless given

PyFlink cannot run this job here: its Kafka and JDBC connectors are Java archives from Maven
Central, which this machine cannot reach, so there is no PyFlink figure beside ours.
"""

import argparse
import bisect
import os
import pathlib
import random
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parents[1] / "examples" / "python"))

from databases import Server, free_port  # noqa: E402
from cdn_log_producer import write  # noqa: E402

from pyflink_rs.table import DataTypes, EnvironmentSettings, TableEnvironment  # noqa: E402
from pyflink_rs.table.udf import udf  # noqa: E402

REGIONS = 1_000
# The first address of each region's range: the IPv4 space in 1,000 equal ranges.
STARTS = [region * (2**32 // REGIONS) for region in range(REGIONS)]


def region_of(ip):
    a, b, c, d = (int(part) for part in ip.split("."))
    return f"region-{bisect.bisect_right(STARTS, (a << 24) | (b << 16) | (c << 8) | d) - 1:03}"


ip_to_region = udf(region_of, result_type=DataTypes.STRING())


def access_logs(count, seed=0):
    rng = random.Random(seed)
    for n in range(count):
        address = rng.getrandbits(32)
        ip = f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"
        yield f"{n:012x},{ip},{rng.randint(1, 5000)},{rng.randint(100, 5_000_000)},/v/{n % 7}.mp4,{n}"


class Tansu:
    def __init__(self):
        binary = os.environ.get("TANSU_BIN", str(pathlib.Path.home() / ".cache" / "pyflink-tansu" / "tansu"))
        self.port = free_port()
        self.bootstrap = f"localhost:{self.port}"
        url = f"tcp://127.0.0.1:{self.port}"
        self.binary = binary
        self.process = subprocess.Popen([binary, "broker", "--listener-url", url, "--advertised-listener-url", url],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"tansu did not listen on {self.port}")
                time.sleep(0.05)

    def create_topic(self, name, partitions):
        subprocess.run([self.binary, "topic", "create", name, "--partitions", str(partitions), "--broker",
                        f"tcp://127.0.0.1:{self.port}"], check=True, capture_output=True)

    def stop(self):
        self.process.kill()
        self.process.wait()


def run(parallelism, records, regions, broker, topic, database):
    database.execute("DELETE FROM statistics")
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", str(parallelism))
    t_env.execute_sql(f"""
        CREATE TABLE access_log (uuid STRING, client_ip STRING, request_time BIGINT, response_size BIGINT,
          uri STRING, event_ts BIGINT)
        WITH ('connector' = 'kafka', 'topic' = '{topic}', 'properties.bootstrap.servers' = '{broker.bootstrap}',
          'scan.startup.mode' = 'earliest-offset', 'format' = 'csv')""")
    t_env.execute_sql(f"""
        CREATE TABLE statistics (region STRING, access_count BIGINT, total_download BIGINT,
          download_speed DOUBLE, PRIMARY KEY (region) NOT ENFORCED)
        WITH ('connector' = 'jdbc', 'url' = '{database.jdbc_url}', 'table-name' = 'statistics',
          'username' = '{database.user}', 'password' = '{database.password}',
          'sink.buffer-flush.interval' = '100ms')""")
    t_env.create_temporary_system_function("ip_to_region", ip_to_region)
    started = time.perf_counter()
    result = t_env.execute_sql("""
        INSERT INTO statistics
        SELECT region, COUNT(uuid), SUM(response_size), SUM(response_size) * 1.0 / SUM(request_time)
        FROM (SELECT uuid, ip_to_region(client_ip) AS region, response_size, request_time FROM access_log)
        GROUP BY region""")
    last, progressed = None, time.monotonic()
    while True:
        counted = database.rows("SELECT COALESCE(SUM(access_count), 0) FROM statistics")[0][0]
        if int(counted) >= records:
            break
        if counted != last:
            last, progressed = counted, time.monotonic()
        elif time.monotonic() - progressed > 60:
            result.get_job_client().cancel().result()
            raise RuntimeError(f"the job counted {counted} of {records} records and made no progress for 60 s")
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    result.get_job_client().cancel().result()
    found = int(database.rows("SELECT COUNT(*) FROM statistics")[0][0])
    assert int(counted) == records and found == regions, (counted, found, regions)
    return records / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=1_000_000)
    args = parser.parse_args()
    broker = Tansu()
    server = Server("mariadb")
    try:
        topic = "access_log"
        broker.create_topic(topic, 2)
        lines = list(access_logs(args.records))
        regions = len({region_of(line.split(",")[1]) for line in lines})
        write(lines, broker.bootstrap, topic)
        database = server.create_database("bench")
        database.execute("CREATE TABLE statistics (region VARCHAR(16) PRIMARY KEY, access_count BIGINT, "
                         "total_download BIGINT, download_speed DOUBLE)")
        print(f"Kafka CSV -> Python UDF -> GROUP BY ({REGIONS} keys) -> JDBC upsert (MariaDB), "
              f"{args.records:,} records")
        for parallelism in (1, 2):
            rate = run(parallelism, args.records, regions, broker, topic, database)
            print(f"  parallelism {parallelism}: {rate:,.0f} records/s")
    finally:
        server.stop()
        broker.stop()


if __name__ == "__main__":
    main()
