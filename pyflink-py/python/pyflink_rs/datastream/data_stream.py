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


# Flink's upper bound of an operator's max parallelism (key groups).
_UPPER_BOUND_MAX_PARALLELISM = 1 << 15


class _OperatorSettings:
    """What a program says about an operator besides its function: its name, uid, max
    parallelism, description, slot sharing group and chaining, as PyFlink's
    ``DataStream`` and ``DataStreamSink`` take them.

    This engine runs every operator of a job in the job's worker threads: there are no task
    slots to share and no chains to cut, so ``slot_sharing_group``, ``start_new_chain`` and
    ``disable_chaining`` are kept as the operator's settings (for programs that read them
    back), and change nothing about how it runs."""

    def _init_settings(self, name):
        self._name = name
        self._uid_hash = None
        self._max_parallelism = None
        self._description = None
        self._slot_sharing_group = None
        self._chaining = "default"
        self._parallelism = None
        self._buffer_timeout = None

    def get_name(self):
        """The operator's name."""
        return self._name

    def name(self, name):
        """Names the operator (in metrics, logs and errors)."""
        self._native.set_name(str(name))
        self._name = str(name)
        return self

    def uid(self, uid):
        """Sets the operator's unique id, which binds its state in checkpoints and savepoints
        across changes of the program; uids are unique within a job."""
        self._native.set_uid(str(uid))
        return self

    def set_uid_hash(self, uid_hash):
        """Sets the hash Flink would derive from a uid (32 hex digits), for state written
        by a job that had none; it is kept with the operator's settings."""
        text = str(uid_hash)
        if len(text) != 32 or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise ValueError(f"a uid hash is 32 hexadecimal digits, not '{text}'")
        self._uid_hash = text
        return self

    def set_description(self, description):
        """Describes the operator, for people reading the job's plan."""
        self._description = str(description)
        return self

    def slot_sharing_group(self, slot_sharing_group):
        """Sets the operator's slot sharing group (a name or a ``SlotSharingGroup``); see
        the class documentation for what it changes here."""
        self._slot_sharing_group = getattr(slot_sharing_group, "get_name", lambda: slot_sharing_group)()
        return self

    def disable_chaining(self):
        """Asks that the operator is not chained to others; see the class documentation."""
        self._chaining = "disabled"
        return self


