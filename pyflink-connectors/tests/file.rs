//! The file connector in jobs: every line read once, at any parallelism; files added to a
//! watched directory are read; and with checkpoints and injected failures, the committed part
//! files hold every record exactly once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use pyflink_connectors::file::{
    finished_files, BasePathBucketAssigner, FileCompactStrategy, FileCompactor, FileSink, FileSource, OutputFileConfig,
    RollingPolicy, SimpleStringEncoder, TextLineFormat,
};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{CheckpointingMode, FlinkError, RestartStrategy, StreamExecutionEnvironment};

/// Writes `files` files of `lines` numbered lines each (`file-line`) under `dir`, some in a
/// subdirectory, and a hidden file that must not be read.
fn write_input(dir: &Path, files: usize, lines: usize) -> Vec<String> {
    let mut all = Vec::new();
    std::fs::create_dir_all(dir.join("nested")).unwrap();
    for f in 0..files {
        let path = if f % 2 == 0 { dir.join(format!("in-{f}.txt")) } else { dir.join(format!("nested/in-{f}.txt")) };
        let text: Vec<String> = (0..lines).map(|l| format!("{f}-{l}")).collect();
        std::fs::write(path, text.join("\n") + "\n").unwrap();
        all.extend(text);
    }
    std::fs::write(dir.join(".hidden"), "never read\n").unwrap();
    all.sort();
    all
}

/// Every line of the committed files under `dir`, sorted.
fn committed_lines(dir: &Path) -> Vec<String> {
    let mut lines: Vec<String> = finished_files(dir)
        .unwrap()
        .iter()
        .flat_map(|file| std::fs::read_to_string(file).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    lines.sort();
    lines
}

#[test]
fn files_are_read_once_and_written_once_at_any_parallelism() {
    for parallelism in [1, 3] {
        let (input, output) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let expected = write_input(input.path(), 5, 300);
        let env = StreamExecutionEnvironment::get_execution_environment();
        env.set_parallelism(parallelism);
        let source = FileSource::for_record_stream_format(TextLineFormat, [input.path()]).build().unwrap();
        env.from_source(source, WatermarkStrategy::no_watermarks(), "files").sink_to(
            FileSink::for_row_format(output.path(), SimpleStringEncoder)
                .with_output_file_config(
                    OutputFileConfig::default().with_part_prefix("prefix").with_part_suffix(".ext"),
                )
                .build(),
        );
        env.execute("copy").unwrap();
        assert_eq!(committed_lines(output.path()), expected, "parallelism {parallelism}");
        let files = finished_files(output.path()).unwrap();
        let bucket = files[0].parent().unwrap().file_name().unwrap().to_str().unwrap().to_string();
        assert_eq!(bucket.len(), "2026-11-23--14".len(), "files go to an hourly bucket: {bucket}");
        assert!(files.iter().all(|f| {
            let name = f.file_name().unwrap().to_str().unwrap();
            name.starts_with("prefix-") && name.ends_with(".ext")
        }));
    }
}

#[test]
fn a_missing_input_fails_the_job_with_the_path() {
    let env = StreamExecutionEnvironment::get_execution_environment();
    let source = FileSource::for_record_stream_format(TextLineFormat, ["/no/such/dir"]).build().unwrap();
    env.from_source(source, WatermarkStrategy::no_watermarks(), "files").print();
    let error = env.execute("missing").unwrap_err().to_string();
    assert!(error.contains("/no/such/dir"), "{error}");
    assert!(FileSource::<String>::for_record_stream_format(TextLineFormat, Vec::<&str>::new()).build().is_err());
}

#[test]
fn a_watched_directory_has_its_new_files_read() {
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("first.txt"), "a\nb\n").unwrap();
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    let source = FileSource::for_record_stream_format(TextLineFormat, [input.path()])
        .monitor_continuously(Duration::from_millis(20))
        .build()
        .unwrap();
    let mut lines =
        env.from_source(source, WatermarkStrategy::no_watermarks(), "watched").execute_and_collect().unwrap();
    let mut seen: Vec<String> = (0..2).map(|_| lines.next().unwrap().unwrap()).collect();
    std::fs::write(input.path().join("second.txt"), "c\n").unwrap();
    seen.push(lines.next().unwrap().unwrap());
    seen.sort();
    assert_eq!(seen, ["a", "b", "c"]);
}

