"""Event time: where records' timestamps come from and when event time advances."""

import cloudpickle

from pyflink_rs import _native


class TimestampAssigner:
    """Extracts the event timestamp (milliseconds) of a record."""

    def extract_timestamp(self, value, record_timestamp):
        raise NotImplementedError("TimestampAssigner subclasses implement extract_timestamp(value, record_timestamp)")


class WatermarkStrategy:
    """How a stream gets event timestamps and watermarks."""

    def __init__(self, generation, idle_timeout_ms=None, timestamp_assigner=None):
        self._generation = generation
        self._idle_timeout_ms = idle_timeout_ms
        self._timestamp_assigner = timestamp_assigner

    @staticmethod
    def for_monotonous_timestamps():
        """Timestamps never decrease: the watermark follows the largest timestamp seen."""
        return WatermarkStrategy(_native.WatermarkGeneration.MONOTONOUS())

    @staticmethod
    def for_bounded_out_of_orderness(max_out_of_orderness):
        """Records arrive at most ``max_out_of_orderness`` (a ``Duration``) late."""
        millis = max_out_of_orderness.to_milliseconds()
        return WatermarkStrategy(_native.WatermarkGeneration.BOUNDED_OUT_OF_ORDERNESS(millis))

    @staticmethod
    def no_watermarks():
        """Event time never advances (until the end of a bounded input)."""
        return WatermarkStrategy(_native.WatermarkGeneration.NO_WATERMARKS())

    def with_timestamp_assigner(self, timestamp_assigner):
        """Takes records' timestamps from ``timestamp_assigner`` (a ``TimestampAssigner`` or a
        callable of ``(value, record_timestamp)``)."""
        if isinstance(timestamp_assigner, TimestampAssigner):
            extract = timestamp_assigner.extract_timestamp
        elif callable(timestamp_assigner):
            extract = timestamp_assigner
        else:
            raise TypeError("expected a TimestampAssigner or a callable")
        return WatermarkStrategy(self._generation, self._idle_timeout_ms, extract)

    def with_idleness(self, idle_timeout):
        """Counts an input idle after ``idle_timeout`` (a ``Duration``) without records."""
        return WatermarkStrategy(self._generation, idle_timeout.to_milliseconds(), self._timestamp_assigner)

    def _is_no_watermarks(self):
        return self._timestamp_assigner is None and self._generation == _native.WatermarkGeneration.NO_WATERMARKS()

    def _native(self):
        assigner = None if self._timestamp_assigner is None else cloudpickle.dumps(self._timestamp_assigner)
        return _native.WatermarkStrategySpec(
            generation=self._generation, idle_timeout_ms=self._idle_timeout_ms, timestamp_assigner=assigner
        )