class DataStream(_OperatorSettings):
    """A stream of records. Transformations record the program; nothing runs until the
    environment executes."""

    def __init__(self, native, type_info=None, name=None):
        self._native = native
        # The records' type, where the program gave one (tables of the stream need it).
        self._type_info = type_info
        self._init_settings(name)

    def get_type(self):
        """The type of the records, where the program gave one."""
        return self._type_info

    def get_execution_environment(self):
        """The ``StreamExecutionEnvironment`` the stream belongs to."""
        from pyflink_rs.datastream.stream_execution_environment import environment_of

        return environment_of(self._native)

    def get_execution_config(self):
        """The ``ExecutionConfig`` of the stream's environment."""
        return self.get_execution_environment().get_config()

    def set_max_parallelism(self, max_parallelism):
        """Sets the most instances the operator may ever run with (1 to 32768); its
        parallelism must not be larger."""
        if not 0 < max_parallelism <= _UPPER_BOUND_MAX_PARALLELISM:
            raise ValueError(
                f"The maximum parallelism must be greater than 0 and less than or equal to "
                f"{_UPPER_BOUND_MAX_PARALLELISM}, not {max_parallelism}"
            )
        if self._parallelism is not None and self._parallelism > max_parallelism:
            raise ValueError(
                f"The parallelism {self._parallelism} of operator '{self._name}' is larger than its maximum "
                f"parallelism {max_parallelism}"
            )
        self._max_parallelism = max_parallelism
        return self

    def force_non_parallel(self):
        """Runs the operator as one instance: parallelism and max parallelism 1."""
        self.set_parallelism(1)
        self._max_parallelism = 1
        return self

    def start_new_chain(self):
        """Asks that a new chain starts at the operator; see ``_OperatorSettings``."""
        self._chaining = "new chain"
        return self

    def set_buffer_timeout(self, timeout_millis):
        """Flink's network buffer flush timeout: records here are handed on in batches that
        end with every input batch, so none waits for a timeout; the value is kept."""
        if timeout_millis < -1:
            raise ValueError(f"the buffer timeout must be -1 or more, not {timeout_millis}")
        self._buffer_timeout = timeout_millis
        return self

    def _partitioned(self, partitioning):
        return DataStream(self._native.partition(partitioning), self._type_info, "Partition")

    def forward(self):
        """Each record to the same-numbered instance of the next operator, which must have
        this operator's parallelism."""
        return self._partitioned("forward")

    def shuffle(self):
        """Each record to an instance of the next operator picked at random."""
        return self._partitioned("shuffle")

    def rebalance(self):
        """Records round robin over every instance of the next operator."""
        return self._partitioned("rebalance")

    def rescale(self):
        """Records round robin over a subset of the next operator's instances."""
        return self._partitioned("rescale")

    def broadcast(self, broadcast_state_descriptor=None, *other_broadcast_state_descriptors):
        """Every record to every instance of the next operator. With ``MapStateDescriptor``s,
        a ``BroadcastStream`` declaring those broadcast states, to ``connect()`` to another
        stream and process with a ``(Keyed)BroadcastProcessFunction``."""
        if broadcast_state_descriptor is None:
            return self._partitioned("broadcast")
        from pyflink_rs.datastream.state import MapStateDescriptor

        descriptors = (broadcast_state_descriptor, *other_broadcast_state_descriptors)
        for descriptor in descriptors:
            if not isinstance(descriptor, MapStateDescriptor):
                raise TypeError(f"broadcast() takes MapStateDescriptors, not {type(descriptor).__name__}")
        return BroadcastStream(self, descriptors)

    def partition_custom(self, partitioner, key_selector):
        """Each record to the instance of the next operator that ``partitioner`` (a
        ``Partitioner`` or a callable ``(key, num_partitions) -> int``) picks for its key
        (``key_selector``). A partition outside ``0 .. num_partitions`` fails the job. The
        partitioner runs where the sending operator runs, in this process."""
        from pyflink_rs.datastream.functions import Partitioner, callable_of

        partition = callable_of(partitioner, Partitioner, "partition")
        key_of = callable_of(key_selector, KeySelector, "get_key")

        def pick(value, num_partitions):
            return partition(key_of(value), num_partitions)

        native = self._native.partition_custom(cloudpickle.dumps(pick))
        return DataStream(native, self._type_info, "Partition")

    def project(self, *field_indexes):
        """The fields ``field_indexes`` of each tuple record, as a tuple (the stream must be
        of a ``Types.TUPLE`` type)."""
        from pyflink_rs.common.typeinfo import TupleTypeInfo, Types

        if not isinstance(self._type_info, TupleTypeInfo):
            raise Exception("Only Tuple DataStreams can be projected: give the stream a Types.TUPLE type")
        types = self._type_info.get_field_types()
        for index in field_indexes:
            if not 0 <= index < len(types):
                raise IndexError(f"field {index} is outside the tuple's {len(types)} fields")
        indexes = tuple(field_indexes)
        return self.map(lambda value: tuple(value[i] for i in indexes), Types.TUPLE([types[i] for i in indexes]))

    def add_sink(self, sink_func):
        """Sends the records to ``sink_func``: a ``SinkFunction`` whose ``invoke(value,
        context)`` is called for each record (after ``open``, before ``close``), or one of the
        connectors' legacy sinks (``FlinkKafkaProducer``, ``JdbcSink.sink``)."""
        from pyflink_rs.datastream.functions import SinkFunction

        if hasattr(sink_func, "_add_to"):
            return self.sink_to(sink_func)
        if not isinstance(sink_func, SinkFunction):
            raise TypeError(f"expected a SinkFunction, got {type(sink_func).__name__}")
        invoked = self.process(_InvokeSink(sink_func)).name("Sink: Unnamed")
        return DataStreamSink(invoked._native.discard(), "Sink: Unnamed")

    def map(self, func, output_type=None):
        """Each record through ``func`` (a callable or a ``MapFunction``); the results are
        records of ``output_type`` (any Python object when not given)."""
        function = pickled_callable(func, MapFunction, "map")
        return DataStream(self._native.map(function, "Map", native_type(output_type)), output_type, "Map")

    def flat_map(self, func, output_type=None):
        """Each record to the records that ``func`` returns or yields, of ``output_type``."""
        function = pickled_callable(func, FlatMapFunction, "flat_map")
        return DataStream(self._native.flat_map(function, "FlatMap", native_type(output_type)), output_type, "FlatMap")

    def filter(self, func):
        """The records for which ``func`` returns a true value."""
        function = pickled_callable(func, FilterFunction, "filter")
        return DataStream(self._native.filter(function, "Filter"), self._type_info, "Filter")

    def process(self, func, output_type=None):
        """Each record through a ``ProcessFunction``: results and side outputs returned or
        yielded, results of ``output_type``."""
        if not isinstance(func, ProcessFunction):
            raise TypeError(f"expected a ProcessFunction, got {type(func).__name__}")
        return DataStream(
            self._native.process(cloudpickle.dumps(func), "Process", native_type(output_type)), output_type, "Process"
        )

    def get_side_output(self, output_tag):
        """The records the operator of this stream sent to the side output ``output_tag``."""
        if not isinstance(output_tag, OutputTag):
            raise TypeError(f"expected an OutputTag, got {type(output_tag).__name__}")
        return DataStream(self._native.get_side_output(output_tag.tag_id, native_type(output_tag.type_info)))

    def connect(self, ds):
        """This stream and ``ds`` connected: one function processes the records of both, by
        input (``map1``/``map2``, ``process_element1``/``process_element2``). With a
        ``BroadcastStream``, a ``BroadcastConnectedStream``."""
        from pyflink_rs.datastream.connected_streams import ConnectedStreams

        if isinstance(ds, BroadcastStream):
            return BroadcastConnectedStream(self, ds)
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
        return KeyedStream(self._native.key_by(selector), self, key_selector)

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
        if self._max_parallelism is not None and parallelism > self._max_parallelism:
            raise ValueError(
                f"The parallelism {parallelism} of operator '{self._name}' is larger than its maximum parallelism "
                f"{self._max_parallelism}"
            )
        self._native.set_parallelism(parallelism)
        self._parallelism = parallelism
        return self

    def print(self, sink_identifier=None):
        """Prints every record (its ``str``) to standard output when the job runs; returns
        the ``DataStreamSink``."""
        return DataStreamSink(self._native.print(), "Print to Std. Out")

    def sink_to(self, sink):
        """Sends the stream's records to ``sink`` when the job runs; returns the
        ``DataStreamSink``. A sink that ``SupportsPreprocessing`` writes what its transformer
        makes of the stream."""
        from pyflink_rs.datastream.connectors.base import SupportsPreprocessing

        stream = self
        if isinstance(sink, SupportsPreprocessing):
            transformer = sink.get_transformer()
            if transformer is not None:
                stream = transformer.apply(self)
        return DataStreamSink(sink._add_to(stream._native), type(sink).__name__)

    def cache(self):
        """A ``CachedDataStream`` of this stream's records: computed by the first job that
        uses it, then read from the cache by later jobs of this environment."""
        return CachedDataStream(self)

    def execute_and_collect(self, job_execution_name=None, limit=None):
        """Runs the job of this stream and returns a ``CloseableIterator`` over its records
        as the job makes them, or, with ``limit``, a list of the first ``limit`` records (the
        job is then cancelled), as in PyFlink."""
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        from pyflink_rs.datastream.stream_execution_environment import take_pending_caches

        native = self._native
        caches = take_pending_caches(native)
        writers = [writer for _, writer in caches]
        try:
            collected = native.execute_and_collect(job_execution_name or "collect", writers)
        except Exception:
            # The job did not start, and took the writers with it: the next use adds new ones.
            for cache, _ in caches:
                cache.invalidate()
            raise
        records = CloseableIterator(collected)
        for cache, _ in caches:
            cache.written_by(records._ended_normally)
        if limit is None:
            return records
        # The job is cancelled after `limit` records, and has ended when this returns.
        with records:
            return list(itertools.islice(records, limit))


