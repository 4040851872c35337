"""The flagship job end to end: `examples/python/cdn_log_analysis.py`, run as a program of its
own, reads access logs that `examples/python/cdn_log_producer.py` wrote to a real broker
(tansu) and upserts its statistics into a real MariaDB or PostgreSQL; the table must end equal
to totals computed here from the same lines, by a simple model of Flink's CSV format with
`ignore-parse-errors` (a line of too many fields is skipped, a field that does not parse or is
missing is NULL), and the job's Prometheus reporter must count the skipped lines. Then the same
while the job's process is killed with SIGKILL at random points and restarted from its latest
checkpoint, as an operator would restart it."""

import csv
import os
import pathlib
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"
sys.path.insert(0, str(EXAMPLES))

from cdn.cdn_udf import province_of  # noqa: E402
from cdn_log_producer import access_logs, write  # noqa: E402

COLUMNS = 6


def _number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def expected_statistics(lines):
    """province -> (access_count, total_download, download_speed) over `lines`, and how many
    lines the CSV format skips."""
    totals, skipped = {}, 0
    for line in lines:
        fields = next(csv.reader([line]))
        if len(fields) > COLUMNS:
            skipped += 1
            continue
        fields += [None] * (COLUMNS - len(fields))
        uuid, ip, request_time, size = fields[0], fields[1], _number(fields[2]), _number(fields[3])
        count, download, time_ms = totals.get(province_of(ip), (0, None, None))
        count += uuid is not None
        if size is not None:
            download = (download or 0) + size
        if request_time is not None:
            time_ms = (time_ms or 0) + request_time
        totals[province_of(ip)] = (count, download, time_ms)
    statistics = {
        province: (count, download, None if download is None or not time_ms else download / time_ms)
        for province, (count, download, time_ms) in totals.items()
    }
    return statistics, skipped


def statistics_in(database):
    rows = database.rows("SELECT province, access_count, total_download, download_speed FROM cdn_access_statistic")
    return {
        province: (int(count), None if download is None else int(download), None if speed is None else float(speed))
        for province, count, download, speed in rows
    }


def same(actual, expected):
    if actual.keys() != expected.keys():
        return False
    for province, (count, download, speed) in expected.items():
        got = actual[province]
        if got[:2] != (count, download) or (got[2] is None) != (speed is None):
            return False
        if speed is not None and abs(got[2] - speed) > 1e-6 * max(1.0, abs(speed)):
            return False
    return True


class CdnJob:
    """The example job as a process, configured through FLINK_CONF_DIR as an operator would."""

    def __init__(self, tmp_path, topic, database):
        self.checkpoints = tmp_path / "checkpoints"
        self.conf_dir = tmp_path / "conf"
        self.conf_dir.mkdir()
        self.log = tmp_path / "job.log"
        self.env = dict(
            os.environ,
            FLINK_CONF_DIR=str(self.conf_dir),
            KAFKA_BOOTSTRAP_SERVERS="localhost:9092",
            CDN_TOPIC=topic,
            CDN_JDBC_URL=database.jdbc_url,
            CDN_JDBC_USER=database.user,
            CDN_JDBC_PASSWORD=database.password,
        )
        self.process = None

    def start(self, restore=None, metrics_port=None):
        config = [
            "execution:",
            "  checkpointing:",
            "    interval: 300 ms",
            f"    dir: file://{self.checkpoints}",
            "state.checkpoints.num-retained: 3",
        ]
        if metrics_port is not None:
            config += [
                "metrics.reporter.prom.factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
                f"metrics.reporter.prom.port: {metrics_port}",
            ]
        if restore is not None:
            config.append(f"execution.savepoint.path: {restore}")
        (self.conf_dir / "config.yaml").write_text("\n".join(config) + "\n")
        with open(self.log, "a") as log:
            self.process = subprocess.Popen([sys.executable, str(EXAMPLES / "cdn_log_analysis.py")],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.process.poll() is None

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def latest_checkpoint(self):
        """The newest complete checkpoint of any run, or None."""
        complete = list(self.checkpoints.glob("*/chk-*/_metadata"))
        return max(complete, key=lambda metadata: metadata.stat().st_mtime).parent if complete else None

    def wait_for(self, database, done, what, timeout=120):
        deadline = time.monotonic() + timeout
        while True:
            statistics = statistics_in(database)
            if done(statistics):
                return statistics
            assert self.alive(), f"the job ended while {what}:\n{self.log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"timed out while {what}; the table holds {statistics}"
            time.sleep(0.2)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scraped_sum(port, metric):
    """The sum over all samples of `metric` that the job's Prometheus reporter serves."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    samples = [line for line in text.splitlines() if line.startswith(metric + "{")]
    assert samples, f"no {metric} among the job's metrics:\n{text[:2000]}"
    return sum(float(line.rsplit(" ", 1)[1]) for line in samples)


def make_database(server):
    database = server.create_database("cdn")
    database.execute("CREATE TABLE cdn_access_statistic (province VARCHAR(32) PRIMARY KEY, access_count BIGINT, "
                     "total_download BIGINT, download_speed DOUBLE PRECISION)")
    return database


def test_the_cdn_job_counts_100k_access_logs_exactly(kafka_broker, database_server, tmp_path):
    topic = f"access_log_{database_server.kind}"
    kafka_broker.create_topic(topic, partitions=2)
    lines = list(access_logs(100_000, seed=7, malformed=0.01))
    expected, skipped = expected_statistics(lines)
    assert skipped > 100
    write(lines, kafka_broker.bootstrap, topic)
    database = make_database(database_server)
    job = CdnJob(tmp_path, topic, database)
    port = free_port()
    job.start(metrics_port=port)
    try:
        job.wait_for(database, lambda statistics: same(statistics, expected), "counting 100k access logs")
        # The skipped lines are counted, as Flink's formats count them, and reported.
        assert scraped_sum(port, "flink_taskmanager_job_task_operator_numRecordsSkipped") == skipped
    finally:
        job.kill()


@pytest.mark.parametrize("seed", [1])
def test_the_cdn_job_killed_twice_and_restarted_from_its_checkpoint_counts_exactly(
        kafka_broker, database_server, tmp_path, seed):
    rng = random.Random(seed)
    topic = f"access_log_killed_{database_server.kind}_{seed}"
    kafka_broker.create_topic(topic, partitions=2)
    count, malformed, rate = 100_000, 0.01, 25_000
    expected, _ = expected_statistics(access_logs(count, seed=seed, malformed=malformed))
    database = make_database(database_server)
    job = CdnJob(tmp_path, topic, database)
    # The logs arrive over about four seconds while the job reads them; it is killed twice at
    # random points of that time, each time restarted from its newest complete checkpoint.
    producer = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "cdn_log_producer.py"), "--bootstrap-servers", kafka_broker.bootstrap,
         "--topic", topic, "--count", str(count), "--seed", str(seed), "--malformed", str(malformed),
         "--rate", str(rate)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    job.start()
    restored = []
    try:
        for _ in range(2):
            time.sleep(rng.uniform(0.7, 1.6))
            assert producer.poll() is None, "the logs were all written before the job was killed"
            job.kill()
            restored.append(job.latest_checkpoint())
            job.start(restore=restored[-1])
        output, _ = producer.communicate(timeout=120)
        assert producer.returncode == 0, output
        job.wait_for(database, lambda statistics: same(statistics, expected), "counting after two kills")
    finally:
        job.kill()
        if producer.poll() is None:
            producer.kill()
    # The second restart, at least, resumed from a checkpoint rather than the topic's start.
    assert restored[1] is not None, restored
