"""``TableEnvironment`` and ``StreamTableEnvironment``: SQL statements (``execute_sql``,
``sql_query``), tables of Python rows (``from_elements``), tables described by
``TableDescriptor``s, statement sets, and the turning of tables into data streams."""

import importlib
import pickle
import re
import warnings

from pyflink_rs import _native
from pyflink_rs.common import dependencies, global_configuration
from pyflink_rs.common.configuration import duration_millis
from pyflink_rs.common.time import milliseconds_of
from pyflink_rs.table.table import Table, TableResult, _JobFailed

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

        def use_blink_planner(self):
            """Flink 1.x's choice of planner; there is one planner, so this only warns."""
            warnings.warn("use_blink_planner() is deprecated: pyflink-rs has one planner", DeprecationWarning,
                          stacklevel=2)
            return self

        use_old_planner = use_any_planner = use_blink_planner

        def build(self):
            return EnvironmentSettings(self._streaming)



# Flink's DDL of a Python function: its name and the module path of the object that is it.
_CREATE_PYTHON_FUNCTION = re.compile(
    r"\s*CREATE\s+(?:TEMPORARY\s+)?(?:SYSTEM\s+)?FUNCTION\s+(?:IF\s+NOT\s+EXISTS\s+)?(`[^`]+`|[\w.$]+)\s+AS\s+"
    r"'([^']+)'\s+LANGUAGE\s+PYTHON\s*;?\s*$",
    re.IGNORECASE,
)
# A name no function has: dropping it if it exists gives the OK of a DDL statement.
_NO_FUNCTION = "$no function$"


class TableConfig:
    """The configuration of a table environment (``t_env.get_config()``): ``set(key, value)``
    passes engine options such as ``parallelism.default`` to the jobs it runs."""

    def __init__(self, t_env):
        self._t_env = t_env
        self._options = {}

    def set(self, key, value):
        options = dependencies.apply({str(key): str(value)})
        if options:
            self._t_env._native.configure(options)
        self._options[str(key)] = str(value)
        return self

    def get(self, key, default_value=None):
        return self._options.get(key, default_value)

    def get_configuration(self):
        return self

    def set_python_executable(self, python_exec):
        """The interpreter of worker processes in process mode (``python.executable``)."""
        return self.set(dependencies.EXECUTABLE, python_exec)

    def get_python_executable(self):
        return self.get(dependencies.EXECUTABLE)

    def set_idle_state_retention(self, duration):
        """How long the state of a key of an aggregate or join is kept after it was last
        written (``table.exec.state.ttl``); a ``datetime.timedelta``, zero keeps it for ever."""
        return self.set("table.exec.state.ttl", f"{milliseconds_of(duration, 'the idle state retention')} ms")

    def set_idle_state_retention_time(self, min_time, max_time):
        """PyFlink 1.x: keep idle state at least ``min_time`` (Flink 1.x cleaned it up between
        the two times; here it goes after ``min_time``)."""
        return self.set_idle_state_retention(min_time)

    def get_idle_state_retention(self):
        import datetime
        return datetime.timedelta(milliseconds=duration_millis(self.get("table.exec.state.ttl", "0 ms")))


class StatementSet:
    """``INSERT``s run as one job."""

    def __init__(self, native):
        self._native = native

    def add_insert_sql(self, stmt):
        self._native.add_insert_sql(stmt)
        return self

    def add_insert(self, target_path, table, overwrite=False):
        self._native.add_insert(target_path, table._sql_table())
        return self

    def execute(self):
        return TableResult(self._native.execute())


_PYTHON_TYPES = [(bool, "BOOLEAN"), (int, "BIGINT"), (float, "DOUBLE"), (str, "STRING")]


def _infer_type(values):
    import datetime
    for value in values:
        if value is None:
            continue
        if isinstance(value, datetime.datetime):
            return "TIMESTAMP_LTZ(3)" if value.tzinfo is not None else "TIMESTAMP(3)"
        for python_type, sql_type in _PYTHON_TYPES:
            if isinstance(value, python_type):
                return sql_type
        raise TypeError(f"cannot infer a column type for the value {value!r}; give the schema's types")
    return "STRING"