class CachedDataStream(DataStream):
    """A stream whose records are kept once a job has computed them (``DataStream.cache()``):
    the first job that uses it also writes its records aside, and the jobs of the same
    environment after that one finished read them instead of computing the stream again.
    ``invalidate()`` or the environment's ``close()`` drops them. Only bounded jobs without
    checkpoints can cache, as Flink caches only in BATCH mode."""

    def __init__(self, stream):
        from pyflink_rs.datastream._cache import IntermediateResult

        self._stream = stream
        self._type_info = stream._type_info
        self._init_settings(stream._name)
        self._result = IntermediateResult()
        self._replay = None
        stream.get_execution_environment()._register_cache(self)

    @property
    def _native(self):
        # Every use of the stream in a program goes through here: once the result is complete,
        # uses read it; before, the first use in a job adds the writer to that job.
        if self._result.is_complete():
            if self._replay is None:
                env = self._stream.get_execution_environment()
                self._replay = env.from_collection(self._result.records(), self._type_info)._native
            return self._replay
        if not self._result.is_pending():
            env = self._stream.get_execution_environment()
            if env.get_checkpoint_config().is_checkpointing_enabled():
                raise Exception(
                    "DataStream.cache() needs a bounded job without checkpointing (Flink caches only in "
                    "BATCH mode): disable checkpointing or set RuntimeExecutionMode.BATCH"
                )
            self._replay = None
            sink = self._stream.add_sink(self._result.writer()).name("Cache")
            env._pending_caches.append((self._result, sink._native))
        return self._stream._native

    def invalidate(self):
        """Drops the cached records; a later job that uses the stream computes it again."""
        self._result.invalidate()
        self._replay = None

    def set_parallelism(self, parallelism):
        raise Exception("Set parallelism for CachedDataStream is not supported.")

    def name(self, name):
        raise Exception("Set name for CachedDataStream is not supported.")