/// Counts the records a job's maps have seen, failing the job once at each of its points.
struct Failures {
    seen: AtomicU64,
    points: Vec<u64>,
}

fn copy_with_failures(input: &Path, output: &Path, parallelism: usize, failures: Vec<u64>) -> Result<(), FlinkError> {
    copy_compacting_with_failures(input, output, parallelism, failures, None)
}

/// [`copy_with_failures`], the sink compacting its files with `compaction` if given.
fn copy_compacting_with_failures(
    input: &Path,
    output: &Path,
    parallelism: usize,
    failures: Vec<u64>,
    compaction: Option<(FileCompactStrategy, FileCompactor)>,
) -> Result<(), FlinkError> {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env.enable_checkpointing(Duration::from_millis(5), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(failures.len() as u32 + 1, Duration::ZERO));
    let checkpoints = tempfile::tempdir().unwrap();
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(checkpoints.path().to_path_buf());
    env.set_checkpoint_config(config);
    let failures = Arc::new(Failures { seen: AtomicU64::new(0), points: failures });
    let source = FileSource::for_record_stream_format(TextLineFormat, [input]).build()?;
    env.from_source(source, WatermarkStrategy::no_watermarks(), "files")
        .uid("files")
        .map(move |line: String| {
            let seen = failures.seen.fetch_add(1, Ordering::SeqCst);
            if failures.points.contains(&seen) {
                panic!("injected failure at record {seen}");
            }
            // Slow enough for checkpoints to complete while the job runs.
            if seen.is_multiple_of(64) {
                std::thread::sleep(Duration::from_millis(1));
            }
            line
        })
        .sink_to({
            let sink = FileSink::for_row_format(output, SimpleStringEncoder)
                .with_bucket_assigner(BasePathBucketAssigner)
                .with_rolling_policy(RollingPolicy::default_rolling_policy().with_max_part_size(2048));
            match compaction {
                Some((strategy, compactor)) => sink.enable_compact(strategy, compactor).build(),
                None => sink.build(),
            }
        })
        .uid("sink");
    env.execute("copy with failures").map(|_| ())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, max_shrink_iters: 10, ..ProptestConfig::default() })]

    /// Exactly once: whatever failed, the committed part files hold each input line once.
    #[test]
    fn committed_files_hold_every_line_exactly_once_despite_failures(
        parallelism in 1usize..4,
        failures in proptest::collection::vec(0u64..6000, 0..3),
    ) {
        let (input, output) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let expected = write_input(input.path(), 4, 1000);
        copy_with_failures(input.path(), output.path(), parallelism, failures).unwrap();
        let committed = committed_lines(output.path());
        let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
        for line in &committed {
            *counts.entry(line).or_default() += 1;
        }
        prop_assert!(counts.values().all(|c| *c == 1), "duplicates: {:?}", counts.iter().filter(|(_, c)| **c > 1).take(5).collect::<Vec<_>>());
        prop_assert_eq!(committed, expected);
    }

    /// Exactly once with compaction: whatever failed, the compacted files hold each input line
    /// once, and nothing waits or is half-compacted when the job ends.
    #[test]
    fn compacted_files_hold_every_line_exactly_once_despite_failures(
        parallelism in 1usize..4,
        failures in proptest::collection::vec(0u64..6000, 0..3),
        by_size in any::<bool>(),
    ) {
        let (input, output) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let expected = write_input(input.path(), 4, 1000);
        let strategy = match by_size {
            true => FileCompactStrategy::builder().set_size_threshold(8192),
            false => FileCompactStrategy::builder().enable_compaction_on_checkpoint(3).set_num_compact_threads(2),
        };
        let compactor = FileCompactor::Concat { delimiter: None };
        copy_compacting_with_failures(input.path(), output.path(), parallelism, failures, Some((strategy.build().unwrap(), compactor))).unwrap();
        let files = finished_files(output.path()).unwrap();
        prop_assert!(files.iter().all(|f| f.file_name().unwrap().to_str().unwrap().starts_with("compacted-")), "{:?}", files);
        let leftovers: Vec<_> = std::fs::read_dir(output.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".pending-") || n.starts_with(".compaction-")).collect();
        prop_assert!(leftovers.is_empty(), "{:?}", leftovers);
        prop_assert_eq!(committed_lines(output.path()), expected);
    }
}

