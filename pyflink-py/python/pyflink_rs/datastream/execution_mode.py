"""How a job executes (PyFlink's ``RuntimeExecutionMode``)."""

from enum import Enum

from pyflink_rs import _native


class RuntimeExecutionMode(Enum):
    """``STREAMING`` (the default) processes records continuously, and a reduce emits every
    updated result; ``BATCH`` processes bounded input as a whole, and a reduce emits each
    key's final result; ``AUTOMATIC`` is batch when every source is bounded."""

    STREAMING = 0
    BATCH = 1
    AUTOMATIC = 2

    def _native(self):
        return {
            RuntimeExecutionMode.STREAMING: _native.RuntimeMode.STREAMING,
            RuntimeExecutionMode.BATCH: _native.RuntimeMode.BATCH,
            RuntimeExecutionMode.AUTOMATIC: _native.RuntimeMode.AUTOMATIC,
        }[self]
