"""Rows as CSV records (PyFlink's ``CsvRowSerializationSchema`` and
``CsvRowDeserializationSchema``): the fields of a ``Types.ROW`` of basic types by position,
split by the field delimiter and quoted where they hold a delimiter, a quote or a line break."""

from pyflink_rs import _native
from pyflink_rs.common.serialization import DeserializationSchema, SerializationSchema
from pyflink_rs.common.typeinfo import RowTypeInfo
from pyflink_rs.datastream.connectors.file_system import StreamFormat


def _row_type(type_info, schema):
    if not isinstance(type_info, RowTypeInfo):
        raise TypeError(f"{schema} needs a row type (Types.ROW or Types.ROW_NAMED), not {type_info!r}")
    return type_info._native()


def _one_char(name, value):
    if not isinstance(value, str) or len(value) != 1:
        raise ValueError(f"the CSV {name} is one character, not {value!r}")
    return value


class _Dialect:
    def __init__(self):
        self.field_delimiter = ","
        self.quote_character = '"'
        self.escape_character = None
        self.null_literal = None
        self.line_delimiter = "\n"

    def _native(self):
        return _native.CsvDialect(
            field_delimiter=self.field_delimiter,
            quote_character=self.quote_character,
            escape_character=self.escape_character,
            null_literal=self.null_literal,
            line_delimiter=self.line_delimiter,
        )


class _DialectSetters:
    """The setters both builders have: how fields are delimited and quoted."""

    def set_field_delimiter(self, c):
        """The character between fields (``,`` unless set)."""
        self._dialect.field_delimiter = _one_char("field delimiter", c)
        return self

    def set_quote_character(self, c):
        """The character enclosing fields that hold delimiters, quotes or line breaks."""
        self._dialect.quote_character = _one_char("quote character", c)
        return self

    def set_escape_character(self, c):
        """The character that makes the next one literal."""
        self._dialect.escape_character = _one_char("escape character", c)
        return self

    def set_null_literal(self, null_literal):
        """The text that stands for ``None``."""
        self._dialect.null_literal = null_literal
        return self

    def set_array_element_delimiter(self, delimiter):
        raise NotImplementedError("pyflink-rs CSV rows hold basic fields only, no arrays")


class CsvRowSerializationSchema(SerializationSchema):
    """Writes rows as CSV records ending with the line delimiter (``\\n`` unless set)."""

    def __init__(self, type_info, dialect):
        self._type_info = type_info
        self._dialect = dialect

    class Builder(_DialectSetters):
        """Builds a ``CsvRowSerializationSchema`` for records of ``type_info``."""

        def __init__(self, type_info):
            _row_type(type_info, "CsvRowSerializationSchema")
            self._type_info = type_info
            self._dialect = _Dialect()

        def set_line_delimiter(self, delimiter):
            if delimiter not in ("\n", "\r", "\r\n", ""):
                raise ValueError(f"a CSV line delimiter is \\n, \\r, \\r\\n or empty, not {delimiter!r}")
            self._dialect.line_delimiter = delimiter
            return self

        def disable_quote_character(self):
            self._dialect.quote_character = None
            return self

        def build(self):
            return CsvRowSerializationSchema(self._type_info, self._dialect)

    def _format(self):
        row_type = _row_type(self._type_info, "CsvRowSerializationSchema")
        return _native.RecordFormat.CSV(row_type, self._dialect._native(), False, False)


