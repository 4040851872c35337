"""Keyed state: descriptors, the state objects a function gets from its ``RuntimeContext``, and
``StateTtlConfig``. State values are Python objects, checkpointed pickled."""

from abc import ABC, abstractmethod
from enum import Enum


class StateTtlConfig:
    """When state entries expire (build one with ``StateTtlConfig.new_builder(Time...)``)."""

    class UpdateType(Enum):
        Disabled = 0
        OnCreateAndWrite = 1
        OnReadAndWrite = 2

    class StateVisibility(Enum):
        ReturnExpiredIfNotCleanedUp = 0
        NeverReturnExpired = 1

    class TtlTimeCharacteristic(Enum):
        ProcessingTime = 0

    def __init__(self, builder):
        self._ttl_millis = builder._ttl.to_milliseconds()
        self._update_type = builder._update_type.value
        self._state_visibility = builder._state_visibility.value
        self._cleanup_full_snapshot = builder._cleanup_full_snapshot
        self._incremental_cleanup_size = builder._incremental_cleanup_size
        self._cleanup_in_background = builder._cleanup_in_background
        self._cleanup_strategies = StateTtlConfig.CleanupStrategies(
            dict(builder._strategies), builder._cleanup_in_background
        )

    @staticmethod
    def new_builder(ttl):
        return StateTtlConfig.Builder(ttl)

    def get_ttl(self):
        from pyflink_rs.common.time import Time

        return Time.milliseconds(self._ttl_millis)

    def get_update_type(self):
        return StateTtlConfig.UpdateType(self._update_type)

    def get_state_visibility(self):
        return StateTtlConfig.StateVisibility(self._state_visibility)

    def is_enabled(self):
        return self._update_type != StateTtlConfig.UpdateType.Disabled.value

    def get_ttl_time_characteristic(self):
        """TTL follows processing time, the only characteristic Flink has."""
        return StateTtlConfig.TtlTimeCharacteristic.ProcessingTime

    def get_cleanup_strategies(self):
        """How expired entries are removed: ``CleanupStrategies``."""
        return self._cleanup_strategies

    class CleanupStrategies:
        """When expired entries are removed besides on read: in full snapshots, incrementally as
        state is accessed, or (RocksDB) during compaction."""

        class Strategies(Enum):
            FULL_STATE_SCAN_SNAPSHOT = 0
            INCREMENTAL_CLEANUP = 1
            ROCKSDB_COMPACTION_FILTER = 2

        class CleanupStrategy:
            """The settings of one cleanup strategy."""

        class EmptyCleanupStrategy(CleanupStrategy):
            """A strategy without settings (full snapshot cleanup)."""

        class IncrementalCleanupStrategy(CleanupStrategy):
            """Checks ``cleanup_size`` entries for expiry on each state access (and on each
            record, if asked)."""

            def __init__(self, cleanup_size, run_cleanup_for_every_record):
                self._cleanup_size = cleanup_size
                self._run_cleanup_for_every_record = run_cleanup_for_every_record

            def get_cleanup_size(self):
                return self._cleanup_size

            def run_cleanup_for_every_record(self):
                return self._run_cleanup_for_every_record

        class RocksdbCompactFilterCleanupStrategy(CleanupStrategy):
            """Drops expired entries when RocksDB compacts (kept: the engine's RocksDB state
            expires entries on read and in snapshots)."""

            def __init__(self, query_time_after_num_entries, periodic_compaction_time=None):
                from pyflink_rs.common.time import Duration

                self._query_time_after_num_entries = query_time_after_num_entries
                self._periodic_compaction_time = periodic_compaction_time or Duration.of_days(30)

            def get_query_time_after_num_entries(self):
                return self._query_time_after_num_entries

            def get_periodic_compaction_time(self):
                return self._periodic_compaction_time

        EMPTY_STRATEGY = EmptyCleanupStrategy()

        def __init__(self, strategies, is_cleanup_in_background):
            self._strategies = strategies
            self._is_cleanup_in_background = is_cleanup_in_background

        def is_cleanup_in_background(self):
            return self._is_cleanup_in_background

        def in_full_snapshot(self):
            return StateTtlConfig.CleanupStrategies.Strategies.FULL_STATE_SCAN_SNAPSHOT in self._strategies

        def get_incremental_cleanup_strategy(self):
            """The incremental strategy set, else Flink's default in background cleanup (5
            entries per access), else ``None``."""
            strategies = StateTtlConfig.CleanupStrategies
            default = strategies.IncrementalCleanupStrategy(5, False) if self._is_cleanup_in_background else None
            return self._strategies.get(strategies.Strategies.INCREMENTAL_CLEANUP, default)

        def get_rocksdb_compact_filter_cleanup_strategy(self):
            strategies = StateTtlConfig.CleanupStrategies
            default = strategies.RocksdbCompactFilterCleanupStrategy(1000) if self._is_cleanup_in_background else None
            return self._strategies.get(strategies.Strategies.ROCKSDB_COMPACTION_FILTER, default)

    class Builder:
        """Builds a ``StateTtlConfig``."""

        def __init__(self, ttl):
            self._ttl = ttl
            self._update_type = StateTtlConfig.UpdateType.OnCreateAndWrite
            self._state_visibility = StateTtlConfig.StateVisibility.NeverReturnExpired
            self._cleanup_full_snapshot = False
            self._incremental_cleanup_size = None
            self._cleanup_in_background = True
            self._strategies = {}

        def set_update_type(self, update_type):
            self._update_type = update_type
            return self

        def update_ttl_on_create_and_write(self):
            return self.set_update_type(StateTtlConfig.UpdateType.OnCreateAndWrite)

        def update_ttl_on_read_and_write(self):
            return self.set_update_type(StateTtlConfig.UpdateType.OnReadAndWrite)

        def set_state_visibility(self, state_visibility):
            self._state_visibility = state_visibility
            return self

        def return_expired_if_not_cleaned_up(self):
            return self.set_state_visibility(StateTtlConfig.StateVisibility.ReturnExpiredIfNotCleanedUp)

        def never_return_expired(self):
            return self.set_state_visibility(StateTtlConfig.StateVisibility.NeverReturnExpired)

        def set_ttl_time_characteristic(self, ttl_time_characteristic):
            return self

        def use_processing_time(self):
            return self

        def cleanup_full_snapshot(self):
            self._cleanup_full_snapshot = True
            strategies = StateTtlConfig.CleanupStrategies
            self._strategies[strategies.Strategies.FULL_STATE_SCAN_SNAPSHOT] = strategies.EMPTY_STRATEGY
            return self

        def cleanup_incrementally(self, cleanup_size, run_cleanup_for_every_record=False):
            self._incremental_cleanup_size = cleanup_size
            strategies = StateTtlConfig.CleanupStrategies
            self._strategies[strategies.Strategies.INCREMENTAL_CLEANUP] = strategies.IncrementalCleanupStrategy(
                cleanup_size, run_cleanup_for_every_record
            )
            return self

        def cleanup_in_rocksdb_compact_filter(self, query_time_after_num_entries=1000, periodic_compaction_time=None):
            """Kept (see ``RocksdbCompactFilterCleanupStrategy``)."""
            strategies = StateTtlConfig.CleanupStrategies
            self._strategies[strategies.Strategies.ROCKSDB_COMPACTION_FILTER] = (
                strategies.RocksdbCompactFilterCleanupStrategy(query_time_after_num_entries, periodic_compaction_time)
            )
            return self

        def disable_cleanup_in_background(self):
            self._cleanup_in_background = False
            return self

        def set_ttl(self, ttl):
            self._ttl = ttl
            return self

        def build(self):
            return StateTtlConfig(self)


