"""Files of bulk formats from Python: rows written with ParquetBulkWriters and read back with
ParquetColumnarRowInputFormat (fields by name, with or without case, missing ones as None);
generic Avro records (dicts) through AvroParquetWriters and AvroParquetReaders, and through
Avro container files (AvroBulkWriters, env.create_input(AvroInputFormat)), in thread and
process mode; records that do not fit fail the job naming the field; compaction of bulk part
files copies each."""

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


def test_parquet_part_files_are_compacted_one_by_one(tmp_path):
    from pyflink_rs.datastream.connectors.file_system import FileCompactor, FileCompactStrategy

    strategy = FileCompactStrategy.builder().enable_compaction_on_checkpoint(1).build()
    env = environment("thread")
    env.enable_checkpointing(20)
    people = [Row(f"person {n}", n, n / 2, True) for n in range(500)]
    sink = (FileSink.for_bulk_format(str(tmp_path), ParquetBulkWriters.for_row_type(PEOPLE))
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .enable_compact(strategy, FileCompactor.identical_file_compactor()).build())
    env.from_collection(people, type_info=PEOPLE_INFO).sink_to(sink)
    env.execute("compacted parquet")
    files = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert files and all(p.name.startswith("compacted-") for p in files)
    env = environment("thread")
    source = FileSource.for_bulk_file_format(ParquetColumnarRowInputFormat(PEOPLE), str(tmp_path)).build()
    names = env.from_source(source, WatermarkStrategy.no_watermarks(), "parquet").map(lambda r: r.Name)
    assert sorted(names.execute_and_collect()) == sorted(f"person {n}" for n in range(500))

    joined = (FileSink.for_bulk_format(str(tmp_path / "x"), ParquetBulkWriters.for_row_type(PEOPLE))
              .enable_compact(strategy, FileCompactor.concat_file_compactor()).build())
    env = environment("thread")
    with pytest.raises(Exception, match="cannot be joined"):
        env.from_collection(people, type_info=PEOPLE_INFO).sink_to(joined)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_generic_records_round_trip_through_avro_container_files(mode, tmp_path):
    from pyflink_rs.datastream.formats.avro import AvroBulkWriters, AvroInputFormat

    schema = AvroSchema.parse_string("""{"type": "record", "name": "Order", "fields": [
        {"name": "id", "type": "long"}, {"name": "item", "type": ["null", "string"]},
        {"name": "paid", "type": "boolean"}]}""")
    orders = [{"id": n, "item": f"item {n}" if n % 4 else None, "paid": n % 2 == 0} for n in range(1500)]
    env = environment(mode)
    env.enable_checkpointing(30)
    env.from_collection(orders).map(lambda o: o, output_type=GenericRecordAvroTypeInfo(schema)).sink_to(
        FileSink.for_bulk_format(str(tmp_path), AvroBulkWriters.for_generic_record(schema))
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_output_file_config(OutputFileConfig.builder().with_part_suffix(".avro").build()).build())
    env.execute("write avro")
    parts = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert parts and all(p.read_bytes()[:4] == b"Obj\x01" for p in parts)

    env = environment(mode)
    records = env.create_input(AvroInputFormat(str(tmp_path), schema))
    assert records.get_type() == GenericRecordAvroTypeInfo(schema)
    read = records.map(lambda o: (o["id"], o["item"], o["paid"])).execute_and_collect()
    assert sorted(read) == [(o["id"], o["item"], o["paid"]) for o in orders]

    other = AvroSchema.parse_string(
        '{"type": "record", "name": "Order", "fields": [{"name": "id", "type": "int"}]}')
    env = environment(mode)
    with pytest.raises(Exception, match="its records have the fields"):
        list(env.create_input(AvroInputFormat(str(tmp_path), other)).execute_and_collect())
    with pytest.raises(TypeError, match="needs an InputFormat"):
        env.create_input(str(tmp_path))


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_rows_written_as_orc_are_read_by_another_orc_reader(mode, tmp_path):
    from pyarrow import orc

    from pyflink_rs.datastream.formats.orc import OrcBulkWriters

    people = [Row(f"person {n}", n if n % 5 else None, n / 4, n % 2 == 0) for n in range(3000)]
    env = environment(mode)
    env.enable_checkpointing(50)
    env.from_collection(people, type_info=PEOPLE_INFO).map(lambda r: r, output_type=PEOPLE_INFO).sink_to(
        FileSink.for_bulk_format(str(tmp_path / "people"), OrcBulkWriters.for_row_type(PEOPLE))
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_output_file_config(OutputFileConfig.builder().with_part_suffix(".orc").build())
        .build())
    env.execute("write orc")
    parts = sorted(p for p in (tmp_path / "people").rglob("*.orc") if not p.name.startswith("."))
    assert parts and all(p.read_bytes()[:3] == b"ORC" for p in parts)
    read = []
    for part in parts:
        table = orc.ORCFile(str(part)).read()
        assert table.column_names == ["Name", "age", "score", "member"]
        read.extend(tuple(row.values()) for row in table.to_pylist())
    assert sorted(read) == sorted((p[0], p[1], p[2], p[3]) for p in people)


def test_orc_settings_that_cannot_be_honoured_are_refused():
    from pyflink_rs.datastream.formats.orc import OrcBulkWriters

    zlib = Configuration().set_string("orc.compress", "ZLIB")
    with pytest.raises(ValueError, match="orc.compress=ZLIB is not supported"):
        OrcBulkWriters.for_row_type(PEOPLE, zlib)
    assert OrcBulkWriters.for_row_type(PEOPLE, Configuration().set_string("orc.compress", "NONE")) is not None
    nested = DataTypes.ROW([DataTypes.FIELD("tags", DataTypes.ARRAY(DataTypes.STRING()))])
    with pytest.raises(ValueError, match="field 'tags'"):
        OrcBulkWriters.for_row_type(nested)