class TableEnvironment(dependencies.PythonDependencyMethods):
    """Where tables are registered and SQL runs."""

    def __init__(self, settings=None):
        settings = settings or EnvironmentSettings.in_streaming_mode()
        self._settings = settings
        self._native = _native.TableEnv(settings.is_streaming_mode())
        self._config = TableConfig(self)
        for key, value in global_configuration.load().items():
            self._config.set(key, value)
        self._tables = {}
        self._pending_inserts = None
        # The names of the unregistered Python functions the Table API registered for its calls.
        self._inline_functions = set()

    @staticmethod
    def create(environment_settings=None):
        if environment_settings is not None and not isinstance(environment_settings, EnvironmentSettings):
            # PyFlink also takes a Configuration here.
            environment_settings = EnvironmentSettings.in_streaming_mode()
        return TableEnvironment(environment_settings)

    def get_config(self):
        return self._config

    def execute_sql(self, stmt):
        python_function = _CREATE_PYTHON_FUNCTION.match(stmt)
        if python_function:
            return self._create_python_function(*python_function.groups())
        return TableResult(self._native.execute_sql(stmt))

    def _create_python_function(self, name, identifier):
        """``CREATE FUNCTION name AS 'module.object' LANGUAGE PYTHON``: the object (made with
        ``udf``, ``udtf``, ``udaf`` or ``udtaf``) imported and registered as ``name``."""
        from pyflink_rs.table.udf import UserDefinedScalarFunctionWrapper
        module_name, _, attribute = identifier.rpartition(".")
        if not module_name:
            raise ValueError(f"'{identifier}' must name a module and an object in it, such as 'my_udfs.add_one'")
        function = getattr(importlib.import_module(module_name), attribute, None)
        if not isinstance(function, UserDefinedScalarFunctionWrapper):
            raise TypeError(f"'{identifier}' is {function!r}, not a function made with udf, udtf, udaf or udtaf")
        self.create_temporary_system_function(name.strip("`").rpartition(".")[2], function)
        return TableResult(self._native.execute_sql(f"DROP FUNCTION IF EXISTS `{_NO_FUNCTION}`"))

    def sql_query(self, query):
        return Table(self, self._native.sql_query(query))

    def explain_sql(self, stmt, *extra_details):
        """The plan of the query ``stmt`` (see ``Table.explain``)."""
        return self.sql_query(stmt).explain(*extra_details)

    def create_statement_set(self):
        return StatementSet(self._native.create_statement_set())

    def sql_update(self, stmt):
        """Flink 1.10's way to run DDL and ``INSERT INTO``: DDL runs at once, and the inserts
        wait for ``execute(job_name)``, which runs them as one job."""
        warnings.warn("sql_update() is deprecated: use execute_sql() or a statement set", DeprecationWarning,
                      stacklevel=2)
        if stmt.lstrip().upper().startswith("INSERT"):
            if self._pending_inserts is None:
                self._pending_inserts = self.create_statement_set()
            self._pending_inserts.add_insert_sql(stmt)
        else:
            self.execute_sql(stmt)

    def insert_into(self, target_path, table):
        """Flink 1.10's ``insert_into``: the insert waits for ``execute(job_name)``."""
        warnings.warn("insert_into() is deprecated: use Table.execute_insert() or a statement set",
                      DeprecationWarning, stacklevel=2)
        if self._pending_inserts is None:
            self._pending_inserts = self.create_statement_set()
        self._pending_inserts.add_insert(target_path, table)

    def execute(self, job_name=None):
        """Flink 1.x's ``execute``: runs the inserts of ``sql_update`` and ``insert_into`` as one
        job and waits for it to end."""
        pending, self._pending_inserts = self._pending_inserts, None
        if pending is None:
            raise RuntimeError("No operators defined in the job: add inserts with sql_update or insert_into first")
        result = pending.execute()
        result.wait()
        return result

    def from_elements(self, elements, schema=None, verify_schema=True):
        elements = [tuple(e) if not isinstance(e, (tuple, list)) else e for e in elements]
        if schema is None:
            width = len(elements[0]) if elements else 0
            names, types = [f"_{i + 1}" for i in range(width)], None
        elif isinstance(schema, (list, tuple)) and all(isinstance(n, str) for n in schema):
            names, types = list(schema), None
        else:
            row_type = schema
            fields = getattr(row_type, "_fields", None)
            if fields is None:
                raise TypeError(f"from_elements takes column names or DataTypes.ROW([...]) as schema, not {schema!r}")
            names = [name for name, _ in fields]
            types = [repr(data_type) for _, data_type in fields]
        if types is None:
            types = [_infer_type([e[i] for e in elements]) for i in range(len(names))]
        rows = [list(e) for e in elements]
        return Table(self, self._native.from_rows(pickle.dumps(rows), names, types))

    def from_pandas(self, pdf, schema=None, splits_num=1):
        """A table of the rows of the pandas DataFrame ``pdf``: its columns by their names and
        inferred types, or as ``schema`` says (column names, or ``DataTypes.ROW([...])``)."""
        import pandas as pd
        if not isinstance(pdf, pd.DataFrame):
            raise TypeError(f"from_pandas takes a pandas.DataFrame, not {type(pdf).__name__}")
        if schema is None:
            schema = [str(column) for column in pdf.columns]
        # As Python values (numpy's become Python's), with NaN-free NULLs as None.
        values = pdf.astype(object).where(pdf.notna(), None)
        return self.from_elements([tuple(row) for row in values.itertuples(index=False, name=None)], schema)

    def create_temporary_system_function(self, name, function):
        """Registers the Python function ``function`` (made with ``udf``) as ``name`` for SQL."""
        from pyflink_rs.table.udf import UserDefinedScalarFunctionWrapper
        if not isinstance(function, UserDefinedScalarFunctionWrapper):
            raise TypeError(f"expected a function made with udf(...), got {function!r}")
        function._register(self._native, name, self.get_config()._options)

    create_temporary_function = create_temporary_system_function

    def register_function(self, name, function):
        """Flink 1.x: registers ``function`` as ``name`` (``create_temporary_system_function``)."""
        warnings.warn("register_function is deprecated; use create_temporary_system_function",
                      DeprecationWarning, stacklevel=2)
        self.create_temporary_system_function(name, function)

    def create_temporary_view(self, view_path, table, *fields):
        if fields:
            table = table.alias(*[getattr(f, "_column", f) for f in fields])
        self._native.create_temporary_view(view_path, table._sql_table())

    def drop_temporary_view(self, view_path):
        return self._native.drop_temporary_view(view_path)

    def create_temporary_table(self, path, descriptor):
        if path in self._tables:
            raise ValueError(f"temporary table '{path}' already exists")
        self._tables[path] = descriptor
        self._registered_sql(path, descriptor)

    def _registered_sql(self, path, descriptor):
        """Registers ``descriptor`` for SQL as ``path``, unless the engine refuses it: then
        reading it through SQL says why."""
        try:
            self._native.execute_sql(descriptor._ddl(path))
        except _JobFailed:
            pass

    def drop_temporary_table(self, table_path):
        """Removes a temporary table; True if there was one."""
        self._native.drop_temporary_view(table_path)
        return self._tables.pop(table_path, None) is not None

    def list_temporary_tables(self):
        return sorted(self._tables)

    def list_tables(self):
        return self._native.list_tables()

    def from_path(self, path):
        if path in self._tables:
            return Table(self, None, self._tables[path], path)
        if path not in self._native.list_tables():
            raise ValueError(f"table '{path}' was not found; register it first with create_temporary_table")
        return Table(self, self._native.from_path(path))

    def from_descriptor(self, descriptor):
        return Table(self, None, descriptor)


