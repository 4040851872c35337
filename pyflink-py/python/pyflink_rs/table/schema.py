"""``Schema`` and ``TableDescriptor``: how a table is described without SQL."""

from pyflink_rs import _native
from pyflink_rs.table.types import DataType


class Schema:
    """The columns of a table, in order; build one with ``Schema.new_builder()``."""

    def __init__(self, columns):
        self._columns = list(columns)

    @staticmethod
    def new_builder():
        return Schema.Builder()

    def get_field_names(self):
        return [name for name, _ in self._columns]

    def get_field_data_types(self):
        return [data_type for _, data_type in self._columns]

    def _native(self):
        for name, data_type in self._columns:
            if data_type._native is None:
                raise ValueError(
                    f"column '{name}' of type {data_type!r}: tables read with to_data_stream hold BOOLEAN, "
                    "integer, FLOAT, DOUBLE, CHAR, VARCHAR and STRING columns so far; SQL queries take any type")
        return [_native.ColumnSpec(name=name, data_type=data_type._native) for name, data_type in self._columns]

    def __str__(self):
        lines = [f"  `{name}` {data_type!r}" for name, data_type in self._columns]
        return "(\n" + ",\n".join(lines) + "\n)"

    __repr__ = __str__

    class Builder:
        """Adds columns one by one."""

        def __init__(self):
            self._columns = []

        def column(self, column_name, data_type):
            if not isinstance(data_type, DataType):
                raise TypeError(
                    f"column '{column_name}' needs a type from DataTypes (such as DataTypes.INT()), "
                    f"not {data_type!r}"
                )
            self._columns.append((column_name, data_type))
            return self

        def from_schema(self, schema):
            self._columns.extend(schema._columns)
            return self

        def build(self):
            if not self._columns:
                raise ValueError("a schema needs at least one column")
            names = [name for name, _ in self._columns]
            duplicates = sorted({name for name in names if names.count(name) > 1})
            if duplicates:
                raise ValueError(f"column names must be unique; repeated: {', '.join(duplicates)}")
            return Schema(self._columns)


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
        columns = ",\n".join(f"  `{column}` {data_type!r}" for column, data_type in self._schema._columns)
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
            key = getattr(key, "key", key)
            if isinstance(value, bool):
                value = "true" if value else "false"
            self._options[str(key)] = str(value)
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
