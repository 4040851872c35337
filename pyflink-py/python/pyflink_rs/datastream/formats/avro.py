"""Rows as Avro records in Avro's binary encoding, without schema in the messages (PyFlink's
``AvroRowSerializationSchema`` and ``AvroRowDeserializationSchema``). The Avro schema is a
record of ``boolean``, ``int``, ``long``, ``float``, ``double`` and ``string`` fields, each
optionally in a union with ``null``; rows read are named by its fields."""

from pyflink_rs import _native
from pyflink_rs.common.io import InputFormat
from pyflink_rs.common.serialization import BulkWriterFactory, DeserializationSchema, SerializationSchema
from pyflink_rs.common.typeinfo import TypeInformation


def _schema_string(record_class, avro_schema_string, schema):
    if record_class is not None:
        raise ValueError(f"{schema} reads and writes rows by an Avro schema: give avro_schema_string, not record_class")
    if not isinstance(avro_schema_string, str):
        raise ValueError(f"{schema} needs avro_schema_string, a record schema in Avro's JSON form")
    return avro_schema_string


class AvroRowSerializationSchema(SerializationSchema):
    """Writes rows (or tuples) of the schema's fields as Avro records."""

    def __init__(self, record_class=None, avro_schema_string=None):
        self._schema = _schema_string(record_class, avro_schema_string, "AvroRowSerializationSchema")

    def _format(self):
        return _native.RecordFormat.AVRO(self._schema)


class AvroRowDeserializationSchema(DeserializationSchema):
    """Reads Avro records as rows named by the schema's fields."""

    def __init__(self, record_class=None, avro_schema_string=None):
        self._schema = _schema_string(record_class, avro_schema_string, "AvroRowDeserializationSchema")

    def _format(self):
        return _native.RecordFormat.AVRO(self._schema)


class AvroSchema:
    """An Avro schema, as its JSON text (``AvroSchema.parse_string``, ``parse_file``): the
    record schemas of Avro rows."""

    def __init__(self, json_schema):
        import json

        try:
            parsed = json.loads(json_schema)
        except ValueError as error:
            raise ValueError(f"not an Avro schema (JSON): {error}") from None
        if not isinstance(parsed, (dict, list, str)):
            raise ValueError(f"not an Avro schema: {json_schema!r}")
        self._json = json_schema

    def __str__(self):
        return self._json

    def __eq__(self, other):
        return isinstance(other, AvroSchema) and self._json == other._json

    def __hash__(self):
        return hash(self._json)

    @staticmethod
    def parse_string(json_schema):
        return AvroSchema(json_schema)

    @staticmethod
    def parse_file(file_path):
        with open(file_path, encoding="utf-8") as file:
            return AvroSchema(file.read())


class GenericRecordAvroTypeInfo(TypeInformation):
    """The type of generic Avro records of ``schema``: Python dicts of the schema's fields
    (what ``AvroParquetReaders`` read and ``AvroParquetWriters`` write)."""

    def __init__(self, schema):
        if not isinstance(schema, AvroSchema):
            raise TypeError(f"GenericRecordAvroTypeInfo needs an AvroSchema, not {schema!r}")
        self._schema = schema

    def _native(self):
        # Dicts travel as Python objects.
        return _native.TypeInfo.PICKLED()

    def __eq__(self, other):
        return isinstance(other, GenericRecordAvroTypeInfo) and self._schema == other._schema

    def __hash__(self):
        return hash(("avro", self._schema))

    def __repr__(self):
        return f"GenericRecordAvroTypeInfo({self._schema})"


class AvroInputFormat(InputFormat):
    """Reads the Avro container files at or under ``path`` as generic records: dicts of the
    fields of ``schema``, a flat record schema (``env.create_input(AvroInputFormat(path,
    schema))``). Files must be uncompressed and hold records of the schema's fields."""

    def __init__(self, path, schema):
        if not isinstance(schema, AvroSchema):
            raise TypeError(f"AvroInputFormat needs an AvroSchema, not {schema!r}")
        self._path = str(path)
        self._schema = schema

    def get_produced_type(self):
        """The type of the records read: ``GenericRecordAvroTypeInfo(schema)``."""
        return GenericRecordAvroTypeInfo(self._schema)

    def _type_info(self):
        return self.get_produced_type()

    def _read(self, native_environment):
        file_format = _native.BulkFileFormat.AVRO_GENERIC_RECORDS(str(self._schema))
        return native_environment.from_bulk_files([self._path], None, file_format, 1024, True)


class AvroBulkWriters:
    """Writers of Avro container files of generic records (``FileSink.for_bulk_format(path,
    AvroBulkWriters.for_generic_record(schema))``): dicts of the fields of a flat record schema,
    written uncompressed, part files rolled at checkpoints."""

    @staticmethod
    def for_generic_record(schema):
        if not isinstance(schema, AvroSchema):
            raise TypeError(f"AvroBulkWriters.for_generic_record needs an AvroSchema, not {schema!r}")
        file_format = _native.BulkFileFormat.AVRO_GENERIC_RECORDS(str(schema))
        return BulkWriterFactory(None, GenericRecordAvroTypeInfo(schema), file_format)


__all__ = [
    "AvroBulkWriters",
    "AvroInputFormat",
    "AvroRowDeserializationSchema",
    "AvroRowSerializationSchema",
    "AvroSchema",
    "GenericRecordAvroTypeInfo",
]
