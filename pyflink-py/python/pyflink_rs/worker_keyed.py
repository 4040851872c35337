"""A ``KeyedProcessFunction`` in a process-mode worker. The engine keeps the keyed state and
the timers; each bundle brings the keys it touches with their state, the records and fired
timers in order, and the current times. The function runs against a cache of that state; the
answer carries each call's results, the state each key ended with, and the timers set or
deleted, which the engine applies."""

import functools
import pickle

from pyflink_rs.datastream.functions import RuntimeContext, _KeyedContext
from pyflink_rs.worker_metrics import MetricGroup

RECORD, EVENT_TIMER, PROCESSING_TIMER = 0, 1, 2
REGISTER_EVENT, REGISTER_PROCESSING, DELETE_EVENT, DELETE_PROCESSING = 0, 1, 2, 3


class _Cache:
    """The state of the bundle's keys, by slot, and which states each call changed."""

    def __init__(self):
        self.states = []
        self.dirty = []
        self.slot = 0

    def reset(self, states):
        self.states = states
        self.dirty = [set() for _ in states]

    def read(self, name):
        return self.states[self.slot].get(name)

    def write(self, name, value):
        self.states[self.slot][name] = value
        self.dirty[self.slot].add(name)

    def changes(self):
        return [{name: states[name] for name in dirty} for states, dirty in zip(self.states, self.dirty)]


class _ValueNative:
    def __init__(self, cache, name):
        self._cache = cache
        self._name = name

    def value(self):
        return self._cache.read(self._name)

    def update(self, value):
        self._cache.write(self._name, value)

    def clear(self):
        self._cache.write(self._name, None)


class _ListNative(_ValueNative):
    def get(self):
        return list(self._cache.read(self._name) or [])

    def add(self, value):
        self._cache.write(self._name, self.get() + [value])

    def add_all(self, values):
        self._cache.write(self._name, self.get() + list(values))

    def update(self, values):
        self._cache.write(self._name, list(values))


class _MapNative(_ValueNative):
    def _map(self):
        return dict(self._cache.read(self._name) or {})

    def get(self, key):
        return self._map().get(key)

    def put(self, key, value):
        entries = self._map()
        entries[key] = value
        self._cache.write(self._name, entries)

    def put_all(self, dict_value):
        entries = self._map()
        entries.update(dict_value)
        self._cache.write(self._name, entries)

    def remove(self, key):
        entries = self._map()
        entries.pop(key, None)
        self._cache.write(self._name, entries)

    def contains(self, key):
        return key in self._map()

    def items(self):
        return list(self._map().items())

    def keys(self):
        return list(self._map())

    def values(self):
        return list(self._map().values())

    def is_empty(self):
        return not self._map()


class TaskFacts:
    """Where a worker's function runs, as the engine described it when the worker opened, and
    the worker's metrics."""

    def __init__(self, runtime_info, metrics):
        self._info = runtime_info
        self._metrics = metrics

    def get_task_name(self):
        return self._info["task_name"]

    def get_job_parameter(self, key, default_value):
        return self._info.get("job_parameters", {}).get(key, default_value)

    def get_index_of_this_subtask(self):
        return self._info["index_of_this_subtask"]

    def get_number_of_parallel_subtasks(self):
        return self._info["number_of_parallel_subtasks"]

    def get_max_number_of_parallel_subtasks(self):
        return self._info.get("max_parallelism", 128)

    def get_attempt_number(self):
        return 0

    # The same text as in thread mode.
    get_task_name_with_subtasks = RuntimeContext.get_task_name_with_subtasks

    def _metric_group(self):
        return MetricGroup(self._metrics)


class _RuntimeNative(TaskFacts):
    """What ``RuntimeContext`` asks of the engine, in a worker: the task's facts, state
    handles backed by the bundle's cache (recorded so the engine binds its own), metrics."""

    def __init__(self, runtime_info, cache, metrics):
        super().__init__(runtime_info, metrics)
        self._cache = cache
        self.declared = []

    def get_metric_group(self):
        return self._metric_group()

    def _declare(self, name, kind, ttl, native):
        self.declared.append((name, kind, ttl))
        return native

    def get_state(self, name, ttl=None):
        return self._declare(name, "value", ttl, _ValueNative(self._cache, name))

    def get_list_state(self, name, ttl=None):
        return self._declare(name, "list", ttl, _ListNative(self._cache, name))

    def get_map_state(self, name, ttl=None):
        return self._declare(name, "map", ttl, _MapNative(self._cache, name))


class _ContextNative:
    """What a record's or timer's context asks of the engine, in a worker."""

    def __init__(self):
        self.key = None
        self.timestamp_value = None
        self.watermark = None
        self.processing_time = None
        self.domain = None
        self.slot = 0
        self.timers = []

    def timestamp(self):
        return self.timestamp_value

    def get_current_key(self):
        return self.key

    def current_watermark(self):
        return self.watermark

    def current_processing_time(self):
        return self.processing_time

    def time_domain(self):
        return self.domain

    def register_event_time_timer(self, timestamp):
        self.timers.append((self.slot, REGISTER_EVENT, timestamp))

    def register_processing_time_timer(self, timestamp):
        self.timers.append((self.slot, REGISTER_PROCESSING, timestamp))

    def delete_event_time_timer(self, timestamp):
        self.timers.append((self.slot, DELETE_EVENT, timestamp))

    def delete_processing_time_timer(self, timestamp):
        self.timers.append((self.slot, DELETE_PROCESSING, timestamp))


