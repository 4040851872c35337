"""Files as sources and sinks: `FileSource` with `StreamFormat.text_line_format()` and a
row-format `FileSink` with `Encoder.simple_string_encoder()`."""

import pathlib

import pytest

from pyflink_rs.common import Duration, Encoder, Types, WatermarkStrategy
from pyflink_rs.datastream import StreamExecutionEnvironment
from pyflink_rs.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    FileSource,
    OutputFileConfig,
    RollingPolicy,
    StreamFormat,
)


def visible_files(directory):
    return sorted(
        path for path in pathlib.Path(directory).rglob("*")
        if path.is_file() and not any(part.startswith((".", "_")) for part in path.relative_to(directory).parts)
    )


def written_lines(directory):
    return sorted(line for path in visible_files(directory) for line in path.read_text().splitlines())


def write_input(directory, files=3, lines=200):
    expected = []
    for f in range(files):
        text = [f"{f} {n}" for n in range(lines)]
        (directory / f"in-{f}.txt").write_text("\n".join(text) + "\n")
        expected.extend(text)
    (directory / "_SUCCESS").write_text("not data\n")
    return sorted(expected)


def test_files_are_read_transformed_and_written_once(tmp_path):
    source_dir, sink_dir = tmp_path / "in", tmp_path / "out"
    source_dir.mkdir()
    expected = write_input(source_dir)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(2)
    lines = env.from_source(
        FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(source_dir)).build(),
        WatermarkStrategy.no_watermarks(),
        "files",
    )
    pairs = lines.map(lambda line: tuple(int(x) for x in line.split()), output_type=Types.TUPLE([Types.INT(), Types.INT()]))
    names = OutputFileConfig.builder().with_part_prefix("prefix").with_part_suffix(".ext").build()
    assert (names.get_part_prefix(), names.get_part_suffix()) == ("prefix", ".ext")
    pairs.sink_to(
        FileSink.for_row_format(str(sink_dir), Encoder.simple_string_encoder())
        .with_output_file_config(names)
        .with_rolling_policy(RollingPolicy.default_rolling_policy(part_size=1024))
        .build()
    )
    env.execute("copy")
    # Typed records are written as Java prints them, as PyFlink's simple string encoder does.
    assert written_lines(sink_dir) == sorted("({},{})".format(*line.split()) for line in expected)
    files = visible_files(sink_dir)
    assert len(files) > 2, "parts roll at 1 KiB"
    assert all(f.name.startswith("prefix-") and f.name.endswith(".ext") for f in files)
    assert {len(f.parent.name) for f in files} == {len("2026-11-23--14")}, "hourly buckets by default"


def test_base_path_buckets_and_picked_records_write_their_str(tmp_path):
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    env.from_collection([{"a": 1}, [2, 3]]).sink_to(
        FileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder())
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .build()
    )
    env.execute("pickled")
    (part,) = visible_files(tmp_path)
    assert part.parent == tmp_path
    assert part.read_text() == "{'a': 1}\n[2, 3]\n"


def test_a_watched_directory_is_read_as_files_arrive(tmp_path):
    (tmp_path / "first.txt").write_text("a\nb\n")
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    source = (
        FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(tmp_path))
        .monitor_continuously(Duration.of_millis(50))
        .build()
    )
    stream = env.from_source(source, WatermarkStrategy.no_watermarks(), "watched")
    # An unbounded job: write the second file from the first record's map, then stop after three.
    def arrive(line):
        if line == "a":
            (tmp_path / "second.txt").write_text("c\n")
        return line

    assert sorted(stream.map(arrive).execute_and_collect(limit=3)) == ["a", "b", "c"]


def test_bad_file_connector_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one path"):
        FileSource.for_record_stream_format(StreamFormat.text_line_format())
    with pytest.raises(ValueError, match="UTF-8 only"):
        StreamFormat.text_line_format("latin-1")
    with pytest.raises(ValueError, match="positive Duration"):
        FileSource.for_record_stream_format(StreamFormat.text_line_format(), "x").monitor_continuously(5)
    env = StreamExecutionEnvironment.get_execution_environment()
    stream = env.from_collection([1])
    with pytest.raises(Exception, match="'EEE', which is not supported"):
        stream.sink_to(
            FileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.date_time_bucket_assigner("EEE"))
            .build()
        )
    missing = env.from_source(
        FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(tmp_path / "nope")).build(),
        WatermarkStrategy.no_watermarks(),
        "missing",
    )
    with pytest.raises(Exception, match="nope"):
        list(missing.execute_and_collect())