# The Flink SQL type of each basic type of the DataStream API, as tables of streams hold it.
_SQL_TYPES = {
    "String": "STRING", "Boolean": "BOOLEAN", "Byte": "TINYINT", "Short": "SMALLINT", "Integer": "INT",
    "Long": "BIGINT", "Float": "FLOAT", "Double": "DOUBLE", "Character": "STRING",
    "Instant": "TIMESTAMP_LTZ(3)", "Timestamp": "TIMESTAMP(3)", "LocalDateTime": "TIMESTAMP(3)",
}


def _row_fields(data_stream):
    """The field names and Flink SQL types of the records of ``data_stream``."""
    from pyflink_rs.common.typeinfo import row_fields
    fields = row_fields(data_stream._type_info)
    if fields is None:
        raise ValueError(
            "from_data_stream reads streams of rows of known types: give the stream's type, such as "
            "type_info=Types.ROW([Types.INSTANT(), Types.STRING()]) in from_collection or output_type in map")
    names, types = fields
    sql_types = []
    for name, field_type in zip(names, types):
        sql_type = _SQL_TYPES.get(repr(field_type))
        if sql_type is None:
            raise ValueError(f"the field '{name}' of type {field_type!r} cannot be a table column yet; "
                             f"the types that can are {', '.join(sorted(_SQL_TYPES))}")
        sql_types.append(sql_type)
    return list(names), sql_types


