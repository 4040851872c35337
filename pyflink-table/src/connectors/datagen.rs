//! The `datagen` connector: tables of generated rows, made a whole Arrow batch at a time, for
//! trying queries out and for benchmarks.
//!
//! Options, as Flink's `datagen` takes them: `rows-per-second` (default 10000, across all
//! instances), `number-of-rows` (unbounded if unset), and per column `fields.<name>.kind`
//! (`random`, the default, or `sequence`). Random numbers take `.min` and `.max`, random strings
//! `.length` (default 100), random timestamps and dates `.max-past` (milliseconds before now,
//! default 0), and every random column `.null-rate` (default 0). Sequences take `.start` and
//! `.end` and end the table after their last value.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array, Int16Array, Int32Array,
    Int64Array, Int8Array, RecordBatch, StringBuilder, TimestampMicrosecondArray, TimestampMillisecondArray,
    TimestampNanosecondArray, TimestampSecondArray,
};
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, SchemaRef, TimeUnit};
use pyflink_core::sources::{
    DataGenSplit, InputStatus, Pace, Source, SourceOutput, SourceReader, SourceReaderContext, SplitEnumeratorContext,
};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{Boundedness, DataStream, FlinkError};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::batch::ChangeBatch;
use crate::connectors::{TableConnector, TableContext};
use crate::error::{Result, TableError};

/// Makes the rows of its tables; see the module's documentation for the options.
#[derive(Debug, Clone, Copy, Default)]
pub struct DatagenConnector;

/// The most rows one batch holds.
const BATCH_ROWS: u64 = 4096;

const FIELD_OPTIONS: &[&str] = &["kind", "min", "max", "length", "start", "end", "max-past", "null-rate"];

impl TableConnector for DatagenConnector {
    fn identifier(&self) -> &str {
        "datagen"
    }

    fn source(&self, context: &TableContext<'_>) -> Result<DataStream<ChangeBatch>> {
        let schema = Arc::clone(&context.schema);
        let known = |key: &str| match key {
            "rows-per-second" | "number-of-rows" => true,
            _ => key.strip_prefix("fields.").and_then(|rest| rest.rsplit_once('.')).is_some_and(|(column, option)| {
                schema.column_with_name(column).is_some() && FIELD_OPTIONS.contains(&option)
            }),
        };
        let supported: Vec<String> = ["rows-per-second".to_string(), "number-of-rows".to_string()]
            .into_iter()
            .chain(FIELD_OPTIONS.iter().map(|option| format!("fields.#.{option}")))
            .collect();
        let supported: Vec<&str> = supported.iter().map(String::as_str).collect();
        context.check_options("datagen", &known, &supported)?;
        context.reject_metadata("datagen")?;
        let generators: Vec<FieldGenerator> =
            schema.fields().iter().map(|field| field_generator(context, field)).collect::<Result<_>>()?;
        let sequence_rows = generators
            .iter()
            .filter_map(|generator| match generator.values {
                Values::Sequence { start, end } => Some(end.saturating_sub(start) as u64 + 1),
                _ => None,
            })
            .min();
        let number_of_rows = match context.options.get("number-of-rows") {
            Some(_) => Some(context.option::<u64>("number-of-rows", 0)?),
            None => None,
        };
        let rows_per_second: f64 = context.option("rows-per-second", 10_000.0)?;
        if !(rows_per_second.is_finite() && rows_per_second > 0.0) {
            return Err(TableError::Validation(format!(
                "'rows-per-second' of table '{}' must be a positive number, got {rows_per_second}",
                context.table_name
            )));
        }
        let rows = [number_of_rows, sequence_rows].into_iter().flatten().min();
        if rows.is_none() && !context.streaming {
            return Err(TableError::Validation(format!(
                "the datagen table '{}' is unbounded, and batch mode reads bounded tables only: set 'number-of-rows' \
                 or give a column a sequence",
                context.table_name
            )));
        }
        // Random columns differ from run to run, as Flink's do.
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let source = DatagenSource { schema, generators: Arc::new(generators), rows, rows_per_second, seed };
        let name = format!("Source: {}[datagen]", context.table_name);
        Ok(context.env.from_source(source, WatermarkStrategy::no_watermarks(), &name))
    }
}

