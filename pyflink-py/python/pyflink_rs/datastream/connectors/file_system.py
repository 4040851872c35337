"""Files as sources and sinks (PyFlink's ``FileSource``, ``StreamFormat``, ``FileSink``,
``OutputFileConfig``, ``RollingPolicy``, ``BucketAssigner``).

``FileSource`` reads the lines of every file at or under its paths (files whose names start
with ``.`` or ``_`` are skipped), once (``process_static_file_set``, the default) or watching
for new files (``monitor_continuously``). ``FileSink`` writes each record as a line (its
``str``, or its Java text for typed records, as ``Encoder.simple_string_encoder()`` writes)
into part files under hourly buckets of the base path; part files are hidden while written and
become visible when a checkpoint completes, or at the end of a bounded job.
"""

from abc import ABC, abstractmethod

from pyflink_rs import _native
from pyflink_rs.common.serialization import Encoder
from pyflink_rs.common.time import Duration
from pyflink_rs.datastream.connectors import Sink, Source
from pyflink_rs.datastream.functions import SinkFunction


class FileEnumeratorProvider:
    """How a ``FileSource`` finds the files under its paths and cuts them into splits. Files
    here are read whole, one split each, by either enumerator."""

    def __init__(self, kind):
        self._kind = kind

    @staticmethod
    def default_splittable_file_enumerator():
        """Every file under the paths (Flink may split large files; they are read whole here)."""
        return FileEnumeratorProvider("splittable")

    @staticmethod
    def default_non_splittable_file_enumerator():
        """Every file under the paths, one split each."""
        return FileEnumeratorProvider("non_splittable")


class FileSplitAssignerProvider:
    """Which reader gets which split. Readers here run in one process, so there is no
    locality to prefer: splits go to readers as they ask."""

    def __init__(self, kind):
        self._kind = kind

    @staticmethod
    def locality_aware_split_assigner():
        return FileSplitAssignerProvider("locality_aware")


class StreamFormat:
    """How records are read from the lines of a file."""

    def __init__(self, kind):
        self._kind = kind

    def _file_format(self):
        """The engine's format of the lines (none: text), and whether each file's first line
        is skipped."""
        return None, False

    def _read(self, native_environment, paths, monitor_interval_ms):
        """The engine's stream of the records of the files at ``paths``."""
        record_format, skip_header = self._file_format()
        return native_environment.from_text_files(paths, monitor_interval_ms, record_format, skip_header)

    @staticmethod
    def text_line_format(charset_name="UTF-8"):
        """Each line as a string (UTF-8; a line ends at ``\\n`` or ``\\r\\n``)."""
        if charset_name.replace("-", "").upper() != "UTF8":
            raise ValueError(f"text_line_format reads UTF-8 only, not {charset_name}")
        return StreamFormat("text_line")


class BulkFormat(ABC):
    """How records are read from whole files of a format that is not line by line
    (``FileSource.for_bulk_file_format``): ``ParquetColumnarRowInputFormat``."""

    @abstractmethod
    def _read(self, native_environment, paths, monitor_interval_ms):
        """The engine's stream of the records of the files at ``paths``."""