#[test]
fn csv_and_json_lines_are_read_as_rows() {
    use pyflink_connectors::file::LineFormat;
    use pyflink_connectors::formats::csv::CsvRowDeserializationSchema;
    use pyflink_connectors::formats::json::JsonRowDeserializationSchema;
    use pyflink_connectors::formats::RowType;
    use pyflink_core::table::{DataType, Row};

    let input = tempfile::tempdir().unwrap();
    let row_type = RowType::new([("name", DataType::String), ("age", DataType::Int)]);
    std::fs::write(input.path().join("people.csv"), "ada,36\n\"lovelace, a\",\nbad line\ngrace,85\n").unwrap();
    let csv = CsvRowDeserializationSchema::builder(row_type.clone()).set_ignore_parse_errors(true).build().unwrap();
    let skipped = csv.skipped_records();
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(2);
    let source = FileSource::for_record_stream_format(LineFormat::new(csv), [input.path()]).build().unwrap();
    let rows: Vec<Row> = env
        .from_source(source, WatermarkStrategy::no_watermarks(), "csv")
        .execute_and_collect()
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut printed: Vec<String> = rows.iter().map(Row::to_string).collect();
    printed.sort();
    assert_eq!(printed, ["+I[ada, 36]", "+I[grace, 85]", "+I[lovelace, a, null]"]);
    assert_eq!(skipped.count(), 1, "the line of one field was skipped and counted");

    let json_dir = tempfile::tempdir().unwrap();
    std::fs::write(json_dir.path().join("people.jsonl"), "{\"name\":\"ada\",\"age\":36}\n\n{\"age\":\"old\"}\n")
        .unwrap();
    let json = JsonRowDeserializationSchema::builder().type_info(row_type).build().unwrap();
    let env = StreamExecutionEnvironment::get_execution_environment();
    let source = FileSource::for_record_stream_format(LineFormat::new(json), [json_dir.path()]).build().unwrap();
    env.from_source(source, WatermarkStrategy::no_watermarks(), "json").discard();
    let error = env.execute("json lines").unwrap_err().to_string();
    assert!(error.contains("line 3 of") && error.contains("field 'age': 'old' is not INT"), "{error}");
}

/// A deserializer that counts the records it is given.
struct Counting<D>(D, Arc<AtomicU64>);

impl<T, D: pyflink_connectors::serialization::DeserializationSchema<T>>
    pyflink_connectors::serialization::DeserializationSchema<T> for Counting<D>
{
    fn deserialize(&self, bytes: &[u8]) -> pyflink_core::Result<T> {
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.deserialize(bytes)
    }
}

#[test]
fn a_record_that_cannot_be_deserialized_fails_the_job_without_restarts() {
    use pyflink_connectors::file::LineFormat;
    use pyflink_connectors::formats::json::JsonRowDeserializationSchema;
    use pyflink_connectors::formats::RowType;
    use pyflink_core::table::DataType;

    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("people.jsonl"), "{\"name\":\"ada\",\"age\":36}\n{\"age\":\"old\"}\n").unwrap();
    let row_type = RowType::new([("name", DataType::String), ("age", DataType::Int)]);
    let json = JsonRowDeserializationSchema::builder().type_info(row_type).build().unwrap();
    let reads = Arc::new(AtomicU64::new(0));
    let format = LineFormat::new(Counting(json, Arc::clone(&reads)));
    let source = FileSource::for_record_stream_format(format, [input.path()]).build().unwrap();
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let env = StreamExecutionEnvironment::get_execution_environment();
        // Checkpointing selects the default restart strategy, which restarts for about five
        // minutes (waits from 1 s up); the line fails every attempt, so the job must not restart.
        env.enable_checkpointing(Duration::from_millis(100), CheckpointingMode::ExactlyOnce);
        env.from_source(source, WatermarkStrategy::no_watermarks(), "json").discard();
        done.send(env.execute("malformed"))
    });
    let error =
        outcome.recv_timeout(Duration::from_secs(30)).expect("the job restarts instead of failing").unwrap_err();
    assert_eq!(reads.load(Ordering::SeqCst), 2, "each line was read once: no restart");
    assert!(!error.is_recoverable(), "{error:?}");
    let message = error.to_string();
    assert!(message.contains("line 2 of") && message.contains("'old' is not INT"), "{message}");
}