class StateDescriptor:
    """Names a state and the type of its values."""

    def __init__(self, name, type_info=None):
        if not isinstance(name, str) or not name:
            raise ValueError("a state needs a non-empty name")
        self.name = name
        self.type_info = type_info
        self._ttl_config = None

    def get_name(self):
        return self.name

    def enable_time_to_live(self, ttl_config):
        """Lets the state's entries expire as ``ttl_config`` says."""
        if not isinstance(ttl_config, StateTtlConfig):
            raise TypeError("expected a StateTtlConfig")
        self._ttl_config = ttl_config


class ValueStateDescriptor(StateDescriptor):
    """Describes a ``ValueState``: one value per key."""

    def __init__(self, name, value_type_info=None):
        super().__init__(name, value_type_info)


class ListStateDescriptor(StateDescriptor):
    """Describes a ``ListState``: a list of values per key."""

    def __init__(self, name, elem_type_info=None):
        super().__init__(name, elem_type_info)


class MapStateDescriptor(StateDescriptor):
    """Describes a ``MapState``: a map per key."""

    def __init__(self, name, key_type_info=None, value_type_info=None):
        super().__init__(name, value_type_info)
        self.key_type_info = key_type_info


class ReducingStateDescriptor(StateDescriptor):
    """Describes a ``ReducingState``: per key, the values added so far folded by
    ``reduce_function`` (a ``ReduceFunction`` or a callable of two values)."""

    def __init__(self, name, reduce_function, type_info=None):
        super().__init__(name, type_info)
        reduce = getattr(reduce_function, "reduce", reduce_function)
        if not callable(reduce):
            raise TypeError(f"expected a ReduceFunction or a callable, got {type(reduce_function).__name__}")
        self._reduce = reduce

    def get_reduce_function(self):
        return self._reduce


