"""Type information (PyFlink's ``Types``): declares what the records of a stream, a state or a
field are. A typed stream converts its records (tuples to ``Row`` for ``ROW``, floats rounded
to 32 bits for ``FLOAT``, ...) and prints them as a Java program would; untyped streams carry
any Python object (``PICKLED_BYTE_ARRAY``)."""

from enum import Enum

from pyflink_rs import _native


class TypeInformation:
    """The base of all types."""

    def _native(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self._native() == other._native()

    def __hash__(self):
        return hash(repr(self))


class BasicType(Enum):
    """The basic types, by the names of their Java classes."""

    STRING = "String"
    BYTE = "Byte"
    BOOLEAN = "Boolean"
    SHORT = "Short"
    INT = "Integer"
    LONG = "Long"
    FLOAT = "Float"
    DOUBLE = "Double"
    CHAR = "Char"
    BIG_INT = "BigInteger"
    BIG_DEC = "BigDecimal"
    INSTANT = "Instant"


class BasicTypeInfo(TypeInformation):
    """A type without parameters: strings, numbers, booleans."""

    def __init__(self, name, kind):
        self._name = name
        self._kind = kind

    def _native(self):
        return _native.TypeInfo.BASIC(self._kind)

    def __repr__(self):
        return self._name

    def __eq__(self, other):
        # Types of one engine kind (dates, times, timestamps) differ by their Java class.
        return type(self) is type(other) and self._name == other._name

    def __hash__(self):
        return hash((type(self), self._name))

    @staticmethod
    def STRING_TYPE_INFO():
        return BasicTypeInfo("String", _native.BasicType.STRING)

    @staticmethod
    def BOOLEAN_TYPE_INFO():
        return BasicTypeInfo("Boolean", _native.BasicType.BOOLEAN)

    @staticmethod
    def BYTE_TYPE_INFO():
        return BasicTypeInfo("Byte", _native.BasicType.BYTE)

    @staticmethod
    def SHORT_TYPE_INFO():
        return BasicTypeInfo("Short", _native.BasicType.SHORT)

    @staticmethod
    def INT_TYPE_INFO():
        return BasicTypeInfo("Integer", _native.BasicType.INT)

    @staticmethod
    def LONG_TYPE_INFO():
        return BasicTypeInfo("Long", _native.BasicType.LONG)

    @staticmethod
    def FLOAT_TYPE_INFO():
        return BasicTypeInfo("Float", _native.BasicType.FLOAT)

    @staticmethod
    def DOUBLE_TYPE_INFO():
        return BasicTypeInfo("Double", _native.BasicType.DOUBLE)

    @staticmethod
    def CHAR_TYPE_INFO():
        return BasicTypeInfo("Character", _native.BasicType.CHAR)

    @staticmethod
    def BIG_INT_TYPE_INFO():
        return BasicTypeInfo("BigInteger", _native.BasicType.BIG_INT)

    @staticmethod
    def BIG_DEC_TYPE_INFO():
        return BasicTypeInfo("BigDecimal", _native.BasicType.BIG_DEC)

    @staticmethod
    def INSTANT_TYPE_INFO():
        return InstantTypeInfo("Instant", _native.BasicType.TEMPORAL)


class SqlTimeTypeInfo(BasicTypeInfo):
    """Dates, times and timestamps: ``datetime`` objects."""

    @staticmethod
    def DATE():
        return DateTypeInfo()

    @staticmethod
    def TIME():
        return TimeTypeInfo()

    @staticmethod
    def TIMESTAMP():
        return TimestampTypeInfo()


class DateTypeInfo(SqlTimeTypeInfo):
    """SQL dates (``Types.SQL_DATE()``): ``datetime.date`` objects."""

    def __init__(self):
        super().__init__("Date", _native.BasicType.TEMPORAL)


class TimeTypeInfo(SqlTimeTypeInfo):
    """SQL times (``Types.SQL_TIME()``): ``datetime.time`` objects."""

    def __init__(self):
        super().__init__("Time", _native.BasicType.TEMPORAL)


class TimestampTypeInfo(SqlTimeTypeInfo):
    """SQL timestamps (``Types.SQL_TIMESTAMP()``): ``datetime.datetime`` objects."""

    def __init__(self):
        super().__init__("Timestamp", _native.BasicType.TEMPORAL)


class LocalTimeTypeInfo(BasicTypeInfo):
    """Local dates, times and date-times: ``datetime`` objects."""

    class TimeType(Enum):
        """Which local time type."""

        LOCAL_DATE = "LocalDate"
        LOCAL_TIME = "LocalTime"
        LOCAL_DATE_TIME = "LocalDateTime"


class ExternalTypeInfo(TypeInformation):
    """A type as the Table API hands it to a DataStream (``to_data_stream``): records of
    ``type_info``, converted as that type converts them."""

    def __init__(self, type_info):
        if not isinstance(type_info, TypeInformation):
            raise TypeError(f"expected a TypeInformation, got {type(type_info).__name__}")
        self._type_info = type_info

    def _native(self):
        return self._type_info._native()

    def __eq__(self, other):
        return isinstance(other, ExternalTypeInfo) and self._type_info == other._type_info

    def __hash__(self):
        return hash(("external", self._type_info))

    def __repr__(self):
        return f"ExternalTypeInfo<{self._type_info}>"


class InstantTypeInfo(BasicTypeInfo):
    """Instants: ``datetime`` objects."""


class PickledBytesTypeInfo(TypeInformation):
    """Any Python object, pickled where it must cross a process: the default type."""

    def _native(self):
        return _native.TypeInfo.PICKLED()

    def __repr__(self):
        return "PickledByteArrayTypeInfo"


class RowTypeInfo(TypeInformation):
    """Rows of typed fields, named or ``f0``, ``f1``, ..."""

    def __init__(self, field_types, field_names=None):
        self._field_types = list(field_types)
        if field_names is not None and len(field_names) != len(self._field_types):
            raise ValueError(f"{len(field_names)} field names for {len(self._field_types)} field types")
        self._field_names = list(field_names) if field_names is not None else None

    def get_field_names(self):
        """The fields' names (``f0``, ``f1``, ... when not named)."""
        return self._field_names or [f"f{i}" for i in range(len(self._field_types))]

    def get_field_index(self, field_name):
        """The position of ``field_name``, or -1."""
        names = self.get_field_names()
        return names.index(field_name) if field_name in names else -1

    def get_field_types(self):
        """The fields' types."""
        return list(self._field_types)

    def get_arity(self):
        """The number of fields."""
        return len(self._field_types)

    def _native(self):
        return _native.TypeInfo.ROW(self.get_field_names(), [t._native() for t in self._field_types])

    def __repr__(self):
        fields = ", ".join(f"{n}: {t!r}" for n, t in zip(self.get_field_names(), self._field_types))
        return f"RowTypeInfo({fields})"


class TupleTypeInfo(TypeInformation):
    """Tuples of typed fields."""

    def __init__(self, field_types):
        self._field_types = list(field_types)

    def get_field_types(self):
        """The fields' types."""
        return list(self._field_types)

    def _native(self):
        return _native.TypeInfo.TUPLE([t._native() for t in self._field_types])

    def __repr__(self):
        return "TupleTypeInfo(" + ", ".join(repr(t) for t in self._field_types) + ")"


class ListTypeInfo(TypeInformation):
    """Lists of one element type; arrays are lists here too."""

    def __init__(self, element_type, name="ListTypeInfo"):
        self.elem_type = element_type
        self._name = name

    def _native(self):
        return _native.TypeInfo.LIST([self.elem_type._native()])

    def __repr__(self):
        return f"{self._name}<{self.elem_type!r}>"


class PrimitiveArrayTypeInfo(ListTypeInfo):
    """Arrays of a primitive type (Java's ``int[]``): lists here."""

    def __init__(self, element_type):
        super().__init__(element_type, "PrimitiveArrayTypeInfo")


class BasicArrayTypeInfo(ListTypeInfo):
    """Arrays of a basic type (Java's ``Integer[]``): lists here."""

    def __init__(self, element_type):
        super().__init__(element_type, "BasicArrayTypeInfo")


class ObjectArrayTypeInfo(ListTypeInfo):
    """Arrays of any type (Java's ``Object[]``): lists here."""

    def __init__(self, element_type):
        super().__init__(element_type, "ObjectArrayTypeInfo")


class MapTypeInfo(TypeInformation):
    """Dicts of a key type and a value type."""

    def __init__(self, key_type_info, value_type_info):
        self._key_type_info = key_type_info
        self._value_type_info = value_type_info

    def _native(self):
        return _native.TypeInfo.MAP([self._key_type_info._native(), self._value_type_info._native()])

    def __repr__(self):
        return f"MapTypeInfo<{self._key_type_info!r}, {self._value_type_info!r}>"


def _basic(name, kind, cls=BasicTypeInfo):
    return cls(name, kind)


class Types:
    """The types of records, fields and states, by PyFlink's names."""

    @staticmethod
    def STRING():
        return BasicTypeInfo.STRING_TYPE_INFO()

    @staticmethod
    def BYTE():
        return BasicTypeInfo.BYTE_TYPE_INFO()

    @staticmethod
    def BOOLEAN():
        return BasicTypeInfo.BOOLEAN_TYPE_INFO()

    @staticmethod
    def SHORT():
        return BasicTypeInfo.SHORT_TYPE_INFO()

    @staticmethod
    def INT():
        return BasicTypeInfo.INT_TYPE_INFO()

    @staticmethod
    def LONG():
        return BasicTypeInfo.LONG_TYPE_INFO()

    @staticmethod
    def FLOAT():
        return BasicTypeInfo.FLOAT_TYPE_INFO()

    @staticmethod
    def DOUBLE():
        return BasicTypeInfo.DOUBLE_TYPE_INFO()

    @staticmethod
    def CHAR():
        return BasicTypeInfo.CHAR_TYPE_INFO()

    @staticmethod
    def BIG_INT():
        return BasicTypeInfo.BIG_INT_TYPE_INFO()

    @staticmethod
    def BIG_DEC():
        return BasicTypeInfo.BIG_DEC_TYPE_INFO()

    @staticmethod
    def INSTANT():
        return BasicTypeInfo.INSTANT_TYPE_INFO()

    @staticmethod
    def SQL_DATE():
        return SqlTimeTypeInfo.DATE()

    @staticmethod
    def SQL_TIME():
        return SqlTimeTypeInfo.TIME()

    @staticmethod
    def SQL_TIMESTAMP():
        return SqlTimeTypeInfo.TIMESTAMP()

    @staticmethod
    def LOCAL_DATE():
        return _basic("LocalDate", _native.BasicType.TEMPORAL, LocalTimeTypeInfo)

    @staticmethod
    def LOCAL_TIME():
        return _basic("LocalTime", _native.BasicType.TEMPORAL, LocalTimeTypeInfo)

    @staticmethod
    def LOCAL_DATE_TIME():
        return _basic("LocalDateTime", _native.BasicType.TEMPORAL, LocalTimeTypeInfo)

    @staticmethod
    def PICKLED_BYTE_ARRAY():
        return PickledBytesTypeInfo()

    @staticmethod
    def ROW(field_types):
        return RowTypeInfo(field_types)

    @staticmethod
    def ROW_NAMED(field_names, field_types):
        return RowTypeInfo(field_types, field_names)

    @staticmethod
    def TUPLE(field_types):
        return TupleTypeInfo(field_types)

    @staticmethod
    def PRIMITIVE_ARRAY(element_type):
        return PrimitiveArrayTypeInfo(element_type)

    @staticmethod
    def BASIC_ARRAY(element_type):
        return BasicArrayTypeInfo(element_type)

    @staticmethod
    def OBJECT_ARRAY(element_type):
        return ObjectArrayTypeInfo(element_type)

    @staticmethod
    def MAP(key_type_info, value_type_info):
        return MapTypeInfo(key_type_info, value_type_info)

    @staticmethod
    def LIST(element_type_info):
        return ListTypeInfo(element_type_info)


def row_fields(type_info):
    """The field names and field types of a ``Types.ROW``/``ROW_NAMED`` (or of a ``Types.TUPLE``,
    whose fields are ``f0``, ``f1``, ...), or ``None`` for other types."""
    if isinstance(type_info, RowTypeInfo):
        return list(type_info.get_field_names()), list(type_info.get_field_types())
    if isinstance(type_info, TupleTypeInfo):
        types = list(type_info.get_field_types())
        return [f"f{i}" for i in range(len(types))], types
    return None


def native_type(type_info):
    """The engine's form of ``type_info`` (``None`` stays ``None``: any Python object)."""
    if type_info is None:
        return None
    if not isinstance(type_info, TypeInformation):
        raise TypeError(f"expected a type from Types, got {type(type_info).__name__}")
    return type_info._native()
