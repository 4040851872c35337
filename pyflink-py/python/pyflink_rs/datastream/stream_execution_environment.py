"""The entry point of a DataStream program."""

import cloudpickle

from pyflink_rs import _native
from pyflink_rs.common import dependencies, global_configuration
from pyflink_rs.common.configuration import Configuration
from pyflink_rs.common.job_client import JobClient, wait_for_job
from pyflink_rs.common.job_execution_result import JobExecutionResult
from pyflink_rs.common.typeinfo import native_type
from pyflink_rs.datastream.checkpointing_mode import CheckpointingMode
from pyflink_rs.datastream.data_stream import DataStream
from pyflink_rs.datastream.execution_mode import RuntimeExecutionMode


class StreamExecutionEnvironment(dependencies.PythonDependencyMethods):
    """The context in which a streaming program runs: it records the program's streams and
    executes them as a job, in this process, with no JVM."""

    def __init__(self, native=None):
        self._native = native or _native.Environment()
        # Every option set on this environment (python.execution-mode, checkpointing, ...), for
        # the table environments made of this one.
        self._options = {}
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

    def from_source(self, source, watermark_strategy, source_name):
        """A stream of the records of ``source`` (such as a ``NumberSequenceSource``), with
        event time from ``watermark_strategy``."""
        stream = DataStream(source._add_to(self._native)).name(source_name)
        if watermark_strategy is not None and not watermark_strategy._is_no_watermarks():
            stream = stream.assign_timestamps_and_watermarks(watermark_strategy)
        return stream

    def execute(self, job_name="Flink Streaming Job"):
        """Runs every stream that ends in a sink, and returns a ``JobExecutionResult`` when
        the job ends. Ctrl-C (``KeyboardInterrupt``) cancels the job; the interrupt reaches
        the caller once the job has ended."""
        return JobExecutionResult(wait_for_job(self._native.execute_async(job_name)))

    def execute_async(self, job_name="Flink Streaming Job"):
        """Starts every stream that ends in a sink as a job in the background, and returns
        its ``JobClient``."""
        return JobClient(self._native.execute_async(job_name))
