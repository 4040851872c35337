"""Controlling running jobs from Python: Ctrl-C cancels ``execute()``, ``execute_async()``
returns a client that cancels, results of an endless job stream through
``execute_and_collect()``, and no job thread outlives the call that ran the job."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from pyflink_rs.common import Configuration, JobStatus, WatermarkStrategy
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import DiscardingSink, NumberSequenceSource

ENDLESS = 10**15


def thread_names():
    """The names of this process's threads, from /proc (Rust threads are invisible to
    ``threading``)."""
    names = []
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/comm") as comm:
                names.append(comm.read().strip())
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended while we looked (before the open, or between open and read)
    return names


def job_threads():
    """The threads of running jobs: the job thread (`job: <name>`), timely's workers and the
    checkpoint coordinator."""
    return [name for name in thread_names() if name.startswith(("job: ", "timely", "checkpoint"))]


def endless_job(mode="thread", checkpoints=False):
    config = Configuration()
    config.set_string("python.execution-mode", mode)
    if checkpoints:
        config.set_string("execution.checkpointing.interval", "200 ms")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    (
        env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "Sequence")
        .map(lambda x: x * 2)
        .key_by(lambda x: x % 5)
        .map(lambda x: x + 1)
        .sink_to(DiscardingSink())
    )
    return env


@pytest.mark.parametrize("mode, checkpoints", [("thread", False), ("thread", True), ("process", False)])
def test_sigint_cancels_a_running_execute_within_two_seconds(mode, checkpoints):
    assert job_threads() == [], "a job of an earlier test is still running"
    env = endless_job(mode, checkpoints)
    sent = {}

    def interrupt():
        time.sleep(1.5)
        sent["at"] = time.monotonic()
        os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=interrupt)
    sender.start()
    with pytest.raises(KeyboardInterrupt):
        env.execute("endless")
    ended = time.monotonic()
    sender.join()
    assert ended - sent["at"] < 2.0, f"the job ended {ended - sent['at']:.2f} s after SIGINT"
    assert job_threads() == [], "job threads outlived execute()"


def test_execute_async_returns_a_client_that_cancels_the_job():
    env = endless_job()
    client = env.execute_async("endless")
    assert len(client.get_job_id().to_hex_string()) == 32
    assert client.get_job_status().result() == JobStatus.RUNNING
    time.sleep(0.5)
    assert client.get_metrics(), "metrics of the running job"
    assert job_threads(), "the job's threads can be seen while it runs"
    client.cancel().result()
    assert client.get_job_status().result() == JobStatus.CANCELED
    with pytest.raises(Exception, match="cancelled"):
        client.get_job_execution_result().result()
    assert job_threads() == []


def test_execute_async_result_of_a_bounded_job():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.from_collection([1, 2, 3]).map(lambda x: x + 1).sink_to(DiscardingSink())
    client = env.execute_async("bounded")
    result = client.get_job_execution_result().result()
    assert result.get_job_name() == "bounded"
    assert client.get_job_status().result() == JobStatus.FINISHED
    assert client.get_job_status().result().is_globally_terminal_state()


def test_collecting_an_endless_job_streams_its_records():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    numbers = env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "Sequence")
    started = time.monotonic()
    with numbers.map(lambda x: x * 10).execute_and_collect() as records:
        first = [next(records) for _ in range(5000)]
    assert time.monotonic() - started < 30
    assert first == [x * 10 for x in range(1, 5001)]
    assert job_threads() == [], "closing the iterator ended the job"


def test_a_limit_ends_the_job_before_execute_and_collect_returns():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    numbers = env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "Sequence")
    records = numbers.map(lambda x: -x).execute_and_collect(limit=100)
    assert len(records) == 100 and all(x < 0 for x in records)
    assert job_threads() == []


def fail_on_seven(x):
    if x == 7:
        raise ValueError("seven is not allowed")
    return x


def test_a_failing_job_raises_from_the_collecting_iterator_after_its_records():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    records = env.from_collection(list(range(1, 10))).map(fail_on_seven).execute_and_collect()
    seen = []
    with pytest.raises(Exception, match="seven is not allowed"):
        for record in records:
            seen.append(record)
    assert seen == list(range(1, len(seen) + 1)) and len(seen) <= 6, seen
    assert job_threads() == []


FAILED_ONCE = {"failed": False}


def fail_once(x):
    if x == 3 and not FAILED_ONCE["failed"]:
        FAILED_ONCE["failed"] = True
        raise RuntimeError("a transient failure")
    return x


def test_the_engines_warnings_reach_python_logging(caplog):
    config = Configuration()
    config.set_string("execution.checkpointing.interval", "100 ms")
    config.set_string("restart-strategy.type", "fixed-delay")
    config.set_string("restart-strategy.fixed-delay.attempts", "1")
    config.set_string("restart-strategy.fixed-delay.delay", "0 ms")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.from_collection([1, 2, 3, 4, 5]).map(fail_once).sink_to(DiscardingSink())
    with caplog.at_level(logging.INFO, logger="pyflink_rs"):
        env.execute("flaky")
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == "pyflink_rs.pyflink_core.runtime.job" and record.levelno == logging.WARNING
    ]
    assert any("restarting" in text and "a transient failure" in text for text in warnings), caplog.records


def test_dropping_a_collecting_iterator_cancels_its_job():
    env = StreamExecutionEnvironment.get_execution_environment()
    numbers = env.from_source(NumberSequenceSource(1, ENDLESS), WatermarkStrategy.no_watermarks(), "Sequence")
    records = numbers.execute_and_collect()
    assert next(records) >= 1
    del records  # the finalizer cancels without waiting (it may run on any thread)
    deadline = time.monotonic() + 10
    while job_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job_threads() == [], "the job of a dropped iterator still runs"


AN_ITERATOR_LEFT_OPEN = """
from pyflink_rs.common import WatermarkStrategy
from pyflink_rs.datastream import MapFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.connectors import NumberSequenceSource

class PlusOne(MapFunction):
    def map(self, value):
        return value + 1

    def close(self):
        print("closed", flush=True)

env = StreamExecutionEnvironment.get_execution_environment()
env.set_parallelism(1)
numbers = env.from_source(NumberSequenceSource(1, 2**62), WatermarkStrategy.no_watermarks(), "Sequence")
records = numbers.map(PlusOne()).execute_and_collect()
print("first", next(records) >= 2, flush=True)
# The interpreter exits with the iterator open and its job (running a Python function) alive:
# the job is cancelled and ends, closing its functions, before the interpreter goes.
"""


def test_an_iterator_left_open_at_exit_has_its_job_cancelled_and_joined():
    started = time.monotonic()
    finished = subprocess.run(
        [sys.executable, "-c", AN_ITERATOR_LEFT_OPEN], capture_output=True, text=True, timeout=60
    )
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.splitlines() == ["first True", "closed"], finished.stdout
    assert time.monotonic() - started < 30
