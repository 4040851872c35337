"""Two streams connected into one operator (PyFlink's ``ConnectedStreams``). The engine runs
them as one stream: each record is tagged with the input it came from, the two tagged streams
are unioned (watermarks combine as for two inputs: the smaller counts), and an adapter calls
the function's method of the record's input. Keyed, both inputs share the key's state and
timers."""

from pyflink_rs.datastream.functions import (
    CoFlatMapFunction,
    CoMapFunction,
    CoProcessFunction,
    FlatMapFunction,
    KeyedCoProcessFunction,
    KeyedProcessFunction,
    KeySelector,
    MapFunction,
    ProcessFunction,
    callable_of,
)

FIRST, SECOND = 0, 1


class _Delegating:
    """Opens and closes the user's function with the adapter."""

    def __init__(self, function):
        self._function = function

    def open(self, runtime_context):
        self._function.open(runtime_context)

    def close(self):
        self._function.close()


class _CoMap(_Delegating, MapFunction):
    """``map1`` or ``map2`` by the record's input."""

    def map(self, tagged):
        side, value = tagged
        return self._function.map1(value) if side == FIRST else self._function.map2(value)


class _CoFlatMap(_Delegating, FlatMapFunction):
    """``flat_map1`` or ``flat_map2`` by the record's input."""

    def flat_map(self, tagged):
        side, value = tagged
        results = self._function.flat_map1(value) if side == FIRST else self._function.flat_map2(value)
        return () if results is None else results


class _CoProcess(_Delegating, ProcessFunction):
    def process_element(self, tagged, ctx):
        side, value = tagged
        if side == FIRST:
            return self._function.process_element1(value, ctx)
        return self._function.process_element2(value, ctx)


class _KeyedCoProcess(_Delegating, KeyedProcessFunction):
    def process_element(self, tagged, ctx):
        side, value = tagged
        if side == FIRST:
            return self._function.process_element1(value, ctx)
        return self._function.process_element2(value, ctx)

    def on_timer(self, timestamp, ctx):
        return self._function.on_timer(timestamp, ctx)


class _KeyOfInput:
    """The key of a tagged record, by its input's key selector."""

    def __init__(self, first, second):
        self._first = first
        self._second = second

    def __call__(self, tagged):
        side, value = tagged
        return self._first(value) if side == FIRST else self._second(value)


def _selector(key_selector):
    return callable_of(key_selector, KeySelector, "get_key")


class ConnectedStreams:
    """Two streams whose records one function processes, by input."""

    def __init__(self, stream1, stream2, key_selectors=None):
        self.stream1 = stream1
        self.stream2 = stream2
        self._key_selectors = key_selectors

    def key_by(self, key_selector1, key_selector2, key_type=None):
        """Both streams keyed, each by its own selector, so that records of one key from either
        input meet in one operator instance and share its keyed state."""
        return ConnectedStreams(self.stream1, self.stream2, (_selector(key_selector1), _selector(key_selector2)))

    def map(self, func, output_type=None):
        """Each record through ``map1`` or ``map2`` of a ``CoMapFunction``."""
        if not isinstance(func, CoMapFunction):
            raise TypeError(f"expected a CoMapFunction, got {type(func).__name__}")
        return self._partitioned().map(_CoMap(func), output_type)

    def flat_map(self, func, output_type=None):
        """Each record to the records ``flat_map1`` or ``flat_map2`` of a
        ``CoFlatMapFunction`` returns or yields."""
        if not isinstance(func, CoFlatMapFunction):
            raise TypeError(f"expected a CoFlatMapFunction, got {type(func).__name__}")
        return self._partitioned().flat_map(_CoFlatMap(func), output_type)

    def process(self, func, output_type=None):
        """Each record through a ``CoProcessFunction`` (``KeyedCoProcessFunction`` after
        ``key_by``)."""
        if self._key_selectors is not None:
            if not isinstance(func, KeyedCoProcessFunction):
                raise TypeError(f"expected a KeyedCoProcessFunction after key_by, got {type(func).__name__}")
            return self._partitioned().process(_KeyedCoProcess(func), output_type)
        if not isinstance(func, CoProcessFunction):
            raise TypeError(f"expected a CoProcessFunction, got {type(func).__name__}")
        return self._partitioned().process(_CoProcess(func), output_type)

    def _tagged(self):
        first = self.stream1.map(lambda value: (FIRST, value))
        second = self.stream2.map(lambda value: (SECOND, value))
        return first.union(second)

    def _partitioned(self):
        """The tagged records, keyed by their input's selector when the streams are keyed."""
        tagged = self._tagged()
        if self._key_selectors is None:
            return tagged
        return tagged.key_by(_KeyOfInput(*self._key_selectors))
