"""Async Python scalar functions (in thread and process mode): `async def` functions and
`AsyncScalarFunction` classes run the calls of a batch concurrently, at most
`table.exec.async-scalar.max-concurrent-operations` at a time, give their results in row
order, and time out or retry as the `table.exec.async-scalar.*` options say."""

import asyncio
import os

import pytest

from pyflink_rs.table import DataTypes
from pyflink_rs.table.expressions import col
from pyflink_rs.table.udf import AsyncScalarFunction, udf
from table_helpers import MODES, rows, streaming


class InFlight(AsyncScalarFunction):
    """Gives its argument and how many calls were running when it started."""

    def open(self, function_context):
        self.running = 0

    async def eval(self, n):
        self.running += 1
        seen = self.running
        await asyncio.sleep(0.02)
        self.running -= 1
        return f"{n}:{seen}"


def in_flight(t_env, count):
    t_env.create_temporary_function("in_flight", udf(InFlight(), result_type=DataTypes.STRING()))
    table = t_env.from_elements([(n,) for n in range(count)], ["n"])
    results = [value for (value,) in rows(t_env.sql_query(f"SELECT in_flight(n) FROM {table}"))]
    pairs = sorted(tuple(map(int, value.split(":"))) for value in results)
    return [n for n, _ in pairs], max(seen for _, seen in pairs)


@pytest.mark.parametrize("mode", MODES)
def test_the_calls_of_a_batch_run_concurrently_up_to_the_capacity(mode):
    numbers, most = in_flight(streaming(1, mode=mode), 30)
    assert numbers == list(range(30))
    assert 2 <= most <= 10
    capacity = {"table.exec.async-scalar.max-concurrent-operations": "3"}
    numbers, most = in_flight(streaming(1, mode=mode, **capacity), 30)
    assert numbers == list(range(30))
    assert most == 3


@udf(result_type=DataTypes.BIGINT())
async def slow_square(n):
    # Later rows finish first: the results must still be in row order.
    await asyncio.sleep(0.001 * (20 - n))
    return n * n


def test_results_keep_the_order_of_their_rows():
    t_env = streaming(1)
    table = t_env.from_elements([(n,) for n in range(20)], ["n"])
    with table.select(col("n"), slow_square(col("n"))).execute().collect() as results:
        assert [tuple(row) for row in results] == [(n, n * n) for n in range(20)]


@udf(result_type=DataTypes.BIGINT())
async def sleepy(n):
    await asyncio.sleep(5)
    return n


def test_a_call_that_takes_too_long_fails_the_job():
    t_env = streaming(1, **{"table.exec.async-scalar.timeout": "100 ms",
                            "table.exec.async-scalar.retry-strategy": "NO_RETRY"})
    table = t_env.from_elements([(1,)], ["n"])
    with pytest.raises(Exception, match=r"did not finish within 0.1 s \(table.exec.async-scalar.timeout\)"):
        rows(table.select(sleepy(col("n"))))


class FlakyOnce(AsyncScalarFunction):
    """Fails the first call for each argument, then answers."""

    def open(self, function_context):
        self.failed = set()

    async def eval(self, n):
        if n not in self.failed:
            self.failed.add(n)
            raise ConnectionError(f"lost the connection for {n}")
        return n + 1


def test_failed_calls_are_retried_as_the_retry_strategy_says():
    t_env = streaming(1, **{"table.exec.async-scalar.retry-delay": "1 ms"})
    t_env.create_temporary_function("flaky", udf(FlakyOnce(), result_type=DataTypes.BIGINT()))
    table = t_env.from_elements([(1,), (2,)], ["n"])
    assert rows(t_env.sql_query(f"SELECT flaky(n) FROM {table}")) == [(2,), (3,)]
    t_env = streaming(1, **{"table.exec.async-scalar.retry-strategy": "NO_RETRY"})
    t_env.create_temporary_function("flaky", udf(FlakyOnce(), result_type=DataTypes.BIGINT()))
    table = t_env.from_elements([(1,)], ["n"])
    with pytest.raises(Exception, match="lost the connection for 1"):
        rows(t_env.sql_query(f"SELECT flaky(n) FROM {table}"))


class FailsOnceAt(AsyncScalarFunction):
    """Doubles its argument after a short sleep, noting each call in `calls`; the first call
    for `at` fails (once per test, whichever process makes it: `marker` remembers)."""

    def __init__(self, calls, marker, at):
        self.calls, self.marker, self.at = calls, marker, at

    async def eval(self, n):
        await asyncio.sleep(0.002)
        with open(self.calls, "a") as calls:
            calls.write(f"{n}\n")
        if n == self.at and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            raise RuntimeError(f"the service went away at {n}")
        return n * 2


@pytest.mark.parametrize("mode", MODES)
def test_a_job_restored_from_a_checkpoint_while_calls_are_in_flight_writes_each_row_once(mode, tmp_path):
    count, fail_at = 3000, 2000
    t_env = streaming(1, mode=mode, **{
        "execution.checkpointing.interval": "100 ms",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "1",
        "restart-strategy.fixed-delay.delay": "0 ms",
        "table.exec.async-scalar.retry-strategy": "NO_RETRY",
        "table.exec.async-scalar.max-concurrent-operations": "100"})
    calls, marker, out = tmp_path / "calls", tmp_path / "failed", tmp_path / "out"
    t_env.create_temporary_function(
        "doubled", udf(FailsOnceAt(str(calls), str(marker), fail_at), result_type=DataTypes.BIGINT()))
    t_env.execute_sql(f"""
        CREATE TABLE numbers (n BIGINT) WITH (
          'connector' = 'datagen', 'rows-per-second' = '2000',
          'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '{count}')""")
    t_env.execute_sql(f"""
        CREATE TABLE doubled_numbers (n BIGINT, twice BIGINT) WITH (
          'connector' = 'filesystem', 'path' = '{out}', 'format' = 'csv')""")
    t_env.execute_sql("INSERT INTO doubled_numbers SELECT n, doubled(n) FROM numbers").wait()
    assert marker.exists(), "the job did not fail"
    written = sorted(tuple(row) for row in t_env.from_path("doubled_numbers").execute().collect())
    assert written == [(n, n * 2) for n in range(1, count + 1)]
    called = [int(line) for line in calls.read_text().split()]
    assert set(called) == set(range(1, count + 1))
    # The restart went back to a checkpoint taken after the job began, not to its start.
    assert len(called) < count + fail_at, len(called)
