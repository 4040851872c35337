"""Streams of records and their transformations."""

import pickle

from pyflink_rs.datastream.functions import (
    FilterFunction,
    FlatMapFunction,
    KeySelector,
    MapFunction,
    ReduceFunction,
    pickled_callable,
)


class DataStream:
    """A stream of records. Transformations record the program; nothing runs until the
    environment executes."""

    def __init__(self, native):
        self._native = native

    def map(self, func, output_type=None):
        """Each record through ``func`` (a callable or a ``MapFunction``). Records stay Python
        objects whatever ``output_type`` says (typed conversion is not applied yet)."""
        return DataStream(self._native.map(pickled_callable(func, MapFunction, "map"), "Map"))

    def flat_map(self, func, output_type=None):
        """Each record to the records that ``func`` returns or yields."""
        function = pickled_callable(func, FlatMapFunction, "flat_map")
        return DataStream(self._native.flat_map(function, "FlatMap"))

    def filter(self, func):
        """The records for which ``func`` returns a true value."""
        function = pickled_callable(func, FilterFunction, "filter")
        return DataStream(self._native.filter(function, "Filter"))

    def key_by(self, key_selector, key_type=None):
        """The stream partitioned by the key that ``key_selector`` returns."""
        selector = pickled_callable(key_selector, KeySelector, "get_key")
        return KeyedStream(self._native.key_by(selector))

    def set_parallelism(self, parallelism):
        """Sets the parallelism of the operator that produces this stream."""
        self._native.set_parallelism(parallelism)
        return self

    def print(self, sink_identifier=None):
        """Prints every record (its ``str``) to standard output when the job runs."""
        self._native.print()

    def execute_and_collect(self, job_execution_name=None, limit=None):
        """Runs the job of this stream and returns an iterator over its records (a list when
        ``limit`` is given, as in PyFlink)."""
        records = pickle.loads(self._native.execute_and_collect(job_execution_name or "collect"))
        if limit is not None:
            return records[:limit]
        return iter(records)


class KeyedStream:
    """A stream partitioned by key."""

    def __init__(self, native):
        self._native = native

    def reduce(self, func):
        """A rolling reduce of each key's records: ``func(accumulated, record)``."""
        function = pickled_callable(func, ReduceFunction, "reduce")
        return DataStream(self._native.reduce(function, "Reduce"))

    def map(self, func, output_type=None):
        """Each record through ``func``, keyed."""
        return DataStream(self._native.map(pickled_callable(func, MapFunction, "map"), "Map"))
