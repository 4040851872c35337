"""The file sink's configuration (PyFlink's ``FileSink``, ``OutputFileConfig``,
``RollingPolicy``). Programs that configure a file sink import and build it here; running one
is not supported yet, and says so when the sink is added to a stream."""

from pyflink_rs.datastream.connectors import Sink


class OutputFileConfig:
    """The prefix and suffix of part file names."""

    def __init__(self, part_prefix="part", part_suffix=""):
        self.part_prefix = part_prefix
        self.part_suffix = part_suffix

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
        return RollingPolicy("default", part_size, rollover_interval, inactivity_interval)

    @staticmethod
    def on_checkpoint_rolling_policy():
        """Rolls on every checkpoint."""
        return RollingPolicy("on_checkpoint")


class FileSink(Sink):
    """Writes records to part files under a base path."""

    def __init__(self, base_path, encoder, output_file_config, rolling_policy):
        self.base_path = base_path
        self.encoder = encoder
        self.output_file_config = output_file_config
        self.rolling_policy = rolling_policy

    @staticmethod
    def for_row_format(base_path, encoder):
        """A sink writing each record as one row encoded by ``encoder``."""
        return FileSink.RowFormatBuilder(base_path, encoder)

    class RowFormatBuilder:
        """Builds a row-format ``FileSink``."""

        def __init__(self, base_path, encoder):
            self._base_path = base_path
            self._encoder = encoder
            self._output_file_config = OutputFileConfig()
            self._rolling_policy = RollingPolicy.default_rolling_policy()

        def with_output_file_config(self, output_file_config):
            self._output_file_config = output_file_config
            return self

        def with_rolling_policy(self, rolling_policy):
            self._rolling_policy = rolling_policy
            return self

        def build(self):
            return FileSink(self._base_path, self._encoder, self._output_file_config, self._rolling_policy)

    def _add_to(self, native_stream):
        raise NotImplementedError(
            "pyflink-rs cannot write files yet: FileSink is not supported; print() the stream or "
            "collect it with execute_and_collect()"
        )


__all__ = ["FileSink", "OutputFileConfig", "RollingPolicy"]