def test_the_legacy_streaming_file_sink_writes_as_the_file_sink_does(tmp_path):
    """PyFlink 1.x's `StreamingFileSink.for_row_format(...)` given to `add_sink`."""
    from pyflink_rs.common import Encoder, Types
    from pyflink_rs.datastream import StreamExecutionEnvironment
    from pyflink_rs.datastream.connectors.file_system import (
        BucketAssigner,
        DefaultRollingPolicy,
        OnCheckpointRollingPolicy,
        OutputFileConfig,
        RollingPolicy,
        StreamingFileSink,
    )

    assert isinstance(RollingPolicy.default_rolling_policy(), DefaultRollingPolicy)
    assert isinstance(RollingPolicy.on_checkpoint_rolling_policy(), OnCheckpointRollingPolicy)
    env = StreamExecutionEnvironment.get_execution_environment()
    env.set_parallelism(1)
    sink = (
        StreamingFileSink.for_row_format(str(tmp_path), Encoder.simple_string_encoder())
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy())
        .with_output_file_config(OutputFileConfig.builder().with_part_prefix("legacy").with_part_suffix(".txt").build())
        .with_bucket_check_interval(1000)
        .build()
    )
    env.from_collection(["a", "b", "c"], Types.STRING()).add_sink(sink)
    env.execute("legacy files")
    parts = [path for path in tmp_path.iterdir() if not path.name.startswith(".")]
    assert [path.name.startswith("legacy-") and path.name.endswith(".txt") for path in parts] == [True]
    assert parts[0].read_text().split() == ["a", "b", "c"]


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_csv_files_are_read_and_written_with_a_csv_schema(mode, tmp_path):
    """`CsvReaderFormat.for_schema(schema)` reads rows of CSV files (each file's header line
    skipped); `FileSink.for_bulk_format(path, CsvBulkWriters.for_schema(schema))` writes them."""
    from pyflink_rs.common import Configuration, Row, WatermarkStrategy
    from pyflink_rs.datastream import StreamExecutionEnvironment
    from pyflink_rs.datastream.connectors.file_system import BucketAssigner, FileSink, FileSource, StreamingFileSink
    from pyflink_rs.datastream.formats.csv import CsvBulkWriters, CsvReaderFormat, CsvSchema
    from pyflink_rs.table import DataTypes

    source_dir = tmp_path / "in"
    source_dir.mkdir()
    (source_dir / "a.csv").write_text("name;count;price\nflink;3;2.5\n'semi;colon';4;\n")
    (source_dir / "b.csv").write_text("name;count;price\nrust;5;1.0\n")
    schema = (CsvSchema.builder().add_string_column("name").add_number_column("count", DataTypes.INT())
              .add_number_column("price", DataTypes.DOUBLE()).set_column_separator(";").set_quote_char("'")
              .set_use_header().build())
    assert schema.size() == 3
    config = Configuration().set_string("python.execution-mode", mode)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    source = FileSource.for_record_stream_format(CsvReaderFormat.for_schema(schema), str(source_dir)).build()
    rows = env.from_source(source, WatermarkStrategy.no_watermarks(), "csv")
    out_dir = tmp_path / "out"
    sink = (FileSink.for_bulk_format(str(out_dir), CsvBulkWriters.for_schema(schema))
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner()).build())
    rows.map(lambda row: Row(row[0].upper(), row[1] * 2, row[2]), rows.get_type()).sink_to(sink)
    legacy_dir = tmp_path / "legacy"
    rows.add_sink(StreamingFileSink.for_bulk_format(str(legacy_dir), CsvBulkWriters.for_schema(schema))
                  .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner()).build())
    env.execute("csv files")

    def lines(directory):
        return sorted(line for path in directory.iterdir() if not path.name.startswith(".")
                      for line in path.read_text().splitlines())

    assert lines(out_dir) == ["'SEMI;COLON';8;", "FLINK;6;2.5", "RUST;10;1.0"]
    assert lines(legacy_dir) == ["'semi;colon';4;", "flink;3;2.5", "rust;5;1.0"]
    assert sorted(tuple(r) for r in env.from_source(
        FileSource.for_record_stream_format(CsvReaderFormat.for_schema(schema), str(source_dir)).build(),
        WatermarkStrategy.no_watermarks(), "again").execute_and_collect()) == [
        ("flink", 3, 2.5), ("rust", 5, 1.0), ("semi;colon", 4, None)]


