"""SQL and the Table API from Python: `TableEnvironment.execute_sql`, `sql_query`,
`from_elements`, the expressions of `pyflink_rs.table.expressions`, `TableResult.print()` and
`collect()`, sinks of `TableDescriptor`s and statement sets."""

import datetime
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pyflink_rs.common import Row, RowKind
from pyflink_rs.table import DataTypes, EnvironmentSettings, Schema, TableDescriptor, TableEnvironment
from pyflink_rs.table.expressions import col, concat, lit
from table_helpers import streaming

PEOPLE = [
    (1, '{"name": "Flink", "tel": 123, "addr": {"country": "Germany", "city": "Berlin"}}'),
    (2, '{"name": "hello", "tel": 135, "addr": {"country": "China", "city": "Shanghai"}}'),
    (3, '{"name": "world", "tel": 124, "addr": {"country": "USA", "city": "NewYork"}}'),
    (4, '{"name": "PyFlink", "tel": 32, "addr": {"country": "China", "city": "Hangzhou"}}'),
]



def contacts(t_env):
    return t_env.from_elements(PEOPLE, schema=["id", "data"]).add_columns(
        col("data").json_value("$.name", DataTypes.STRING()).alias("name"),
        col("data").json_value("$.tel", DataTypes.STRING()).alias("tel"),
        col("data").json_value("$.addr.country", DataTypes.STRING()).alias("country"),
    ).drop_columns(col("data"))


def test_table_api_results_print_as_flink_prints_them(capsys):
    contacts(streaming(1)).filter(col("id") != 3).execute().print()
    assert capsys.readouterr().out == (
        "+----+----------------------+--------------------------------+--------------------------------+"
        "--------------------------------+\n"
        "| op |                   id |                           name |                            tel |"
        "                        country |\n"
        "+----+----------------------+--------------------------------+--------------------------------+"
        "--------------------------------+\n"
        "| +I |                    1 |                          Flink |                            123 |"
        "                        Germany |\n"
        "| +I |                    2 |                          hello |                            135 |"
        "                          China |\n"
        "| +I |                    4 |                        PyFlink |                             32 |"
        "                          China |\n"
        "+----+----------------------+--------------------------------+--------------------------------+"
        "--------------------------------+\n"
        "3 rows in set\n"
    )


def test_aggregates_collect_as_a_changelog_with_flink_column_names():
    table = contacts(streaming(1)).group_by(col("country")).select(
        col("country"), col("id").count, col("tel").cast(DataTypes.BIGINT()).max)
    result = table.execute()
    assert result.get_table_schema().get_field_names() == ["country", "EXPR$0", "EXPR$1"]
    changes = [(row.get_row_kind().short_string(), tuple(row)) for row in result.collect()]
    assert ("+I", ("Germany", 1, 123)) in changes
    assert ("+U", ("China", 2, 135)) in changes
    assert changes[-1][0] == "+U" or ("-U", ("China", 1, 135)) in changes


def test_columns_are_renamed_and_replaced_and_sql_reads_tables_by_name():
    t_env = streaming(1)
    table = contacts(t_env).rename_columns(col("tel").alias("telephone")).add_or_replace_columns(
        concat(col("id").cast(DataTypes.STRING()), "_", col("name")).alias("id"))
    assert table.get_schema().get_field_names() == ["id", "name", "telephone", "country"]
    rows = [tuple(row) for row in t_env.sql_query(f"SELECT id, UPPER(country) FROM {table}").execute().collect()]
    assert sorted(rows) == [("1_Flink", "GERMANY"), ("2_hello", "CHINA"), ("3_world", "USA"), ("4_PyFlink", "CHINA")]
    assert sorted(tuple(r) for r in table.select(col("country")).distinct().execute().collect()) == [
        ("China",), ("Germany",), ("USA",)]
    assert len(list(table.limit(3).execute().collect())) == 3


def test_ddl_inserts_and_statement_sets_write_to_print_sinks(capfd):
    t_env = streaming(1)
    table = t_env.from_elements([(1, "Hello"), (2, "World"), (3, "Flink")], schema=["id", "data"])
    t_env.execute_sql("CREATE TABLE first_sink (id BIGINT, data VARCHAR) WITH ('connector' = 'print')")
    t_env.create_temporary_table(
        "second_sink",
        TableDescriptor.for_connector("print")
        .schema(Schema.new_builder().column("id", DataTypes.BIGINT()).column("data", DataTypes.STRING()).build())
        .build())
    statements = t_env.create_statement_set()
    statements.add_insert_sql(f"INSERT INTO first_sink SELECT * FROM {table} WHERE id <= 2")
    statements.add_insert("second_sink", table.where(col("data") == "Flink"))
    statements.execute().wait()
    printed = sorted(line.split("> ")[-1] for line in capfd.readouterr().out.splitlines() if line.strip())
    assert printed == ["+I[1, Hello]", "+I[2, World]", "+I[3, Flink]"]
    assert t_env.execute_sql("SHOW TABLES").collect() is not None
    shown = [row[0] for row in t_env.execute_sql("SHOW TABLES").collect()]
    assert shown == ["first_sink", "second_sink"]


