"""The function classes of PyFlink. A transformation takes either one of these or a plain
callable (a lambda or a function)."""

from typing import Generic, TypeVar

import cloudpickle

from pyflink_rs.datastream.state import OperatorStateStore

IN = TypeVar("IN")
OUT = TypeVar("OUT")
KEY = TypeVar("KEY")
ACC = TypeVar("ACC")
W = TypeVar("W")


class Function:
    """The base of the function classes."""

    def open(self, runtime_context):
        """Called once per parallel instance before the first record."""

    def close(self):
        """Called once per parallel instance after the last record."""


class MapFunction(Function):
    """Maps each record to one new record."""

    def map(self, value):
        raise NotImplementedError("MapFunction subclasses implement map(value)")


class FlatMapFunction(Function):
    """Maps each record to any number of records: ``flat_map`` returns or yields them."""

    def flat_map(self, value):
        raise NotImplementedError("FlatMapFunction subclasses implement flat_map(value)")


class FilterFunction(Function):
    """Keeps the records for which ``filter`` returns a true value."""

    def filter(self, value):
        raise NotImplementedError("FilterFunction subclasses implement filter(value)")


class ReduceFunction(Function):
    """Combines two records of one key into one."""

    def reduce(self, value1, value2):
        raise NotImplementedError("ReduceFunction subclasses implement reduce(value1, value2)")


class KeySelector(Function):
    """Selects the key of a record."""

    def get_key(self, value):
        raise NotImplementedError("KeySelector subclasses implement get_key(value)")


def callable_of(function, function_class, method):
    """The callable a program gave: ``function.<method>`` for an instance of
    ``function_class``, or ``function`` itself when it is a plain callable."""
    if isinstance(function, function_class):
        return getattr(function, method)
    if callable(function):
        return function
    raise TypeError(f"expected a {function_class.__name__} or a callable, got {type(function).__name__}")


def pickled_callable(function, function_class, method):
    """The cloudpickled pair the engine calls: ``(function, method)`` for an instance of
    ``function_class`` (the engine calls its ``open`` and ``close`` around the records), or
    ``(function, None)`` for a plain callable."""
    if isinstance(function, function_class):
        return cloudpickle.dumps((function, method))
    if callable(function):
        return cloudpickle.dumps((function, None))
    raise TypeError(f"expected a {function_class.__name__} or a callable, got {type(function).__name__}")


class Partitioner(Function):
    """Picks the instance of the next operator a record goes to, by its key
    (``DataStream.partition_custom``)."""

    def partition(self, key, num_partitions):
        """The partition of ``key``: ``0 .. num_partitions - 1``."""
        raise NotImplementedError


class SourceFunction(Function):
    """A source given to ``StreamExecutionEnvironment.add_source``. In PyFlink these are Java
    classes; here they are the connectors' legacy sources (``FlinkKafkaConsumer``), which the
    engine reads with its own connectors."""

    def _add_to(self, native_environment):
        raise TypeError(
            f"{type(self).__name__} is not a source the engine can run: add_source takes the connectors' "
            "sources such as FlinkKafkaConsumer; write other sources as a Source for from_source"
        )


class SinkFunction(Function):
    """A sink written in Python (``DataStream.add_sink``): ``invoke`` is called for each
    record, between ``open`` and ``close``. It writes at once, outside checkpoints: what it
    wrote before a failure is written again after the restart (at least once)."""

    def invoke(self, value, context):
        """Writes one record; ``context`` gives its ``timestamp()`` and the
        ``timer_service()``'s current time."""
        raise NotImplementedError


class KeyedStateStore:
    """Where a function's keyed state comes from (its ``RuntimeContext``)."""

    def get_state(self, state_descriptor):
        raise NotImplementedError

    def get_list_state(self, state_descriptor):
        raise NotImplementedError

    def get_map_state(self, state_descriptor):
        raise NotImplementedError

    def get_reducing_state(self, state_descriptor):
        raise NotImplementedError

    def get_aggregating_state(self, state_descriptor):
        raise NotImplementedError


