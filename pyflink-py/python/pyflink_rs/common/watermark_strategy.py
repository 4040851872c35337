"""Event time: where records' timestamps come from and when event time advances."""

import cloudpickle

from pyflink_rs import _native


class TimestampAssigner:
    """Extracts the event timestamp (milliseconds) of a record."""

    def extract_timestamp(self, value, record_timestamp):
        raise NotImplementedError("TimestampAssigner subclasses implement extract_timestamp(value, record_timestamp)")


class WatermarkStrategy:
    """How a stream gets event timestamps and watermarks."""

    def __init__(self, generation, idle_timeout_ms=None, timestamp_assigner=None, alignment=None):
        self._generation = generation
        self._idle_timeout_ms = idle_timeout_ms
        self._timestamp_assigner = timestamp_assigner
        self._alignment = alignment

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
        return WatermarkStrategy(self._generation, self._idle_timeout_ms, extract, self._alignment)

    def with_idleness(self, idle_timeout):
        """Counts an input idle after ``idle_timeout`` (a ``Duration``) without records."""
        return WatermarkStrategy(
            self._generation, idle_timeout.to_milliseconds(), self._timestamp_assigner, self._alignment
        )

    def with_watermark_alignment(self, watermark_group, max_allowed_watermark_drift, update_interval=None):
        """Keeps the watermark of each source using this strategy within
        ``max_allowed_watermark_drift`` (a ``Duration``) of the lowest watermark among the sources
        of ``watermark_group``: a source that is further ahead stops reading until the others
        catch up. Sources report their watermarks every ``update_interval`` (1 second when
        ``None``). Only sources (``from_source``) are aligned; ``assign_timestamps_and_watermarks``
        ignores it, as in Flink."""
        if not isinstance(watermark_group, str) or not watermark_group:
            raise ValueError("watermark_group must be a non-empty string")
        drift = max_allowed_watermark_drift.to_milliseconds()
        if drift < 0:
            raise ValueError(f"max_allowed_watermark_drift must not be negative, got {drift} ms")
        interval = 1000 if update_interval is None else update_interval.to_milliseconds()
        if interval <= 0:
            raise ValueError(f"update_interval must be positive, got {interval} ms")
        alignment = _native.WatermarkAlignmentSpec(
            group=watermark_group, max_drift_ms=drift, update_interval_ms=interval
        )
        return WatermarkStrategy(self._generation, self._idle_timeout_ms, self._timestamp_assigner, alignment)

    def _is_no_watermarks(self):
        return self._timestamp_assigner is None and self._generation == _native.WatermarkGeneration.NO_WATERMARKS()

    def _native(self):
        assigner = None if self._timestamp_assigner is None else cloudpickle.dumps(self._timestamp_assigner)
        return _native.WatermarkStrategySpec(
            generation=self._generation,
            idle_timeout_ms=self._idle_timeout_ms,
            timestamp_assigner=assigner,
            alignment=self._alignment,
        )
