"""Rows as CSV records (PyFlink's ``CsvRowSerializationSchema`` and
``CsvRowDeserializationSchema``): the fields of a ``Types.ROW`` of basic types by position,
split by the field delimiter and quoted where they hold a delimiter, a quote or a line break."""

from pyflink_rs import _native
from pyflink_rs.common.serialization import DeserializationSchema, SerializationSchema
from pyflink_rs.common.typeinfo import RowTypeInfo


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


__all__ = ["CsvRowDeserializationSchema", "CsvRowSerializationSchema"]