class CheckpointedFunction:
    """A function with operator state: list states not bound to keys (Flink's
    ``CheckpointedFunction``, which PyFlink lacks). ``initialize_state(context)`` runs when the
    instance starts: ``context.get_operator_state_store()`` gives the list states, and
    ``context.is_restored()`` tells whether they hold a checkpoint's contents.
    ``snapshot_state(context)`` runs as each checkpoint is taken, to put into them what the
    checkpoint must hold. After a change of parallelism, the elements of a list state are split
    over the instances and those of a union list state are given whole to each. For map,
    flat_map and filter functions, in thread mode."""

    def snapshot_state(self, context):
        """Writes the function's operator state for the checkpoint ``context`` describes."""
        raise NotImplementedError("CheckpointedFunction subclasses implement snapshot_state(context)")

    def initialize_state(self, context):
        """Gets the function's operator states, restored or empty."""
        raise NotImplementedError("CheckpointedFunction subclasses implement initialize_state(context)")


class FunctionSnapshotContext:
    """The checkpoint ``CheckpointedFunction.snapshot_state`` writes for."""

    def __init__(self, checkpoint_id, timestamp):
        self._checkpoint_id = checkpoint_id
        self._timestamp = timestamp

    def get_checkpoint_id(self):
        return self._checkpoint_id

    def get_checkpoint_timestamp(self):
        """When the instance took its part of the checkpoint, in epoch milliseconds."""
        return self._timestamp


class FunctionInitializationContext:
    """What ``CheckpointedFunction.initialize_state`` gets: the operator state store, and
    whether it was restored."""

    def __init__(self, native):
        self._native = native

    def is_restored(self):
        return self._native.is_restored()

    def get_operator_state_store(self):
        return _FunctionOperatorStateStore(self._native)


class _FunctionOperatorStateStore(OperatorStateStore):
    """The operator state of a ``CheckpointedFunction``: list and union list states."""

    def __init__(self, native):
        self._native = native

    def get_list_state(self, state_descriptor):
        """The list state ``state_descriptor`` (a ``ListStateDescriptor``) names, split over
        the instances after a change of parallelism."""
        from pyflink_rs.datastream.state import ListState, ListStateDescriptor

        _expect(state_descriptor, ListStateDescriptor)
        return ListState(self._native.get_list_state(state_descriptor.name))

    def get_union_list_state(self, state_descriptor):
        """The list state ``state_descriptor`` names, given whole to every instance after a
        restore."""
        from pyflink_rs.datastream.state import ListState, ListStateDescriptor

        _expect(state_descriptor, ListStateDescriptor)
        return ListState(self._native.get_union_list_state(state_descriptor.name))

    def get_broadcast_state(self, state_descriptor):
        raise TypeError("broadcast state belongs to broadcast process functions: use their context's "
                        "get_broadcast_state")


def _initialize_operator_state(function, native_store):
    """The engine's call as an instance opens: ``initialize_state`` of a CheckpointedFunction."""
    if isinstance(function, CheckpointedFunction):
        function.initialize_state(FunctionInitializationContext(native_store))


def _snapshot_operator_state(function, checkpoint_id):
    """The engine's call as a checkpoint is taken: ``snapshot_state`` of a CheckpointedFunction."""
    if isinstance(function, CheckpointedFunction):
        import time

        function.snapshot_state(FunctionSnapshotContext(checkpoint_id, int(time.time() * 1000)))


class AsyncFunction(Function):
    """Calls an outside service for each record without blocking the stream
    (``AsyncDataStream``): ``async_invoke`` is a coroutine returning the record's results."""

    async def async_invoke(self, value):
        """The results of ``value``: a list."""
        raise NotImplementedError

    def timeout(self, value):
        """The results when ``async_invoke`` did not finish in time; by default the job fails."""
        raise TimeoutError("Async function call has timed out for input: " + str(value))


class AsyncRetryPredicate:
    """When an attempt of ``async_invoke`` is retried: by its result, by its exception."""

    def result_predicate(self):
        """A callable ``(results) -> bool``, or ``None``."""
        raise NotImplementedError

    def exception_predicate(self):
        """A callable ``(exception) -> bool``, or ``None``."""
        raise NotImplementedError


