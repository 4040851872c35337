"""Parquet files (PyFlink's ``pyflink.datastream.formats.parquet``): rows of a
``DataTypes.ROW`` written with ``ParquetBulkWriters`` and read with
``ParquetColumnarRowInputFormat``, and generic Avro records (dicts of a flat record schema)
written with ``AvroParquetWriters`` and read with ``AvroParquetReaders``.

Fields are Parquet columns of their names, holding BOOLEAN, TINYINT, SMALLINT, INT, BIGINT,
FLOAT, DOUBLE and string values (Avro: boolean, int, long, float, double, string), each
nullable. Part files are Snappy-compressed and roll at checkpoints. Reading matches fields to
columns by name; a field the file lacks reads as None. ``hadoop_config`` and the UTC timestamp
flags are accepted and have nothing to configure here (no Hadoop, no timestamp fields).
"""

from pyflink_rs import _native
from pyflink_rs.common.serialization import RowDataBulkWriterFactory
from pyflink_rs.common.typeinfo import Types
from pyflink_rs.datastream.connectors.file_system import BulkFormat, StreamFormat
from pyflink_rs.datastream.formats.avro import AvroSchema, GenericRecordAvroTypeInfo

_FIELD_TYPES = {
    "BOOLEAN": Types.BOOLEAN,
    "TINYINT": Types.BYTE,
    "SMALLINT": Types.SHORT,
    "INT": Types.INT,
    "BIGINT": Types.LONG,
    "FLOAT": Types.FLOAT,
    "DOUBLE": Types.DOUBLE,
    "STRING": Types.STRING,
}


def _row_type_info(row_type, user):
    """The ``Types.ROW_NAMED`` of a ``DataTypes.ROW`` (or of a ``Types.ROW_NAMED`` itself)."""
    from pyflink_rs.common.typeinfo import RowTypeInfo

    if isinstance(row_type, RowTypeInfo):
        return row_type
    fields = getattr(row_type, "_fields", None)
    if fields is None:
        raise TypeError(f"{user} needs a row type, DataTypes.ROW([...]), not {row_type!r}")
    names, types = [], []
    for name, data_type in fields:
        base = repr(data_type.nullable()).split("(")[0]
        if base in ("CHAR", "VARCHAR"):
            base = "STRING"
        if base not in _FIELD_TYPES:
            raise ValueError(
                f"{user}: field '{name}' is {data_type!r}; fields here are BOOLEAN, TINYINT, SMALLINT, "
                "INT, BIGINT, FLOAT, DOUBLE, CHAR, VARCHAR or STRING")
        names.append(name)
        types.append(_FIELD_TYPES[base]())
    return Types.ROW_NAMED(names, types)


def _avro_schema(schema, user):
    if not isinstance(schema, AvroSchema):
        raise TypeError(f"{user} needs an AvroSchema, not {schema!r}")
    return str(schema)


class ParquetBulkWriters:
    """Writers of Parquet part files of rows (``FileSink.for_bulk_format(path,
    ParquetBulkWriters.for_row_type(row_type))``)."""

    @staticmethod
    def for_row_type(row_type, hadoop_config=None, utc_timestamp=False):
        """Writes the stream's rows (``Row``s, tuples or lists of ``row_type``'s fields)."""
        type_info = _row_type_info(row_type, "ParquetBulkWriters.for_row_type")
        return RowDataBulkWriterFactory(None, type_info, _native.BulkFileFormat.PARQUET_ROWS(type_info._native()))


class AvroParquetWriters:
    """Writers of Parquet part files of generic Avro records: dicts of a record schema's
    fields (``AvroParquetWriters.for_generic_record(schema)``)."""

    @staticmethod
    def for_generic_record(schema):
        avro_schema = _avro_schema(schema, "AvroParquetWriters.for_generic_record")
        records = _native.BulkFileFormat.PARQUET_GENERIC_RECORDS(avro_schema)
        return RowDataBulkWriterFactory(None, GenericRecordAvroTypeInfo(schema), records)


class _ParquetRead:
    """What the Parquet formats share: reading files as rows or generic records."""

    def _parquet_read(self, native_environment, paths, monitor_interval_ms, records, batch_size, case_sensitive):
        return native_environment.from_bulk_files(paths, monitor_interval_ms, records, batch_size, case_sensitive)


class ParquetColumnarRowInputFormat(BulkFormat, _ParquetRead):
    """Reads Parquet files as ``Row``s of ``row_type`` (``FileSource.for_bulk_file_format``),
    ``batch_size`` rows at a time, matching fields to columns by name."""

    def __init__(self, row_type, hadoop_config=None, batch_size=2048, is_utc_timestamp=False,
                 is_case_sensitive=True):
        self._row_type_info = _row_type_info(row_type, "ParquetColumnarRowInputFormat")
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, not {batch_size}")
        self._batch_size = int(batch_size)
        self._case_sensitive = bool(is_case_sensitive)

    def _read(self, native_environment, paths, monitor_interval_ms):
        records = _native.BulkFileFormat.PARQUET_ROWS(self._row_type_info._native())
        return self._parquet_read(native_environment, paths, monitor_interval_ms, records, self._batch_size,
                                  self._case_sensitive)

    def _type_info(self):
        return self._row_type_info


class _AvroParquetFormat(StreamFormat, _ParquetRead):
    """Reads Parquet files as generic Avro records (dicts) of a schema."""

    def __init__(self, schema):
        super().__init__("avro_parquet")
        self._schema = schema
        self._records = _native.BulkFileFormat.PARQUET_GENERIC_RECORDS(str(schema))

    def _read(self, native_environment, paths, monitor_interval_ms):
        return self._parquet_read(native_environment, paths, monitor_interval_ms, self._records, 2048, True)

    def _type_info(self):
        return GenericRecordAvroTypeInfo(self._schema)


class AvroParquetReaders:
    """Readers of Parquet files as generic Avro records (``FileSource.for_record_stream_format(
    AvroParquetReaders.for_generic_record(schema), path)``): dicts of the schema's fields."""

    @staticmethod
    def for_generic_record(schema):
        _avro_schema(schema, "AvroParquetReaders.for_generic_record")
        return _AvroParquetFormat(schema)


__all__ = ["AvroParquetReaders", "AvroParquetWriters", "ParquetBulkWriters", "ParquetColumnarRowInputFormat"]
