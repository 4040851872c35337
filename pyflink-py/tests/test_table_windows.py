"""Tables of DataStreams and the Table API's windows from Python: `from_data_stream` with a
`Schema` (computed columns, watermark), `Tumble`, `Slide`, `Session` and `Over` windows, SQL
over a stream registered as a view, and the errors of streams without a known row type."""

import pytest

from pyflink_rs.common import Instant, Row, Types
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.table import DataTypes, Schema, StreamTableEnvironment
from pyflink_rs.table.expressions import CURRENT_ROW, UNBOUNDED_ROW, col, lit, row_interval
from pyflink_rs.table.window import Over, Session, Slide, Tumble
from table_helpers import sales_table

def rows(table):
    with table.execute().collect() as results:
        return sorted(tuple(round(v, 1) if isinstance(v, float) else v for v in row) for row in results)


def test_a_schema_declares_the_columns_of_a_stream():
    _, table = sales_table()
    assert table.get_schema().get_field_names() == ["ts", "name", "price"]
    bob = rows(table.filter(col("name") == "Bob").select(col("price")))
    assert bob == [(16.1,), (30.2,), (53.1,)]


def test_tumbling_and_sliding_windows_sum_each_window():
    _, table = sales_table()
    tumbling = table.window(Tumble.over(lit(5).seconds).on(col("ts")).alias("w")) \
        .group_by(col("name"), col("w")) \
        .select(col("name"), col("price").sum.alias("total"))
    assert rows(tumbling) == [("Alice", 20.1), ("Alice", 130.1), ("Bob", 16.1), ("Bob", 83.3)]
    sliding = table.window(Slide.over(lit(4).seconds).every(lit(4).seconds).on(col("ts")).alias("w")) \
        .group_by(col("w")) \
        .select(col("price").count)
    assert rows(sliding) == [(1,), (2,), (3,)]


def test_session_windows_end_after_a_gap():
    _, table = sales_table()
    sessions = table.window(Session.with_gap(lit(5).seconds).on(col("ts")).alias("w")) \
        .group_by(col("name"), col("w")) \
        .select(col("name"), col("price").sum, col("w").start, col("w").end)
    results = rows(sessions)
    assert [(name, total) for name, total, _, _ in results] == [("Alice", 20.1), ("Alice", 130.1), ("Bob", 99.4)]
    assert [(start.second, end.second) for _, _, start, end in results] == [(10, 15), (1, 8), (2, 13)]


def test_over_windows_aggregate_the_rows_before_each_row():
    _, table = sales_table()
    last_two = Over.partition_by(col("name")).order_by(col("ts")).preceding(row_interval(1)) \
        .following(CURRENT_ROW).alias("w")
    assert rows(table.over_window(last_two).select(col("name"), col("price").max.over(col("w")))) == [
        ("Alice", 20.1), ("Alice", 110.1), ("Alice", 110.1), ("Bob", 30.2), ("Bob", 53.1), ("Bob", 53.1)]
    running = Over.partition_by(col("name")).order_by(col("ts")).preceding(UNBOUNDED_ROW).alias("w")
    counts = rows(table.over_window(running).select(col("name"), col("price").count.over(col("w"))))
    assert counts == [("Alice", 1), ("Alice", 2), ("Alice", 3), ("Bob", 1), ("Bob", 2), ("Bob", 3)]


def test_sql_reads_a_stream_registered_as_a_view():
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    t_env = StreamTableEnvironment.create(env)
    ds = env.from_collection([Row(1, "a"), Row(2, "b"), Row(3, "a")],
                             type_info=Types.ROW_NAMED(["id", "word"], [Types.LONG(), Types.STRING()]))
    t_env.create_temporary_view("words", ds)
    table = t_env.sql_query("SELECT word, SUM(id) AS total FROM words GROUP BY word")
    with table.execute().collect() as results:
        final = {row[0]: row[1] for row in results if row.get_row_kind().short_string() in ("+I", "+U")}
    assert final == {"a": 4, "b": 2}
    renamed = t_env.from_data_stream(ds, col("n"), col("w"))
    assert renamed.get_schema().get_field_names() == ["n", "w"]


def test_streams_without_a_row_type_are_refused():
    env = StreamExecutionEnvironment.get_execution_environment()
    t_env = StreamTableEnvironment.create(env)
    with pytest.raises(ValueError, match="rows of known types"):
        t_env.from_data_stream(env.from_collection([(1, "a")]))
    ds = env.from_collection([(1, b"x")], type_info=Types.ROW([Types.LONG(), Types.PICKLED_BYTE_ARRAY()]))
    with pytest.raises(ValueError, match="cannot be a table column yet"):
        t_env.from_data_stream(ds)
    ds = env.from_collection([(1,)], type_info=Types.ROW([Types.LONG()]))
    with pytest.raises(Exception, match="Unable to find a field named 'id'"):
        t_env.from_data_stream(ds, Schema.new_builder().column("id", DataTypes.BIGINT()).build())


def test_instants_count_from_the_epoch():
    instant = Instant.of_epoch_milli(1500)
    assert (instant.seconds, instant.nanos, instant.to_epoch_milli()) == (1, 500_000_000, 1500)
    assert instant == Instant(1, 500_000_000) and instant < Instant.of_epoch_milli(1501)