class FileSource(Source):
    """The records of the files at or under some paths."""

    def __init__(self, paths, monitor_interval_ms, stream_format=None):
        self._paths = paths
        self._monitor_interval_ms = monitor_interval_ms
        self._stream_format = stream_format or StreamFormat.text_line_format()

    @staticmethod
    def for_record_stream_format(stream_format, *paths):
        """A source of the records ``stream_format`` reads from the files at or under ``paths``."""
        if not isinstance(stream_format, StreamFormat):
            raise TypeError(f"for_record_stream_format needs a StreamFormat, not {stream_format!r}")
        return FileSource.FileSourceBuilder([str(path) for path in paths], stream_format)

    @staticmethod
    def for_bulk_file_format(bulk_format, *paths):
        """A source of the records ``bulk_format`` reads from the whole files at or under
        ``paths`` (``ParquetColumnarRowInputFormat``)."""
        if not isinstance(bulk_format, BulkFormat):
            raise TypeError(f"for_bulk_file_format needs a BulkFormat, not {bulk_format!r}")
        return FileSource.FileSourceBuilder([str(path) for path in paths], bulk_format)

    class FileSourceBuilder:
        """Builds a ``FileSource``."""

        def __init__(self, paths, stream_format=None):
            if not paths:
                raise ValueError("a FileSource needs at least one path to read")
            self._paths = paths
            self._monitor_interval_ms = None
            self._stream_format = stream_format

        def set_file_enumerator(self, file_enumerator):
            """How files are found (see ``FileEnumeratorProvider``)."""
            if not isinstance(file_enumerator, FileEnumeratorProvider):
                raise TypeError(f"expected a FileEnumeratorProvider, got {type(file_enumerator).__name__}")
            self._file_enumerator = file_enumerator
            return self

        def set_split_assigner(self, split_assigner):
            """Which reader gets which split (see ``FileSplitAssignerProvider``)."""
            if not isinstance(split_assigner, FileSplitAssignerProvider):
                raise TypeError(f"expected a FileSplitAssignerProvider, got {type(split_assigner).__name__}")
            self._split_assigner = split_assigner
            return self

        def process_static_file_set(self):
            """Reads the files present when the job starts, then ends."""
            self._monitor_interval_ms = None
            return self

        def monitor_continuously(self, discovery_interval):
            """Never ends: looks for new files every ``discovery_interval`` (a ``Duration``)."""
            millis = discovery_interval.to_milliseconds() if isinstance(discovery_interval, Duration) else None
            if millis is None or millis <= 0:
                raise ValueError(f"monitor_continuously needs a positive Duration, not {discovery_interval!r}")
            self._monitor_interval_ms = millis
            return self

        def build(self):
            return FileSource(self._paths, self._monitor_interval_ms, self._stream_format)

    def _add_to(self, native_environment):
        return self._stream_format._read(native_environment, self._paths, self._monitor_interval_ms)

    def _type_info(self):
        """The type of the records: rows of the format's schema, or strings."""
        type_info = getattr(self._stream_format, "_type_info", None)
        return type_info() if type_info is not None else None


#: PyFlink's module-level name of ``FileSource.FileSourceBuilder``.
FileSourceBuilder = FileSource.FileSourceBuilder


class OutputFileConfig:
    """The prefix and suffix of part file names."""

    def __init__(self, part_prefix="part", part_suffix=""):
        self.part_prefix = part_prefix
        self.part_suffix = part_suffix

    def get_part_prefix(self):
        """What part file names start with (``part`` unless set)."""
        return self.part_prefix

    def get_part_suffix(self):
        """What part file names end with (nothing unless set)."""
        return self.part_suffix

    @staticmethod
    def builder():
        return OutputFileConfig.OutputFileConfigBuilder()

    class OutputFileConfigBuilder:
        """Builds an ``OutputFileConfig``."""

        def __init__(self):
            self._prefix = "part"
            self._suffix = ""

        def with_part_prefix(self, prefix):
            self._prefix = prefix
            return self

        def with_part_suffix(self, suffix):
            self._suffix = suffix
            return self

        def build(self):
            return OutputFileConfig(self._prefix, self._suffix)


class RollingPolicy:
    """When a part file is closed and a new one started."""

    def __init__(self, kind, part_size=None, rollover_interval=None, inactivity_interval=None):
        self.kind = kind
        self.part_size = part_size
        self.rollover_interval = rollover_interval
        self.inactivity_interval = inactivity_interval

    @staticmethod
    def default_rolling_policy(part_size=1024 * 1024 * 128, rollover_interval=60 * 1000, inactivity_interval=60 * 1000):
        """Rolls at ``part_size`` bytes, after ``rollover_interval`` ms, or after
        ``inactivity_interval`` ms without records."""
        return DefaultRollingPolicy(part_size, rollover_interval, inactivity_interval)

    @staticmethod
    def on_checkpoint_rolling_policy():
        """Rolls on every checkpoint."""
        return OnCheckpointRollingPolicy()


