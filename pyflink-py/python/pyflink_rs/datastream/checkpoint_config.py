"""PyFlink's ``CheckpointConfig``: the checkpoint settings of an environment, read and written
as Flink's ``execution.checkpointing.*`` options, which the engine reads when the job starts."""

from pyflink_rs.common.configuration import duration_millis
from pyflink_rs.common.time import Duration
from pyflink_rs.common.time import milliseconds_of as _millis
from pyflink_rs.datastream.checkpoint_storage import STORAGE_OPTIONS, CheckpointStorage, FileSystemCheckpointStorage
from pyflink_rs.datastream.checkpoint_storage import _from_options as _storage_from_options
from pyflink_rs.datastream.checkpointing_mode import CheckpointingMode
from pyflink_rs.datastream.externalized_checkpoint_retention import ExternalizedCheckpointRetention

# Flink's smallest checkpoint interval and timeout.
_MINIMAL_CHECKPOINT_TIME_MS = 10

_INTERVAL = "execution.checkpointing.interval"
_MODE = "execution.checkpointing.mode"
_TIMEOUT = "execution.checkpointing.timeout"
_MIN_PAUSE = "execution.checkpointing.min-pause"
_MAX_CONCURRENT = "execution.checkpointing.max-concurrent-checkpoints"
_TOLERABLE = "execution.checkpointing.tolerable-failed-checkpoints"
_RETENTION = "execution.checkpointing.externalized-checkpoint-retention"
_UNALIGNED = "execution.checkpointing.unaligned.enabled"
_FORCE_UNALIGNED = "execution.checkpointing.unaligned.forced"
_ALIGNED_TIMEOUT = "execution.checkpointing.aligned-checkpoint-timeout"

# What tolerating every checkpoint failure means (Java's Integer.MAX_VALUE).
_UNLIMITED_FAILURES = 2**31 - 1


