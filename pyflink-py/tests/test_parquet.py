"""Parquet files from Python: rows written with ParquetBulkWriters and read back with
ParquetColumnarRowInputFormat (fields by name, with or without case, missing ones as None),
and generic Avro records (dicts) through AvroParquetWriters and AvroParquetReaders, in thread
and process mode; records that do not fit fail the job naming the field."""

import pathlib

import pytest

from pyflink_rs.common import Configuration, Row, Types, WatermarkStrategy
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.datastream.connectors.file_system import BucketAssigner, FileSink, FileSource, OutputFileConfig
from pyflink_rs.datastream.formats.avro import AvroSchema, GenericRecordAvroTypeInfo
from pyflink_rs.datastream.formats.parquet import (
    AvroParquetReaders,
    AvroParquetWriters,
    ParquetBulkWriters,
    ParquetColumnarRowInputFormat,
)
from pyflink_rs.table import DataTypes

PEOPLE = DataTypes.ROW([
    DataTypes.FIELD("Name", DataTypes.STRING()),
    DataTypes.FIELD("age", DataTypes.INT()),
    DataTypes.FIELD("score", DataTypes.DOUBLE()),
    DataTypes.FIELD("member", DataTypes.BOOLEAN()),
])
PEOPLE_INFO = Types.ROW_NAMED(["Name", "age", "score", "member"],
                              [Types.STRING(), Types.INT(), Types.DOUBLE(), Types.BOOLEAN()])


def environment(mode, parallelism=2):
    env = StreamExecutionEnvironment.get_execution_environment(
        Configuration().set_string("python.execution-mode", mode))
    env.set_parallelism(parallelism)
    return env


def parquet_parts(directory):
    return sorted(p for p in pathlib.Path(directory).rglob("*.parquet") if not p.name.startswith("."))


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_rows_written_as_parquet_are_read_back_by_field_name(mode, tmp_path):
    people = [Row(f"person {n}", n if n % 5 else None, n / 4, n % 2 == 0) for n in range(300)]
    env = environment(mode)
    env.enable_checkpointing(50)
    env.from_collection(people, type_info=PEOPLE_INFO).map(lambda r: r, output_type=PEOPLE_INFO).sink_to(
        FileSink.for_bulk_format(str(tmp_path / "people"), ParquetBulkWriters.for_row_type(PEOPLE))
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_output_file_config(OutputFileConfig.builder().with_part_suffix(".parquet").build())
        .build())
    env.execute("write parquet")
    parts = parquet_parts(tmp_path / "people")
    assert parts and all(p.read_bytes()[:4] == b"PAR1" == p.read_bytes()[-4:] for p in parts)

    wanted = DataTypes.ROW([
        DataTypes.FIELD("name", DataTypes.STRING()),
        DataTypes.FIELD("age", DataTypes.BIGINT()),
        DataTypes.FIELD("city", DataTypes.STRING()),
    ])
    env = environment(mode)
    source = FileSource.for_bulk_file_format(
        ParquetColumnarRowInputFormat(wanted, batch_size=64, is_case_sensitive=False), str(tmp_path / "people")).build()
    rows = env.from_source(source, WatermarkStrategy.no_watermarks(), "parquet")
    described = rows.map(lambda r: f"{r.name}|{r.age}|{r.city}", output_type=Types.STRING())
    expected = sorted(f"person {n}|{n if n % 5 else None}|None" for n in range(300))
    assert sorted(described.execute_and_collect()) == expected

    sensitive = FileSource.for_bulk_file_format(ParquetColumnarRowInputFormat(wanted), str(tmp_path / "people")).build()
    env = environment(mode)
    names = env.from_source(sensitive, WatermarkStrategy.no_watermarks(), "parquet").map(lambda r: r[0])
    assert set(names.execute_and_collect()) == {None}, "'name' is not 'Name' when case matters"


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_generic_avro_records_round_trip_through_parquet(mode, tmp_path):
    schema = AvroSchema.parse_string("""{"type": "record", "name": "Reading", "fields": [
        {"name": "sensor", "type": "string"},
        {"name": "value", "type": ["null", "double"]},
        {"name": "count", "type": "long"}]}""")
    readings = [{"sensor": f"s{n % 3}", "value": n * 1.5, "count": n} for n in range(50)]
    readings.append({"sensor": "lost", "count": 99})
    env = environment(mode, parallelism=1)
    env.from_collection(readings).map(lambda r: r, output_type=GenericRecordAvroTypeInfo(schema)).sink_to(
        FileSink.for_bulk_format(str(tmp_path), AvroParquetWriters.for_generic_record(schema))
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner()).build())
    env.execute("write generic records")

    env = environment(mode)
    source = FileSource.for_record_stream_format(AvroParquetReaders.for_generic_record(schema), str(tmp_path)).build()
    records = env.from_source(source, WatermarkStrategy.no_watermarks(), "parquet")
    assert records.get_type() == GenericRecordAvroTypeInfo(schema)
    read = sorted(records.map(lambda r: (r["count"], r["sensor"], r["value"])).execute_and_collect())
    assert read == sorted([(r["count"], r["sensor"], r.get("value")) for r in readings])


def test_parquet_settings_and_records_that_do_not_fit_say_what_to_fix(tmp_path):
    with pytest.raises(ValueError, match="field 'tags' is ARRAY"):
        ParquetBulkWriters.for_row_type(DataTypes.ROW([DataTypes.FIELD("tags", DataTypes.ARRAY(DataTypes.INT()))]))
    with pytest.raises(TypeError, match="needs an AvroSchema"):
        AvroParquetWriters.for_generic_record('{"type": "record"}')
    with pytest.raises(TypeError, match="needs a BulkFormat"):
        FileSource.for_bulk_file_format(object(), str(tmp_path))
    with pytest.raises(ValueError, match="batch_size must be positive"):
        ParquetColumnarRowInputFormat(PEOPLE, batch_size=0)
    env = environment("thread", parallelism=1)
    env.from_collection([("x", "not a number", 1.0, True)]).sink_to(
        FileSink.for_bulk_format(str(tmp_path), ParquetBulkWriters.for_row_type(PEOPLE)).build())
    with pytest.raises(Exception, match="field 'age'"):
        env.execute("bad row")
