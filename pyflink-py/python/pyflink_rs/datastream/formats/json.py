"""Rows as JSON objects (PyFlink's ``JsonRowSerializationSchema`` and
``JsonRowDeserializationSchema``): a member per field of a ``Types.ROW`` or ``Types.ROW_NAMED``
of basic types, named by the field (``f0``, ``f1``, ... for ``Types.ROW``)."""

from pyflink_rs import _native
from pyflink_rs.common.serialization import DeserializationSchema, SerializationSchema
from pyflink_rs.common.typeinfo import RowTypeInfo


def _row_type(type_info, schema):
    if not isinstance(type_info, RowTypeInfo):
        raise TypeError(f"{schema} needs a row type (Types.ROW or Types.ROW_NAMED), not {type_info!r}")
    return type_info._native()


class JsonRowSerializationSchema(SerializationSchema):
    """Writes rows as compact JSON objects."""

    def __init__(self, type_info):
        self._type_info = type_info

    @staticmethod
    def builder():
        return JsonRowSerializationSchema.Builder()

    class Builder:
        """Builds a ``JsonRowSerializationSchema``."""

        def __init__(self):
            self._type_info = None

        def with_type_info(self, type_info):
            """The row type of the records written."""
            self._type_info = type_info
            return self

        def build(self):
            if self._type_info is None:
                raise ValueError("a JsonRowSerializationSchema needs the row type: call with_type_info")
            _row_type(self._type_info, "JsonRowSerializationSchema")
            return JsonRowSerializationSchema(self._type_info)

    def _format(self):
        return _native.RecordFormat.JSON(_row_type(self._type_info, "JsonRowSerializationSchema"), False, False)


# The field type of each JSON Schema type.
_JSON_SCHEMA_TYPES = {"string": "STRING", "boolean": "BOOLEAN", "integer": "LONG", "number": "DOUBLE"}


def _row_of_json_schema(json_schema):
    """The ``Types.ROW_NAMED`` of a JSON Schema of an object."""
    import json

    from pyflink_rs.common.typeinfo import Types

    schema = json.loads(json_schema) if isinstance(json_schema, str) else json_schema
    if not isinstance(schema, dict) or schema.get("type", "object") != "object" or "properties" not in schema:
        raise ValueError("a JSON schema of rows describes an object with properties")
    names, types = [], []
    for name, field in schema["properties"].items():
        kind = field.get("type")
        if isinstance(kind, list):  # ["string", "null"]: a nullable field
            kind = next((k for k in kind if k != "null"), None)
        if kind not in _JSON_SCHEMA_TYPES:
            raise ValueError(f"the JSON schema property '{name}' has type {kind!r}; rows hold "
                             f"{', '.join(sorted(_JSON_SCHEMA_TYPES))} properties")
        names.append(name)
        types.append(getattr(Types, _JSON_SCHEMA_TYPES[kind])())
    return Types.ROW_NAMED(names, types)


class JsonRowDeserializationSchema(DeserializationSchema):
    """Reads JSON objects as rows: a missing member or ``null`` is a ``None`` field (unless
    ``fail_on_missing_field``); unreadable messages fail the job (unless
    ``ignore_parse_errors``, which skips them)."""

    def __init__(self, type_info, fail_on_missing_field, ignore_parse_errors):
        self._type_info = type_info
        self._fail_on_missing_field = fail_on_missing_field
        self._ignore_parse_errors = ignore_parse_errors

    @staticmethod
    def builder():
        return JsonRowDeserializationSchema.Builder()

    class Builder:
        """Builds a ``JsonRowDeserializationSchema``."""

        def __init__(self):
            self._type_info = None
            self._fail_on_missing_field = False
            self._ignore_parse_errors = False

        def type_info(self, type_info):
            """The row type of the records read."""
            self._type_info = type_info
            return self

        def json_schema(self, json_schema):
            """The row type of a JSON Schema of an object: its ``properties`` in order, of the
            types ``string``, ``boolean``, ``integer`` (LONG) and ``number`` (DOUBLE)."""
            self._type_info = _row_of_json_schema(json_schema)
            return self

        def fail_on_missing_field(self):
            """Fails on objects that lack a field of the row type."""
            self._fail_on_missing_field = True
            return self

        def ignore_parse_errors(self):
            """Skips the messages that cannot be read instead of failing the job."""
            self._ignore_parse_errors = True
            return self

        def build(self):
            if self._type_info is None:
                raise ValueError("a JsonRowDeserializationSchema needs the row type: call type_info")
            if self._fail_on_missing_field and self._ignore_parse_errors:
                raise ValueError("JSON rows cannot both fail on missing fields and ignore parse errors; choose one")
            _row_type(self._type_info, "JsonRowDeserializationSchema")
            return JsonRowDeserializationSchema(self._type_info, self._fail_on_missing_field, self._ignore_parse_errors)

    def _format(self):
        row_type = _row_type(self._type_info, "JsonRowDeserializationSchema")
        return _native.RecordFormat.JSON(row_type, self._fail_on_missing_field, self._ignore_parse_errors)


__all__ = ["JsonRowDeserializationSchema", "JsonRowSerializationSchema"]
