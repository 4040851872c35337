"""Tables: `TableDescriptor`s with a `Schema` of `DataTypes`, registered in a
`StreamTableEnvironment` and read as data streams of `Row`s; the `datagen` connector."""

import pytest

from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.table import DataTypes, EnvironmentSettings, Row, Schema, StreamTableEnvironment, TableDescriptor


def environments(parallelism=2):
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(parallelism)
    return env, StreamTableEnvironment.create(stream_execution_environment=env)


def datagen(*columns, **options):
    builder = Schema.new_builder()
    for name, data_type in columns:
        builder = builder.column(name, data_type)
    descriptor = TableDescriptor.for_connector("datagen").schema(builder.build())
    for key, value in options.items():
        descriptor = descriptor.option(key.replace("_", "-") if "." not in key else key, value)
    return descriptor.build()


def test_a_datagen_sequence_table_reads_as_rows_named_by_its_columns():
    env, t_env = environments()
    t_env.create_temporary_table(
        "numbers",
        TableDescriptor.for_connector("datagen")
        .schema(Schema.new_builder().column("id", DataTypes.BIGINT()).column("label", DataTypes.STRING()).build())
        .option("fields.id.kind", "sequence")
        .option("fields.id.start", "1")
        .option("fields.id.end", "50")
        .option("fields.label.kind", "sequence")
        .option("fields.label.start", "101")
        .option("fields.label.end", "200")
        .build(),
    )
    rows = list(t_env.to_data_stream(t_env.from_path("numbers")).execute_and_collect())
    # The shorter sequence ends the table; the row index counts both on.
    assert sorted(row[0] for row in rows) == list(range(1, 51))
    assert all(isinstance(row, Row) and row.label == str(row.id + 100) for row in rows)
    assert rows[0].as_dict().keys() == {"id", "label"}


def test_random_columns_stay_within_their_bounds_and_number_of_rows_bounds_the_table():
    env, t_env = environments()
    table = t_env.from_descriptor(
        TableDescriptor.for_connector("datagen")
        .schema(
            Schema.new_builder()
            .column("small", DataTypes.TINYINT())
            .column("score", DataTypes.INT())
            .column("ratio", DataTypes.DOUBLE())
            .column("flag", DataTypes.BOOLEAN())
            .column("code", DataTypes.VARCHAR(6))
            .build()
        )
        .option("number-of-rows", "500")
        .option("fields.score.min", "-3")
        .option("fields.score.max", "3")
        .option("fields.ratio.min", "0.5")
        .option("fields.ratio.max", "0.75")
        .build()
    )
    rows = list(t_env.to_data_stream(table).execute_and_collect())
    assert len(rows) == 500
    assert {row.score for row in rows} == set(range(-3, 4)), "every value of a small range comes up"
    assert all(-128 <= row.small <= 127 for row in rows)
    assert all(0.5 <= row.ratio < 0.75 for row in rows)
    assert {row.flag for row in rows} == {True, False}
    assert all(len(row.code) == 6 and row.code.isalnum() for row in rows)


def test_a_table_stream_feeds_the_datastream_api():
    env, t_env = environments(parallelism=1)
    t_env.create_temporary_table(
        "ids",
        datagen(("id", DataTypes.INT()), **{"fields.id.kind": "sequence", "fields.id.start": "0", "fields.id.end": "99"}),
    )
    sums = (
        t_env.to_data_stream(t_env.from_path("ids"))
        .map(lambda row: (row[0] % 3, row[0]))
        .key_by(lambda pair: pair[0])
        .reduce(lambda a, b: (a[0], a[1] + b[1]))
    )
    finals = {}
    for key, total in sums.execute_and_collect():
        finals[key] = total
    assert finals == {k: sum(n for n in range(100) if n % 3 == k) for k in range(3)}