class CsvRowDeserializationSchema(DeserializationSchema):
    """Reads CSV records as rows: a field equal to the null literal, or an empty field of a
    non-string type, is ``None``; unreadable records fail the job unless parse errors are
    ignored (then they are skipped)."""

    def __init__(self, type_info, dialect, ignore_parse_errors, allow_comments):
        self._type_info = type_info
        self._dialect = dialect
        self._ignore_parse_errors = ignore_parse_errors
        self._allow_comments = allow_comments

    class Builder(_DialectSetters):
        """Builds a ``CsvRowDeserializationSchema`` for records of ``type_info``."""

        def __init__(self, type_info):
            _row_type(type_info, "CsvRowDeserializationSchema")
            self._type_info = type_info
            self._dialect = _Dialect()
            self._ignore_parse_errors = False
            self._allow_comments = False

        def set_allow_comments(self, allow_comments=True):
            """Whether records starting with ``#`` are comments, skipped."""
            self._allow_comments = allow_comments
            return self

        def set_ignore_parse_errors(self, ignore_parse_errors=True):
            """Whether unreadable records are skipped instead of failing the job."""
            self._ignore_parse_errors = ignore_parse_errors
            return self

        def build(self):
            return CsvRowDeserializationSchema(
                self._type_info, self._dialect, self._ignore_parse_errors, self._allow_comments
            )

    def _format(self):
        row_type = _row_type(self._type_info, "CsvRowDeserializationSchema")
        return _native.RecordFormat.CSV(row_type, self._dialect._native(), self._ignore_parse_errors, self._allow_comments)


# The DataStream type of each SQL type a CSV column can have.
_COLUMN_TYPES = {
    "BOOLEAN": "BOOLEAN", "TINYINT": "BYTE", "SMALLINT": "SHORT", "INT": "INT", "INTEGER": "INT",
    "BIGINT": "LONG", "FLOAT": "FLOAT", "DOUBLE": "DOUBLE", "STRING": "STRING",
}


def _column_type(data_type):
    """The ``Types`` of a column declared with a ``DataTypes`` type."""
    from pyflink_rs.common.typeinfo import Types

    name = repr(data_type).replace(" NOT NULL", "").upper()
    if name.startswith(("VARCHAR", "CHAR")):
        name = "STRING"
    if name not in _COLUMN_TYPES:
        raise TypeError(
            f"a CSV column of type {data_type!r} is not supported: CSV rows hold "
            f"{', '.join(sorted(set(_COLUMN_TYPES)))} columns"
        )
    return getattr(Types, _COLUMN_TYPES[name])()


class CsvSchema:
    """The columns of CSV records and how they are written (``CsvSchema.builder()``): what
    ``CsvReaderFormat`` reads from files and ``CsvBulkWriters`` writes to them."""

    def __init__(self, columns, dialect, use_header, allow_comments):
        self._columns = list(columns)
        self._dialect = dialect
        self._use_header = use_header
        self._allow_comments = allow_comments

    @staticmethod
    def builder():
        return CsvSchemaBuilder()

    def size(self):
        """The number of columns."""
        return len(self._columns)

    def _type_info(self):
        from pyflink_rs.common.typeinfo import Types

        return Types.ROW_NAMED([name for name, _ in self._columns], [info for _, info in self._columns])

    def _format(self, ignore_parse_errors=False, line_delimiter=None):
        row_type = self._type_info()._native()
        dialect = self._dialect._native()
        if line_delimiter is not None:
            dialect.line_delimiter = line_delimiter
        return _native.RecordFormat.CSV(row_type, dialect, ignore_parse_errors, self._allow_comments)

    def __repr__(self):
        return f"CsvSchema({', '.join(name for name, _ in self._columns)})"


