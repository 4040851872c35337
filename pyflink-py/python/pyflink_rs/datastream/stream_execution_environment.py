"""The entry point of a DataStream program."""

import os
import weakref

import cloudpickle

from pyflink_rs import _native
from pyflink_rs.common import dependencies, global_configuration
from pyflink_rs.common import restart_strategy
from pyflink_rs.common.configuration import Configuration, duration_millis
from pyflink_rs.common.execution_config import ExecutionConfig
from pyflink_rs.common.job_client import JobClient, wait_for_job
from pyflink_rs.common.job_execution_result import JobExecutionResult
from pyflink_rs.common.typeinfo import native_type
from pyflink_rs.datastream import state_backend
from pyflink_rs.datastream.checkpoint_config import CheckpointConfig
from pyflink_rs.datastream.checkpointing_mode import CheckpointingMode
from pyflink_rs.datastream.data_stream import DataStream
from pyflink_rs.datastream.execution_mode import RuntimeExecutionMode


# The engine's max parallelism when none is set (pyflink_state's DEFAULT_MAX_PARALLELISM).
_DEFAULT_MAX_PARALLELISM = 128

# The environments by the id of their program, so that a stream finds its own
# (``DataStream.get_execution_environment``).
_by_plan = weakref.WeakValueDictionary()


def environment_of(native_stream):
    """The ``StreamExecutionEnvironment`` whose program the native stream belongs to."""
    environment = _by_plan.get(native_stream.plan_id())
    if environment is None:
        raise RuntimeError("the stream's StreamExecutionEnvironment no longer exists")
    return environment


def take_pending_caches(native_stream):
    """The cached streams whose writers the next job of the stream's program takes (none if
    its environment is gone: its cached streams went with it)."""
    environment = _by_plan.get(native_stream.plan_id())
    return [] if environment is None else environment._take_pending_caches()


