"""Typed streams: records are converted to their declared type, as PyFlink converts them, and
print as a Java program prints them."""

import struct

import pytest

from pyflink_rs.common import Row, RowKind, Types
from pyflink_rs.datastream import StreamExecutionEnvironment


@pytest.fixture
def env():
    environment = StreamExecutionEnvironment.get_execution_environment()
    environment.set_parallelism(1)
    return environment


def printed(env, stream, capfd):
    stream.print()
    env.execute()
    return capfd.readouterr().out.splitlines()


def test_named_row_collection_gives_rows_with_attributes(env):
    rows = env.from_collection([(1, "a"), (2, "b")], type_info=Types.ROW_NAMED(["id", "name"], [Types.INT(), Types.STRING()]))
    result = list(rows.map(lambda r: (type(r).__name__, r.id, r["name"], r[0])).execute_and_collect())
    assert result == [("Row", 1, "a", 1), ("Row", 2, "b", 2)]


def test_float_values_are_rounded_to_32_bits(env):
    values = list(env.from_collection([110.1, 0.5], type_info=Types.FLOAT()).execute_and_collect())
    assert values == [struct.unpack("f", struct.pack("f", 110.1))[0], 0.5]
    assert values[0] != 110.1


def test_tuples_print_as_java_tuples(env, capfd):
    stream = env.from_collection(["a", "b", "a"]).map(lambda w: [w, 1], output_type=Types.TUPLE([Types.STRING(), Types.INT()]))
    summed = stream.key_by(lambda t: t[0]).reduce(lambda x, y: (x[0], x[1] + y[1]))
    assert printed(env, summed, capfd) == ["(a,1)", "(b,1)", "(a,2)"]


def test_rows_print_with_their_kind(env, capfd):
    stream = env.from_collection([(1, "x", 2.5, True, None)]).map(
        lambda v: v,
        output_type=Types.ROW([Types.LONG(), Types.STRING(), Types.DOUBLE(), Types.BOOLEAN(), Types.STRING()]),
    )
    assert printed(env, stream, capfd) == ["+I[1, x, 2.5, true, null]"]


def test_doubles_print_as_java_doubles(env, capfd):
    stream = env.from_collection([1e10, 0.00015, 3.0, 1234567.0, float("nan")], type_info=Types.DOUBLE())
    assert printed(env, stream, capfd) == ["1.0E10", "1.5E-4", "3.0", "1234567.0", "NaN"]


def test_lists_and_maps_print_as_java_collections(env, capfd):
    lists = env.from_collection([[1, 2]], type_info=Types.LIST(Types.INT()))
    maps = env.from_collection([{"k": 1.5}], type_info=Types.MAP(Types.STRING(), Types.DOUBLE()))
    lists.print()
    maps.print()
    env.execute()
    assert sorted(capfd.readouterr().out.splitlines()) == ["[1, 2]", "{k=1.5}"]


def test_untyped_records_print_with_python_str(env, capfd):
    stream = env.from_collection([(1, "a")]).map(lambda v: v)
    assert printed(env, stream, capfd) == ["(1, 'a')"]


def test_a_value_that_does_not_fit_its_type_fails_with_both_named(env):
    with pytest.raises(Exception, match="a record of type INT cannot hold str value 'x'"):
        list(env.from_collection([1]).map(lambda v: "x", output_type=Types.INT()).execute_and_collect())
    with pytest.raises(Exception, match="does not fit type INT"):
        list(env.from_collection([1]).map(lambda v: 2**40, output_type=Types.INT()).execute_and_collect())
    with pytest.raises(Exception, match="has 2 fields, but"):
        list(env.from_collection([(1, 2, 3)]).map(lambda v: v, output_type=Types.TUPLE([Types.INT(), Types.INT()])).execute_and_collect())


def test_keyed_sum_min_max_by_position_and_name(env):
    data = [("a", 3, 1), ("b", 5, 2), ("a", 1, 3), ("a", 7, 4)]
    tuples = env.from_collection(data, type_info=Types.TUPLE([Types.STRING(), Types.INT(), Types.INT()]))
    assert list(tuples.key_by(lambda t: t[0]).sum(1).execute_and_collect()) == [("a", 3, 1), ("b", 5, 2), ("a", 4, 1), ("a", 11, 1)]
    assert list(tuples.key_by(lambda t: t[0]).min(1).execute_and_collect()) == [("a", 3, 1), ("b", 5, 2), ("a", 1, 1), ("a", 1, 1)]
    assert list(tuples.key_by(lambda t: t[0]).max_by(1).execute_and_collect()) == [("a", 3, 1), ("b", 5, 2), ("a", 3, 1), ("a", 7, 4)]
    rows = env.from_collection(data, type_info=Types.ROW_NAMED(["k", "v", "n"], [Types.STRING(), Types.INT(), Types.INT()]))
    summed = list(rows.key_by(lambda r: r.k).sum("v").execute_and_collect())
    assert [r.v for r in summed] == [3, 5, 4, 11]
    assert all(isinstance(r, Row) for r in summed)


def test_row_behaves_as_pyflink_row():
    row = Row(id=1, name="a")
    assert row.id == 1 and row["name"] == "a" and row[1] == "a"
    assert row.as_dict() == {"id": 1, "name": "a"}
    assert repr(row) == "Row(id=1, name='a')"
    assert Row("id", "name")(1, "a") == row
    row.set_row_kind(RowKind.DELETE)
    assert row.get_row_kind() == RowKind.DELETE
    with pytest.raises(AttributeError):
        row.missing
