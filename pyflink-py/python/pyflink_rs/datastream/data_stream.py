"""Streams of records and their transformations."""

import itertools

import cloudpickle

from pyflink_rs.common.typeinfo import native_type
from pyflink_rs.common.types import Row
from pyflink_rs.datastream.collect import CloseableIterator
from pyflink_rs.datastream.functions import (
    FilterFunction,
    FlatMapFunction,
    KeyedProcessFunction,
    KeySelector,
    MapFunction,
    ProcessFunction,
    ReduceFunction,
    pickled_callable,
)
from pyflink_rs.datastream.output_tag import OutputTag
from pyflink_rs.datastream.window import CountSlidingWindowAssigner, CountTumblingWindowAssigner
from pyflink_rs.datastream.windowed_stream import AllWindowedStream, WindowedStream


class DataStream:
    """A stream of records. Transformations record the program; nothing runs until the
    environment executes."""

    def __init__(self, native, type_info=None):
        self._native = native
        # The records' type, where the program gave one (tables of the stream need it).
        self._type_info = type_info

    def map(self, func, output_type=None):
        """Each record through ``func`` (a callable or a ``MapFunction``); the results are
        records of ``output_type`` (any Python object when not given)."""
        function = pickled_callable(func, MapFunction, "map")
        return DataStream(self._native.map(function, "Map", native_type(output_type)), output_type)

    def flat_map(self, func, output_type=None):
        """Each record to the records that ``func`` returns or yields, of ``output_type``."""
        function = pickled_callable(func, FlatMapFunction, "flat_map")
        return DataStream(self._native.flat_map(function, "FlatMap", native_type(output_type)), output_type)

    def filter(self, func):
        """The records for which ``func`` returns a true value."""
        function = pickled_callable(func, FilterFunction, "filter")
        return DataStream(self._native.filter(function, "Filter"), self._type_info)

    def process(self, func, output_type=None):
        """Each record through a ``ProcessFunction``: results and side outputs returned or
        yielded, results of ``output_type``."""
        if not isinstance(func, ProcessFunction):
            raise TypeError(f"expected a ProcessFunction, got {type(func).__name__}")
        return DataStream(self._native.process(cloudpickle.dumps(func), "Process", native_type(output_type)))

    def get_side_output(self, output_tag):
        """The records the operator of this stream sent to the side output ``output_tag``."""
        if not isinstance(output_tag, OutputTag):
            raise TypeError(f"expected an OutputTag, got {type(output_tag).__name__}")
        return DataStream(self._native.get_side_output(output_tag.tag_id, native_type(output_tag.type_info)))

    def connect(self, ds):
        """This stream and ``ds`` connected: one function processes the records of both, by
        input (``map1``/``map2``, ``process_element1``/``process_element2``)."""
        from pyflink_rs.datastream.connected_streams import ConnectedStreams

        if not isinstance(ds, DataStream):
            raise TypeError(f"connect() takes a DataStream, not {type(ds).__name__}")
        return ConnectedStreams(self, ds)

    def union(self, *streams):
        """The records of this stream and of ``streams``, which have the same type."""
        for stream in streams:
            if not isinstance(stream, DataStream):
                raise TypeError(f"union() takes DataStreams, not {type(stream).__name__}")
        return DataStream(self._native.union([stream._native for stream in streams]))

    def key_by(self, key_selector, key_type=None):
        """The stream partitioned by the key that ``key_selector`` returns."""
        selector = pickled_callable(key_selector, KeySelector, "get_key")
        return KeyedStream(self._native.key_by(selector))

    def assign_timestamps_and_watermarks(self, watermark_strategy):
        """The stream with event timestamps and watermarks from ``watermark_strategy``."""
        return DataStream(self._native.assign_timestamps_and_watermarks(watermark_strategy._native()), self._type_info)

    def window_all(self, window_assigner):
        """The whole stream cut into windows by ``window_assigner``, evaluated by one
        instance."""
        return AllWindowedStream(self, window_assigner)

    def count_window_all(self, size, slide=0):
        """The whole stream in windows of ``size`` records, one every ``slide`` records
        (tumbling when ``slide`` is 0)."""
        return AllWindowedStream(self, _count_assigner(size, slide))

    def set_parallelism(self, parallelism):
        """Sets the parallelism of the operator that produces this stream."""
        self._native.set_parallelism(parallelism)
        return self

    def print(self, sink_identifier=None):
        """Prints every record (its ``str``) to standard output when the job runs."""
        self._native.print()

    def sink_to(self, sink):
        """Sends the stream's records to ``sink`` when the job runs."""
        sink._add_to(self._native)

    def execute_and_collect(self, job_execution_name=None, limit=None):
        """Runs the job of this stream and returns a ``CloseableIterator`` over its records
        as the job makes them, or, with ``limit``, a list of the first ``limit`` records (the
        job is then cancelled), as in PyFlink."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        records = CloseableIterator(self._native.execute_and_collect(job_execution_name or "collect"))
        if limit is None:
            return records
        # The job is cancelled after `limit` records, and has ended when this returns.
        with records:
            return list(itertools.islice(records, limit))


class KeyedStream:
    """A stream partitioned by key."""

    def __init__(self, native):
        self._native = native

    def reduce(self, func):
        """A rolling reduce of each key's records: ``func(accumulated, record)``."""
        function = pickled_callable(func, ReduceFunction, "reduce")
        return DataStream(self._native.reduce(function, "Reduce"))

    def map(self, func, output_type=None):
        """Each record through ``func``, keyed; the results are records of ``output_type``."""
        function = pickled_callable(func, MapFunction, "map")
        return DataStream(self._native.map(function, "Map", native_type(output_type)), output_type)

    def process(self, func, output_type=None):
        """Each record through a ``KeyedProcessFunction``: keyed state, timers, and results
        returned or yielded, of ``output_type``."""
        if not isinstance(func, KeyedProcessFunction):
            raise TypeError(f"expected a KeyedProcessFunction, got {type(func).__name__}")
        return DataStream(self._native.process(cloudpickle.dumps(func), "KeyedProcess", native_type(output_type)))

    def window(self, window_assigner):
        """Each key's records cut into windows by ``window_assigner``."""
        return WindowedStream(self, window_assigner)

    def count_window(self, size, slide=0):
        """Each key's records in windows of ``size`` records, one every ``slide`` records
        (tumbling when ``slide`` is 0)."""
        return WindowedStream(self, _count_assigner(size, slide))

    def sum(self, position_to_sum=0):
        """A rolling sum per key of the field at ``position_to_sum`` (an index, or a name for
        rows); the other fields are the first record's. Records that are plain numbers are
        summed whole."""
        return self._aggregate(position_to_sum, lambda kept, new: kept + new, "Sum")

    def min(self, position_to_min=0):
        """A rolling minimum per key of one field; the other fields are the first record's."""
        return self._aggregate(position_to_min, lambda kept, new: new if new < kept else kept, "Min")

    def max(self, position_to_max=0):
        """A rolling maximum per key of one field; the other fields are the first record's."""
        return self._aggregate(position_to_max, lambda kept, new: new if new > kept else kept, "Max")

    def min_by(self, position_to_min_by=0):
        """Per key, the record with the smallest value of one field so far (the first on ties)."""
        return self._select(position_to_min_by, lambda kept, new: new < kept, "MinBy")

    def max_by(self, position_to_max_by=0):
        """Per key, the record with the largest value of one field so far (the first on ties)."""
        return self._select(position_to_max_by, lambda kept, new: new > kept, "MaxBy")

    def _aggregate(self, position, combine, name):
        def reduce(accumulated, record):
            if not _has_fields(accumulated):
                return combine(accumulated, record)
            return _with_field(accumulated, position, combine(_field(accumulated, position), _field(record, position)))

        return DataStream(self._native.reduce(pickled_callable(reduce, ReduceFunction, "reduce"), name))

    def _select(self, position, better, name):
        def reduce(kept, record):
            if not _has_fields(kept):
                return record if better(kept, record) else kept
            return record if better(_field(kept, position), _field(record, position)) else kept

        return DataStream(self._native.reduce(pickled_callable(reduce, ReduceFunction, "reduce"), name))


def _count_assigner(size, slide):
    if slide == 0:
        return CountTumblingWindowAssigner.of(size)
    return CountSlidingWindowAssigner.of(size, slide)


def _has_fields(record):
    return isinstance(record, (tuple, list, dict))


def _field(record, position):
    return record[position]


def _with_field(record, position, value):
    """A copy of ``record`` with the field at ``position`` replaced by ``value``."""
    if isinstance(record, Row):
        index = position if isinstance(position, int) else record._fields.index(position)
        values = list(record)
        values[index] = value
        updated = Row._of(values, record._fields)
        updated.set_row_kind(record.get_row_kind())
        return updated
    if isinstance(record, tuple):
        values = list(record)
        values[position] = value
        return tuple(values)
    if isinstance(record, list):
        values = list(record)
        values[position] = value
        return values
    updated = dict(record)
    updated[position] = value
    return updated
