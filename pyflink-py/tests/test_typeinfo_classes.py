"""PyFlink's type information classes behind `Types`: `BasicTypeInfo.*_TYPE_INFO()`,
`SqlTimeTypeInfo.DATE()` / `TIME()` / `TIMESTAMP()`, and the array types, equal to what
`Types` gives and converting records as those do."""

import struct

from pyflink_rs.common import Types
from pyflink_rs.common.typeinfo import (
    BasicArrayTypeInfo,
    BasicType,
    BasicTypeInfo,
    LocalTimeTypeInfo,
    ObjectArrayTypeInfo,
    PrimitiveArrayTypeInfo,
    SqlTimeTypeInfo,
)
from pyflink_rs.datastream import StreamExecutionEnvironment


def test_the_classes_are_what_types_gives():
    assert Types.STRING() == BasicTypeInfo.STRING_TYPE_INFO()
    assert Types.LONG() == BasicTypeInfo.LONG_TYPE_INFO() != BasicTypeInfo.INT_TYPE_INFO()
    assert Types.SQL_DATE() == SqlTimeTypeInfo.DATE() != SqlTimeTypeInfo.TIME()
    assert len({Types.SQL_DATE(), Types.SQL_TIME(), Types.SQL_TIMESTAMP()}) == 3
    assert isinstance(Types.PRIMITIVE_ARRAY(Types.INT()), PrimitiveArrayTypeInfo)
    assert isinstance(Types.BASIC_ARRAY(Types.STRING()), BasicArrayTypeInfo)
    assert isinstance(Types.OBJECT_ARRAY(Types.LONG()), ObjectArrayTypeInfo)
    assert repr(Types.PRIMITIVE_ARRAY(Types.INT())) == "PrimitiveArrayTypeInfo<Integer>"
    assert BasicType.INT.value == "Integer"
    assert LocalTimeTypeInfo.TimeType.LOCAL_DATE_TIME.value == "LocalDateTime"


def test_records_of_a_basic_type_info_convert_as_their_types_do():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    floats = list(env.from_collection([0.1], BasicTypeInfo.FLOAT_TYPE_INFO()).execute_and_collect())
    assert floats == [struct.unpack("f", struct.pack("f", 0.1))[0]] and floats != [0.1]
    doubled = env.from_collection([1, 2], BasicTypeInfo.LONG_TYPE_INFO()).map(
        lambda v: v * 2, output_type=BasicTypeInfo.LONG_TYPE_INFO()
    )
    assert list(doubled.execute_and_collect()) == [2, 4]
    arrays = env.from_collection([[1, 2]], PrimitiveArrayTypeInfo(BasicTypeInfo.INT_TYPE_INFO()))
    assert list(arrays.execute_and_collect()) == [[1, 2]]
