"""Filesystem tables from Python: a `TableDescriptor` of the `filesystem` connector with a
`FormatDescriptor`, and the same table in DDL, written by `execute_insert` and read back."""

import json
import os

import pytest

from pyflink_rs.table import (DataTypes, EnvironmentSettings, FormatDescriptor, Schema, TableDescriptor,
                              TableEnvironment)
from pyflink_rs.table.expressions import col


def batch():
    t_env = TableEnvironment.create(EnvironmentSettings.in_batch_mode())
    t_env.get_config().set("parallelism.default", "1")
    return t_env


def lines_under(directory):
    found = []
    for root, _, files in os.walk(directory):
        for name in files:
            if not name.startswith("."):
                with open(os.path.join(root, name)) as file:
                    found.extend(file.read().splitlines())
    return sorted(found)


def test_a_table_written_as_json_through_a_descriptor_reads_back(tmp_path):
    t_env = batch()
    schema = Schema.new_builder().column("word", DataTypes.STRING()).column("n", DataTypes.BIGINT()).build()
    t_env.create_temporary_table(
        "counts",
        TableDescriptor.for_connector("filesystem")
        .schema(schema)
        .option("path", str(tmp_path))
        .format(FormatDescriptor.for_format("json").option("encode.ignore-null-fields", "true").build())
        .build(),
    )
    words = t_env.from_elements([("flink", 2), ("python", None), ("rust", 3)], schema=["word", "n"])
    words.filter(col("word") != "rust").execute_insert("counts").wait()
    assert lines_under(tmp_path) == ['{"word":"flink","n":2}', '{"word":"python"}']
    rows = sorted(t_env.from_path("counts").execute().collect(), key=lambda row: row[0])
    assert [(row[0], row[1]) for row in rows] == [("flink", 2), ("python", None)]


def test_a_csv_table_in_ddl_is_read_with_its_options_and_bad_lines_are_named(tmp_path):
    (tmp_path / "scores.csv").write_text("alice|10\nbob|x\ncarol|30\n")
    t_env = batch()
    for name, ignore in [("strict", "false"), ("lenient", "true")]:
        t_env.execute_sql(f"""
            CREATE TABLE {name} (name STRING, score INT) WITH (
              'connector' = 'filesystem', 'path' = '{tmp_path}', 'format' = 'csv',
              'csv.field-delimiter' = '|', 'csv.ignore-parse-errors' = '{ignore}')""")
    total = t_env.execute_sql("SELECT SUM(score) AS total FROM lenient").collect()
    assert [row[0] for row in total] == [40]
    with pytest.raises(Exception, match="bob\\|x"):
        t_env.execute_sql("SELECT * FROM strict").wait()