class KeyedProcess:
    """The worker's operator for a ``KeyedProcessFunction``."""

    def __init__(self, function, runtime_info, metrics):
        self._function = function
        self._cache = _Cache()
        runtime = _RuntimeNative(runtime_info, self._cache, metrics)
        function.open(RuntimeContext(runtime))
        self.declared = runtime.declared
        self._context = _ContextNative()
        self._wrapper = _KeyedContext(self._context)

    def bundle(self, message):
        keys, states, events, watermark, processing_time = message
        self._cache.reset(states)
        context = self._context
        context.watermark = watermark
        context.processing_time = processing_time
        context.timers = []
        process_element = self._function.process_element
        on_timer = self._function.on_timer
        results = []
        for kind, slot, value, timestamp in events:
            self._cache.slot = slot
            context.slot = slot
            context.key = keys[slot]
            context.timestamp_value = timestamp
            if kind == RECORD:
                context.domain = None
                emitted = process_element(value, self._wrapper)
            else:
                context.domain = 0 if kind == EVENT_TIMER else 1
                emitted = on_timer(value, self._wrapper)
            results.append([] if emitted is None else list(emitted))
        return results, self._cache.changes(), context.timers

    def close(self):
        self._function.close()



class MapAsKeyedProcess:
    """A map function on a keyed stream, run as a keyed process function, so that its
    ``open()`` can ask for keyed state: ``(target, method)`` as the engine pickles functions."""

    def __init__(self, target, method):
        self._target = target
        self._map = target if method is None else getattr(target, method)
        self._has_life_cycle = method is not None

    def open(self, runtime_context):
        if self._has_life_cycle:
            self._target.open(runtime_context)

    def close(self):
        if self._has_life_cycle:
            self._target.close()

    def process_element(self, value, ctx):
        return (self._map(value),)

    def on_timer(self, timestamp, ctx):
        return None


class _UnkeyedContextNative(_ContextNative):
    """The context of a record on a stream that is not keyed: no key, no timers."""

    def _no_timers(self, _timestamp):
        raise RuntimeError(
            "timers can only be set on a keyed stream: key_by() the stream and use a KeyedProcessFunction"
        )

    register_event_time_timer = register_processing_time_timer = _no_timers
    delete_event_time_timer = delete_processing_time_timer = _no_timers


class Process:
    """A ``ProcessFunction`` on a stream that is not keyed: each bundle brings the records,
    their timestamps and the current times; the answer has each record's results."""

    def __init__(self, function, runtime_context):
        self._function = function
        function.open(runtime_context)
        self._context = _UnkeyedContextNative()
        self._wrapper = _KeyedContext(self._context)

    def bundle(self, message):
        records, timestamps, watermark, processing_time = message
        context = self._context
        context.watermark = watermark
        context.processing_time = processing_time
        process_element = self._function.process_element
        results = []
        for value, timestamp in zip(records, timestamps):
            context.timestamp_value = timestamp
            emitted = process_element(value, self._wrapper)
            results.append([] if emitted is None else list(emitted))
        return results

    def close(self):
        self._function.close()


class Window:
    """A window function in a worker: when a window fires, the engine sends its key, window,
    the current times and all its records; the worker folds them with the reduce or aggregate
    function, if any, and returns what the window function returns."""

    FIRE, CLEAR = 0, 1

    def __init__(self, evaluator, contents_kind, contents, functions):
        self._evaluator = evaluator
        evaluator.open(functions.context)
        self._kind = contents_kind
        self._reduce = functions.load(contents) if contents_kind == "reduce" else None
        self._aggregate = pickle.loads(contents) if contents_kind == "aggregate" else None
        if self._aggregate is not None:
            self._aggregate.open(functions.context)

    def bundle(self, message):
        """The window's results and what to store as the states of the window and of the key
        (None: unchanged)."""
        what, key, window, watermark, processing_time, records, window_states, global_states = message
        if what == Window.CLEAR:
            return [], *self._evaluator.clear(key, window, watermark, processing_time, window_states, global_states)
        if self._reduce is not None and records:
            records = [functools.reduce(self._reduce, records)]
        elif self._aggregate is not None:
            accumulator = self._aggregate.create_accumulator()
            for record in records:
                accumulator = self._aggregate.add(record, accumulator)
            records = [self._aggregate.get_result(accumulator)]
        results, window_states, global_states = self._evaluator.process(
            key, window, watermark, processing_time, records, window_states, global_states)
        return [] if results is None else list(results), window_states, global_states

    def close(self):
        self._evaluator.close()
        if self._aggregate is not None:
            self._aggregate.close()