class AsyncRetryStrategy:
    """How often and after how long ``async_invoke`` is attempted again."""

    def can_retry(self, current_attempts):
        raise NotImplementedError

    def get_backoff_time_millis(self, current_attempts):
        raise NotImplementedError

    def get_retry_predicate(self):
        raise NotImplementedError

    @staticmethod
    def no_restart():
        from pyflink_rs.datastream import async_retry_strategies

        return async_retry_strategies.NO_RETRY_STRATEGY

    @staticmethod
    def fixed_delay(max_attempts, backoff_time_millis, result_predicate, exception_predicate):
        from pyflink_rs.datastream.async_retry_strategies import FixedDelayRetryStrategy

        return FixedDelayRetryStrategy(max_attempts, backoff_time_millis, result_predicate, exception_predicate)

    @staticmethod
    def exponential_backoff(max_attempts, initial_delay, max_retry_delay, multiplier, result_predicate,
                            exception_predicate):
        from pyflink_rs.datastream.async_retry_strategies import ExponentialBackoffDelayRetryStrategy

        return ExponentialBackoffDelayRetryStrategy(
            max_attempts, initial_delay, max_retry_delay, multiplier, result_predicate, exception_predicate
        )


class RuntimeContext(KeyedStateStore):
    """What a function's ``open()`` learns about where it runs, and its keyed state."""

    def __init__(self, native):
        self._native = native

    def get_task_name(self):
        """The operator's name."""
        return self._native.get_task_name()

    def get_task_name_with_subtasks(self):
        """The task's name with this instance's number and the parallelism, as Flink writes
        it in logs: ``Map (1/2)#0`` (the last number is the attempt)."""
        return (
            f"{self.get_task_name()} ({self.get_index_of_this_subtask() + 1}/"
            f"{self.get_number_of_parallel_subtasks()})#{self.get_attempt_number()}"
        )

    def get_number_of_parallel_subtasks(self):
        """The operator's parallelism."""
        return self._native.get_number_of_parallel_subtasks()

    def get_max_number_of_parallel_subtasks(self):
        """The job's max parallelism (the number of key groups)."""
        return self._native.get_max_number_of_parallel_subtasks()

    def get_index_of_this_subtask(self):
        """This instance's index, from 0."""
        return self._native.get_index_of_this_subtask()

    def get_job_parameter(self, key, default_value):
        """The job's global parameter ``key`` (``ExecutionConfig.set_global_job_parameters``,
        ``pipeline.global-job-parameters``), or ``default_value`` when it is not set."""
        return self._native.get_job_parameter(key, default_value)

    def get_attempt_number(self):
        """How many times the task was restarted before this run (0 when it was not)."""
        return 0

    def get_metrics_group(self):
        """The instance's metric group (see ``pyflink_rs.metrics``): register metrics in
        ``open()``."""
        return self._native.get_metric_group()

    def get_state(self, state_descriptor):
        """The ``ValueState`` a ``ValueStateDescriptor`` describes, for the current key."""
        from pyflink_rs.datastream.state import ValueState, ValueStateDescriptor

        _expect(state_descriptor, ValueStateDescriptor)
        return ValueState(self._native.get_state(state_descriptor.name, state_descriptor._ttl_config))

    def get_list_state(self, state_descriptor):
        """The ``ListState`` a ``ListStateDescriptor`` describes, for the current key."""
        from pyflink_rs.datastream.state import ListState, ListStateDescriptor

        _expect(state_descriptor, ListStateDescriptor)
        return ListState(self._native.get_list_state(state_descriptor.name, state_descriptor._ttl_config))

    def get_reducing_state(self, state_descriptor):
        """The ``ReducingState`` a ``ReducingStateDescriptor`` describes, for the current key."""
        from pyflink_rs.datastream.state import ReducingState, ReducingStateDescriptor

        _expect(state_descriptor, ReducingStateDescriptor)
        native = self._native.get_state(state_descriptor.name, state_descriptor._ttl_config)
        return ReducingState(native, state_descriptor.get_reduce_function())

    def get_aggregating_state(self, state_descriptor):
        """The ``AggregatingState`` an ``AggregatingStateDescriptor`` describes, for the
        current key."""
        from pyflink_rs.datastream.state import AggregatingState, AggregatingStateDescriptor

        _expect(state_descriptor, AggregatingStateDescriptor)
        native = self._native.get_state(state_descriptor.name, state_descriptor._ttl_config)
        return AggregatingState(native, state_descriptor.get_agg_function())

    def get_map_state(self, state_descriptor):
        """The ``MapState`` a ``MapStateDescriptor`` describes, for the current key."""
        from pyflink_rs.datastream.state import MapState, MapStateDescriptor

        _expect(state_descriptor, MapStateDescriptor)
        return MapState(self._native.get_map_state(state_descriptor.name, state_descriptor._ttl_config))