def test_tables_are_registered_once_and_found_by_name():
    _, t_env = environments()
    descriptor = datagen(("id", DataTypes.INT()), number_of_rows=1)
    t_env.create_temporary_table("once", descriptor)
    assert t_env.list_temporary_tables() == ["once"]
    with pytest.raises(ValueError, match="temporary table 'once' already exists"):
        t_env.create_temporary_table("once", descriptor)
    with pytest.raises(ValueError, match="table 'missing' was not found"):
        t_env.from_path("missing")
    assert t_env.drop_temporary_table("once") and t_env.list_temporary_tables() == []
    assert str(descriptor.get_schema()) == "(\n  `id` INT\n)"


def test_bad_descriptors_are_refused_with_what_to_fix():
    env, t_env = environments()

    def refused(descriptor):
        with pytest.raises(Exception) as raised:
            t_env.to_data_stream(t_env.from_descriptor(descriptor))
        return str(raised.value)

    assert "unsupported options for the 'datagen' connector: fields.nope.min" in refused(
        datagen(("id", DataTypes.INT()), **{"fields.nope.min": "1"})
    )
    assert "needs 'fields.id.start'" in refused(datagen(("id", DataTypes.INT()), **{"fields.id.kind": "sequence"}))
    assert "needs min <= max" in refused(datagen(("id", DataTypes.INT()), **{"fields.id.min": "5", "fields.id.max": "1"}))
    assert "'rows-per-second' cannot be 'fast'" in refused(datagen(("id", DataTypes.INT()), rows_per_second="fast"))
    with pytest.raises(ValueError, match="SQL queries take any type"):
        t_env.to_data_stream(t_env.from_descriptor(datagen(("ts", DataTypes.TIMESTAMP(3)))))
    kafka = TableDescriptor.for_connector("nosuch").schema(Schema.new_builder().column("id", DataTypes.INT()).build())
    assert "no table connector 'nosuch'" in refused(kafka.build())
    with pytest.raises(TypeError, match="needs a type from DataTypes"):
        Schema.new_builder().column("id", int)
    with pytest.raises(ValueError, match="repeated: id"):
        Schema.new_builder().column("id", DataTypes.INT()).column("id", DataTypes.INT()).build()
    with pytest.raises(ValueError, match="needs a schema"):
        TableDescriptor.for_connector("datagen").build()
    with pytest.raises(ValueError, match="streaming mode"):
        StreamTableEnvironment.create(env, EnvironmentSettings.in_batch_mode())


def test_query_results_become_data_streams_that_run_in_the_table_environment(capfd):
    env, t_env = environments(parallelism=1)
    orders = t_env.from_elements([(1, "apple", 3), (2, "pear", 5), (3, "apple", 4)], ["id", "item", "amount"])
    t_env.create_temporary_view("orders", orders)
    cheap = t_env.sql_query("SELECT id, UPPER(item) AS item FROM orders WHERE amount < 5")
    rows = sorted(tuple(row) for row in t_env.to_data_stream(cheap).execute_and_collect())
    assert rows == [(1, "APPLE"), (3, "APPLE")]
    # The rows are named by the query's columns, and env.execute() runs the job.
    t_env.to_data_stream(cheap).map(lambda row: f"{row.item}#{row.id}").print()
    env.execute("query to stream")
    assert sorted(capfd.readouterr().out.split()) == ["APPLE#1", "APPLE#3"]


def test_changelog_streams_keep_row_kinds_and_data_streams_refuse_updates():
    env, t_env = environments(parallelism=1)
    t_env.create_temporary_view("words", t_env.from_elements([("a",), ("b",), ("a",)], ["word"]))
    counts = t_env.sql_query("SELECT word, COUNT(*) AS n FROM words GROUP BY word")
    changes = [(row.get_row_kind().short_string(), tuple(row))
               for row in t_env.to_changelog_stream(counts).execute_and_collect()]
    assert changes == [("+I", ("a", 1)), ("+I", ("b", 1)), ("-U", ("a", 1)), ("+U", ("a", 2))]
    with pytest.raises(Exception, match="doesn't support consuming update changes"):
        list(t_env.to_data_stream(counts).execute_and_collect())