class StreamTableEnvironment(TableEnvironment):
    """The table side of a streaming program: SQL and the Table API, and tables read as data
    streams of ``Row``s (``to_data_stream``)."""

    def __init__(self, env):
        super().__init__(EnvironmentSettings.in_streaming_mode())
        self._env = env
        # The stream environment's settings (checkpointing, Python execution, ...) hold for the
        # table jobs too, as they share one environment in PyFlink.
        for key, value in env._options.items():
            self._config.set(key, value)
        self._config.set("parallelism.default", env.get_parallelism())

    @staticmethod
    def create(stream_execution_environment=None, environment_settings=None):
        env = stream_execution_environment or StreamExecutionEnvironment.get_execution_environment()
        if environment_settings is not None and not environment_settings.is_streaming_mode():
            raise ValueError("StreamTableEnvironment runs in streaming mode; use EnvironmentSettings.in_streaming_mode()")
        return StreamTableEnvironment(env)

    def from_data_stream(self, data_stream, *fields_or_schema):
        """The records of ``data_stream`` (rows of a known type) as a table: with a ``Schema``,
        of the columns, computed columns and watermark it declares; with expressions, of the
        fields renamed in order; with nothing, of the fields as they are."""
        from pyflink_rs.table.schema import Schema
        if repr(data_stream._type_info) in _SQL_TYPES:
            # A stream of atomic values is a table of one column, f0.
            from pyflink_rs.common import Types
            data_stream = data_stream.map(lambda value: (value,), output_type=Types.TUPLE([data_stream._type_info]))
        names, types = _row_fields(data_stream)
        schema = Schema([], None, None)
        renames = ()
        if len(fields_or_schema) == 1 and isinstance(fields_or_schema[0], Schema):
            schema = fields_or_schema[0]
        elif fields_or_schema:
            renames = fields_or_schema
        native = self._native.from_data_stream(data_stream._native, names, types, schema._stream_spec())
        table = Table(self, native)
        return table.alias(*renames) if renames else table

    def create_temporary_view(self, view_path, table_or_data_stream, *fields_or_schema):
        if isinstance(table_or_data_stream, DataStream):
            table_or_data_stream = self.from_data_stream(table_or_data_stream, *fields_or_schema)
            fields_or_schema = ()
        super().create_temporary_view(view_path, table_or_data_stream, *fields_or_schema)

    def to_data_stream(self, table):
        """The rows of ``table`` as a data stream of ``Row``s named by its columns; the table
        must only ever grow (read others with ``to_changelog_stream``)."""
        if table._descriptor is not None:
            return DataStream(self._env._native.from_table(table._descriptor._native()))
        return DataStream(self._env._native.from_query(table._sql_table(), False))

    def to_changelog_stream(self, table):
        """The changes of ``table`` as a data stream of ``Row``s with their kinds
        (``row.get_row_kind()``: ``+I``, ``-U``, ``+U``, ``-D``)."""
        return DataStream(self._env._native.from_query(table._sql_table(), True))

    def to_append_stream(self, table, type_info=None):
        """PyFlink 1.x: the rows of a table that only grows."""
        warnings.warn("to_append_stream is deprecated; use to_data_stream", DeprecationWarning, stacklevel=2)
        return self.to_data_stream(table)

    def to_retract_stream(self, table, type_info=None):
        """PyFlink 1.x: ``(is_insert, row)`` pairs of a table's changes."""
        warnings.warn("to_retract_stream is deprecated; use to_changelog_stream", DeprecationWarning, stacklevel=2)
        from pyflink_rs.common import Types
        changes = self.to_changelog_stream(table)
        return changes.map(lambda row: (row.get_row_kind().value in (0, 2), row),
                           output_type=Types.PICKLED_BYTE_ARRAY())