def _expect(descriptor, descriptor_class):
    if not isinstance(descriptor, descriptor_class):
        raise TypeError(f"expected a {descriptor_class.__name__}, got {type(descriptor).__name__}")


class TimeDomain:
    """Which clock a timer follows."""

    EVENT_TIME = 0
    PROCESSING_TIME = 1


class TimerService:
    """The current times, and timers for the current key."""

    def current_processing_time(self):
        raise NotImplementedError

    def current_watermark(self):
        raise NotImplementedError

    def register_processing_time_timer(self, timestamp):
        raise NotImplementedError

    def register_event_time_timer(self, timestamp):
        raise NotImplementedError

    def delete_processing_time_timer(self, timestamp):
        raise NotImplementedError

    def delete_event_time_timer(self, timestamp):
        raise NotImplementedError


class ProcessFunction(Function):
    """Processes the records of a stream one by one; ``process_element`` returns or yields
    its results, and ``(output_tag, value)`` pairs for side outputs."""

    class Context:
        """The context of a record: its timestamp and the current times."""

        def timestamp(self):
            raise NotImplementedError

        def timer_service(self):
            raise NotImplementedError

    def process_element(self, value, ctx):
        raise NotImplementedError("ProcessFunction subclasses implement process_element(value, ctx)")


class KeyedProcessFunction(Function):
    """Processes the records of a keyed stream one by one, with keyed state and timers.
    ``process_element`` and ``on_timer`` return or yield their results."""

    class Context:
        """The context of a record: its timestamp, its key, the timer service."""

        def timestamp(self):
            raise NotImplementedError

        def timer_service(self):
            raise NotImplementedError

        def get_current_key(self):
            raise NotImplementedError

    class OnTimerContext(Context):
        """The context of a timer; also tells which clock fired it."""

        def time_domain(self):
            raise NotImplementedError

    def process_element(self, value, ctx):
        raise NotImplementedError("KeyedProcessFunction subclasses implement process_element(value, ctx)")

    def on_timer(self, timestamp, ctx):
        """Called when a timer set for the current key fires."""


class _KeyedContext(KeyedProcessFunction.OnTimerContext, ProcessFunction.Context, TimerService):
    """The engine's context of a record or timer, under PyFlink's names."""

    __slots__ = ("_native",)

    def __init__(self, native):
        self._native = native

    def timestamp(self):
        return self._native.timestamp()

    def timer_service(self):
        return self

    def get_current_key(self):
        return self._native.get_current_key()

    def time_domain(self):
        return self._native.time_domain()

    def current_processing_time(self):
        return self._native.current_processing_time()

    def current_watermark(self):
        return self._native.current_watermark()

    def register_processing_time_timer(self, timestamp):
        self._native.register_processing_time_timer(timestamp)

    def register_event_time_timer(self, timestamp):
        self._native.register_event_time_timer(timestamp)

    def delete_processing_time_timer(self, timestamp):
        self._native.delete_processing_time_timer(timestamp)

    def delete_event_time_timer(self, timestamp):
        self._native.delete_event_time_timer(timestamp)


