"""``Schema`` and ``TableDescriptor``: how a table is described without SQL."""

from pyflink_rs import _native
from pyflink_rs.table.types import DataType


def _option(key, value):
    """An option as text: a ``ConfigOption``'s key, and booleans as Flink writes them."""
    key = getattr(key, "key", key)
    if isinstance(value, bool):
        value = "true" if value else "false"
    return str(key), str(value)


class Schema:
    """The columns of a table, in order, and its watermark and primary key; build one with
    ``Schema.new_builder()``. Columns are physical (``column``), computed from the others
    (``column_by_expression``) or a connector's metadata (``column_by_metadata``)."""

    def __init__(self, entries, watermark=None, primary_key=None):
        self._entries = list(entries)
        self._columns = [(entry[1], entry[2]) for entry in self._entries if entry[0] == "physical"]
        self._watermark = watermark
        self._primary_key = primary_key

    @staticmethod
    def new_builder():
        return Schema.Builder()

    def get_field_names(self):
        return [entry[1] for entry in self._entries]

    def get_field_data_types(self):
        return [data_type for _, data_type in self._columns]

    def _native(self):
        if len(self._columns) != len(self._entries):
            raise ValueError("tables read with to_data_stream have physical columns only; query computed and "
                             "metadata columns with SQL")
        for name, data_type in self._columns:
            if data_type._native is None:
                raise ValueError(
                    f"column '{name}' of type {data_type!r}: tables read with to_data_stream hold BOOLEAN, "
                    "integer, FLOAT, DOUBLE, CHAR, VARCHAR and STRING columns so far; SQL queries take any type")
        return [_native.ColumnSpec(name=name, data_type=data_type._native) for name, data_type in self._columns]

    def _stream_spec(self):
        """This schema for ``from_data_stream``."""
        columns = []
        for entry in self._entries:
            if entry[0] == "physical":
                columns.append(_native.SchemaColumnSpec(name=entry[1], data_type=repr(entry[2]), expression=None))
            elif entry[0] == "computed":
                columns.append(_native.SchemaColumnSpec(name=entry[1], data_type=None, expression=entry[2]))
            else:
                raise ValueError(f"the metadata column '{entry[1]}' has no metadata to read in a data stream")
        column, expression = self._watermark or (None, None)
        return _native.StreamSchemaSpec(columns=columns, watermark_column=column, watermark_expression=expression)

    def _ddl_elements(self):
        """The column, watermark and key clauses of ``CREATE TABLE``."""
        elements = []
        for entry in self._entries:
            name = "`" + entry[1].replace("`", "``") + "`"
            if entry[0] == "physical":
                elements.append(f"{name} {entry[2]!r}")
            elif entry[0] == "computed":
                elements.append(f"{name} AS {entry[2]}")
            else:
                _, _, data_type, key, virtual = entry
                source = f" FROM '{key}'" if key else ""
                elements.append(f"{name} {data_type!r} METADATA{source}{' VIRTUAL' if virtual else ''}")
        if self._watermark is not None:
            elements.append(f"WATERMARK FOR `{self._watermark[0]}` AS {self._watermark[1]}")
        if self._primary_key:
            elements.append(f"PRIMARY KEY ({', '.join(self._primary_key)}) NOT ENFORCED")
        return elements

    def __str__(self):
        lines = []
        for entry in self._entries:
            if entry[0] == "computed":
                lines.append(f"  `{entry[1]}` AS {entry[2]}")
            else:
                lines.append(f"  `{entry[1]}` {entry[2]!r}")
        if self._watermark is not None:
            lines.append(f"  WATERMARK FOR `{self._watermark[0]}` AS {self._watermark[1]}")
        return "(\n" + ",\n".join(lines) + "\n)"

    __repr__ = __str__

    class Builder:
        """Adds columns one by one."""

        def __init__(self):
            self._entries = []
            self._watermark = None
            self._primary_key = None

        def column(self, column_name, data_type):
            if not isinstance(data_type, DataType):
                raise TypeError(
                    f"column '{column_name}' needs a type from DataTypes (such as DataTypes.INT()), "
                    f"not {data_type!r}"
                )
            self._entries.append(("physical", column_name, data_type))
            return self

        def column_by_expression(self, column_name, expr):
            """A column computed by the SQL expression ``expr`` (text or an ``Expression``)."""
            self._entries.append(("computed", column_name, str(expr)))
            return self

        def column_by_metadata(self, column_name, data_type, metadata_key=None, is_virtual=False):
            """A column of the connector's metadata ``metadata_key`` (the column's name when not given)."""
            self._entries.append(("metadata", column_name, data_type, metadata_key, is_virtual))
            return self

        def watermark(self, column_name, watermark_expr):
            """Makes ``column_name`` the event time, with watermarks of ``watermark_expr``."""
            self._watermark = (column_name, str(watermark_expr))
            return self

        def primary_key(self, *column_names):
            self._primary_key = list(column_names)
            return self

        def primary_key_named(self, constraint_name, *column_names):
            return self.primary_key(*column_names)

        def from_schema(self, schema):
            self._entries.extend(schema._entries)
            self._watermark = schema._watermark or self._watermark
            self._primary_key = schema._primary_key or self._primary_key
            return self

        def build(self):
            names = [entry[1] for entry in self._entries]
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"column names must be unique; repeated: {', '.join(duplicates)}")
            return Schema(self._entries, self._watermark, self._primary_key)


