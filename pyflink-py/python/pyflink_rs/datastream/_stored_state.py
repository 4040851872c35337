"""States kept by name in one stored value of the engine: the partitioned state of a Python
``Trigger`` (per key and window, in the window's trigger state), and the ``window_state()`` and
``global_state()`` of a ``ProcessWindowFunction`` (per key and window, and per key). The
engine hands the stored value over for a call and takes it back after; each state's value is
replaced on writes, never changed in place, because the engine may still hold the old one for a
checkpoint."""

import functools

from pyflink_rs.datastream.state import (
    AggregatingState,
    AggregatingStateDescriptor,
    ListState,
    ListStateDescriptor,
    MapState,
    MapStateDescriptor,
    ReducingState,
    ReducingStateDescriptor,
    ValueState,
    ValueStateDescriptor,
)
from pyflink_rs.datastream.functions import KeyedStateStore
from pyflink_rs.datastream.window import Trigger


class _Stored:
    """A state kept under its descriptor's name in the native context."""

    def __init__(self, native, name):
        self._native = native
        self._name = name

    def _get(self):
        return self._native.get(self._name)

    def _put(self, value):
        self._native.put(self._name, value)

    def clear(self):
        self._native.remove(self._name)


class _TriggerValueState(_Stored, ValueState):
    def value(self):
        return self._get()

    def update(self, value):
        if value is None:
            self.clear()
        else:
            self._put(value)


class _TriggerListState(_Stored, ListState):
    def get(self):
        return list(self._get() or [])

    def add(self, value):
        self._put((self._get() or []) + [value])

    def add_all(self, values):
        self._put((self._get() or []) + list(values))

    def update(self, values):
        self._put(list(values))

    def __iter__(self):
        return iter(self.get())


class _TriggerReducingState(_Stored, ReducingState):
    def __init__(self, native, name, reduce):
        _Stored.__init__(self, native, name)
        self._reduce = reduce

    def get(self):
        return self._get()

    def add(self, value):
        current = self._get()
        self._put(value if current is None else self._reduce(current, value))


class _TriggerAggregatingState(_Stored, AggregatingState):
    def __init__(self, native, name, agg_function):
        _Stored.__init__(self, native, name)
        self._agg = agg_function

    def get(self):
        accumulator = self._get()
        return None if accumulator is None else self._agg.get_result(accumulator)

    def add(self, value):
        accumulator = self._get()
        if accumulator is None:
            accumulator = self._agg.create_accumulator()
        self._put(self._agg.add(value, accumulator))


class _TriggerMapState(_Stored, MapState):
    def _map(self):
        return dict(self._get() or {})

    def get(self, key):
        return self._map().get(key)

    def put(self, key, value):
        entries = self._map()
        entries[key] = value
        self._put(entries)

    def put_all(self, dict_value):
        entries = self._map()
        entries.update(dict_value)
        self._put(entries)

    def remove(self, key):
        entries = self._map()
        entries.pop(key, None)
        self._put(entries)

    def contains(self, key):
        return key in self._map()

    def items(self):
        return list(self._map().items())

    def keys(self):
        return list(self._map().keys())

    def values(self):
        return list(self._map().values())

    def is_empty(self):
        return not self._map()


def stored_state(native, state_descriptor, expected=None):
    """The state ``state_descriptor`` describes, kept under its name in ``native`` (which has
    ``get(name)``, ``put(name, value)`` and ``remove(name)``); ``expected``, if given, is the
    descriptor class the caller asks for."""
    if expected is not None and not isinstance(state_descriptor, expected):
        raise TypeError(f"expected a {expected.__name__}, got {type(state_descriptor).__name__}")
    name = state_descriptor.name
    if isinstance(state_descriptor, ValueStateDescriptor):
        return _TriggerValueState(native, name)
    if isinstance(state_descriptor, ListStateDescriptor):
        return _TriggerListState(native, name)
    if isinstance(state_descriptor, MapStateDescriptor):
        return _TriggerMapState(native, name)
    if isinstance(state_descriptor, ReducingStateDescriptor):
        return _TriggerReducingState(native, name, state_descriptor.get_reduce_function())
    if isinstance(state_descriptor, AggregatingStateDescriptor):
        return _TriggerAggregatingState(native, name, state_descriptor.get_agg_function())
    raise TypeError(f"expected a state descriptor, got {type(state_descriptor).__name__}")


