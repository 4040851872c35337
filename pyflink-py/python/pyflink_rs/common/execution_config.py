"""PyFlink's ``ExecutionConfig``: an environment's execution settings, read and written as
Flink's ``pipeline.*`` options. The engine acts on the parallelism, the max parallelism, the
watermark interval and the job parameters; settings about Java serialization (Kryo, Avro, POJO
types) and the closure cleaner have no JVM to act on, and are kept so that programs setting
them run and read back what they set."""

from pyflink_rs.common.configuration import duration_millis


def _flag(text):
    return str(text).strip().lower() == "true"


def _quoted(part):
    """A key or value in Flink's map notation: quoted when it holds ``,``, ``:`` or ``'``."""
    part = str(part)
    if any(c in part for c in ",:'"):
        return "'" + part.replace("'", "''") + "'"
    return part


def _split_unquoted(text, separator):
    parts, current, quoted = [], [], False
    for c in text:
        if c == "'":
            quoted = not quoted
        if c == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def _unquoted(part):
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] == "'":
        return part[1:-1].replace("''", "'")
    return part


def parse_map_value(text):
    """A map option in Flink's notation (``k1:v1,k2:v2``, parts quoted with ``'``)."""
    result = {}
    for entry in _split_unquoted(text, ","):
        if not entry.strip():
            continue
        parts = _split_unquoted(entry, ":")
        if len(parts) != 2:
            raise ValueError(f"'{text}' is not a map such as 'k1:v1,k2:v2'")
        result[_unquoted(parts[0])] = _unquoted(parts[1])
    return result


