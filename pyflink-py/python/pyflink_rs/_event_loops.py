"""The asyncio event loops Python code of a job runs coroutines on: one per thread that calls
async functions (the table API's async scalar functions, the DataStream API's async I/O)."""

import asyncio
import threading

_loops = threading.local()


def event_loop():
    """This thread's event loop, made on its first use."""
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = asyncio.new_event_loop()
        _loops.loop = loop
    return loop


if hasattr(asyncio, "timeout"):
    async def within(awaitable, seconds):
        """``awaitable``'s result, or ``TimeoutError`` after ``seconds``."""
        async with asyncio.timeout(seconds):
            return await awaitable
else:  # Python 3.10: wait_for, which costs a task per call.
    async def within(awaitable, seconds):
        return await asyncio.wait_for(awaitable, seconds)