def test_json_schemas_avro_schemas_and_file_enumerators_describe_what_they_read(tmp_path):
    from pyflink_rs.common import Types
    from pyflink_rs.datastream.connectors.file_system import (
        FileEnumeratorProvider,
        FileSource,
        FileSplitAssignerProvider,
        StreamFormat,
    )
    from pyflink_rs.datastream.formats.avro import AvroSchema
    from pyflink_rs.datastream.formats.json import JsonRowDeserializationSchema

    schema = JsonRowDeserializationSchema.builder().json_schema(
        '{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": ["integer", "null"]}}}'
    ).build()
    assert schema._type_info == Types.ROW_NAMED(["name", "age"], [Types.STRING(), Types.LONG()])
    with pytest.raises(ValueError, match="property 'tags' has type 'array'"):
        JsonRowDeserializationSchema.builder().json_schema('{"type": "object", "properties": {"tags": {"type": "array"}}}')
    path = tmp_path / "user.avsc"
    path.write_text('{"type": "record", "name": "User", "fields": [{"name": "name", "type": "string"}]}')
    assert AvroSchema.parse_file(str(path)) == AvroSchema.parse_string(path.read_text())
    with pytest.raises(ValueError, match="not an Avro schema"):
        AvroSchema.parse_string("{record")
    (tmp_path / "lines.txt").write_text("a\nb\n")
    env = StreamExecutionEnvironment.get_execution_environment()
    source = (FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(tmp_path / "lines.txt"))
              .set_file_enumerator(FileEnumeratorProvider.default_splittable_file_enumerator())
              .set_split_assigner(FileSplitAssignerProvider.locality_aware_split_assigner()).build())
    assert sorted(env.from_source(source, WatermarkStrategy.no_watermarks(), "lines").execute_and_collect()) == ["a", "b"]


def test_a_sink_that_supports_preprocessing_writes_what_its_transformer_makes(tmp_path):
    from pyflink_rs.datastream.connectors.base import StreamTransformer, SupportsPreprocessing
    from pyflink_rs.datastream.connectors.file_system import FileSourceBuilder

    class Shouting(StreamTransformer):
        def apply(self, ds):
            return ds.map(str.upper, output_type=Types.STRING())

    class ShoutingFileSink(FileSink, SupportsPreprocessing):
        def __init__(self, sink, transformer):
            self.__dict__.update(sink.__dict__)
            self._transformer = transformer

        def get_transformer(self):
            return self._transformer

    base = FileSink.for_row_format(str(tmp_path / "loud"), Encoder.simple_string_encoder()) \
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner()).build()
    quiet = FileSink.for_row_format(str(tmp_path / "quiet"), Encoder.simple_string_encoder()) \
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner()).build()
    env = StreamExecutionEnvironment.get_execution_environment()
    words = env.from_collection(["flink", "rust"], Types.STRING())
    words.sink_to(ShoutingFileSink(base, Shouting()))
    words.sink_to(ShoutingFileSink(quiet, None))
    env.execute("preprocessing")
    assert written_lines(tmp_path / "loud") == ["FLINK", "RUST"]
    assert written_lines(tmp_path / "quiet") == ["flink", "rust"]
    assert FileSourceBuilder is FileSource.FileSourceBuilder
    with pytest.raises(TypeError):
        StreamTransformer()


def test_compaction_merges_committed_part_files_once_each(tmp_path):
    from pyflink_rs.datastream.connectors.file_system import FileCompactor, FileCompactStrategy

    def copy(directory, strategy, compactor):
        env = StreamExecutionEnvironment.get_execution_environment()
        env.set_parallelism(2)
        env.enable_checkpointing(20)
        numbers = env.from_collection([str(n) for n in range(2000)], Types.STRING())
        numbers.map(lambda n: n, output_type=Types.STRING()).sink_to(
            FileSink.for_row_format(str(directory), Encoder.simple_string_encoder())
            .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
            .with_rolling_policy(RollingPolicy.default_rolling_policy(part_size=1024))
            .enable_compact(strategy, compactor)
            .build())
        env.execute("compacting")
        return visible_files(directory)

    every_two = FileCompactStrategy.builder().enable_compaction_on_checkpoint(2).set_num_compact_threads(2).build()
    files = copy(tmp_path / "joined", every_two, FileCompactor.concat_file_compactor())
    assert files and all(f.name.startswith("compacted-part-") for f in files)
    assert written_lines(tmp_path / "joined") == sorted(str(n) for n in range(2000))
    assert not [p for p in (tmp_path / "joined").iterdir() if p.name.startswith((".pending-", ".compaction-"))]

    by_size = FileCompactStrategy.builder().set_size_threshold(4096).build()
    copy(tmp_path / "delimited", by_size, FileCompactor.concat_file_compactor(b"#\n"))
    lines = written_lines(tmp_path / "delimited")
    assert "#" in lines, "parts of 1 KiB joined in files of at least 4 KiB, with the delimiter between"
    assert [line for line in lines if line != "#"] == sorted(str(n) for n in range(2000))

    copies = copy(tmp_path / "identical", by_size, FileCompactor.identical_file_compactor())
    assert len(copies) > 2, "each part its own compacted file"
    assert written_lines(tmp_path / "identical") == sorted(str(n) for n in range(2000))

    with pytest.raises(ValueError, match="needs a trigger"):
        FileCompactStrategy.builder().build()
    with pytest.raises(TypeError, match="bytes"):
        FileCompactor.concat_file_compactor("#")
