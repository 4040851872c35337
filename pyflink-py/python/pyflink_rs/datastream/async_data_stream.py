"""PyFlink's ``AsyncDataStream``: calls an outside service for each record with an
``AsyncFunction`` whose ``async_invoke`` coroutines run concurrently, up to ``capacity`` at a
time, each within ``timeout`` (retries included), retried as an ``AsyncRetryStrategy`` says.

The engine hands each input batch's records to one waiter call; the batch's results (in input
order for ``ordered_wait``, in completion order for ``unordered_wait``) are emitted with their
records' timestamps before the next watermark, so no call is in flight at a checkpoint."""

import asyncio
import inspect

import cloudpickle

from pyflink_rs._event_loops import event_loop, within
from pyflink_rs.common.typeinfo import native_type
from pyflink_rs.datastream import async_retry_strategies
from pyflink_rs.datastream.functions import AsyncFunction, AsyncRetryStrategy, Function


def _seconds(timeout):
    """Seconds of a ``Time``/``Duration`` or of milliseconds."""
    if hasattr(timeout, "to_milliseconds"):
        return timeout.to_milliseconds() / 1000
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        return timeout / 1000
    raise TypeError(f"the timeout must be a Time, a Duration or milliseconds, not {type(timeout).__name__}")


class _AsyncWait(Function):
    """Runs an ``AsyncFunction`` over a batch of records (what the engine calls)."""

    def __init__(self, function, timeout, capacity, strategy, ordered):
        self._function = function
        self._timeout = timeout
        self._capacity = capacity
        self._strategy = strategy
        self._ordered = ordered

    def open(self, runtime_context):
        self._function.open(runtime_context)

    def close(self):
        self._function.close()

    def wait(self, values):
        """``(index, results)`` for each record of ``values``."""
        return event_loop().run_until_complete(self._all(values))

    async def _all(self, values):
        done = []
        indices = iter(range(len(values)))

        # As many callers as calls may be in flight, each taking the next record when its call
        # is done.
        async def caller():
            for index in indices:
                done.append((index, await self._call(values[index])))

        callers = [asyncio.ensure_future(caller()) for _ in range(min(self._capacity, len(values)))]
        try:
            await asyncio.gather(*callers)
        finally:
            for pending in callers:
                pending.cancel()
        if self._ordered:
            done.sort(key=lambda pair: pair[0])
        return done

    async def _call(self, value):
        """The results of one record, retried as the strategy says, all within the timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        predicate = self._strategy.get_retry_predicate()
        attempt = 1
        while True:
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                results = await within(self._function.async_invoke(value), remaining)
                results, error = ([] if results is None else list(results)), None
            except (asyncio.TimeoutError, TimeoutError):
                return list(self._function.timeout(value) or [])
            except Exception as exception:  # retried if the strategy says so, else raised below
                results, error = None, exception
            retry = (
                predicate.exception_predicate() is not None and predicate.exception_predicate()(error)
                if error is not None
                else predicate.result_predicate() is not None and predicate.result_predicate()(results)
            )
            if retry and self._strategy.can_retry(attempt):
                delay = self._strategy.get_backoff_time_millis(attempt) / 1000
                if loop.time() + delay < deadline:
                    await asyncio.sleep(delay)
                    attempt += 1
                    continue
            if error is not None:
                raise error
            return results


class AsyncDataStream:
    """Applies an ``AsyncFunction`` to a stream."""

    @staticmethod
    def unordered_wait(data_stream, async_function, timeout, capacity=100, output_type=None):
        """The results of ``async_function`` for each record, in the order the calls finish."""
        return AsyncDataStream.unordered_wait_with_retry(
            data_stream, async_function, timeout, async_retry_strategies.NO_RETRY_STRATEGY, capacity, output_type
        )

    @staticmethod
    def unordered_wait_with_retry(data_stream, async_function, timeout, async_retry_strategy, capacity=100,
                                  output_type=None):
        """As ``unordered_wait``, retrying calls as ``async_retry_strategy`` says."""
        return AsyncDataStream._wait(data_stream, async_function, timeout, async_retry_strategy, capacity,
                                     output_type, ordered=False)

    @staticmethod
    def ordered_wait(data_stream, async_function, timeout, capacity=100, output_type=None):
        """The results of ``async_function`` for each record, in the records' order."""
        return AsyncDataStream.ordered_wait_with_retry(
            data_stream, async_function, timeout, async_retry_strategies.NO_RETRY_STRATEGY, capacity, output_type
        )

    @staticmethod
    def ordered_wait_with_retry(data_stream, async_function, timeout, async_retry_strategy, capacity=100,
                                output_type=None):
        """As ``ordered_wait``, retrying calls as ``async_retry_strategy`` says."""
        return AsyncDataStream._wait(data_stream, async_function, timeout, async_retry_strategy, capacity,
                                     output_type, ordered=True)

    @staticmethod
    def _wait(data_stream, async_function, timeout, strategy, capacity, output_type, ordered):
        from pyflink_rs.datastream.data_stream import DataStream
        from pyflink_rs.datastream.functions import pickled_callable

        if not isinstance(async_function, AsyncFunction):
            raise TypeError(f"expected an AsyncFunction, got {type(async_function).__name__}")
        if not inspect.iscoroutinefunction(async_function.async_invoke):
            raise Exception(
                f"Method 'async_invoke' of class '{type(async_function)}' should be declared as 'async def'."
            )
        if strategy is None or not isinstance(strategy, AsyncRetryStrategy):
            raise Exception("Async retry strategy should not be None.")
        if int(capacity) <= 0:
            raise ValueError(f"the capacity must be greater than zero, not {capacity}")
        seconds = _seconds(timeout)
        if seconds <= 0:
            raise ValueError("the timeout must be greater than zero")
        waiter = _AsyncWait(async_function, seconds, int(capacity), strategy, ordered)
        values = data_stream._values() if hasattr(data_stream, "_values") else data_stream
        name = "async wait operator"
        native = values._native.async_wait(pickled_callable(waiter, Function, "wait"), name, native_type(output_type))
        return DataStream(native, output_type, name)
