"""PyFlink's JDBC sink of the DataStream API (``JdbcSink.sink``), on the engine's JDBC
connector: MySQL / MariaDB and PostgreSQL through native drivers, no JVM and no driver jar.

``stream.add_sink(JdbcSink.sink(sql, type_info, connection_options, execution_options))`` runs
``sql`` for each record, a ``Row`` (or tuple) of ``type_info``'s fields, which take the
statement's ``?`` placeholders in order. Rows are written in batches of ``batch_size``, every
``batch_interval_ms`` (0: only when a batch is full) and at every checkpoint, each batch in one
transaction; a failed batch is tried again ``max_retries`` times. Writes are at least once."""

from pyflink_rs import _native
from pyflink_rs.common.typeinfo import row_fields
from pyflink_rs.datastream.functions import SinkFunction

# The Flink SQL type of each field type a JDBC row can have.
_SQL_TYPES = {
    "String": "STRING", "Boolean": "BOOLEAN", "Byte": "TINYINT", "Short": "SMALLINT", "Integer": "INT",
    "Long": "BIGINT", "Float": "FLOAT", "Double": "DOUBLE", "Character": "STRING", "BigDecimal": "DECIMAL(38, 18)",
    "Date": "DATE", "Time": "TIME(3)", "Timestamp": "TIMESTAMP(3)", "LocalDate": "DATE", "LocalTime": "TIME(3)",
    "LocalDateTime": "TIMESTAMP(3)", "Instant": "TIMESTAMP_LTZ(3)",
}


def _fields(type_info):
    """The field names and Flink SQL types of ``type_info``."""
    fields = row_fields(type_info)
    if fields is None:
        raise TypeError(f"a JdbcSink writes rows: give Types.ROW(...) or Types.ROW_NAMED(...), not {type_info!r}")
    names, types = fields
    sql_types = []
    for name, field_type in zip(names, types):
        text = repr(field_type)
        if text in ("PrimitiveArrayTypeInfo<Byte>", "byte[]"):
            sql_types.append("BYTES")
            continue
        if text not in _SQL_TYPES:
            raise TypeError(f"the field '{name}' of type {text} cannot be written with JDBC; use one of "
                            f"{', '.join(sorted(_SQL_TYPES))}")
        sql_types.append(_SQL_TYPES[text])
    return list(names), sql_types


class JdbcConnectionOptions:
    """Where to connect: a JDBC URL (``jdbc:mysql://``, ``jdbc:mariadb://``,
    ``jdbc:postgresql://``), and as whom. The driver name is kept: the URL chooses the driver."""

    def __init__(self, url, driver_name, user_name, password):
        self._url = url
        self._driver_name = driver_name
        self._user_name = user_name
        self._password = password

    def get_db_url(self):
        return self._url

    def get_driver_name(self):
        return self._driver_name

    def get_user_name(self):
        return self._user_name

    def get_password(self):
        return self._password

    class JdbcConnectionOptionsBuilder:
        """Builds ``JdbcConnectionOptions``."""

        def __init__(self):
            self._url = None
            self._driver_name = None
            self._user_name = None
            self._password = None

        def with_url(self, url):
            self._url = url
            return self

        def with_driver_name(self, driver_name):
            self._driver_name = driver_name
            return self

        def with_user_name(self, user_name):
            self._user_name = user_name
            return self

        def with_password(self, password):
            self._password = password
            return self

        def build(self):
            if not self._url:
                raise ValueError("JdbcConnectionOptions need a URL: call with_url")
            return JdbcConnectionOptions(self._url, self._driver_name, self._user_name, self._password)


class JdbcExecutionOptions:
    """How rows are written: ``batch_size`` at a time (5000), every ``batch_interval_ms`` (0:
    only full batches, checkpoints and the end), failed batches tried ``max_retries`` times (3)."""

    def __init__(self, batch_interval_ms, batch_size, max_retries):
        self._batch_interval_ms = batch_interval_ms
        self._batch_size = batch_size
        self._max_retries = max_retries

    def get_batch_interval_ms(self):
        return self._batch_interval_ms

    def get_batch_size(self):
        return self._batch_size

    def get_max_retries(self):
        return self._max_retries

    @staticmethod
    def defaults():
        return JdbcExecutionOptions.builder().build()

    @staticmethod
    def builder():
        return JdbcExecutionOptions.Builder()

    class Builder:
        """Builds ``JdbcExecutionOptions``."""

        def __init__(self):
            self._batch_interval_ms = 0
            self._batch_size = 5000
            self._max_retries = 3

        def with_batch_size(self, size):
            if int(size) <= 0:
                raise ValueError(f"the batch size must be positive, not {size}")
            self._batch_size = int(size)
            return self

        def with_batch_interval_ms(self, interval_ms):
            if int(interval_ms) < 0:
                raise ValueError(f"the batch interval must not be negative, not {interval_ms}")
            self._batch_interval_ms = int(interval_ms)
            return self

        def with_max_retries(self, max_retries):
            if int(max_retries) < 0:
                raise ValueError(f"max retries must not be negative, not {max_retries}")
            self._max_retries = int(max_retries)
            return self

        def build(self):
            return JdbcExecutionOptions(self._batch_interval_ms, self._batch_size, self._max_retries)


class JdbcSink(SinkFunction):
    """Writes rows to a database with a statement: ``JdbcSink.sink(...)``."""

    def __init__(self, spec):
        self._spec = spec

    @staticmethod
    def sink(sql, type_info, jdbc_connection_options, jdbc_execution_options=None):
        """The sink running ``sql`` for each row of ``type_info``."""
        if not isinstance(jdbc_connection_options, JdbcConnectionOptions):
            raise TypeError(f"expected JdbcConnectionOptions, got {type(jdbc_connection_options).__name__}")
        execution = jdbc_execution_options or JdbcExecutionOptions.defaults()
        names, types = _fields(type_info)
        spec = _native.JdbcSinkSpec(
            sql=sql,
            field_names=names,
            field_types=types,
            url=jdbc_connection_options.get_db_url(),
            username=jdbc_connection_options.get_user_name(),
            password=jdbc_connection_options.get_password(),
            batch_size=execution.get_batch_size(),
            batch_interval_ms=execution.get_batch_interval_ms(),
            max_retries=execution.get_max_retries(),
        )
        return JdbcSink(spec)

    def _add_to(self, native_stream):
        return native_stream.sink_to_jdbc(self._spec)


__all__ = ["JdbcConnectionOptions", "JdbcExecutionOptions", "JdbcSink"]