class DefaultRollingPolicy(RollingPolicy):
    """Rolls a part file at a size, an age, or a time without records (and at checkpoints)."""

    def __init__(self, part_size, rollover_interval, inactivity_interval):
        super().__init__("default", part_size, rollover_interval, inactivity_interval)


class OnCheckpointRollingPolicy(RollingPolicy):
    """Rolls part files at checkpoints only."""

    def __init__(self):
        super().__init__("on_checkpoint")


class BucketAssigner:
    """Which directory under the base path a record goes to."""

    def __init__(self, format_string):
        self._format_string = format_string

    @staticmethod
    def base_path_bucket_assigner():
        """Every record in the base path itself."""
        return BucketAssigner(None)

    @staticmethod
    def date_time_bucket_assigner(format_str="yyyy-MM-dd--HH", timezone_id=None):
        """A directory per processing-time period named by the Java date pattern
        ``format_str`` (letters ``yyyy``, ``yy``, ``MM``, ``dd``, ``HH``, ``mm``, ``ss``), in
        the local time zone."""
        if timezone_id is not None:
            raise ValueError("date_time_bucket_assigner uses the local time zone; timezone_id is not supported")
        return BucketAssigner(format_str)


class FileCompactStrategy:
    """When a ``FileSink`` compacts (``FileCompactStrategy.builder()``): a bucket's committed
    part files wait, hidden, until they hold ``size_threshold`` bytes or
    ``num_checkpoints_before_compaction`` checkpoints have passed since the oldest, and are
    all compacted when the input ends."""

    def __init__(self, size_threshold, checkpoints, threads):
        self._size_threshold = size_threshold
        self._checkpoints = checkpoints
        self._threads = threads

    @staticmethod
    def builder():
        return FileCompactStrategy.Builder()

    class Builder:
        """Builds a ``FileCompactStrategy``; at least one trigger must be set."""

        def __init__(self):
            self._size_threshold = -1
            self._checkpoints = -1
            self._threads = 1

        def enable_compaction_on_checkpoint(self, num_checkpoints_before_compaction):
            """Compacts when this many checkpoints passed since the oldest waiting file; -1:
            never by checkpoints."""
            self._checkpoints = int(num_checkpoints_before_compaction)
            return self

        def set_size_threshold(self, size_threshold):
            """Compacts when the waiting files hold this many bytes; -1: never by size."""
            self._size_threshold = int(size_threshold)
            return self

        def set_num_compact_threads(self, num_compact_threads):
            """The buckets compacted at the same time (1 by default)."""
            if int(num_compact_threads) <= 0:
                raise ValueError(f"the number of compact threads must be positive, not {num_compact_threads}")
            self._threads = int(num_compact_threads)
            return self

        def build(self):
            for name, value in (("size threshold", self._size_threshold),
                                ("checkpoints before compaction", self._checkpoints)):
                if value == 0 or value < -1:
                    raise ValueError(f"the {name} is positive, or -1 for none, not {value}")
            if self._size_threshold < 0 and self._checkpoints < 0:
                raise ValueError("a FileCompactStrategy needs a trigger: set_size_threshold or "
                                 "enable_compaction_on_checkpoint")
            return FileCompactStrategy(
                self._size_threshold if self._size_threshold > 0 else None,
                self._checkpoints if self._checkpoints > 0 else None,
                self._threads,
            )


class FileCompactor:
    """How a bucket's waiting part files become one compacted file."""

    def __init__(self, identical, delimiter=None):
        self._identical = identical
        self._delimiter = delimiter

    @staticmethod
    def concat_file_compactor(file_delimiter=None):
        """Joins the files, with ``file_delimiter`` (bytes) between neighbours if given."""
        if file_delimiter is not None and not isinstance(file_delimiter, (bytes, bytearray)):
            raise TypeError(f"the file delimiter is bytes, not {type(file_delimiter).__name__}")
        return FileCompactor(False, bytes(file_delimiter) if file_delimiter else None)

    @staticmethod
    def identical_file_compactor():
        """Copies each file as it is into a compacted file of its own."""
        return FileCompactor(True)


