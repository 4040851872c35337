//! The `filesystem` table connector: a table's rows as the lines of the files under a path, in
//! the `csv`, `json` or `raw` format. Reading lists the files once (a bounded table), or with
//! `source.monitor-interval` in streaming mode keeps watching for new ones; writing goes
//! through the [`FileSink`], into rolling part files that become visible exactly once, when the
//! checkpoint that holds them completes (or at the end of a bounded job).

use std::path::PathBuf;
use std::time::Duration;

use pyflink_core::time::WatermarkStrategy;
use pyflink_core::DataStream;
use pyflink_table::batch::ChangeBatch;
use pyflink_table::connectors::{TableConnector, TableContext};
use pyflink_table::{Result, TableError};

use super::duration_option;
use super::line_format::{LineCodec, LinesToBatches};
use crate::file::{BasePathBucketAssigner, Encoder, FileSink, FileSource, RollingPolicy, TextLineFormat};

/// Reads and writes tables as files (`'connector' = 'filesystem'`). Options: `path` (a file or
/// a directory, `file://` optional), `format` (`csv`, `json` or `raw`, with their options such
/// as `csv.field-delimiter` or `json.ignore-parse-errors`), `source.monitor-interval`,
/// `sink.rolling-policy.file-size` (default 128MB), `sink.rolling-policy.rollover-interval`
/// and `sink.rolling-policy.inactivity-interval` (default 30 min), `sink.parallelism`.
///
/// ```
/// use std::sync::Arc;
/// use pyflink_connectors::table::FileSystemConnector;
/// use pyflink_table::environment::{EnvironmentSettings, TableEnvironment};
///
/// let dir = tempfile::tempdir().unwrap();
/// std::fs::write(dir.path().join("words.csv"), "hello,1\nworld,2\n").unwrap();
/// let t_env = TableEnvironment::create(EnvironmentSettings::in_batch_mode());
/// t_env.register_connector(Arc::new(FileSystemConnector));
/// t_env.execute_sql(&format!(
///     "CREATE TABLE words (word STRING, n INT) WITH ('connector' = 'filesystem', 'path' = '{}', 'format' = 'csv')",
///     dir.path().display()
/// )).unwrap();
/// let rows = t_env.execute_sql("SELECT SUM(n) AS total FROM words").unwrap().collect().unwrap();
/// assert_eq!(rows[0].to_string(), "+I[3]");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSystemConnector;

/// The options of the connector itself; each format adds its own.
const OPTIONS: &[&str] = &[
    "path",
    "format",
    "source.monitor-interval",
    "sink.rolling-policy.file-size",
    "sink.rolling-policy.rollover-interval",
    "sink.rolling-policy.inactivity-interval",
    "sink.rolling-policy.check-interval",
    "sink.parallelism",
];

impl TableConnector for FileSystemConnector {
    fn identifier(&self) -> &str {
        "filesystem"
    }

    fn source(&self, context: &TableContext<'_>) -> Result<DataStream<ChangeBatch>> {
        let (path, codec) = prepare(context)?;
        let mut files = FileSource::for_record_stream_format(TextLineFormat, [&path]);
        if context.streaming {
            if let Some(interval) = duration_option(context, "source.monitor-interval")? {
                files = files.monitor_continuously(interval);
            }
        }
        let files = files.build().map_err(|e| TableError::Validation(e.to_string()))?;
        let name = format!("TableSourceScan(table=[[default_catalog, default_database, {}]])", context.table_name);
        let lines = context.env.from_source(files, WatermarkStrategy::no_watermarks(), &name);
        let decoder = format!("LineDecoder(format=[{}])", context.options.get("format").map_or("", String::as_str));
        Ok(lines.process(LinesToBatches::new(codec)).name(&decoder))
    }

