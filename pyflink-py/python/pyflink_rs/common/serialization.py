"""How records become bytes and back: ``Encoder`` for file sinks, and the schemas of
messages (PyFlink's ``SimpleStringSchema``, ``ByteArraySchema``; the row formats are in
``pyflink_rs.datastream.formats``)."""

from pyflink_rs import _native


class BulkWriterFactory:
    """Writes records into part files in a format of whole files (``FileSink.for_bulk_format``):
    made by a format's writers, such as ``CsvBulkWriters.for_schema``: lines of a record format,
    or whole files of a bulk file format (Parquet, Avro)."""

    def __init__(self, record_format, type_info, bulk_format=None):
        self._record_format = record_format
        self._type_info = type_info
        self._bulk_format = bulk_format

    def _format(self):
        return self._record_format

    def _bulk(self):
        """The bulk file format of the part files (Parquet, Avro); None for line formats."""
        return self._bulk_format


class RowDataBulkWriterFactory(BulkWriterFactory):
    """A bulk writer factory of rows of a known row type."""

    def get_row_type(self):
        """The type of the rows written."""
        return self._type_info


class Encoder:
    """Turns a record into the bytes of one row of a file."""

    def __init__(self, charset):
        self.charset = charset

    @staticmethod
    def simple_string_encoder(charset_name="UTF-8"):
        """Each record's string form in ``charset_name``, one per line."""
        return Encoder(charset_name)

    def encode(self, record):
        """The row of ``record``."""
        return (str(record) + "\n").encode(self.charset)


class SerializationSchema:
    """Turns records into the bytes of messages (PyFlink's ``SerializationSchema``)."""

    def _format(self):
        raise NotImplementedError


class DeserializationSchema:
    """Turns the bytes of messages into records (PyFlink's ``DeserializationSchema``)."""

    def _format(self):
        raise NotImplementedError


class SimpleStringSchema(SerializationSchema, DeserializationSchema):
    """Messages as UTF-8 text: records are ``str``."""

    def __init__(self, charset="UTF-8"):
        if charset.replace("-", "").upper() != "UTF8":
            raise ValueError(f"SimpleStringSchema reads and writes UTF-8 only, not {charset}")

    def _format(self):
        return _native.RecordFormat.SIMPLE_STRING()


class ByteArraySchema(SerializationSchema, DeserializationSchema):
    """Messages as they are: records are ``bytes`` (``bytearray`` or lists of byte values are
    written too)."""

    def _format(self):
        return _native.RecordFormat.BYTE_ARRAY()


class RowFieldExtractorSchema(SerializationSchema):
    """Writes one field of each ``Row`` (or tuple, or list) as it is: the field at
    ``field_index`` must hold ``bytes`` (for Kafka, a field as the message key or value)."""

    def __init__(self, field_index):
        if not isinstance(field_index, int) or isinstance(field_index, bool) or field_index < 0:
            raise ValueError(f"the field index must be a non-negative int, not {field_index!r}")
        self._field_index = field_index

    def _format(self):
        return _native.RecordFormat.ROW_FIELD(self._field_index)
