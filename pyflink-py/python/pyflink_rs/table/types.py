"""``DataTypes``: the column types of tables, as PyFlink names them."""

import copy

from pyflink_rs import _native


class DataType:
    """A column type (``DataTypes.INT()``, ``DataTypes.STRING()``, ...)."""

    def __init__(self, name, native, nullable=True):
        self._name = name
        self._native = native
        self._nullable = nullable

    def not_null(self):
        """The type without ``NULL`` values."""
        return self._with_nullable(False)

    def nullable(self):
        """The type with ``NULL`` values."""
        return self._with_nullable(True)

    def _with_nullable(self, nullable):
        # A copy keeps what a composite type knows of its parts (a ROW's fields, ...).
        changed = copy.copy(self)
        changed._nullable = nullable
        return changed

    def __repr__(self):
        return self._name if self._nullable else f"{self._name} NOT NULL"

    def __eq__(self, other):
        return isinstance(other, DataType) and repr(self) == repr(other)

    def __hash__(self):
        return hash(repr(self))


def _type(name, native, nullable):
    return DataType(name, native, nullable)


class DataTypes:
    """The column types the engine's tables hold."""

    @staticmethod
    def BOOLEAN(nullable=True):
        return _type("BOOLEAN", _native.ColumnType.BOOLEAN(), nullable)

    @staticmethod
    def TINYINT(nullable=True):
        return _type("TINYINT", _native.ColumnType.TINY_INT(), nullable)

    @staticmethod
    def SMALLINT(nullable=True):
        return _type("SMALLINT", _native.ColumnType.SMALL_INT(), nullable)

    @staticmethod
    def INT(nullable=True):
        return _type("INT", _native.ColumnType.INT(), nullable)

    @staticmethod
    def BIGINT(nullable=True):
        return _type("BIGINT", _native.ColumnType.BIG_INT(), nullable)

    @staticmethod
    def FLOAT(nullable=True):
        return _type("FLOAT", _native.ColumnType.FLOAT(), nullable)

    @staticmethod
    def DOUBLE(nullable=True):
        return _type("DOUBLE", _native.ColumnType.DOUBLE(), nullable)

    @staticmethod
    def CHAR(length, nullable=True):
        return _type(f"CHAR({length})", _native.ColumnType.CHAR(length), nullable)

    @staticmethod
    def VARCHAR(length, nullable=True):
        return _type(f"VARCHAR({length})", _native.ColumnType.VARCHAR(length), nullable)

    @staticmethod
    def STRING(nullable=True):
        return _type("STRING", _native.ColumnType.STRING(), nullable)

    @staticmethod
    def DECIMAL(precision, scale, nullable=True):
        return _type(f"DECIMAL({precision}, {scale})", None, nullable)

    @staticmethod
    def DATE(nullable=True):
        return _type("DATE", None, nullable)

    @staticmethod
    def TIMESTAMP(precision=6, nullable=True):
        return _type(f"TIMESTAMP({precision})", None, nullable)

    @staticmethod
    def TIMESTAMP_LTZ(precision=6, nullable=True):
        return _type(f"TIMESTAMP_LTZ({precision})", None, nullable)

    @staticmethod
    def BYTES(nullable=True):
        return _type("BYTES", None, nullable)

    @staticmethod
    def BINARY(length, nullable=True):
        return _type(f"BINARY({length})", None, nullable)

    @staticmethod
    def VARBINARY(length, nullable=True):
        return _type(f"VARBINARY({length})", None, nullable)

    @staticmethod
    def TIME(precision=0, nullable=True):
        return _type(f"TIME({precision})", None, nullable)

    @staticmethod
    def TIMESTAMP_WITH_LOCAL_TIME_ZONE(precision=6, nullable=True):
        return DataTypes.TIMESTAMP_LTZ(precision, nullable)

    @staticmethod
    def ARRAY(element_type, nullable=True):
        """An array of ``element_type`` values."""
        array = _type(f"ARRAY<{element_type!r}>", None, nullable)
        array.element_type = element_type
        return array

    @staticmethod
    def MAP(key_type, value_type, nullable=True):
        """A map of ``key_type`` keys to ``value_type`` values."""
        mapping = _type(f"MAP<{key_type!r}, {value_type!r}>", None, nullable)
        mapping.key_type, mapping.value_type = key_type, value_type
        return mapping

    @staticmethod
    def LIST_VIEW(element_type):
        """The type of a ``ListView`` of ``element_type`` values, for accumulator types."""
        view = _type(f"LIST_VIEW<{element_type!r}>", None, False)
        view.element_type = element_type
        return view

    @staticmethod
    def MAP_VIEW(key_type, value_type):
        """The type of a ``MapView`` of ``key_type`` keys to ``value_type`` values, for
        accumulator types."""
        view = _type(f"MAP_VIEW<{key_type!r}, {value_type!r}>", None, False)
        view.key_type, view.value_type = key_type, value_type
        return view

    @staticmethod
    def FIELD(name, data_type, description=None):
        return (name, data_type)

    @staticmethod
    def ROW(row_fields=(), nullable=True):
        fields = list(row_fields)
        inner = ", ".join(f"`{name}` {data_type!r}" for name, data_type in fields)
        row = _type(f"ROW<{inner}>", None, nullable)
        row._fields = fields
        return row
