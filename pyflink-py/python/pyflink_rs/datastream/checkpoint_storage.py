"""PyFlink's checkpoint storage: where checkpoints are written. Checkpoints here are always
files; the storage says in which directory (``execution.checkpointing.dir``)."""

from abc import ABC, abstractmethod

from pyflink_rs.common.configuration import DescribedByOptions, local_path

# The options a checkpoint storage sets; set_checkpoint_storage unsets the others.
STORAGE_OPTIONS = ("execution.checkpointing.dir", "execution.checkpointing.savepoint-dir")

# Flink's default largest state of JobManagerCheckpointStorage: 5 MiB.
_DEFAULT_MAX_STATE_SIZE = 5 * 1024 * 1024


def _local_path(path, what):
    """A local directory from a path or a ``file://`` URI (``None`` stays ``None``)."""
    return None if path is None else local_path(path, what)


class CheckpointStorage(DescribedByOptions, ABC):
    """Where a job's checkpoints go; the ``execution.checkpointing.*`` options it sets."""

    @abstractmethod
    def _options(self):
        """The ``execution.checkpointing.*`` options of this storage."""


class JobManagerCheckpointStorage(CheckpointStorage):
    """Flink's storage for small state, kept by the job manager. Here checkpoints are files in
    ``checkpoint_path``, or in a directory under the system's temporary directory when none is
    given; ``max_state_size`` is checked and kept."""

    def __init__(self, checkpoint_path=None, max_state_size=None, j_jobmanager_checkpoint_storage=None):
        if j_jobmanager_checkpoint_storage is not None:
            raise TypeError("pyflink-rs has no JVM: create JobManagerCheckpointStorage() without a Java object")
        if max_state_size is not None and int(max_state_size) <= 0:
            raise ValueError(f"the maximum state size must be positive, not {max_state_size}")
        self._path = _local_path(checkpoint_path, "the checkpoint path")
        self._max_state_size = _DEFAULT_MAX_STATE_SIZE if max_state_size is None else int(max_state_size)

    def get_checkpoint_path(self):
        return self._path

    def get_max_state_size(self):
        return self._max_state_size

    def get_savepoint_path(self):
        return None

    def _options(self):
        return {} if self._path is None else {"execution.checkpointing.dir": self._path}


class FileSystemCheckpointStorage(CheckpointStorage):
    """Checkpoints as files under ``checkpoint_path``, a local directory or ``file://`` URI,
    one directory per job (named by its id) with one per checkpoint (``chk-<n>``)."""

    def __init__(
        self,
        checkpoint_path=None,
        file_state_size_threshold=None,
        write_buffer_size=-1,
        j_filesystem_checkpoint_storage=None,
    ):
        if j_filesystem_checkpoint_storage is not None:
            raise TypeError("pyflink-rs has no JVM: create FileSystemCheckpointStorage(path) without a Java object")
        if checkpoint_path is None:
            raise ValueError("FileSystemCheckpointStorage needs a checkpoint path")
        if file_state_size_threshold is not None and not 0 <= int(file_state_size_threshold) <= 1024 * 1024:
            raise ValueError(
                f"the file state size threshold must be 0 to 1 MiB, not {file_state_size_threshold}"
            )
        self._path = _local_path(checkpoint_path, "the checkpoint path")
        # Flink's defaults: state under 20 KiB goes inline into the metadata; 4 KiB buffers.
        self._threshold = 20 * 1024 if file_state_size_threshold is None else int(file_state_size_threshold)
        self._buffer = max(int(write_buffer_size), self._threshold) if int(write_buffer_size) != -1 else 4096

    def get_checkpoint_path(self):
        return self._path

    def get_savepoint_path(self):
        return None

    def get_min_file_size_threshold(self):
        return self._threshold

    def get_write_buffer_size(self):
        return self._buffer

    def _options(self):
        return {"execution.checkpointing.dir": self._path}


class CustomCheckpointStorage(CheckpointStorage):
    """A checkpoint storage written in Java: pyflink-rs has no JVM to run it."""

    def __init__(self, j_custom_checkpoint_storage):
        self._java = j_custom_checkpoint_storage

    def _options(self):
        raise TypeError(
            "a CustomCheckpointStorage is a Java class and pyflink-rs runs without a JVM: use "
            "FileSystemCheckpointStorage or JobManagerCheckpointStorage"
        )


def _from_options(options):
    """The storage the options describe (``get_checkpoint_storage``)."""
    path = options.get("execution.checkpointing.dir", options.get("state.checkpoints.dir"))
    if path is None:
        return JobManagerCheckpointStorage()
    return FileSystemCheckpointStorage(path)