class FileSink(Sink):
    """Writes records to part files under a base path."""

    def __init__(self, base_path, encoder, output_file_config, rolling_policy, bucket_assigner=None,
                 writer_factory=None, compaction=None):
        self.compaction = compaction
        self.base_path = base_path
        self.encoder = encoder
        self.writer_factory = writer_factory
        self.output_file_config = output_file_config
        self.rolling_policy = rolling_policy
        self.bucket_assigner = bucket_assigner or BucketAssigner.date_time_bucket_assigner()

    @staticmethod
    def for_row_format(base_path, encoder):
        """A sink writing each record as one row encoded by ``encoder``."""
        return FileSink.RowFormatBuilder(base_path, encoder)

    @staticmethod
    def for_bulk_format(base_path, writer_factory):
        """A sink writing records with a bulk writer (``CsvBulkWriters.for_schema(schema)``):
        each row a line, part files rolled at checkpoints."""
        from pyflink_rs.common.serialization import BulkWriterFactory

        if not isinstance(writer_factory, BulkWriterFactory):
            raise TypeError(f"expected a BulkWriterFactory, got {type(writer_factory).__name__}")
        return FileSink.BulkFormatBuilder(base_path, writer_factory)

    class BaseBuilder:
        """The settings of both kinds of builders: buckets, part file names, bucket checks."""

        def __init__(self, base_path, rolling_policy):
            self._base_path = base_path
            self._output_file_config = OutputFileConfig()
            self._bucket_assigner = BucketAssigner.date_time_bucket_assigner()
            self._rolling_policy = rolling_policy
            self._compaction = None

        def enable_compact(self, strategy, compactor):
            """Keeps committed part files hidden until ``strategy`` has ``compactor`` merge
            each bucket's into one visible ``compacted-...`` file."""
            if not isinstance(strategy, FileCompactStrategy) or not isinstance(compactor, FileCompactor):
                raise TypeError("enable_compact takes a FileCompactStrategy and a FileCompactor")
            self._compaction = (strategy, compactor)
            return self

        def disable_compact(self):
            """Makes committed part files visible as they are (the default)."""
            self._compaction = None
            return self

        def with_rolling_policy(self, rolling_policy):
            """When part files roll (see ``RollingPolicy``)."""
            if not isinstance(rolling_policy, RollingPolicy):
                raise TypeError(f"expected a RollingPolicy, got {type(rolling_policy).__name__}")
            self._rolling_policy = rolling_policy
            return self

        def build(self):
            """The ``FileSink``."""
            return FileSink(self._base_path, self._encoder(), self._output_file_config, self._rolling_policy,
                            self._bucket_assigner, self._writer_factory(), self._compaction)

        def _encoder(self):
            return None

        def _writer_factory(self):
            return None

        def with_bucket_assigner(self, bucket_assigner):
            self._bucket_assigner = bucket_assigner
            return self

        def with_output_file_config(self, output_file_config):
            self._output_file_config = output_file_config
            return self

        def with_bucket_check_interval(self, interval):
            """How often (ms) Flink checks buckets for part files to roll by time. Kept: part
            files here are checked for size, age and inactivity as records are written, and
            every checkpoint rolls them."""
            if int(interval) <= 0:
                raise ValueError(f"the bucket check interval must be positive, not {interval}")
            self._bucket_check_interval = int(interval)
            return self

    class RowFormatBuilder(BaseBuilder):
        """Builds a row-format ``FileSink``."""

        def __init__(self, base_path, encoder):
            super().__init__(base_path, RollingPolicy.default_rolling_policy())
            self._row_encoder = encoder

        def _encoder(self):
            return self._row_encoder

    class BulkFormatBuilder(BaseBuilder):
        """Builds a bulk-format ``FileSink``: part files roll at checkpoints (and at the end)."""

        def __init__(self, base_path, writer_factory):
            super().__init__(base_path, OnCheckpointRollingPolicy())
            self._bulk_writer_factory = writer_factory

        def with_rolling_policy(self, rolling_policy):
            if not isinstance(rolling_policy, OnCheckpointRollingPolicy):
                raise TypeError("bulk formats roll on checkpoints: give OnCheckpointRollingPolicy")
            return super().with_rolling_policy(rolling_policy)

        def _writer_factory(self):
            return self._bulk_writer_factory

    def _add_to(self, native_stream):
        bulk = self.writer_factory._bulk() if self.writer_factory is not None else None
        if self.writer_factory is None and (
            not isinstance(self.encoder, Encoder) or self.encoder.charset.replace("-", "").upper() != "UTF8"
        ):
            raise ValueError("FileSink writes rows with Encoder.simple_string_encoder() (UTF-8) only")
        policy = self.rolling_policy
        never = 2**64 - 1
        if policy.kind == "on_checkpoint":
            sizes = (never, never, never)
        else:
            sizes = (policy.part_size, policy.rollover_interval, policy.inactivity_interval)
        return native_stream.sink_to_files(
            _native.FileSinkSpec(
                base_path=str(self.base_path),
                part_prefix=self.output_file_config.part_prefix,
                part_suffix=self.output_file_config.part_suffix,
                max_part_size=sizes[0],
                rollover_interval_ms=sizes[1],
                inactivity_interval_ms=sizes[2],
                bucket_format=self.bucket_assigner._format_string,
                format=None if self.writer_factory is None else self.writer_factory._format(),
                bulk=bulk,
                compaction=self._native_compaction(),
            )
        )


    def _native_compaction(self):
        if self.compaction is None:
            return None
        strategy, compactor = self.compaction
        return _native.FileCompaction(
            size_threshold=strategy._size_threshold,
            checkpoints=strategy._checkpoints,
            threads=strategy._threads,
            delimiter=compactor._delimiter,
            identical=compactor._identical,
        )


