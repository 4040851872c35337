"""``StreamTableEnvironment``: tables registered by name and turned into data streams."""

from pyflink_rs.datastream.data_stream import DataStream
from pyflink_rs.datastream.stream_execution_environment import StreamExecutionEnvironment


class EnvironmentSettings:
    """Whether the table environment runs in streaming or batch mode."""

    def __init__(self, streaming=True):
        self._streaming = streaming

    @staticmethod
    def in_streaming_mode():
        return EnvironmentSettings(streaming=True)

    @staticmethod
    def in_batch_mode():
        return EnvironmentSettings(streaming=False)

    @staticmethod
    def new_instance():
        return EnvironmentSettings.Builder()

    def is_streaming_mode(self):
        return self._streaming

    class Builder:
        def __init__(self):
            self._streaming = True

        def in_streaming_mode(self):
            self._streaming = True
            return self

        def in_batch_mode(self):
            self._streaming = False
            return self

        def build(self):
            return EnvironmentSettings(self._streaming)


class Table:
    """A table: its rows come from the connector of its descriptor."""

    def __init__(self, t_env, descriptor):
        self._t_env = t_env
        self._descriptor = descriptor

    def get_schema(self):
        return self._descriptor.get_schema()

    def print_schema(self):
        print(self._descriptor.get_schema())


class StreamTableEnvironment:
    """The table side of a streaming program: a catalog of temporary tables, and the
    conversion of tables into data streams of ``Row``s. Queries (SQL, Table API expressions)
    are not available yet: turn a table into a data stream and process it there."""

    def __init__(self, env):
        self._env = env
        self._tables = {}

    @staticmethod
    def create(stream_execution_environment=None, environment_settings=None):
        env = stream_execution_environment or StreamExecutionEnvironment.get_execution_environment()
        if environment_settings is not None and not environment_settings.is_streaming_mode():
            raise ValueError("StreamTableEnvironment runs in streaming mode; use EnvironmentSettings.in_streaming_mode()")
        return StreamTableEnvironment(env)

    def create_temporary_table(self, path, descriptor):
        if path in self._tables:
            raise ValueError(f"temporary table '{path}' already exists")
        self._tables[path] = descriptor

    def drop_temporary_table(self, table_path):
        """Removes a temporary table; True if there was one."""
        return self._tables.pop(table_path, None) is not None

    def list_temporary_tables(self):
        return sorted(self._tables)

    def from_path(self, path):
        if path not in self._tables:
            raise ValueError(f"table '{path}' was not found; register it first with create_temporary_table")
        return Table(self, self._tables[path])

    def from_descriptor(self, descriptor):
        return Table(self, descriptor)

    def to_data_stream(self, table):
        """The rows of ``table`` as a data stream of ``Row``s named by its columns."""
        return DataStream(self._env._native.from_table(table._descriptor._native()))