class StateScope:
    """The states of one scope of a window function (a key's window, or the key across its
    windows) for one call: a dict by state name, as the engine stored it. Writes copy the dict
    first, so the engine's stored one stays as it was; ``update()`` is what to store after the
    call: None when nothing changed, else the new dict (empty: remove it)."""

    __slots__ = ("_states", "_changed")

    def __init__(self, states):
        self._states = states
        self._changed = False

    def get(self, name):
        return None if self._states is None else self._states.get(name)

    def _writable(self):
        if not self._changed:
            self._states = dict(self._states or {})
            self._changed = True
        return self._states

    def put(self, name, value):
        self._writable()[name] = value

    def remove(self, name):
        if self.get(name) is not None:
            self._writable().pop(name, None)

    def update(self):
        return self._states if self._changed else None


class StoredStateStore(KeyedStateStore):
    """A ``KeyedStateStore`` whose states are kept in a ``StateScope``: what
    ``ProcessWindowFunction.Context.window_state()`` and ``global_state()`` return."""

    __slots__ = ("_scope",)

    def __init__(self, scope):
        self._scope = scope

    def get_state(self, state_descriptor):
        return stored_state(self._scope, state_descriptor, ValueStateDescriptor)

    def get_list_state(self, state_descriptor):
        return stored_state(self._scope, state_descriptor, ListStateDescriptor)

    def get_map_state(self, state_descriptor):
        return stored_state(self._scope, state_descriptor, MapStateDescriptor)

    def get_reducing_state(self, state_descriptor):
        return stored_state(self._scope, state_descriptor, ReducingStateDescriptor)

    def get_aggregating_state(self, state_descriptor):
        return stored_state(self._scope, state_descriptor, AggregatingStateDescriptor)


class _TriggerContext(Trigger.OnMergeContext):
    """The engine's context of one trigger call, under PyFlink's names."""

    __slots__ = ("_native",)

    def __init__(self, native):
        self._native = native

    def get_current_processing_time(self):
        return self._native.processing_time()

    def get_current_watermark(self):
        return self._native.watermark()

    def get_metric_group(self):
        """A metric group of the trigger's own: triggers run outside any function's life
        cycle, so their metrics are not reported."""
        from pyflink_rs.worker_metrics import MetricGroup

        return MetricGroup({})

    def register_processing_time_timer(self, time):
        self._native.register_processing_time_timer(time)

    def register_event_time_timer(self, time):
        self._native.register_event_time_timer(time)

    def delete_processing_time_timer(self, time):
        self._native.delete_processing_time_timer(time)

    def delete_event_time_timer(self, time):
        self._native.delete_event_time_timer(time)

    def get_partitioned_state(self, state_descriptor):
        """The state ``state_descriptor`` describes, for this key and window."""
        return stored_state(self._native, state_descriptor)

    def merge_partitioned_state(self, state_descriptor):
        """Merges the state of the windows that merged into this one: list, reducing and
        aggregating states merge; others cannot."""
        values = [value for value in self._native.merged(state_descriptor.name) if value is not None]
        if not values:
            return
        if isinstance(state_descriptor, ListStateDescriptor):
            merged = [item for value in values for item in value]
        elif isinstance(state_descriptor, ReducingStateDescriptor):
            merged = functools.reduce(state_descriptor.get_reduce_function(), values)
        elif isinstance(state_descriptor, AggregatingStateDescriptor):
            merged = functools.reduce(state_descriptor.get_agg_function().merge, values)
        else:
            raise TypeError(
                f"the state '{state_descriptor.name}' ({type(state_descriptor).__name__}) cannot be merged: "
                "only list, reducing and aggregating states merge"
            )
        self._native.put(state_descriptor.name, merged)