class AggregatingStateDescriptor(StateDescriptor):
    """Describes an ``AggregatingState``: per key, an accumulator of the values added so far,
    kept by ``agg_function`` (an ``AggregateFunction``)."""

    def __init__(self, name, agg_function, state_type_info=None):
        super().__init__(name, state_type_info)
        for method in ("create_accumulator", "add", "get_result"):
            if not callable(getattr(agg_function, method, None)):
                raise TypeError(f"expected an AggregateFunction, got {type(agg_function).__name__}")
        self._agg_function = agg_function

    def get_agg_function(self):
        return self._agg_function


class State:
    """The base of the state objects."""

    def __init__(self, native):
        self._native = native

    def clear(self):
        """Removes the current key's value."""
        self._native.clear()


class AppendingState(State):
    """A state values are added to, read back as one value (a list, a reduction, an
    aggregate)."""

    def get(self):
        raise NotImplementedError

    def add(self, value):
        raise NotImplementedError


class MergingState(AppendingState):
    """An appending state whose contents merge when windows merge."""


class ValueState(State):
    """One value per key."""

    def __init__(self, native):
        super().__init__(native)
        # The engine's own methods on the instance, found before the class's: a call goes
        # straight to the engine, without a frame of this wrapper (state calls are much of
        # what a keyed function costs per record).
        self.value = native.value
        self.update = native.update

    def value(self):
        """The current key's value, or ``None``."""
        return self._native.value()

    def update(self, value):
        """Sets the current key's value."""
        self._native.update(value)


class ListState(MergingState):
    """A list of values per key."""

    def get(self):
        """The current key's values (an empty list when there are none)."""
        return self._native.get()

    def add(self, value):
        self._native.add(value)

    def add_all(self, values):
        self._native.add_all(list(values))

    def update(self, values):
        self._native.update(list(values))

    def __iter__(self):
        return iter(self.get())


class _MapReads:
    """Reading a map held by the engine (``self._native``): map state and broadcast state."""

    def get(self, key):
        """The value of ``key``, or ``None``."""
        return self._native.get(key)

    def contains(self, key):
        return self._native.contains(key)

    def items(self):
        return self._native.items()

    def keys(self):
        return self._native.keys()

    def values(self):
        return self._native.values()

    def is_empty(self):
        return self._native.is_empty()

    def __getitem__(self, key):
        if not self.contains(key):
            raise KeyError(key)
        return self.get(key)

    def __contains__(self, key):
        return self.contains(key)

    def __iter__(self):
        return iter(self.keys())


class _MapWrites:
    """Changing a map held by the engine (``self._native``)."""

    def put(self, key, value):
        self._native.put(key, value)

    def put_all(self, dict_value):
        self._native.put_all(dict(dict_value))

    def remove(self, key):
        self._native.remove(key)

    def __setitem__(self, key, value):
        self.put(key, value)

    def __delitem__(self, key):
        self.remove(key)


class MapState(_MapReads, _MapWrites, State):
    """A map per key."""

class ReducingState(MergingState):
    """Per key, the values added so far folded into one by a reduce function."""

    def __init__(self, native, reduce):
        super().__init__(native)
        self._reduce = reduce

    def get(self):
        """The current key's folded value, or ``None`` when nothing was added."""
        return self._native.value()

    def add(self, value):
        """Folds ``value`` into the current key's value."""
        current = self._native.value()
        self._native.update(value if current is None else self._reduce(current, value))


class AggregatingState(MergingState):
    """Per key, an accumulator of the values added so far, read through the aggregate
    function's ``get_result``."""

    def __init__(self, native, agg_function):
        super().__init__(native)
        self._agg_function = agg_function

    def get(self):
        """The current key's result, or ``None`` when nothing was added."""
        accumulator = self._native.value()
        return None if accumulator is None else self._agg_function.get_result(accumulator)

    def add(self, value):
        """Adds ``value`` to the current key's accumulator."""
        accumulator = self._native.value()
        if accumulator is None:
            accumulator = self._agg_function.create_accumulator()
        self._native.update(self._agg_function.add(value, accumulator))


class ReadOnlyBroadcastState(_MapReads, State):
    """A broadcast state as ``process_element`` sees it: every entry, read-only."""

    def clear(self):
        """Removes every entry (only in ``process_broadcast_element``)."""
        self._native.clear()


class BroadcastState(_MapWrites, ReadOnlyBroadcastState):
    """A broadcast state as ``process_broadcast_element`` sees it: every instance receives the
    same broadcast records, so every instance's copy stays the same; it is checkpointed and
    restored at any parallelism."""


class OperatorStateStore(ABC):
    """Where a function finds the state of its operator rather than of a key: the broadcast
    states, in the contexts of broadcast process functions."""

    @abstractmethod
    def get_broadcast_state(self, state_descriptor):
        """The ``BroadcastState`` a ``MapStateDescriptor`` describes (read-only where the
        function may only read it)."""