/// How one column's values are made.
#[derive(Debug, Clone, PartialEq)]
struct FieldGenerator {
    data_type: ArrowType,
    values: Values,
    /// The share of rows whose value is NULL.
    null_rate: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// `start + i` for row `i`.
    Sequence {
        start: i64,
        end: i64,
    },
    /// Random whole numbers (also the unscaled values of decimals) in `min ..= max`.
    Integer {
        min: i64,
        max: i64,
    },
    Float {
        min: f64,
        max: f64,
    },
    Boolean,
    /// Random text of `length` lowercase hexadecimal digits, as Flink makes it.
    Text {
        length: usize,
    },
    /// Random times up to `max_past` milliseconds before now.
    Past {
        max_past: i64,
    },
}

fn field_generator(context: &TableContext<'_>, field: &Field) -> Result<FieldGenerator> {
    let name = field.name();
    let key = |option: &str| format!("fields.{name}.{option}");
    let data_type = field.data_type().clone();
    let kind = context.options.get(&key("kind")).map_or("random", String::as_str);
    let null_rate: f64 = context.option(&key("null-rate"), 0.0)?;
    if !(0.0..=1.0).contains(&null_rate) || (null_rate > 0.0 && !field.is_nullable()) {
        return Err(TableError::Validation(format!(
            "'{}' must be between 0 and 1, and 0 for a NOT NULL column; got {null_rate}",
            key("null-rate")
        )));
    }
    let values = match kind {
        "sequence" => {
            let bound = |option: &str| -> Result<i64> {
                match context.options.get(&key(option)) {
                    Some(_) => context.option(&key(option), 0),
                    None => Err(TableError::Validation(format!(
                        "Could not find required property '{}' for sequence generator.",
                        key(option)
                    ))),
                }
            };
            if !(data_type.is_integer() || data_type == ArrowType::Utf8) {
                return Err(TableError::Validation(format!(
                    "column '{name}': a sequence needs an integer or string column, not {data_type}"
                )));
            }
            let (start, end) = (bound("start")?, bound("end")?);
            if start > end {
                return Err(TableError::Validation(format!(
                    "column '{name}': the sequence's start {start} is after its end {end}"
                )));
            }
            check_integer_range(name, &data_type, start, end)?;
            Values::Sequence { start, end }
        }
        "random" => random_values(context, name, &data_type, &key)?,
        other => {
            return Err(TableError::Validation(format!(
                "Unsupported '{}' value '{other}': it is 'random' or 'sequence'",
                key("kind")
            )))
        }
    };
    Ok(FieldGenerator { data_type, values, null_rate })
}

fn random_values(
    context: &TableContext<'_>,
    name: &str,
    data_type: &ArrowType,
    key: &dyn Fn(&str) -> String,
) -> Result<Values> {
    Ok(match data_type {
        ArrowType::Int8 | ArrowType::Int16 | ArrowType::Int32 | ArrowType::Int64 | ArrowType::Decimal128(..) => {
            let (type_min, type_max) = integer_range(data_type);
            let min = context.option(&key("min"), type_min)?;
            let max = context.option(&key("max"), type_max)?;
            if min > max {
                return Err(TableError::Validation(format!("column '{name}': min {min} is above max {max}")));
            }
            check_integer_range(name, data_type, min, max)?;
            Values::Integer { min, max }
        }
        ArrowType::Float32 | ArrowType::Float64 => {
            let max_default = if *data_type == ArrowType::Float32 { f32::MAX as f64 } else { f64::MAX };
            let min = context.option(&key("min"), 0.0)?;
            let max = context.option(&key("max"), max_default)?;
            if min.partial_cmp(&max) != Some(std::cmp::Ordering::Less) {
                return Err(TableError::Validation(format!("column '{name}': min {min} must be below max {max}")));
            }
            Values::Float { min, max }
        }
        ArrowType::Boolean => Values::Boolean,
        ArrowType::Utf8 => Values::Text { length: context.option(&key("length"), 100)? },
        ArrowType::Timestamp(..) | ArrowType::Date32 => {
            let max_past: i64 = context.option(&key("max-past"), 0)?;
            if max_past < 0 {
                return Err(TableError::Validation(format!("'{}' must not be negative", key("max-past"))));
            }
            Values::Past { max_past }
        }
        other => {
            return Err(TableError::Unsupported(format!(
                "datagen columns of type {} (column '{name}')",
                crate::types::flink_name(other)
            )))
        }
    })
}

/// The values a column of `data_type` holds (for decimals, their unscaled values).
fn integer_range(data_type: &ArrowType) -> (i64, i64) {
    match data_type {
        ArrowType::Int8 => (i8::MIN as i64, i8::MAX as i64),
        ArrowType::Int16 => (i16::MIN as i64, i16::MAX as i64),
        ArrowType::Int32 => (i32::MIN as i64, i32::MAX as i64),
        ArrowType::Decimal128(precision, _) if *precision < 19 => {
            let largest = 10i64.pow(*precision as u32) - 1;
            (-largest, largest)
        }
        _ => (i64::MIN, i64::MAX),
    }
}