def test_batch_mode_sorts_and_limits():
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    table = t_env.from_elements([(3, 1.5), (1, 2.5), (2, 0.5)], schema=["id", "score"])
    ordered = table.order_by(col("score").desc).fetch(2).execute().collect()
    assert [tuple(row) for row in ordered] == [(1, 2.5), (3, 1.5)]
    total = t_env.sql_query(f"SELECT SUM(score) AS total FROM {table}").execute().collect()
    assert [tuple(row) for row in total] == [(4.5,)]


def test_bad_sql_and_bad_calls_say_what_to_fix():
    t_env = streaming(1)
    with pytest.raises(Exception, match="Object 'nope' not found"):
        t_env.execute_sql("SELECT * FROM nope")
    table = t_env.from_elements([(1, "a")], schema=["id", "data"])
    with pytest.raises(Exception, match=r"Cannot resolve field \[missing\]"):
        table.drop_columns(col("missing"))
    with pytest.raises(TypeError, match="cannot infer a column type"):
        t_env.from_elements([(object(),)], schema=["thing"])
    with pytest.raises(Exception, match="cannot be a table field"):
        t_env.from_elements([(object(),)], DataTypes.ROW([DataTypes.FIELD("thing", DataTypes.STRING())]))
    assert str(lit("it's")) == "'it''s'"
    assert str((col("a") + 1).alias("b")) == "(`a` + 1) AS `b`"
    assert Row(1, "a") == Row(1, "a")


def test_timestamps_cross_as_datetimes():
    t_env = streaming(1)
    when = datetime.datetime(2020, 4, 15, 8, 5, 0, 250000)
    table = t_env.from_elements([(when, 1), (None, 2)], schema=["ts", "n"])
    assert table.get_schema().get_field_names() == ["ts", "n"]
    rows = [tuple(row) for row in table.select(col("ts"), col("n") * 10).execute().collect()]
    assert rows == [(when, 10), (None, 20)]


def test_flink_1_10_programs_run_with_deprecation_warnings(capfd):
    with pytest.warns(DeprecationWarning, match="use_blink_planner"):
        settings = EnvironmentSettings.new_instance().in_streaming_mode().use_blink_planner().build()
    t_env = TableEnvironment.create(settings)
    t_env.get_config().set("parallelism.default", "1")
    with pytest.warns(DeprecationWarning, match="sql_update"):
        t_env.sql_update("CREATE TABLE sink (word STRING, n BIGINT) WITH ('connector' = 'print')")
    words = t_env.from_elements([("a",), ("b",), ("a",)], schema=["word"])
    with pytest.warns(DeprecationWarning, match="sql_update"):
        t_env.sql_update(f"INSERT INTO sink SELECT word, COUNT(*) FROM {words} WHERE word = 'b' GROUP BY word")
    # Nothing runs until execute.
    assert capfd.readouterr().out == ""
    with pytest.warns(DeprecationWarning, match="insert_into"):
        words.filter(col("word") == "a").select(col("word"), lit(7).cast(DataTypes.BIGINT())).insert_into("sink")
    t_env.execute("legacy job")
    printed = sorted(line.split("> ")[-1] for line in capfd.readouterr().out.splitlines() if line.strip())
    assert printed == ["+I[a, 7]", "+I[a, 7]", "+I[b, 1]"]
    with pytest.raises(RuntimeError, match="No operators defined"):
        t_env.execute("nothing left")


TICKS = "CREATE TABLE ticks (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = '20')"


def test_an_unbounded_query_prints_each_row_while_it_runs_until_ctrl_c(tmp_path):
    script = tmp_path / "live.py"
    script.write_text(textwrap.dedent(f"""
        from pyflink_rs.table import EnvironmentSettings, TableEnvironment
        t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
        t_env.execute_sql("{TICKS}")
        t_env.execute_sql("SELECT n FROM ticks").print()
    """))
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    try:
        printed, deadline = b"", time.monotonic() + 60
        while printed.count(b"\n") < 4 and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                printed += os.read(process.stdout.fileno(), 4096)
        lines = printed.decode().splitlines()
        assert lines[0].startswith("+----+") and lines[1].startswith("| op |"), printed
        assert lines[3].startswith("| +I |"), printed
        assert process.poll() is None, "the unbounded query ended"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) != 0
    finally:
        process.kill()


def test_the_rows_of_an_unbounded_query_are_collected_while_it_runs():
    t_env = streaming(1)
    t_env.execute_sql(TICKS)
    result = t_env.execute_sql("SELECT n FROM ticks")
    assert len(result.get_job_client().get_job_id()) == 32
    with result.collect() as rows:
        first = [next(rows) for _ in range(3)]
    assert [row.get_row_kind() for row in first] == [RowKind.INSERT] * 3
    assert all(isinstance(row[0], int) for row in first)