class StreamExecutionEnvironment(dependencies.PythonDependencyMethods):
    """The context in which a streaming program runs: it records the program's streams and
    executes them as a job, in this process, with no JVM."""

    def __init__(self, native=None):
        self._native = native or _native.Environment()
        # Every option set on this environment (python.execution-mode, checkpointing, ...), for
        # the table environments made of this one.
        self._options = {}
        # Kept settings that change nothing here (see disable_operator_chaining, set_buffer_timeout).
        self._chaining = True
        self._buffer_timeout = 100
        self._slot_sharing_groups = {}
        # Cached streams of this environment (`DataStream.cache()`), and those whose writer the
        # next job takes.
        self._caches = weakref.WeakSet()
        self._pending_caches = []
        # `register_cached_file`: name -> (path, executable).
        self._cached_files = {}
        _by_plan[self._native.plan_id()] = self
        if native is None:
            self._apply(global_configuration.load())

    @staticmethod
    def get_execution_environment(configuration=None):
        """A local environment, configured by ``configuration`` if given; its default
        parallelism is the number of cores."""
        environment = StreamExecutionEnvironment()
        if configuration is not None:
            environment.configure(configuration)
        return environment

    def configure(self, configuration):
        """Applies the options of ``configuration`` (a ``Configuration``), such as
        ``python.execution-mode``: ``thread`` (the default) runs Python functions in this
        process, ``process`` in worker processes fed bundles of
        ``python.fn-execution.bundle.size`` records."""
        if not isinstance(configuration, Configuration):
            raise TypeError(f"expected a Configuration, got {type(configuration).__name__}")
        self._apply(configuration.to_dict())
        return self

    def _apply(self, options):
        options = dependencies.apply(options)
        if options:
            self._native.configure(options)
            self._options.update(options)

    def _reset(self, keys):
        """Unsets options, so that the engine's defaults apply again."""
        keys = [key for key in keys if key in self._options]
        if keys:
            self._native.reset_options(keys)
            for key in keys:
                del self._options[key]

    def get_config(self):
        """The ``ExecutionConfig``: parallelism, watermark interval, job parameters, ..."""
        return ExecutionConfig(self)

    def get_checkpoint_config(self):
        """The ``CheckpointConfig``: interval, mode, timeout, retention, storage."""
        return CheckpointConfig(self)

    def set_restart_strategy(self, restart_strategy_configuration):
        """How a failed job restarts: a ``RestartStrategies`` configuration. Without one, a
        job with checkpointing restarts with exponential delay and one without fails."""
        if not isinstance(restart_strategy_configuration, restart_strategy.RestartStrategyConfiguration):
            raise TypeError(
                f"expected a RestartStrategies configuration, got {type(restart_strategy_configuration).__name__}"
            )
        options = restart_strategy_configuration._options()
        self._reset([key for key in restart_strategy.RESTART_OPTIONS if key not in options])
        self._apply(options)
        return self

    def get_restart_strategy(self):
        """The restart strategy set (``fall_back_restart()`` when none is)."""
        return restart_strategy._from_options(self._options)

    def set_state_backend(self, state_backend_):
        """Where keyed state lives (PyFlink 1.x): ``HashMapStateBackend()`` (the default) or
        ``EmbeddedRocksDBStateBackend()``."""
        if not isinstance(state_backend_, state_backend.StateBackend):
            raise TypeError(f"expected a StateBackend, got {type(state_backend_).__name__}")
        options = state_backend_._options()
        self._reset([key for key in state_backend.STATE_BACKEND_OPTIONS if key not in options])
        self._apply(options)
        return self

    def get_state_backend(self):
        """The state backend set, or ``None`` (the heap) when none is."""
        return state_backend._from_options(self._options)

    def enable_changelog_state_backend(self, enabled):
        """Flink's changelog state backend (``state.changelog.enabled``): kept. Checkpoints
        here are already short: RocksDB's can be incremental (``EmbeddedRocksDBStateBackend(True)``)."""
        self._apply({"state.changelog.enabled": "true" if enabled else "false"})
        return self

    def is_changelog_state_backend_enabled(self):
        """What ``enable_changelog_state_backend`` set, or ``None``."""
        value = self._options.get("state.changelog.enabled")
        return None if value is None else value.strip().lower() == "true"

    def set_default_savepoint_directory(self, directory):
        """Where savepoints go when a ``JobClient`` call names no directory."""
        self._apply({"execution.checkpointing.savepoint-dir": str(directory)})
        return self

    def get_default_savepoint_directory(self):
        return self._options.get("execution.checkpointing.savepoint-dir", self._options.get("state.savepoints.dir"))

    def get_default_local_parallelism(self):
        """The parallelism of local environments: the default parallelism here."""
        return self.get_parallelism()

    def set_default_local_parallelism(self, parallelism):
        """Every environment here is local: sets the default parallelism."""
        return self.set_parallelism(parallelism)

    def register_slot_sharing_group(self, slot_sharing_group):
        """Registers a ``SlotSharingGroup`` by name, for ``slot_sharing_group(name)`` on
        operators. Every operator here runs in the job's worker threads, so the group's
        resources are kept, not reserved."""
        from pyflink_rs.datastream.slot_sharing_group import SlotSharingGroup

        if not isinstance(slot_sharing_group, SlotSharingGroup):
            raise TypeError(f"expected a SlotSharingGroup, got {type(slot_sharing_group).__name__}")
        self._slot_sharing_groups[slot_sharing_group.get_name()] = slot_sharing_group
        return self

    def is_unaligned_checkpoints_enabled(self):
        """Whether unaligned checkpoints were asked for (see ``CheckpointConfig``)."""
        return self.get_checkpoint_config().is_unaligned_checkpoints_enabled()

    def is_force_unaligned_checkpoints(self):
        return self.get_checkpoint_config().is_force_unaligned_checkpoints()

    def is_chaining_of_operators_with_different_max_parallelism_enabled(self):
        """Whether operators of different max parallelism may chain (``true`` unless set, as in
        Flink)."""
        value = self._options.get("pipeline.operator-chaining.chain-operators-with-different-max-parallelism", "true")
        return value.strip().lower() == "true"

    def set_parallelism(self, parallelism):
        """Sets the default parallelism of operators."""
        if parallelism < 1:
            raise ValueError("parallelism must be at least 1")
        self._native.set_parallelism(parallelism)
        return self

    def set_runtime_mode(self, execution_mode):
        """Sets how the job executes: a ``RuntimeExecutionMode``."""
        if not isinstance(execution_mode, RuntimeExecutionMode):
            raise TypeError(f"expected a RuntimeExecutionMode, got {type(execution_mode).__name__}")
        self._native.set_runtime_mode(execution_mode._native())
        return self

    def enable_checkpointing(self, interval, mode=None):
        """Takes a checkpoint every ``interval`` milliseconds, in ``mode`` (a
        ``CheckpointingMode``, ``EXACTLY_ONCE`` unless given): sinks with exactly-once delivery
        commit what they wrote when a checkpoint completes, and a failed job restarts from its
        last checkpoint. ``execution.checkpointing.dir`` sets where checkpoints go."""
        if int(interval) <= 0:
            raise ValueError(f"the checkpoint interval must be positive milliseconds, not {interval}")
        options = {"execution.checkpointing.interval": f"{int(interval)} ms"}
        if mode is not None:
            if not isinstance(mode, CheckpointingMode):
                raise TypeError(f"expected a CheckpointingMode, got {type(mode).__name__}")
            options["execution.checkpointing.mode"] = mode._option()
        self._apply(options)
        return self

    def get_parallelism(self):
        """The default parallelism of operators."""
        return self._native.get_parallelism()

    def set_max_parallelism(self, max_parallelism):
        """Sets how many key groups keyed state is split into (1 to 32768): the most
        instances any operator of the job may run with, and the limit of rescaling from a
        savepoint (``pipeline.max-parallelism``)."""
        if not 0 < max_parallelism <= 1 << 15:
            raise ValueError(
                f"The maximum parallelism must be greater than 0 and less than or equal to 32768, not {max_parallelism}"
            )
        self._apply({"pipeline.max-parallelism": str(int(max_parallelism))})
        return self

    def get_max_parallelism(self):
        """The max parallelism of the job's operators (128 unless set, the engine's default)."""
        return int(self._options.get("pipeline.max-parallelism", _DEFAULT_MAX_PARALLELISM))

    def get_checkpoint_interval(self):
        """Milliseconds between checkpoints, or -1 when checkpointing is off."""
        interval = self._options.get("execution.checkpointing.interval")
        return -1 if interval is None else duration_millis(interval)

    def get_checkpointing_mode(self):
        """The ``CheckpointingMode`` of checkpoints (``EXACTLY_ONCE`` unless set)."""
        mode = self._options.get("execution.checkpointing.mode", "EXACTLY_ONCE")
        return CheckpointingMode[mode.strip().upper().replace("-", "_")]

    def get_checkpointing_consistency_mode(self):
        """PyFlink 2's name of ``get_checkpointing_mode``."""
        return self.get_checkpointing_mode()

    def disable_operator_chaining(self):
        """Asks that no operators are chained. Every operator here runs in the job's worker
        threads, handing batches on without a network between them; the setting is kept
        (``is_chaining_enabled``)."""
        self._chaining = False
        return self

    def is_chaining_enabled(self):
        """Whether operators may be chained (see ``disable_operator_chaining``)."""
        return self._chaining

    def set_buffer_timeout(self, timeout_millis):
        """Flink's network buffer flush timeout; records here are handed on in batches that
        end with every input batch, so none waits for it. The value is kept."""
        if timeout_millis < -1:
            raise ValueError(f"the buffer timeout must be -1 or more, not {timeout_millis}")
        self._buffer_timeout = timeout_millis
        return self

    def get_buffer_timeout(self):
        """The buffer timeout set (Flink's default, 100 ms, unless set)."""
        return self._buffer_timeout

    def set_python_executable(self, python_exec):
        """The interpreter of worker processes in process mode (``python.executable``)."""
        dependencies.set_python_executable(python_exec)

    def add_jars(self, *jars_path):
        """Accepted and ignored: pyflink-rs runs without a JVM, and its connectors need no jars."""

    def add_classpaths(self, *classpaths):
        """Accepted and ignored: pyflink-rs runs without a JVM."""

    def from_collection(self, collection, type_info=None):
        """A stream of the elements of ``collection``, in order, from a non-parallel source,
        as records of ``type_info`` (any Python object when not given)."""
        elements = list(collection)
        return DataStream(self._native.from_collection(cloudpickle.dumps(elements), native_type(type_info)), type_info)

    def add_source(self, source_func, source_name="Custom Source", type_info=None):
        """A stream of the records of a legacy ``SourceFunction`` (``FlinkKafkaConsumer``), as
        records of ``type_info`` when given."""
        from pyflink_rs.datastream.functions import SourceFunction

        if not isinstance(source_func, SourceFunction):
            raise TypeError(f"expected a SourceFunction, got {type(source_func).__name__}")
        stream = DataStream(source_func._add_to(self._native), source_func._produced_type()).name(source_name)
        return stream if type_info is None else stream.map(lambda value: value, type_info)

    def from_source(self, source, watermark_strategy, source_name):
        """A stream of the records of ``source`` (such as a ``NumberSequenceSource``), with
        event time from ``watermark_strategy``."""
        type_info = getattr(source, "_type_info", None)
        stream = DataStream(source._add_to(self._native), type_info() if type_info else None).name(source_name)
        if watermark_strategy is not None and not watermark_strategy._is_no_watermarks():
            stream = stream.assign_timestamps_and_watermarks(watermark_strategy)
        return stream

    def create_input(self, input_format, type_info=None):
        """A stream of the records of ``input_format`` (an ``InputFormat`` such as
        ``AvroInputFormat``), of ``type_info`` or else the type the format produces."""
        from pyflink_rs.common.io import InputFormat

        if not isinstance(input_format, InputFormat):
            raise TypeError(f"create_input needs an InputFormat, not {input_format!r}")
        stream = DataStream(input_format._read(self._native), type_info or input_format._type_info())
        return stream.name(type(input_format).__name__)

    def get_execution_plan(self):
        """The job ``execute()`` would run now, as JSON in the shape of Flink's execution plan
        (paste it into Flink's plan visualizer): its operators with their ``parallelism`` and
        each input's ``ship_strategy``. Nothing runs."""
        return self._native.get_execution_plan()

    def execute(self, job_name="Flink Streaming Job"):
        """Runs every stream that ends in a sink, and returns a ``JobExecutionResult`` when
        the job ends. Ctrl-C (``KeyboardInterrupt``) cancels the job; the interrupt reaches
        the caller once the job has ended."""
        return JobExecutionResult(wait_for_job(self._start(job_name)))

    def execute_async(self, job_name="Flink Streaming Job"):
        """Starts every stream that ends in a sink as a job in the background, and returns
        its ``JobClient``."""
        return JobClient(self._start(job_name), self.get_default_savepoint_directory())

    def _start(self, job_name):
        """Starts the job; the cached streams it writes are complete once it has finished."""
        for name, (path, _) in self._cached_files.items():
            if not os.path.exists(path):
                raise FileNotFoundError(f"the file registered as cached file '{name}' does not exist: {path}")
        caches = self._take_pending_caches()
        try:
            job = self._native.execute_async(job_name)
        except Exception:
            # The job did not start, and took the writers with it: the next use adds new ones.
            for cache, _ in caches:
                cache.invalidate()
            raise
        for cache, _ in caches:
            cache.written_by(lambda: job.status() == "FINISHED")
        return job

    def _take_pending_caches(self):
        caches, self._pending_caches = self._pending_caches, []
        return caches

    def _register_cache(self, cached_stream):
        self._caches.add(cached_stream)

    def register_cached_file(self, file_path, name, executable=False):
        """Registers a file under ``name`` for the job's functions, as Flink's distributed cache
        does (``pipeline.cached-files``). Jobs run on this machine, so functions open the file at
        its own path: a local path or a ``file://`` URI."""
        if not name:
            raise ValueError("a cached file needs a name")
        path = file_path[len("file://"):] if file_path.startswith("file://") else file_path
        if "://" in path:
            raise ValueError(f"only local files can be registered, not {file_path}")
        self._cached_files[name] = (path, bool(executable))
        entries = [
            f"name:{key},path:{value},executable:{str(flag).lower()}"
            for key, (value, flag) in self._cached_files.items()
        ]
        self._options["pipeline.cached-files"] = ";".join(entries)

    def close(self):
        """Releases what the environment holds between jobs: every cached intermediate result
        (``DataStream.cache()``) is deleted."""
        for cached in list(self._caches):
            cached.invalidate()
        self._pending_caches = []