fn check_integer_range(name: &str, data_type: &ArrowType, min: i64, max: i64) -> Result<()> {
    let (type_min, type_max) = integer_range(data_type);
    if min < type_min || max > type_max {
        return Err(TableError::Validation(format!(
            "column '{name}': {min} ..= {max} does not fit its type, whose values are {type_min} ..= {type_max}"
        )));
    }
    Ok(())
}

/// The source of a `datagen` table.
struct DatagenSource {
    schema: SchemaRef,
    generators: Arc<Vec<FieldGenerator>>,
    /// How many rows the table has, across all instances; unbounded if none.
    rows: Option<u64>,
    rows_per_second: f64,
    seed: u64,
}

impl Source<ChangeBatch> for DatagenSource {
    type Split = DataGenSplit;
    type Reader = DatagenReader;

    fn boundedness(&self) -> Boundedness {
        if self.rows.is_some() {
            Boundedness::Bounded
        } else {
            Boundedness::ContinuousUnbounded
        }
    }

    fn enumerate_splits(&self, context: &SplitEnumeratorContext) -> pyflink_core::Result<Vec<DataGenSplit>> {
        let stride = context.parallelism as u64;
        Ok((0..stride).map(|i| DataGenSplit { index: i as usize, next: i, end: self.rows, stride }).collect())
    }

    fn create_reader(&self, context: &SourceReaderContext) -> pyflink_core::Result<DatagenReader> {
        Ok(DatagenReader {
            schema: Arc::clone(&self.schema),
            generators: Arc::clone(&self.generators),
            splits: Vec::new(),
            rng: SmallRng::seed_from_u64(
                self.seed ^ (context.subtask_index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ),
            pace: Pace::new(Some(self.rows_per_second / context.parallelism as f64)),
        })
    }
}

/// Makes the batches of its splits, no faster than its share of `rows-per-second`.
struct DatagenReader {
    schema: SchemaRef,
    generators: Arc<Vec<FieldGenerator>>,
    splits: Vec<DataGenSplit>,
    rng: SmallRng,
    /// This reader's rows per second.
    pace: Pace,
}

impl DatagenReader {
    /// The batch of the rows at `indices`.
    fn batch(&mut self, indices: &[u64]) -> pyflink_core::Result<RecordBatch> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let generators = Arc::clone(&self.generators);
        let columns: Vec<ArrayRef> = generators
            .iter()
            .map(|generator| column(generator, indices, now, &mut self.rng))
            .collect::<pyflink_core::Result<_>>()?;
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| FlinkError::Runtime(format!("datagen made a batch that does not fit its table: {e}")))
    }
}

impl SourceReader<ChangeBatch, DataGenSplit> for DatagenReader {
    fn add_splits(&mut self, splits: Vec<DataGenSplit>) {
        self.splits.extend(splits);
    }

    fn poll_next(&mut self, output: &mut SourceOutput<'_, ChangeBatch>) -> pyflink_core::Result<InputStatus> {
        let mut allowed = match self.pace.allowance() {
            Ok(rows) => rows,
            Err(wait) => return Ok(InputStatus::NothingAvailable(wait)),
        };
        let mut indices = Vec::new();
        for position in 0..self.splits.len() {
            while output.has_capacity() && allowed > 0 {
                let split = self.splits[position];
                let left = split.end.map_or(u64::MAX, |end| end.saturating_sub(split.next).div_ceil(split.stride));
                let rows = left.min(allowed).min(BATCH_ROWS);
                if rows == 0 {
                    break;
                }
                indices.clear();
                indices.extend((0..rows).map(|i| split.next + i * split.stride));
                let batch = self.batch(&indices)?;
                output.collect(ChangeBatch::inserts(batch));
                self.splits[position].next += rows * split.stride;
                allowed -= rows;
                self.pace.made(rows);
            }
        }
        if self.splits.iter().all(DataGenSplit::is_finished) {
            Ok(InputStatus::EndOfInput)
        } else {
            Ok(InputStatus::MoreAvailable)
        }
    }

    fn snapshot_state(&self) -> Vec<DataGenSplit> {
        self.splits.clone()
    }
}

/// Whether the next value is not NULL, given the column's share of NULLs.
fn not_null(null_rate: f64, rng: &mut SmallRng) -> bool {
    null_rate == 0.0 || rng.random::<f64>() >= null_rate
}