class BaseBroadcastProcessFunction(Function):
    """The base of the functions that process a stream together with a broadcast stream."""

    class BaseContext:
        """What every call learns: the record's timestamp and the current times."""

        def timestamp(self):
            raise NotImplementedError

        def current_processing_time(self):
            raise NotImplementedError

        def current_watermark(self):
            raise NotImplementedError

    class Context(BaseContext):
        """The context of a broadcast record: the broadcast state, writable."""

        def get_broadcast_state(self, state_descriptor):
            raise NotImplementedError

    class ReadOnlyContext(BaseContext):
        """The context of a record of the other input: the broadcast state, read-only."""

        def get_broadcast_state(self, state_descriptor):
            raise NotImplementedError


class BroadcastProcessFunction(BaseBroadcastProcessFunction):
    """Processes the records of a stream with the broadcast state that the records of a
    broadcast stream write (``ds.connect(rules.broadcast(descriptor)).process(...)``). Both
    methods return or yield their results, and ``(output_tag, value)`` pairs for side outputs."""

    class Context(BaseBroadcastProcessFunction.Context):
        pass

    class ReadOnlyContext(BaseBroadcastProcessFunction.ReadOnlyContext):
        pass

    def process_element(self, value, ctx):
        raise NotImplementedError("BroadcastProcessFunction subclasses implement process_element(value, ctx)")

    def process_broadcast_element(self, value, ctx):
        raise NotImplementedError(
            "BroadcastProcessFunction subclasses implement process_broadcast_element(value, ctx)"
        )


class KeyedBroadcastProcessFunction(BaseBroadcastProcessFunction):
    """As ``BroadcastProcessFunction``, on a keyed stream: ``process_element`` also has the
    key's state, its key and timers, and ``on_timer`` is called when a timer fires."""

    class Context(BaseBroadcastProcessFunction.Context):
        pass

    class ReadOnlyContext(BaseBroadcastProcessFunction.ReadOnlyContext):
        def timer_service(self):
            raise NotImplementedError

        def get_current_key(self):
            raise NotImplementedError

    class OnTimerContext(ReadOnlyContext):
        def time_domain(self):
            raise NotImplementedError

    def process_element(self, value, ctx):
        raise NotImplementedError("KeyedBroadcastProcessFunction subclasses implement process_element(value, ctx)")

    def process_broadcast_element(self, value, ctx):
        raise NotImplementedError(
            "KeyedBroadcastProcessFunction subclasses implement process_broadcast_element(value, ctx)"
        )

    def on_timer(self, timestamp, ctx):
        """Called when a timer set for the current key fires."""


class AggregateFunction(Function, Generic[IN, ACC, OUT]):
    """Aggregates the records of a window (or of a state) incrementally into an accumulator."""

    def create_accumulator(self):
        raise NotImplementedError("AggregateFunction subclasses implement create_accumulator()")

    def add(self, value, accumulator):
        """Adds ``value`` and returns the new accumulator."""
        raise NotImplementedError("AggregateFunction subclasses implement add(value, accumulator)")

    def get_result(self, accumulator):
        raise NotImplementedError("AggregateFunction subclasses implement get_result(accumulator)")

    def merge(self, acc_a, acc_b):
        """Combines two accumulators (when session windows merge)."""
        raise NotImplementedError("AggregateFunction subclasses implement merge(acc_a, acc_b)")


class WindowFunction(Function, Generic[IN, OUT, KEY, W]):
    """Evaluates a window of a keyed stream: ``apply(key, window, inputs)`` returns or yields
    the results."""

    def apply(self, key, window, inputs):
        raise NotImplementedError("WindowFunction subclasses implement apply(key, window, inputs)")


class AllWindowFunction(Function, Generic[IN, OUT, W]):
    """Evaluates a window of a whole stream: ``apply(window, inputs)``."""

    def apply(self, window, inputs):
        raise NotImplementedError("AllWindowFunction subclasses implement apply(window, inputs)")


class _WindowFunctionContext(Generic[W]):
    """What a window function sees of the window it evaluates."""

    def window(self):
        """The window being evaluated."""
        raise NotImplementedError

    def current_processing_time(self):
        raise NotImplementedError

    def current_watermark(self):
        raise NotImplementedError

    def window_state(self):
        """State per key and window."""
        raise NotImplementedError

    def global_state(self):
        """State per key, across windows."""
        raise NotImplementedError