    fn consumes_updates(&self, _context: &TableContext<'_>) -> bool {
        false
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        let (path, codec) = prepare(context)?;
        let mut policy = RollingPolicy::default_rolling_policy()
            .with_rollover_interval(Duration::from_secs(30 * 60))
            .with_inactivity_interval(Duration::from_secs(30 * 60));
        if let Some(size) = context.options.get("sink.rolling-policy.file-size") {
            policy = policy.with_max_part_size(parse_memory_size("sink.rolling-policy.file-size", size)?);
        } else {
            policy = policy.with_max_part_size(128 * 1024 * 1024);
        }
        if let Some(interval) = duration_option(context, "sink.rolling-policy.rollover-interval")? {
            policy = policy.with_rollover_interval(interval);
        }
        if let Some(interval) = duration_option(context, "sink.rolling-policy.inactivity-interval")? {
            policy = policy.with_inactivity_interval(interval);
        }
        // Checked as a duration, though parts are checked with every batch written.
        duration_option(context, "sink.rolling-policy.check-interval")?;
        let files = FileSink::for_row_format(&path, BatchLines { codec })
            .with_bucket_assigner(BasePathBucketAssigner)
            .with_rolling_policy(policy)
            .build();
        let parallelism: usize = context.option("sink.parallelism", 0)?;
        let added = rows.sink_to(files).name(&format!("Sink: {}[filesystem]", context.table_name));
        if parallelism > 0 {
            added.set_parallelism(parallelism);
        }
        Ok(())
    }
}

/// The table's path and the codec of its format, after checking the table's options.
fn prepare(context: &TableContext<'_>) -> Result<(PathBuf, LineCodec)> {
    context.reject_metadata("filesystem")?;
    if let Some(first) = context.partition_keys.first() {
        return Err(TableError::Unsupported(format!(
            "partitioned filesystem tables: table '{}' is PARTITIONED BY '{}'; declare it without PARTITIONED BY",
            context.table_name,
            context.schema.field(*first).name()
        )));
    }
    context.require_options(&["path"])?;
    let path = &context.options["path"];
    let Some(format) = context.options.get("format") else {
        return Err(TableError::Validation(format!(
            "Table options do not contain an option key 'format' for discovering a format (table '{}'); add \
             'format' = 'csv', 'json' or 'raw'",
            context.table_name
        )));
    };
    let format_options = LineCodec::options_of(format).unwrap_or_default();
    let supported: Vec<&str> = OPTIONS.iter().chain(format_options).copied().collect();
    context.check_options("filesystem", &|key| supported.contains(&key), &supported)?;
    let codec = LineCodec::new(context, format)?;
    let path = path.strip_prefix("file://").unwrap_or(path);
    Ok((PathBuf::from(path), codec))
}

/// A memory size in Flink's notation: a number and a unit (`b`, `kb`, `mb`, `gb`, `tb`, each
/// 1024 times the last; also `k`, `m`, `g`, `t` and the long names), bytes when there is none.
fn parse_memory_size(key: &str, text: &str) -> Result<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit()).unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(split);
    let invalid = || {
        TableError::Validation(format!("invalid value '{text}' for '{key}': expected a memory size such as '128MB'"))
    };
    let number: u64 = digits.parse().map_err(|_| invalid())?;
    let scale: u64 = match unit.trim() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        "t" | "tb" | "tebibytes" => 1 << 40,
        _ => return Err(invalid()),
    };
    number.checked_mul(scale).ok_or_else(invalid)
}

/// Writes a table's batches into part files, a line per row.
struct BatchLines {
    codec: LineCodec,
}

impl Encoder<ChangeBatch> for BatchLines {
    fn encode(&self, batch: &ChangeBatch, out: &mut Vec<u8>) -> pyflink_core::Result<()> {
        self.codec.encode(batch, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_read_as_flink_writes_them() {
        assert_eq!(parse_memory_size("k", "128MB").unwrap(), 128 << 20);
        assert_eq!(parse_memory_size("k", "1 kb").unwrap(), 1024);
        assert_eq!(parse_memory_size("k", "512").unwrap(), 512);
        assert_eq!(parse_memory_size("k", "2g").unwrap(), 2 << 30);
        let error = parse_memory_size("sink.rolling-policy.file-size", "big").unwrap_err().to_string();
        assert!(error.contains("'big'") && error.contains("128MB"), "{error}");
    }
}