/// The values of one column for the rows at `indices`.
fn column(generator: &FieldGenerator, indices: &[u64], now: i64, rng: &mut SmallRng) -> pyflink_core::Result<ArrayRef> {
    let null_rate = generator.null_rate;
    Ok(match (&generator.data_type, &generator.values) {
        (ArrowType::Utf8, values) => {
            let mut builder = StringBuilder::with_capacity(indices.len(), indices.len() * 16);
            for &index in indices {
                if !not_null(null_rate, rng) {
                    builder.append_null();
                    continue;
                }
                match values {
                    Values::Sequence { start, .. } => {
                        builder.append_value(start.wrapping_add(index as i64).to_string())
                    }
                    Values::Text { length } => {
                        builder.append_value(pyflink_core::sources::random_hex_string(&mut *rng, *length))
                    }
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        (ArrowType::Boolean, _) => Arc::new(
            indices.iter().map(|_| not_null(null_rate, rng).then(|| rng.random::<bool>())).collect::<BooleanArray>(),
        ),
        (ArrowType::Float32, Values::Float { min, max }) => Arc::new(
            indices
                .iter()
                .map(|_| not_null(null_rate, rng).then(|| rng.random_range(*min..*max) as f32))
                .collect::<Float32Array>(),
        ),
        (ArrowType::Float64, Values::Float { min, max }) => Arc::new(
            indices
                .iter()
                .map(|_| not_null(null_rate, rng).then(|| rng.random_range(*min..*max)))
                .collect::<Float64Array>(),
        ),
        (data_type, values) => {
            let values: Vec<Option<i64>> = indices
                .iter()
                .map(|&index| {
                    let value = match *values {
                        Values::Sequence { start, .. } => start.wrapping_add(index as i64),
                        Values::Integer { min, max } => rng.random_range(min..=max),
                        Values::Past { max_past } => now - rng.random_range(0..=max_past),
                        _ => 0,
                    };
                    not_null(null_rate, rng).then_some(value)
                })
                .collect();
            integer_column(data_type, values)?
        }
    })
}

/// A column of `data_type` holding `values`: integers, unscaled decimals, or milliseconds since
/// the epoch for dates and timestamps.
fn integer_column(data_type: &ArrowType, values: Vec<Option<i64>>) -> pyflink_core::Result<ArrayRef> {
    Ok(match data_type {
        ArrowType::Int8 => Arc::new(values.into_iter().map(|v| v.map(|v| v as i8)).collect::<Int8Array>()),
        ArrowType::Int16 => Arc::new(values.into_iter().map(|v| v.map(|v| v as i16)).collect::<Int16Array>()),
        ArrowType::Int32 => Arc::new(values.into_iter().map(|v| v.map(|v| v as i32)).collect::<Int32Array>()),
        ArrowType::Decimal128(precision, scale) => Arc::new(
            values
                .into_iter()
                .map(|v| v.map(i128::from))
                .collect::<Decimal128Array>()
                .with_precision_and_scale(*precision, *scale)
                .map_err(|e| FlinkError::Runtime(format!("datagen cannot make {data_type} values: {e}")))?,
        ),
        ArrowType::Date32 => {
            Arc::new(values.into_iter().map(|v| v.map(|ms| ms.div_euclid(86_400_000) as i32)).collect::<Date32Array>())
        }
        ArrowType::Timestamp(unit, zone) => timestamps(values, unit, zone.clone()),
        _ => Arc::new(Int64Array::from(values)),
    })
}

/// Timestamps of `millis` (milliseconds since the epoch) in `unit`.
fn timestamps(millis: Vec<Option<i64>>, unit: &TimeUnit, zone: Option<Arc<str>>) -> ArrayRef {
    let scaled = |factor: i64| millis.iter().map(|v| v.map(|ms| ms.saturating_mul(factor))).collect::<Vec<_>>();
    match unit {
        TimeUnit::Second => Arc::new(
            TimestampSecondArray::from(millis.iter().map(|v| v.map(|ms| ms.div_euclid(1000))).collect::<Vec<_>>())
                .with_timezone_opt(zone),
        ),
        TimeUnit::Millisecond => Arc::new(TimestampMillisecondArray::from(millis).with_timezone_opt(zone)),
        TimeUnit::Microsecond => Arc::new(TimestampMicrosecondArray::from(scaled(1000)).with_timezone_opt(zone)),
        TimeUnit::Nanosecond => Arc::new(TimestampNanosecondArray::from(scaled(1_000_000)).with_timezone_opt(zone)),
    }
}
