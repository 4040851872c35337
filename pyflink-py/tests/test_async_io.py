"""Async I/O from Python (`AsyncDataStream`), in thread and process mode: calls run
concurrently up to the capacity, ordered waits keep the records' order, timeouts and retries
behave as PyFlink documents them."""

import asyncio
import functools

import pytest

from pyflink_rs.common import Configuration, Time
from pyflink_rs.datastream import AsyncDataStream, AsyncFunction, StreamExecutionEnvironment
from pyflink_rs.datastream.async_retry_predicates import empty_result_predicate, exception_type_predicate
from pyflink_rs.datastream.async_retry_strategies import ExponentialBackoffDelayRetryStrategy, FixedDelayRetryStrategy


def environment(mode):
    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    return env


class SlowLookup(AsyncFunction):
    """Answers (value, calls in flight when it started), later for smaller values."""

    def open(self, runtime_context):
        self.in_flight = 0

    async def async_invoke(self, value):
        self.in_flight += 1
        seen = self.in_flight
        await asyncio.sleep(0.002 * (20 - value % 20))
        self.in_flight -= 1
        return [(value, seen)]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_calls_run_concurrently_up_to_the_capacity_and_ordered_waits_keep_the_order(mode):
    env = environment(mode)
    numbers = env.from_collection(list(range(60)))
    ordered = list(AsyncDataStream.ordered_wait(numbers, SlowLookup(), Time.seconds(10), capacity=8).execute_and_collect())
    assert [value for value, _ in ordered] == list(range(60))
    in_flight = [seen for _, seen in ordered]
    assert 1 < max(in_flight) <= 8, in_flight
    unordered = list(AsyncDataStream.unordered_wait(env.from_collection(list(range(60))), SlowLookup(),
                                                    Time.seconds(10), capacity=8).execute_and_collect())
    assert sorted(value for value, _ in unordered) == list(range(60))
    assert [value for value, _ in unordered] != list(range(60)), "later calls of smaller values finish first"


class Sleepy(AsyncFunction):
    async def async_invoke(self, value):
        await asyncio.sleep(5 if value == 2 else 0)
        return [value]


class SleepyWithFallback(Sleepy):
    def timeout(self, value):
        return [f"timed out: {value}"]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_call_past_the_timeout_gives_the_timeout_results_or_fails_the_job(mode):
    env = environment(mode)
    results = AsyncDataStream.ordered_wait(env.from_collection([1, 2, 3]), SleepyWithFallback(), 200)
    assert list(results.execute_and_collect()) == [1, "timed out: 2", 3]
    failing = AsyncDataStream.unordered_wait(env.from_collection([1, 2, 3]), Sleepy(), Time.milliseconds(200))
    with pytest.raises(Exception, match="Async function call has timed out for input: 2"):
        list(failing.execute_and_collect())


class Flaky(AsyncFunction):
    """Answers nothing on the first two attempts for a record, then answers; raises
    ConnectionError on the first attempt of 10."""

    def open(self, runtime_context):
        self.attempts = {}

    async def async_invoke(self, value):
        self.attempts[value] = self.attempts.get(value, 0) + 1
        if value == 10 and self.attempts[value] == 1:
            raise ConnectionError("try again")
        if value != 10 and self.attempts[value] < 3:
            return []
        return [(value, self.attempts[value])]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_retry_strategies_retry_on_empty_results_and_chosen_exceptions(mode):
    env = environment(mode)
    strategy = FixedDelayRetryStrategy(
        3, 1, empty_result_predicate, functools.partial(exception_type_predicate, expected_error_type=ConnectionError)
    )
    results = AsyncDataStream.ordered_wait_with_retry(env.from_collection([1, 10]), Flaky(), Time.seconds(10), strategy)
    assert list(results.execute_and_collect()) == [(1, 3), (10, 2)]
    # Without retries the empty results go out as nothing, and the exception fails the job.
    with pytest.raises(Exception, match="ConnectionError: try again"):
        list(AsyncDataStream.ordered_wait(env.from_collection([1, 10]), Flaky(), Time.seconds(10)).execute_and_collect())
    assert list(AsyncDataStream.ordered_wait(env.from_collection([1]), Flaky(), 10_000).execute_and_collect()) == []


def test_strategies_and_arguments_are_checked_as_pyflink_checks_them():
    backoff = ExponentialBackoffDelayRetryStrategy(5, 10, 50, 2.0, empty_result_predicate, None)
    assert [backoff.get_backoff_time_millis(n) for n in range(1, 6)] == [10, 20, 40, 50, 50]
    assert backoff.can_retry(5) and not backoff.can_retry(6)
    with pytest.raises(ValueError, match="max_attempts"):
        FixedDelayRetryStrategy(0, 10)
    env = environment("thread")

    class NotAsync(AsyncFunction):
        def async_invoke(self, value):
            return [value]

    with pytest.raises(Exception, match="should be declared as 'async def'"):
        AsyncDataStream.ordered_wait(env.from_collection([1]), NotAsync(), 100)