/// A job of `parallelism` with checkpoints every 5 ms that restarts after the failure at
/// record `fail_at` of its map.
#[cfg(feature = "parquet")]
fn failing_once(parallelism: usize) -> (StreamExecutionEnvironment, tempfile::TempDir) {
    let env = StreamExecutionEnvironment::get_execution_environment();
    env.set_parallelism(parallelism);
    env.enable_checkpointing(Duration::from_millis(5), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(2, Duration::ZERO));
    let checkpoints = tempfile::tempdir().unwrap();
    let mut config = env.get_checkpoint_config();
    config.storage_dir = Some(checkpoints.path().to_path_buf());
    env.set_checkpoint_config(config);
    (env, checkpoints)
}

/// A map that fails once, at its `fail_at`th record, and is slow enough for checkpoints.
#[cfg(feature = "parquet")]
fn fail_once_at<T>(fail_at: u64) -> impl Fn(T) -> T + Clone + Send + Sync + 'static {
    let seen = Arc::new(AtomicU64::new(0));
    move |value| {
        let count = seen.fetch_add(1, Ordering::SeqCst);
        if count == fail_at {
            panic!("injected failure at record {count}");
        }
        if count.is_multiple_of(64) {
            std::thread::sleep(Duration::from_millis(1));
        }
        value
    }
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_part_files_are_written_and_read_exactly_once_despite_failures() {
    use pyflink_connectors::formats::parquet::{ParquetRowFormat, ParquetWriterFactory};
    use pyflink_connectors::formats::RowType;
    use pyflink_core::table::{DataType, Row, Value};

    let row_type = RowType::new([("id", DataType::BigInt), ("name", DataType::String)]);
    let rows: Vec<Row> =
        (0..4000).map(|n| Row::of(vec![Value::BigInt(n), Value::String(format!("name {n}"))])).collect();
    let (parquet, text) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());

    let (env, _checkpoints) = failing_once(2);
    env.from_collection(rows.clone()).uid("rows").map(fail_once_at(2500)).sink_to(
        FileSink::for_bulk_format(parquet.path(), ParquetWriterFactory::for_row_type(row_type.clone()))
            .with_bucket_assigner(BasePathBucketAssigner)
            .with_output_file_config(OutputFileConfig::default().with_part_suffix(".parquet"))
            .build(),
    );
    env.execute("rows to parquet").unwrap();
    let parts = finished_files(parquet.path()).unwrap();
    assert!(parts.len() > 2, "parts end at checkpoints: {parts:?}");
    assert!(parts.iter().all(|p| p.extension().is_some_and(|e| e == "parquet")));

    let (env, _checkpoints) = failing_once(2);
    let format = ParquetRowFormat::new(row_type).with_batch_size(100);
    let source = FileSource::for_bulk_file_format(format, [parquet.path()]).build().unwrap();
    env.from_source(source, WatermarkStrategy::no_watermarks(), "parquet")
        .uid("parquet")
        .map(fail_once_at(1700))
        .map(|row: Row| row.to_string())
        .sink_to(
            FileSink::for_row_format(text.path(), SimpleStringEncoder)
                .with_bucket_assigner(BasePathBucketAssigner)
                .build(),
        );
    env.execute("parquet to text").unwrap();
    let mut expected: Vec<String> = rows.iter().map(Row::to_string).collect();
    expected.sort();
    assert_eq!(committed_lines(text.path()), expected);
}