class ProcessWindowFunction(Function, Generic[IN, OUT, KEY, W]):
    """Evaluates a window of a keyed stream with its context: ``process(key, context,
    elements)`` returns or yields the results."""

    class Context(_WindowFunctionContext[W]):
        """The context of the window being evaluated."""

    def process(self, key, context, elements):
        raise NotImplementedError("ProcessWindowFunction subclasses implement process(key, context, elements)")

    def clear(self, context):
        """Called when the window is removed."""


class ProcessAllWindowFunction(Function, Generic[IN, OUT, W]):
    """Evaluates a window of a whole stream with its context: ``process(context, elements)``."""

    class Context(_WindowFunctionContext[W]):
        """The context of the window being evaluated."""

    def process(self, context, elements):
        raise NotImplementedError("ProcessAllWindowFunction subclasses implement process(context, elements)")

    def clear(self, context):
        """Called when the window is removed."""


class CoMapFunction(Function):
    """Maps the records of two connected streams: ``map1`` for the first, ``map2`` for the
    second."""

    def map1(self, value):
        raise NotImplementedError("CoMapFunction subclasses implement map1(value)")

    def map2(self, value):
        raise NotImplementedError("CoMapFunction subclasses implement map2(value)")


class CoFlatMapFunction(Function):
    """Maps each record of two connected streams to any number of records: ``flat_map1`` and
    ``flat_map2`` return or yield them."""

    def flat_map1(self, value):
        raise NotImplementedError("CoFlatMapFunction subclasses implement flat_map1(value)")

    def flat_map2(self, value):
        raise NotImplementedError("CoFlatMapFunction subclasses implement flat_map2(value)")


class CoProcessFunction(Function):
    """Processes the records of two connected streams: ``process_element1`` and
    ``process_element2`` return or yield results and side outputs."""

    class Context(ProcessFunction.Context):
        """The context of a record: its timestamp and the current times."""

    def process_element1(self, value, ctx):
        raise NotImplementedError("CoProcessFunction subclasses implement process_element1(value, ctx)")

    def process_element2(self, value, ctx):
        raise NotImplementedError("CoProcessFunction subclasses implement process_element2(value, ctx)")


class KeyedCoProcessFunction(Function):
    """Processes the records of two connected streams keyed alike, with keyed state shared by
    both inputs and timers."""

    class Context(KeyedProcessFunction.Context):
        """The context of a record: its timestamp, its key, the timer service."""

    class OnTimerContext(KeyedProcessFunction.OnTimerContext):
        """The context of a timer."""

    def process_element1(self, value, ctx):
        raise NotImplementedError("KeyedCoProcessFunction subclasses implement process_element1(value, ctx)")

    def process_element2(self, value, ctx):
        raise NotImplementedError("KeyedCoProcessFunction subclasses implement process_element2(value, ctx)")

    def on_timer(self, timestamp, ctx):
        """Called when a timer set for the current key fires."""


class _BroadcastContext(
    _KeyedContext,
    BroadcastProcessFunction.Context,
    BroadcastProcessFunction.ReadOnlyContext,
    KeyedBroadcastProcessFunction.Context,
    KeyedBroadcastProcessFunction.OnTimerContext,
    OperatorStateStore,
):
    """The engine's context of a call of a broadcast process function, under PyFlink's names:
    the broadcast states (writable only in ``process_broadcast_element``), and, on a keyed
    stream, the key and timers."""

    __slots__ = ("_states",)

    def __init__(self, native, states):
        super().__init__(native)
        # The engine's broadcast states by name, filled on the first call.
        self._states = states

    def get_broadcast_state(self, state_descriptor):
        from pyflink_rs.datastream.state import BroadcastState, MapStateDescriptor, ReadOnlyBroadcastState

        _expect(state_descriptor, MapStateDescriptor)
        native = self._states.get(state_descriptor.name)
        if native is None:
            raise ValueError(
                f"broadcast state '{state_descriptor.name}' was not declared: pass its MapStateDescriptor to "
                "broadcast() of the broadcast stream"
            )
        return BroadcastState(native) if native.is_writable() else ReadOnlyBroadcastState(native)
