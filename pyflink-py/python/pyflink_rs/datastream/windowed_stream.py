"""Windowed streams (PyFlink's ``WindowedStream`` and ``AllWindowedStream``) and the evaluator
that adapts every kind of window function to the one call the engine makes."""

import cloudpickle

from pyflink_rs import _native
from pyflink_rs.common.typeinfo import native_type
from pyflink_rs.datastream.functions import (
    AggregateFunction,
    AllWindowFunction,
    ProcessAllWindowFunction,
    ProcessWindowFunction,
    ReduceFunction,
    WindowFunction,
    pickled_callable,
)
from pyflink_rs.datastream._stored_state import StateScope, StoredStateStore
from pyflink_rs.datastream.output_tag import OutputTag
from pyflink_rs.datastream.window import Evictor, Trigger, WindowAssigner


class _WindowContext(ProcessWindowFunction.Context, ProcessAllWindowFunction.Context):
    """The context of one window evaluation, with the facts the engine passed and the states
    of the key's window and of the key."""

    __slots__ = ("_window", "_watermark", "_processing_time", "_window_scope", "_global_scope")

    def __init__(self, window, watermark, processing_time, window_scope, global_scope):
        self._window = window
        self._watermark = watermark
        self._processing_time = processing_time
        self._window_scope = window_scope
        self._global_scope = global_scope

    def window(self):
        return self._window

    def current_processing_time(self):
        return self._processing_time

    def current_watermark(self):
        return self._watermark

    def window_state(self):
        """The states of the current key in this window (checkpointed with the key); clear
        them in the function's ``clear``, which runs when the window is removed."""
        return StoredStateStore(self._window_scope)

    def global_state(self):
        """The states of the current key, shared by all its windows."""
        return StoredStateStore(self._global_scope)


class _WindowEvaluator:
    """What the engine calls when a window fires: ``process(key, window, watermark,
    processing_time, elements)`` returns the results of the user's window function (or the
    elements themselves when there is none)."""

    def __init__(self, function, kind):
        self._function = function
        self._kind = kind

    def open(self, runtime_context):
        if self._function is not None:
            self._function.open(runtime_context)

    def process(self, key, window, watermark, processing_time, elements, window_states=None, global_states=None):
        """The window's results, and what to store as the states of the window and of the key
        (None: unchanged)."""
        kind = self._kind
        if kind == "pass":
            return elements, None, None
        if kind == "apply":
            return self._function.apply(key, window, elements), None, None
        if kind == "all_apply":
            return self._function.apply(window, elements), None, None
        context = _WindowContext(window, watermark, processing_time, StateScope(window_states),
                                 StateScope(global_states))
        if kind == "process":
            results = self._function.process(key, context, elements)
        else:
            results = self._function.process(context, elements)
        # A generator runs while its results are taken: take them before the states.
        results = None if results is None else list(results)
        return results, context._window_scope.update(), context._global_scope.update()

    def clear(self, key, window, watermark, processing_time, window_states=None, global_states=None):
        """Tells the function the window is removed; returns what to store as the states of the
        window and of the key (None: unchanged)."""
        if self._kind not in ("process", "all_process"):
            return None, None
        context = _WindowContext(window, watermark, processing_time, StateScope(window_states),
                                 StateScope(global_states))
        self._function.clear(context)
        return context._window_scope.update(), context._global_scope.update()

    def close(self):
        if self._function is not None:
            self._function.close()


def _evaluator(window_function, keyed):
    """The pickled evaluator of ``window_function`` (``None``: pass the window's contents on)."""
    if window_function is None:
        return cloudpickle.dumps(_WindowEvaluator(None, "pass"))
    if keyed and isinstance(window_function, ProcessWindowFunction):
        kind = "process"
    elif keyed and isinstance(window_function, WindowFunction):
        kind = "apply"
    elif not keyed and isinstance(window_function, ProcessAllWindowFunction):
        kind = "all_process"
    elif not keyed and isinstance(window_function, AllWindowFunction):
        kind = "all_apply"
    else:
        expected = "ProcessWindowFunction or WindowFunction" if keyed else "ProcessAllWindowFunction or AllWindowFunction"
        raise TypeError(f"expected a {expected}, got {type(window_function).__name__}")
    return cloudpickle.dumps(_WindowEvaluator(window_function, kind))


def _aggregate_function(aggregate_function):
    if not isinstance(aggregate_function, AggregateFunction):
        raise TypeError(f"expected an AggregateFunction, got {type(aggregate_function).__name__}")
    return cloudpickle.dumps(aggregate_function)


def _require(window_function, method):
    if window_function is None:
        raise TypeError(f"{method}() needs a window function")


def _output(output_type):
    """The record type of a window function's results: any Python object unless given."""
    return native_type(output_type) if output_type is not None else _native.TypeInfo.PICKLED()