class BroadcastStream:
    """A stream whose records go to every instance of the operator it is connected to, with
    the broadcast states (``MapStateDescriptor``) they write (``DataStream.broadcast(...)``)."""

    def __init__(self, stream, descriptors):
        self._stream = stream
        self._descriptors = tuple(descriptors)
        names = [descriptor.name for descriptor in self._descriptors]
        if len(set(names)) != len(names):
            raise ValueError(f"broadcast states need distinct names, not {names}")

    def get_execution_environment(self):
        return self._stream.get_execution_environment()

    def get_broadcast_state_descriptors(self):
        return list(self._descriptors)


class BroadcastConnectedStream:
    """A stream (keyed or not) connected to a ``BroadcastStream``, to process with a
    ``BroadcastProcessFunction`` (``KeyedBroadcastProcessFunction`` on a keyed stream)."""

    def __init__(self, non_broadcast_stream, broadcast_stream):
        self._stream = non_broadcast_stream
        self._broadcast = broadcast_stream

    def get_execution_environment(self):
        return self._stream.get_execution_environment()

    def process(self, func, output_type=None):
        """Each record of the stream through ``func.process_element`` with read-only broadcast
        state, each broadcast record through ``func.process_broadcast_element``, which may change
        it; results are records of ``output_type``."""
        from pyflink_rs.datastream.functions import BroadcastProcessFunction, KeyedBroadcastProcessFunction

        keyed = isinstance(self._stream, KeyedStream)
        expected = KeyedBroadcastProcessFunction if keyed else BroadcastProcessFunction
        if not isinstance(func, expected):
            where = "a keyed stream" if keyed else "a stream that is not keyed"
            raise TypeError(f"expected a {expected.__name__} on {where}, got {type(func).__name__}")
        name = "Co-Process-Broadcast-Keyed" if keyed else "Co-Process-Broadcast"
        native = self._stream._native.broadcast_process(
            self._broadcast._stream._native,
            cloudpickle.dumps(func),
            [descriptor.name for descriptor in self._broadcast._descriptors],
            name,
            native_type(output_type),
        )
        return DataStream(native, output_type, name)


class _InvokeSink(ProcessFunction):
    """Calls a ``SinkFunction``'s ``invoke`` for each record, with its life cycle."""

    def __init__(self, sink):
        self._sink = sink

    def open(self, runtime_context):
        self._sink.open(runtime_context)

    def process_element(self, value, ctx):
        self._sink.invoke(value, ctx)

    def close(self):
        self._sink.close()


class DataStreamSink(_OperatorSettings):
    """The sink end of a stream (what ``print()`` and ``sink_to()`` return): its operator's
    name, uid, parallelism and the other settings of ``_OperatorSettings``."""

    def __init__(self, native, name):
        self._native = native
        self._init_settings(name)

    def set_parallelism(self, parallelism):
        """Sets the parallelism of the sink's operator."""
        self._native.set_parallelism(parallelism)
        return self


