"""PyFlink's state backends: where keyed state lives while a job runs. Each is a set of
Flink's ``state.backend.*`` options; give one to ``StreamExecutionEnvironment.set_state_backend``
(PyFlink 1.x) or set the options in a ``Configuration`` (PyFlink 2)."""

from abc import ABC, abstractmethod
from enum import Enum

from pyflink_rs.common.configuration import DescribedByOptions, local_path

# The options a state backend sets; set_state_backend unsets the others.
STATE_BACKEND_OPTIONS = (
    "state.backend.type",
    "state.backend.incremental",
    "state.backend.rocksdb.localdir",
    "state.backend.rocksdb.predefined-options",
    "state.backend.rocksdb.options-factory",
    "state.backend.rocksdb.checkpoint.transfer.thread.num",
)


class StateBackend(DescribedByOptions, ABC):
    """Where keyed state is kept: on the heap (``HashMapStateBackend``) or in RocksDB
    (``EmbeddedRocksDBStateBackend``); the ``state.backend.*`` options it sets."""

    @abstractmethod
    def _options(self):
        """The ``state.backend.*`` options of this backend."""


class HashMapStateBackend(StateBackend):
    """Keyed state as objects on the heap: the fastest, bounded by memory. Checkpoints write
    it to files."""

    def __init__(self, j_hashmap_state_backend=None):
        if j_hashmap_state_backend is not None:
            raise TypeError("pyflink-rs has no JVM: create HashMapStateBackend() without a Java object")

    def _options(self):
        return {"state.backend.type": "hashmap"}


class PredefinedOptions(Enum):
    """RocksDB tunings named by the disks they suit (``state.backend.rocksdb.predefined-options``)."""

    DEFAULT = 0
    SPINNING_DISK_OPTIMIZED = 1
    SPINNING_DISK_OPTIMIZED_HIGH_MEM = 2
    FLASH_SSD_OPTIMIZED = 3


class EmbeddedRocksDBStateBackend(StateBackend):
    """Keyed state in RocksDB databases on local disk, serialized: bounded by disk rather than
    memory. With incremental checkpointing a checkpoint uploads only the files that changed
    since the last one."""

    def __init__(self, enable_incremental_checkpointing=None, j_embedded_rocks_db_state_backend=None):
        if j_embedded_rocks_db_state_backend is not None:
            raise TypeError("pyflink-rs has no JVM: create EmbeddedRocksDBStateBackend() without a Java object")
        self._incremental = enable_incremental_checkpointing
        self._paths = []
        self._predefined = PredefinedOptions.DEFAULT
        self._options_factory = None
        self._transfer_threads = 4

    def set_db_storage_paths(self, *paths):
        """Local directories for RocksDB's working files: each new state instance takes the
        next in turn (none: the system's temporary directory). ``file://`` URIs are accepted."""
        self._paths = [local_path(path, "a RocksDB storage path") for path in paths]

    def get_db_storage_paths(self):
        """The directories set with ``set_db_storage_paths``."""
        return list(self._paths)

    def is_incremental_checkpoints_enabled(self):
        """Whether checkpoints are incremental (off unless enabled, as in Flink)."""
        return bool(self._incremental)

    def set_predefined_options(self, options):
        """Chooses one of RocksDB's predefined tunings."""
        if not isinstance(options, PredefinedOptions):
            raise TypeError(f"expected PredefinedOptions, got {type(options).__name__}")
        self._predefined = options

    def get_predefined_options(self):
        return self._predefined

    def set_options(self, options_factory_class_name):
        """Flink's Java ``RocksDBOptionsFactory`` class name, kept for the configuration:
        this engine sets RocksDB's options from the ``state.backend.rocksdb.*`` keys."""
        self._options_factory = str(options_factory_class_name)

    def get_options(self):
        return self._options_factory

    def get_number_of_transfer_threads(self):
        """How many threads upload and download checkpoint files (4 unless set)."""
        return self._transfer_threads

    def set_number_of_transfer_threads(self, number_of_transfering_threads):
        if int(number_of_transfering_threads) < 1:
            raise ValueError(f"the number of transfer threads must be at least 1, not {number_of_transfering_threads}")
        self._transfer_threads = int(number_of_transfering_threads)

    def _options(self):
        options = {"state.backend.type": "rocksdb"}
        if self._incremental is not None:
            options["state.backend.incremental"] = "true" if self._incremental else "false"
        if self._paths:
            options["state.backend.rocksdb.localdir"] = ",".join(self._paths)
        if self._predefined is not PredefinedOptions.DEFAULT:
            options["state.backend.rocksdb.predefined-options"] = self._predefined.name
        if self._options_factory is not None:
            options["state.backend.rocksdb.options-factory"] = self._options_factory
        if self._transfer_threads != 4:
            options["state.backend.rocksdb.checkpoint.transfer.thread.num"] = str(self._transfer_threads)
        return options


class CustomStateBackend(StateBackend):
    """A state backend written in Java: pyflink-rs has no JVM to run it."""

    def __init__(self, j_custom_state_backend):
        self._java = j_custom_state_backend

    def _options(self):
        raise TypeError(
            "a CustomStateBackend is a Java class and pyflink-rs runs without a JVM: use "
            "HashMapStateBackend or EmbeddedRocksDBStateBackend"
        )


def _from_options(options):
    """The backend the options describe (``get_state_backend``), or None when unset."""
    kind = options.get("state.backend.type")
    if kind is None:
        return None
    if kind.strip().lower() != "rocksdb":
        return HashMapStateBackend()
    incremental = options.get("state.backend.incremental")
    backend = EmbeddedRocksDBStateBackend(None if incremental is None else incremental.strip().lower() == "true")
    dirs = options.get("state.backend.rocksdb.localdir")
    if dirs:
        backend.set_db_storage_paths(*[d.strip() for d in dirs.replace(";", ",").split(",") if d.strip()])
    predefined = options.get("state.backend.rocksdb.predefined-options")
    if predefined:
        backend.set_predefined_options(PredefinedOptions[predefined.strip().upper()])
    if "state.backend.rocksdb.options-factory" in options:
        backend.set_options(options["state.backend.rocksdb.options-factory"])
    threads = options.get("state.backend.rocksdb.checkpoint.transfer.thread.num")
    if threads:
        backend.set_number_of_transfer_threads(int(threads))
    return backend