class WindowedStream:
    """A keyed stream cut into windows; a window function turns it back into a stream."""

    def __init__(self, keyed_stream, window_assigner, keyed=True):
        if not isinstance(window_assigner, WindowAssigner):
            raise TypeError(f"expected a window assigner, got {type(window_assigner).__name__}")
        self._keyed_stream = keyed_stream
        self._input_type = keyed_stream._type_info
        self._assigner = window_assigner._native()
        self._trigger = None
        if isinstance(self._assigner, _native.WindowAssignerSpec.CUSTOM):
            # A Python assigner names its default trigger; the engine cannot derive it.
            default = window_assigner.get_default_trigger(keyed_stream.get_execution_environment())
            if not isinstance(default, Trigger):
                raise TypeError(
                    f"{type(window_assigner).__name__}.get_default_trigger() returned {type(default).__name__}, "
                    "not a Trigger"
                )
            self._trigger = default._native()
        self._allowed_lateness = 0
        self._late_data_tag = None
        self._evictor = None
        self._keyed = keyed

    def get_execution_environment(self):
        """The ``StreamExecutionEnvironment`` of the windowed stream."""
        return self._keyed_stream.get_execution_environment()

    def get_input_type(self):
        """The type of the records put into windows, where the program gave one."""
        return self._input_type

    def trigger(self, trigger):
        """Fires the windows with ``trigger`` instead of the assigner's default trigger."""
        if not isinstance(trigger, Trigger):
            raise TypeError(f"expected a Trigger, got {type(trigger).__name__}")
        self._trigger = trigger._native()
        return self

    def evictor(self, evictor):
        """Removes records from each window when it fires, as ``evictor`` says
        (``CountEvictor``, ``TimeEvictor``): Flink's ``evictor``, which PyFlink lacks."""
        if not isinstance(evictor, Evictor):
            raise TypeError(f"expected an Evictor, got {type(evictor).__name__}")
        if isinstance(self._assigner, _native.WindowAssignerSpec.COUNT):
            raise ValueError("count_window() windows hold exactly their records; evictors apply to time and global "
                             "windows")
        self._evictor = evictor._native()
        return self

    def allowed_lateness(self, time_ms):
        """Keeps event-time windows ``time_ms`` after their end: late records within it fire
        the window again."""
        millis = time_ms.to_milliseconds() if hasattr(time_ms, "to_milliseconds") else time_ms
        if millis < 0:
            raise ValueError(f"allowed lateness cannot be negative, not {millis} ms")
        self._allowed_lateness = millis
        return self

    def side_output_late_data(self, output_tag):
        """Sends records too late for their windows to the side output ``output_tag``; read it
        with ``get_side_output`` on the windowed result."""
        if not isinstance(output_tag, OutputTag):
            raise TypeError(f"expected an OutputTag, got {type(output_tag).__name__}")
        self._late_data_tag = output_tag.tag_id
        return self

    def reduce(self, reduce_function, window_function=None, output_type=None):
        """Folds each window's records with ``reduce_function`` as they arrive; the result goes
        to ``window_function`` if given, else it is the window's result."""
        function = pickled_callable(reduce_function, ReduceFunction, "reduce")
        contents = _native.WindowContentsSpec.REDUCE(function)
        # Without a window function the results are records of the input's type.
        record_type = None if window_function is None and output_type is None else _output(output_type)
        return self._evaluate(contents, window_function, "Window(Reduce)", record_type)

    def aggregate(self, aggregate_function, window_function=None, accumulator_type=None, output_type=None):
        """Aggregates each window's records with ``aggregate_function`` as they arrive; its
        result goes to ``window_function`` if given, else it is the window's result."""
        contents = _native.WindowContentsSpec.AGGREGATE(_aggregate_function(aggregate_function))
        return self._evaluate(contents, window_function, "Window(Aggregate)", _output(output_type))

    def apply(self, window_function, output_type=None):
        """Evaluates each window with all its records by a ``WindowFunction``."""
        _require(window_function, "apply")
        return self._evaluate(_native.WindowContentsSpec.ALL(), window_function, "Window(Apply)", _output(output_type))

    def process(self, process_window_function, output_type=None):
        """Evaluates each window with all its records and its context by a
        ``ProcessWindowFunction``."""
        _require(process_window_function, "process")
        contents = _native.WindowContentsSpec.ALL()
        return self._evaluate(contents, process_window_function, "Window(Process)", _output(output_type))

    def _evaluate(self, contents, window_function, name, record_type):
        from pyflink_rs.datastream.data_stream import DataStream

        spec = _native.WindowSpec(
            assigner=self._assigner,
            trigger=self._trigger,
            allowed_lateness_ms=self._allowed_lateness,
            late_data_tag=self._late_data_tag,
            evictor=self._evictor,
        )
        evaluator = _evaluator(window_function, self._keyed)
        stream = DataStream(self._keyed_stream._native.window(spec, contents, evaluator, name, record_type))
        if not self._keyed:
            # A window over the whole stream runs as one instance, as in Flink.
            stream.set_parallelism(1)
        return stream


class AllWindowedStream(WindowedStream):
    """A whole stream cut into windows, evaluated by one instance."""

    def __init__(self, data_stream, window_assigner):
        super().__init__(data_stream.key_by(_whole_stream), window_assigner, keyed=False)
        self._input_type = data_stream._type_info


def _whole_stream(_record):
    """The one key of a stream windowed as a whole."""
    return 0