class CsvSchemaBuilder:
    """Builds a ``CsvSchema``: its columns in order, separators, quoting and header."""

    def __init__(self):
        self._columns = []
        self._dialect = _Dialect()
        self._use_header = False
        self._allow_comments = False
        self._strict_headers = False
        self._any_property_name = None

    def build(self):
        if not self._columns:
            raise ValueError("a CsvSchema needs at least one column")
        return CsvSchema(self._columns, self._dialect, self._use_header, self._allow_comments)

    def add_array_column(self, name, separator="; ", element_type=None):
        raise TypeError(f"CSV column '{name}': CSV rows hold basic fields, not arrays")

    def add_boolean_column(self, name):
        from pyflink_rs.common.typeinfo import Types

        self._columns.append((name, Types.BOOLEAN()))
        return self

    def add_number_column(self, name, number_type=None):
        """A numeric column, of ``number_type`` (``DataTypes.BIGINT()`` unless given)."""
        from pyflink_rs.common.typeinfo import Types

        self._columns.append((name, Types.LONG() if number_type is None else _column_type(number_type)))
        return self

    def add_string_column(self, name):
        from pyflink_rs.common.typeinfo import Types

        self._columns.append((name, Types.STRING()))
        return self

    def add_columns_from(self, schema):
        self._columns.extend(schema._columns)
        return self

    def clear_columns(self):
        self._columns = []
        return self

    def set_allow_comments(self, allow=True):
        """Whether lines starting with ``#`` are comments, skipped when reading."""
        self._allow_comments = allow
        return self

    def set_any_property_name(self, name):
        """Jackson's catch-all column name, kept."""
        self._any_property_name = name
        return self

    def disable_array_element_separator(self):
        return self

    def remove_array_element_separator(self, index):
        return self

    def set_array_element_separator(self, separator):
        """Kept: CSV rows here hold no arrays."""
        return self

    def set_column_separator(self, char):
        self._dialect.field_delimiter = _one_char("column separator", char)
        return self

    def disable_escape_char(self):
        self._dialect.escape_character = None
        return self

    def set_escape_char(self, char):
        self._dialect.escape_character = _one_char("escape character", char)
        return self

    def set_line_separator(self, separator):
        if separator not in ("\n", "\r", "\r\n"):
            raise ValueError(f"a CSV line separator is \\n, \\r or \\r\\n, not {separator!r}")
        self._dialect.line_delimiter = separator
        return self

    def set_null_value(self, null_value):
        self._dialect.null_literal = null_value
        return self

    def disable_quote_char(self):
        self._dialect.quote_character = None
        return self

    def set_quote_char(self, char):
        self._dialect.quote_character = _one_char("quote character", char)
        return self

    def set_skip_first_data_row(self, skip=True):
        """Whether each file's first line is skipped when reading (as ``set_use_header``)."""
        self._use_header = skip
        return self

    def set_strict_headers(self, strict=True):
        """Kept: a header line is skipped, not checked against the columns."""
        self._strict_headers = strict
        return self

    def set_use_header(self, use=True):
        """Whether each file starts with a header line, skipped when reading."""
        self._use_header = use
        return self

    def size(self):
        return len(self._columns)


class CsvReaderFormat(StreamFormat):
    """Reads the lines of files as rows of a ``CsvSchema``
    (``FileSource.for_record_stream_format(CsvReaderFormat.for_schema(schema), path)``)."""

    def __init__(self, schema, ignore_parse_errors=False):
        super().__init__("csv")
        self._schema = schema
        self._ignore_parse_errors = ignore_parse_errors

    @staticmethod
    def for_schema(schema):
        if not isinstance(schema, CsvSchema):
            raise TypeError(f"expected a CsvSchema, got {type(schema).__name__}")
        return CsvReaderFormat(schema)

    def _file_format(self):
        """The engine's format of the files' lines, and whether each file's first line is skipped."""
        return self._schema._format(self._ignore_parse_errors), self._schema._use_header

    def _type_info(self):
        return self._schema._type_info()


class CsvBulkWriters:
    """Writes rows as CSV lines of a ``CsvSchema`` (``FileSink.for_bulk_format(path,
    CsvBulkWriters.for_schema(schema))``); no header line is written."""

    @staticmethod
    def for_schema(schema):
        from pyflink_rs.common.serialization import BulkWriterFactory

        if not isinstance(schema, CsvSchema):
            raise TypeError(f"expected a CsvSchema, got {type(schema).__name__}")
        # The file sink ends each line itself.
        return BulkWriterFactory(schema._format(line_delimiter=""), schema._type_info())


__all__ = [
    "CsvBulkWriters",
    "CsvReaderFormat",
    "CsvRowDeserializationSchema",
    "CsvRowSerializationSchema",
    "CsvSchema",
    "CsvSchemaBuilder",
]