class ExecutionConfig:
    """The execution settings of a ``StreamExecutionEnvironment`` (``env.get_config()``)."""

    def __init__(self, environment):
        self._env = environment

    def _get(self, key, default):
        return self._env._options.get(key, default)

    def _set(self, key, value):
        self._env._apply({key: str(value)})
        return self

    def _set_flag(self, key, value):
        return self._set(key, "true" if value else "false")

    def enable_closure_cleaner(self):
        """Kept (``pipeline.closure-cleaner-level``): Python functions are cloudpickled with
        what they refer to, and need no cleaning."""
        return self._set("pipeline.closure-cleaner-level", "RECURSIVE")

    def disable_closure_cleaner(self):
        return self._set("pipeline.closure-cleaner-level", "NONE")

    def is_closure_cleaner_enabled(self):
        return self._get("pipeline.closure-cleaner-level", "RECURSIVE").strip().upper() != "NONE"

    def set_auto_watermark_interval(self, interval):
        """How often, in milliseconds, periodic watermarks are emitted (200 unless set); 0
        turns periodic watermarks off."""
        if int(interval) < 0:
            raise ValueError(f"the auto watermark interval must not be negative, not {interval}")
        return self._set("pipeline.auto-watermark-interval", f"{int(interval)} ms")

    def get_auto_watermark_interval(self):
        return duration_millis(self._get("pipeline.auto-watermark-interval", "200 ms"))

    def set_latency_tracking_interval(self, interval):
        """Flink's latency markers (``metrics.latency.interval``); kept. Latency here shows in
        the operators' metrics without markers."""
        return self._set("metrics.latency.interval", f"{int(interval)} ms")

    def get_latency_tracking_interval(self):
        return duration_millis(self._get("metrics.latency.interval", "0 ms"))

    def get_parallelism(self):
        """The default parallelism of operators."""
        return self._env.get_parallelism()

    def set_parallelism(self, parallelism):
        self._env.set_parallelism(parallelism)
        return self

    def get_max_parallelism(self):
        """The number of key groups: the most instances a keyed operator may have."""
        return self._env.get_max_parallelism()

    def set_max_parallelism(self, max_parallelism):
        self._env.set_max_parallelism(max_parallelism)
        return self

    def get_task_cancellation_interval(self):
        """Milliseconds between attempts to cancel a task (Flink's default 30000; kept)."""
        return int(self._get("task.cancellation.interval", "30000"))

    def set_task_cancellation_interval(self, interval):
        return self._set("task.cancellation.interval", int(interval))

    def get_task_cancellation_timeout(self):
        """Milliseconds after which a task that does not cancel fails the process (Flink's
        default 180000; kept: tasks here stop at their next batch)."""
        return int(self._get("task.cancellation.timeout", "180000"))

    def set_task_cancellation_timeout(self, timeout):
        if int(timeout) < 0:
            raise ValueError(f"the task cancellation timeout must not be negative, not {timeout}")
        return self._set("task.cancellation.timeout", int(timeout))

    def enable_force_kryo(self):
        """Kept: records here are Python objects or typed rows, never Kryo."""
        return self._set_flag("pipeline.force-kryo", True)

    def disable_force_kryo(self):
        return self._set_flag("pipeline.force-kryo", False)

    def is_force_kryo_enabled(self):
        return _flag(self._get("pipeline.force-kryo", "false"))

    def enable_generic_types(self):
        """Kept: generic types are Java's notion."""
        return self._set_flag("pipeline.generic-types", True)

    def disable_generic_types(self):
        return self._set_flag("pipeline.generic-types", False)

    def has_generic_types_disabled(self):
        return not _flag(self._get("pipeline.generic-types", "true"))

    def enable_auto_generated_uids(self):
        """Operators without a ``uid()`` get one from their place in the job (the default)."""
        return self._set_flag("pipeline.auto-generate-uids", True)

    def disable_auto_generated_uids(self):
        """Kept: operators without a ``uid()`` still get one from their place in the job."""
        return self._set_flag("pipeline.auto-generate-uids", False)

    def has_auto_generated_uids_enabled(self):
        return _flag(self._get("pipeline.auto-generate-uids", "true"))

    def enable_force_avro(self):
        """Kept: Avro is Java's serializer for POJOs."""
        return self._set_flag("pipeline.force-avro", True)

    def disable_force_avro(self):
        return self._set_flag("pipeline.force-avro", False)

    def is_force_avro_enabled(self):
        return _flag(self._get("pipeline.force-avro", "false"))

    def enable_object_reuse(self):
        """Kept: records pass between chained operators without copies anyway."""
        return self._set_flag("pipeline.object-reuse", True)

    def disable_object_reuse(self):
        return self._set_flag("pipeline.object-reuse", False)

    def is_object_reuse_enabled(self):
        return _flag(self._get("pipeline.object-reuse", "false"))

    def get_global_job_parameters(self):
        """The job parameters every function reads with ``RuntimeContext.get_job_parameter``."""
        return parse_map_value(self._get("pipeline.global-job-parameters", ""))

    def set_global_job_parameters(self, global_job_parameters_dict):
        """Sets the job parameters (a dict of text keys and values)."""
        if not isinstance(global_job_parameters_dict, dict):
            raise TypeError(f"expected a dict, got {type(global_job_parameters_dict).__name__}")
        parameters = {str(k): str(v) for k, v in global_job_parameters_dict.items()}
        text = ",".join(f"{_quoted(k)}:{_quoted(v)}" for k, v in parameters.items())
        return self._set("pipeline.global-job-parameters", text)

    def get_default_kryo_serializer_classes(self):
        """Kryo serializers registered by class name: none, as there is no Kryo here."""
        return {}

    def get_registered_kryo_types(self):
        return []

    def get_registered_pojo_types(self):
        return []

    def is_use_snapshot_compression(self):
        """Whether checkpoints of keyed state are compressed (kept; off unless set)."""
        return _flag(self._get("execution.checkpointing.snapshot-compression", "false"))

    def set_use_snapshot_compression(self, use_snapshot_compression):
        return self._set_flag("execution.checkpointing.snapshot-compression", use_snapshot_compression)

    def set_restart_strategy(self, restart_strategy_configuration):
        """PyFlink 1.x's place of ``StreamExecutionEnvironment.set_restart_strategy``."""
        self._env.set_restart_strategy(restart_strategy_configuration)
        return self

    def get_restart_strategy(self):
        return self._env.get_restart_strategy()

    def __eq__(self, other):
        return isinstance(other, ExecutionConfig) and self._env._options == other._env._options

    def __hash__(self):
        return hash(tuple(sorted(self._env._options.items())))
