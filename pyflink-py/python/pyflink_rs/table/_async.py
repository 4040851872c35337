"""Async Python scalar functions as the engine calls them: once per batch of rows, whose calls
run concurrently on the worker's asyncio event loop (at most
``table.exec.async-scalar.max-concurrent-operations`` at a time), each within
``table.exec.async-scalar.timeout`` and retried as ``table.exec.async-scalar.retry-strategy``
says. The batch's results are given in the order of its rows. A batch is done before the
engine goes on, so no call is in flight when a checkpoint is taken."""

import asyncio

from pyflink_rs._event_loops import event_loop, within
from pyflink_rs.common.configuration import duration_millis

# Flink's option keys and defaults.
CAPACITY_KEYS = ("table.exec.async-scalar.max-concurrent-operations", "table.exec.async-scalar.buffer-capacity")
TIMEOUT_KEY = "table.exec.async-scalar.timeout"
STRATEGY_KEY = "table.exec.async-scalar.retry-strategy"
DELAY_KEY = "table.exec.async-scalar.retry-delay"
ATTEMPTS_KEY = "table.exec.async-scalar.max-attempts"


class AsyncOptions:
    """How an async function's calls run, from a table environment's options."""

    def __init__(self, options):
        capacity = next((options[key] for key in CAPACITY_KEYS if key in options), "10")
        self.capacity = int(capacity)
        if self.capacity < 1:
            raise ValueError(f"{CAPACITY_KEYS[0]} must be at least 1, not {capacity}")
        self.timeout = duration_millis(options.get(TIMEOUT_KEY, "3 min")) / 1000
        strategy = options.get(STRATEGY_KEY, "FIXED_DELAY").upper()
        if strategy not in ("FIXED_DELAY", "NO_RETRY"):
            raise ValueError(f"{STRATEGY_KEY} must be FIXED_DELAY or NO_RETRY, not {strategy}")
        self.attempts = int(options.get(ATTEMPTS_KEY, "3")) if strategy == "FIXED_DELAY" else 1
        self.delay = duration_millis(options.get(DELAY_KEY, "100 ms")) / 1000


class _AsyncBatchCall:
    """An async function (an ``async def`` or an ``AsyncScalarFunction``), called with the
    argument tuples of a batch's rows; gives their results in order."""

    def __init__(self, function, name, options):
        self._function = function
        self._name = name
        self._options = options

    def open(self, function_context):
        from pyflink_rs.table.udf import AsyncScalarFunction
        if isinstance(self._function, AsyncScalarFunction):
            self._function.open(function_context)

    def close(self):
        from pyflink_rs.table.udf import AsyncScalarFunction
        if isinstance(self._function, AsyncScalarFunction):
            self._function.close()

    def target(self):
        return self

    def _eval(self):
        from pyflink_rs.table.udf import AsyncScalarFunction
        if isinstance(self._function, AsyncScalarFunction):
            return self._function.eval
        return self._function

    def __call__(self, rows):
        return event_loop().run_until_complete(self._all(self._eval(), rows))

    async def _all(self, evaluate, rows):
        # As many callers as calls may be in flight, each taking the next row when its call
        # is done: a task per caller rather than per row (tasks cost more than the calls).
        results = [None] * len(rows)
        indices = iter(range(len(rows)))

        async def caller():
            for index in indices:
                results[index] = await self._call(evaluate, rows[index])

        callers = [asyncio.ensure_future(caller()) for _ in range(min(self._options.capacity, len(rows)))]
        try:
            await asyncio.gather(*callers)
        finally:
            for pending in callers:
                pending.cancel()
        return results

    async def _call(self, evaluate, args):
        """One call, retried as the options say."""
        options = self._options
        for attempt in range(1, options.attempts + 1):
            try:
                return await within(evaluate(*args), options.timeout)
            except (asyncio.TimeoutError, TimeoutError):
                if attempt == options.attempts:
                    raise TimeoutError(
                        f"the async function {self._name} did not finish within {options.timeout} s "
                        f"({TIMEOUT_KEY}), {attempt} time(s)") from None
            except Exception:
                if attempt == options.attempts:
                    raise
            await asyncio.sleep(options.delay)