class CheckpointConfig:
    """The checkpoint settings of a ``StreamExecutionEnvironment``
    (``env.get_checkpoint_config()``): changes apply to jobs the environment starts later."""

    def __init__(self, environment):
        self._env = environment

    def _get(self, key, default=None):
        return self._env._options.get(key, default)

    def _set(self, key, value):
        self._env._apply({key: str(value)})
        return self

    def is_checkpointing_enabled(self):
        """Whether checkpoints are taken (an interval is set)."""
        return self.get_checkpoint_interval() > 0

    def get_checkpointing_mode(self):
        """``EXACTLY_ONCE`` (the default) or ``AT_LEAST_ONCE``."""
        return CheckpointingMode[self._get(_MODE, "EXACTLY_ONCE").strip().upper().replace("-", "_")]

    def set_checkpointing_mode(self, checkpointing_mode):
        """Exactly-once aligns the inputs of each operator at checkpoints; at-least-once does
        not wait, and may replay records into state after a restart."""
        if not isinstance(checkpointing_mode, CheckpointingMode):
            raise TypeError(f"expected a CheckpointingMode, got {type(checkpointing_mode).__name__}")
        return self._set(_MODE, checkpointing_mode._option())

    get_checkpointing_consistency_mode = get_checkpointing_mode
    set_checkpointing_consistency_mode = set_checkpointing_mode

    def get_checkpoint_interval(self):
        """Milliseconds between checkpoints; -1 when checkpointing is off."""
        interval = self._get(_INTERVAL)
        return -1 if interval is None else duration_millis(interval)

    def set_checkpoint_interval(self, checkpoint_interval):
        """Takes a checkpoint every ``checkpoint_interval`` milliseconds (at least 10); -1
        turns checkpointing off."""
        interval = _millis(checkpoint_interval, "the checkpoint interval")
        if interval == -1:
            self._env._reset([_INTERVAL])
            return self
        if interval < _MINIMAL_CHECKPOINT_TIME_MS:
            raise ValueError(
                f"Checkpoint interval must be larger than or equal to {_MINIMAL_CHECKPOINT_TIME_MS} ms, not {interval}"
            )
        return self._set(_INTERVAL, f"{interval} ms")

    def get_checkpoint_timeout(self):
        """Milliseconds after which a checkpoint in progress is abandoned (10 minutes unless set)."""
        return duration_millis(self._get(_TIMEOUT, "600000"))

    def set_checkpoint_timeout(self, checkpoint_timeout):
        timeout = _millis(checkpoint_timeout, "the checkpoint timeout")
        if timeout < _MINIMAL_CHECKPOINT_TIME_MS:
            raise ValueError(
                f"Checkpoint timeout must be larger than or equal to {_MINIMAL_CHECKPOINT_TIME_MS} ms, not {timeout}"
            )
        return self._set(_TIMEOUT, f"{timeout} ms")

    def get_min_pause_between_checkpoints(self):
        """The fewest milliseconds from the end of one checkpoint to the start of the next (0)."""
        return duration_millis(self._get(_MIN_PAUSE, "0"))

    def set_min_pause_between_checkpoints(self, min_pause_between_checkpoints):
        pause = _millis(min_pause_between_checkpoints, "the pause between checkpoints")
        if pause < 0:
            raise ValueError(f"Pause value must be zero or positive, not {pause}")
        return self._set(_MIN_PAUSE, f"{pause} ms")

    def get_max_concurrent_checkpoints(self):
        """How many checkpoints may be in progress at once (1 unless set)."""
        return int(self._get(_MAX_CONCURRENT, "1"))

    def set_max_concurrent_checkpoints(self, max_concurrent_checkpoints):
        if int(max_concurrent_checkpoints) < 1:
            raise ValueError(
                f"The maximum number of concurrent attempts must be at least one, not {max_concurrent_checkpoints}"
            )
        return self._set(_MAX_CONCURRENT, int(max_concurrent_checkpoints))

    def get_tolerable_checkpoint_failure_number(self):
        """How many checkpoints in a row may fail before the job fails over (0 unless set)."""
        return int(self._get(_TOLERABLE, "0"))

    def set_tolerable_checkpoint_failure_number(self, tolerable_checkpoint_failure_number):
        if int(tolerable_checkpoint_failure_number) < 0:
            raise ValueError(
                "The tolerable failure checkpoint number must be non-negative, not "
                f"{tolerable_checkpoint_failure_number}"
            )
        return self._set(_TOLERABLE, int(tolerable_checkpoint_failure_number))

    def is_fail_on_checkpointing_errors(self):
        """Whether a failed checkpoint fails the job (no failure is tolerated)."""
        return self.get_tolerable_checkpoint_failure_number() == 0

    def set_fail_on_checkpointing_errors(self, fail_on_checkpointing_errors):
        """``True``: a failed checkpoint fails the job over; ``False``: failed checkpoints are
        tolerated however many there are."""
        return self.set_tolerable_checkpoint_failure_number(0 if fail_on_checkpointing_errors else _UNLIMITED_FAILURES)

    def set_externalized_checkpoint_retention(self, retention_mode):
        """Whether checkpoints outlive the job, to start a later job from them
        (``execution.savepoint.path``)."""
        if not isinstance(retention_mode, ExternalizedCheckpointRetention):
            raise TypeError(f"expected an ExternalizedCheckpointRetention, got {type(retention_mode).__name__}")
        return self._set(_RETENTION, retention_mode.name)

    def enable_externalized_checkpoints(self, cleanup_mode):
        """PyFlink 1.x's name of ``set_externalized_checkpoint_retention``."""
        return self.set_externalized_checkpoint_retention(cleanup_mode)

    def get_externalized_checkpoint_retention(self):
        """How checkpoints are kept when the job ends."""
        name = self._get(_RETENTION, "NO_EXTERNALIZED_CHECKPOINTS").strip().upper().replace("-", "_")
        return ExternalizedCheckpointRetention[name]

    get_externalized_checkpoint_cleanup = get_externalized_checkpoint_retention

    def is_externalized_checkpoints_enabled(self):
        """Whether checkpoints outlive the job in some case."""
        retention = self.get_externalized_checkpoint_retention()
        return retention is not ExternalizedCheckpointRetention.NO_EXTERNALIZED_CHECKPOINTS

    def is_unaligned_checkpoints_enabled(self):
        """Whether unaligned checkpoints were asked for (see ``enable_unaligned_checkpoints``)."""
        return self._get(_UNALIGNED, "false").strip().lower() == "true"

    def enable_unaligned_checkpoints(self, enabled=True):
        """Asks for unaligned checkpoints. The engine's checkpoints stay aligned: its
        backpressure bound (``execution.backpressure.max-in-flight-records``) keeps the data
        between operators small, so alignment is short. The setting is kept."""
        return self._set(_UNALIGNED, "true" if enabled else "false")

    def disable_unaligned_checkpoints(self):
        return self.enable_unaligned_checkpoints(False)

    def set_aligned_checkpoint_timeout(self, alignment_timeout):
        """With unaligned checkpoints, how long a checkpoint stays aligned first (kept; see
        ``enable_unaligned_checkpoints``)."""
        return self._set(_ALIGNED_TIMEOUT, f"{_millis(alignment_timeout, 'the alignment timeout')} ms")

    def get_aligned_checkpoint_timeout(self):
        return Duration.of_millis(duration_millis(self._get(_ALIGNED_TIMEOUT, "0")))

    set_alignment_timeout = set_aligned_checkpoint_timeout
    get_alignment_timeout = get_aligned_checkpoint_timeout

    def set_force_unaligned_checkpoints(self, force_unaligned_checkpoints=True):
        """Asks for unaligned checkpoints even where Flink would not take them (kept)."""
        return self._set(_FORCE_UNALIGNED, "true" if force_unaligned_checkpoints else "false")

    def is_force_unaligned_checkpoints(self):
        return self._get(_FORCE_UNALIGNED, "false").strip().lower() == "true"

    def set_checkpoint_storage(self, storage):
        """Where checkpoints are written (PyFlink 1.x): a ``CheckpointStorage``."""
        if not isinstance(storage, CheckpointStorage):
            raise TypeError(f"expected a CheckpointStorage, got {type(storage).__name__}")
        options = storage._options()
        self._env._reset([key for key in STORAGE_OPTIONS if key not in options])
        self._env._apply(options)
        return self

    def set_checkpoint_storage_dir(self, checkpoint_path):
        """Writes checkpoints under ``checkpoint_path`` (PyFlink 1.x)."""
        return self.set_checkpoint_storage(FileSystemCheckpointStorage(checkpoint_path))

    def get_checkpoint_storage(self):
        """Where checkpoints are written: a ``FileSystemCheckpointStorage`` when a directory is
        set, else a ``JobManagerCheckpointStorage`` (a temporary directory)."""
        return _storage_from_options(self._env._options)