class TableDescriptor:
    """A table's connector, schema and connector options, as ``CREATE TABLE ... WITH (...)``
    would give them."""

    def __init__(self, connector, schema, options):
        self._connector = connector
        self._schema = schema
        self._options = dict(options)

    @staticmethod
    def for_connector(connector):
        return TableDescriptor.Builder(connector)

    def get_schema(self):
        return self._schema

    def get_options(self):
        return dict(self._options)

    def _native(self):
        return _native.TableSpec(connector=self._connector, columns=self._schema._native(), options=self._options)

    def _ddl(self, name):
        """``CREATE TEMPORARY TABLE name (...) WITH (...)`` of this descriptor."""
        columns = ",\n".join("  " + element for element in self._schema._ddl_elements())
        options = ",\n".join(
            "  '{}' = '{}'".format(key.replace("'", "''"), value.replace("'", "''"))
            for key, value in {"connector": self._connector, **self._options}.items())
        quoted = name.replace("`", "``")
        return f"CREATE TEMPORARY TABLE `{quoted}` (\n{columns}\n) WITH (\n{options}\n)"

    def __str__(self):
        options = ",\n".join(f"  '{key}' = '{value}'" for key, value in
                             sorted({"connector": self._connector, **self._options}.items()))
        return f"{self._schema}\nWITH (\n{options}\n)"

    class Builder:
        """Sets the schema and options of a table descriptor."""

        def __init__(self, connector):
            self._connector = connector
            self._schema = None
            self._options = {}

        def schema(self, schema):
            self._schema = schema
            return self

        def option(self, key, value):
            key, value = _option(key, value)
            self._options[key] = value
            return self

        def format(self, format, format_option_key=None):
            name = format if isinstance(format, str) else format._identifier
            self._options["format"] = name
            for key, value in ({} if isinstance(format, str) else format._options).items():
                self._options[f"{name}.{key}"] = value
            return self

        def build(self):
            if self._schema is None:
                raise ValueError(f"the table of connector '{self._connector}' needs a schema")
            return TableDescriptor(self._connector, self._schema, self._options)


class FormatDescriptor:
    """A format and its options, for ``TableDescriptor.Builder.format`` (the options are written
    as ``<format>.<key>``)."""

    def __init__(self, identifier, options):
        self._identifier = identifier
        self._options = dict(options)

    @staticmethod
    def for_format(format):
        return FormatDescriptor.Builder(format)

    def get_format(self):
        return self._identifier

    def get_options(self):
        return dict(self._options)

    def __str__(self):
        options = ", ".join(f"'{key}' = '{value}'" for key, value in sorted(self._options.items()))
        return f"{self._identifier}[{options}]"

    class Builder:
        """Sets the options of a format descriptor."""

        def __init__(self, format):
            self._format = format
            self._options = {}

        def option(self, key, value):
            key, value = _option(key, value)
            self._options[key] = value
            return self

        def build(self):
            return FormatDescriptor(self._format, self._options)