class StreamingFileSink(SinkFunction):
    """PyFlink 1.x's file sink (``stream.add_sink(StreamingFileSink.for_row_format(...).build())``):
    the engine's ``FileSink`` under its older name, with the same part files, rolling and
    buckets."""

    def __init__(self, file_sink):
        self._file_sink = file_sink

    class BaseBuilder:
        """The settings of both kinds of builders."""

        def __init__(self, builder):
            self._builder = builder

        def with_bucket_check_interval(self, interval):
            """How often buckets are checked for inactive part files (ms); see
            ``FileSink.RowFormatBuilder.with_bucket_check_interval``."""
            self._builder.with_bucket_check_interval(interval)
            return self

        def with_bucket_assigner(self, bucket_assigner):
            self._builder.with_bucket_assigner(bucket_assigner)
            return self

        def with_rolling_policy(self, policy):
            self._builder.with_rolling_policy(policy)
            return self

        def with_output_file_config(self, output_file_config):
            self._builder.with_output_file_config(output_file_config)
            return self

        def build(self):
            return StreamingFileSink(self._builder.build())

    class DefaultRowFormatBuilder(BaseBuilder):
        """Builds a row-format ``StreamingFileSink``."""

    class DefaultBulkFormatBuilder(BaseBuilder):
        """Builds a bulk-format ``StreamingFileSink`` (part files roll at checkpoints)."""

    @staticmethod
    def for_row_format(base_path, encoder):
        """A sink writing each record as one row encoded by ``encoder``."""
        return StreamingFileSink.DefaultRowFormatBuilder(FileSink.for_row_format(base_path, encoder))

    @staticmethod
    def for_bulk_format(base_path, writer_factory):
        """A sink writing records with a bulk writer (``CsvBulkWriters.for_schema(schema)``)."""
        return StreamingFileSink.DefaultBulkFormatBuilder(FileSink.for_bulk_format(base_path, writer_factory))

    def _add_to(self, native_stream):
        return self._file_sink._add_to(native_stream)


__all__ = [
    "BucketAssigner",
    "BulkFormat",
    "FileCompactStrategy",
    "FileCompactor",
    "DefaultRollingPolicy",
    "FileSink",
    "FileSource",
    "FileSourceBuilder",
    "OnCheckpointRollingPolicy",
    "OutputFileConfig",
    "RollingPolicy",
    "StreamFormat",
    "StreamingFileSink",
]
