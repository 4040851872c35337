"""Type information (PyFlink's ``Types``): declares what the records of a stream, a state or a
field are. A typed stream converts its records (tuples to ``Row`` for ``ROW``, floats rounded
to 32 bits for ``FLOAT``, ...) and prints them as a Java program would; untyped streams carry
any Python object (``PICKLED_BYTE_ARRAY``)."""

from pyflink_rs import _native


class TypeInformation:
    """The base of all types."""

    def _native(self):
        raise NotImplementedError

    def __eq__(self, other):
        return type(self) is type(other) and self._native() == other._native()

    def __hash__(self):
        return hash(repr(self))


class BasicTypeInfo(TypeInformation):
    """A type without parameters: strings, numbers, booleans."""

    def __init__(self, name, kind):
        self._name = name
        self._kind = kind

    def _native(self):
        return _native.TypeInfo.BASIC(self._kind)

    def __repr__(self):
        return self._name


class SqlTimeTypeInfo(BasicTypeInfo):
    """Dates, times and timestamps: ``datetime`` objects."""


class LocalTimeTypeInfo(BasicTypeInfo):
    """Local dates, times and date-times: ``datetime`` objects."""


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
        return _basic("String", _native.BasicType.STRING)

    @staticmethod
    def BYTE():
        return _basic("Byte", _native.BasicType.BYTE)

    @staticmethod
    def BOOLEAN():
        return _basic("Boolean", _native.BasicType.BOOLEAN)

    @staticmethod
    def SHORT():
        return _basic("Short", _native.BasicType.SHORT)

    @staticmethod
    def INT():
        return _basic("Integer", _native.BasicType.INT)

    @staticmethod
    def LONG():
        return _basic("Long", _native.BasicType.LONG)

    @staticmethod
    def FLOAT():
        return _basic("Float", _native.BasicType.FLOAT)

    @staticmethod
    def DOUBLE():
        return _basic("Double", _native.BasicType.DOUBLE)

    @staticmethod
    def CHAR():
        return _basic("Character", _native.BasicType.CHAR)

    @staticmethod
    def BIG_INT():
        return _basic("BigInteger", _native.BasicType.BIG_INT)

    @staticmethod
    def BIG_DEC():
        return _basic("BigDecimal", _native.BasicType.BIG_DEC)

    @staticmethod
    def INSTANT():
        return _basic("Instant", _native.BasicType.TEMPORAL, InstantTypeInfo)

    @staticmethod
    def SQL_DATE():
        return _basic("Date", _native.BasicType.TEMPORAL, SqlTimeTypeInfo)

    @staticmethod
    def SQL_TIME():
        return _basic("Time", _native.BasicType.TEMPORAL, SqlTimeTypeInfo)

    @staticmethod
    def SQL_TIMESTAMP():
        return _basic("Timestamp", _native.BasicType.TEMPORAL, SqlTimeTypeInfo)

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
        return ListTypeInfo(element_type, "PrimitiveArrayTypeInfo")

    @staticmethod
    def BASIC_ARRAY(element_type):
        return ListTypeInfo(element_type, "BasicArrayTypeInfo")

    @staticmethod
    def OBJECT_ARRAY(element_type):
        return ListTypeInfo(element_type, "ObjectArrayTypeInfo")

    @staticmethod
    def MAP(key_type_info, value_type_info):
        return MapTypeInfo(key_type_info, value_type_info)

    @staticmethod
    def LIST(element_type_info):
        return ListTypeInfo(element_type_info)


def native_type(type_info):
    """The engine's form of ``type_info`` (``None`` stays ``None``: any Python object)."""
    if type_info is None:
        return None
    if not isinstance(type_info, TypeInformation):
        raise TypeError(f"expected a type from Types, got {type(type_info).__name__}")
    return type_info._native()