class KeyedStream(DataStream):
    """A stream partitioned by key. It is a ``DataStream``: ``flat_map`` and ``filter`` run
    keyed (with the key's state and timers, as a ``KeyedProcessFunction``), and what takes
    the records as they are (``print``, ``sink_to``, ``union``, ``execute_and_collect``, ...)
    takes them from the keyed stream, as PyFlink's does. The partitioning itself has no
    operator to name or to set a parallelism on."""

    def __init__(self, native, origin=None, key_selector=None):
        self._native = native
        # The stream that was keyed and its key selector, for connect() of two keyed streams.
        self._origin = origin
        self._key_selector = key_selector
        self._type_info = origin._type_info if origin is not None else None
        self._init_settings("Keyed")

    def _values(self):
        """The records, from the keyed stream, as a stream."""
        identity = pickled_callable(lambda value: value, MapFunction, "map")
        output_type = self._type_info
        return DataStream(self._native.map(identity, "Map", native_type(output_type)), output_type, "Map")

    def _not_an_operator(self, what):
        raise Exception(f"{what} is not supported on a KeyedStream: it partitions, and is no operator")

    def name(self, name):
        self._not_an_operator("name()")

    def uid(self, uid):
        self._not_an_operator("uid()")

    def set_uid_hash(self, uid_hash):
        self._not_an_operator("set_uid_hash()")

    def set_parallelism(self, parallelism):
        self._not_an_operator("set_parallelism()")

    def set_max_parallelism(self, max_parallelism):
        self._not_an_operator("set_max_parallelism()")

    def force_non_parallel(self):
        self._not_an_operator("force_non_parallel()")

    def slot_sharing_group(self, slot_sharing_group):
        self._not_an_operator("slot_sharing_group()")

    def start_new_chain(self):
        self._not_an_operator("start_new_chain()")

    def disable_chaining(self):
        self._not_an_operator("disable_chaining()")

    def flat_map(self, func, output_type=None):
        """Each record to the records ``func`` returns or yields, run keyed."""
        return self.process(_KeyedFlatMap(func), output_type)

    def filter(self, func):
        """The records for which ``func`` returns a true value, tested keyed."""
        return self.process(_KeyedFilter(func), self._type_info)

    def key_by(self, key_selector, key_type=None):
        """The records keyed again, by ``key_selector``."""
        return self._values().key_by(key_selector, key_type)

    def union(self, *streams):
        return self._values().union(*streams)

    def connect(self, ds):
        """This stream and ``ds`` connected; two keyed streams connect keyed, by their keys, and
        a ``BroadcastStream`` connects to the keyed stream for a ``KeyedBroadcastProcessFunction``."""
        if isinstance(ds, BroadcastStream):
            return BroadcastConnectedStream(self, ds)
        if isinstance(ds, KeyedStream) and self._origin is not None and ds._origin is not None:
            return self._origin.connect(ds._origin).key_by(self._key_selector, ds._key_selector)
        return self._values().connect(ds)

    def get_side_output(self, output_tag):
        return self._values().get_side_output(output_tag)

    def assign_timestamps_and_watermarks(self, watermark_strategy):
        return self._values().assign_timestamps_and_watermarks(watermark_strategy)

    def window_all(self, window_assigner):
        return self._values().window_all(window_assigner)

    def count_window_all(self, size, slide=0):
        return self._values().count_window_all(size, slide)

    def _partitioned(self, partitioning):
        return self._values()._partitioned(partitioning)

    def broadcast(self, *args):
        raise Exception("Cannot override partitioning for KeyedStream.")

    def partition_custom(self, partitioner, key_selector):
        raise Exception("Cannot override partitioning for KeyedStream.")

    def print(self, sink_identifier=None):
        return self._values().print(sink_identifier)

    def sink_to(self, sink):
        return self._values().sink_to(sink)

    def cache(self):
        raise Exception("Cache for KeyedStream is not supported.")

    def execute_and_collect(self, job_execution_name=None, limit=None):
        return self._values().execute_and_collect(job_execution_name, limit)

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


class _KeyedFunction(KeyedProcessFunction):
    """A function of ``kind`` (or a callable) run as a keyed process function: a rich
    function is opened and closed with it."""

    kind = None

    def __init__(self, func):
        self._func = func

    def open(self, runtime_context):
        if isinstance(self._func, self.kind):
            self._func.open(runtime_context)

    def close(self):
        if isinstance(self._func, self.kind):
            self._func.close()


class _KeyedFlatMap(_KeyedFunction):
    """A flat map function (or callable), keyed."""

    kind = FlatMapFunction

    def process_element(self, value, ctx):
        results = self._func.flat_map(value) if isinstance(self._func, FlatMapFunction) else self._func(value)
        if results is not None:
            yield from results


class _KeyedFilter(_KeyedFunction):
    """A filter function (or callable), keyed."""

    kind = FilterFunction

    def process_element(self, value, ctx):
        keep = self._func.filter(value) if isinstance(self._func, FilterFunction) else self._func(value)
        if keep:
            yield value


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
