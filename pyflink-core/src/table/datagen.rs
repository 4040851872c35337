//! The `datagen` table connector: rows of random or sequence values, as Flink's `datagen`
//! connector makes them, for trying jobs out without external systems.
//!
//! Options: `rows-per-second` (default 10000), `number-of-rows` (unbounded if unset), and per
//! column `fields.<name>.kind` (`random`, the default, or `sequence`); random numbers take
//! `fields.<name>.min` and `.max` (the type's range by default), random strings `.length`
//! (default 100); sequences take `.start` and `.end` and end the table after their last value.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sources::{DataGenSource, GeneratorContext};
use crate::table::{Column, DataType, Row, TableDescriptor, Value};
use crate::{FlinkError, Result};

/// How one column's values are made.
#[derive(Debug, Clone, PartialEq)]
enum FieldGenerator {
    /// Random whole numbers in `min ..= max`.
    RandomInteger {
        min: i64,
        max: i64,
    },
    /// Random floating point numbers in `min .. max`.
    RandomFloat {
        min: f64,
        max: f64,
    },
    RandomBoolean,
    /// Random strings of `length` lowercase hexadecimal digits, as Flink makes them.
    RandomString {
        length: usize,
    },
    /// `start, start + 1, …, end`: the row index counts on from `start`.
    Sequence {
        start: i64,
        end: i64,
    },
}

/// The source of a `datagen` table: rows of the descriptor's columns.
pub(crate) fn datagen_source(descriptor: &TableDescriptor) -> Result<DataGenSource<Row>> {
    let options = descriptor.options();
    check_options(descriptor)?;
    let columns = descriptor.schema().columns();
    let generators: Vec<(DataType, FieldGenerator)> = columns
        .iter()
        .map(|column| Ok((column.data_type, field_generator(column, options)?)))
        .collect::<Result<_>>()?;
    let sequence_rows = generators
        .iter()
        .filter_map(|(_, generator)| match generator {
            FieldGenerator::Sequence { start, end } => Some((end - start) as u64 + 1),
            _ => None,
        })
        .min();
    let number_of_rows = match options.get("number-of-rows") {
        Some(text) => Some(parse::<u64>("number-of-rows", text)?),
        None => None,
    };
    let rows_per_second = match options.get("rows-per-second") {
        Some(text) => parse::<f64>("rows-per-second", text)?,
        None => 10_000.0,
    };
    let generate = move |ctx: &mut GeneratorContext| {
        Row::of(generators.iter().map(|(data_type, generator)| generate(*data_type, generator, ctx)).collect())
    };
    // Random columns differ from run to run, as Flink's do.
    let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut source = DataGenSource::new(generate).rows_per_second(rows_per_second)?.seed(seed);
    if let Some(rows) = [number_of_rows, sequence_rows].into_iter().flatten().min() {
        source = source.number_of_rows(rows);
    }
    Ok(source)
}

/// Fails on options the connector does not know, naming the ones it knows.
fn check_options(descriptor: &TableDescriptor) -> Result<()> {
    let names = descriptor.schema().column_names();
    let known = |key: &str| match key {
        "rows-per-second" | "number-of-rows" => true,
        _ => key.strip_prefix("fields.").and_then(|rest| rest.rsplit_once('.')).is_some_and(|(column, option)| {
            names.contains(&column) && matches!(option, "kind" | "min" | "max" | "length" | "start" | "end")
        }),
    };
    let unknown: Vec<&str> = descriptor.options().keys().map(String::as_str).filter(|key| !known(key)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(FlinkError::InvalidProgram(format!(
        "unsupported options for the 'datagen' connector: {}; it takes rows-per-second, number-of-rows, and per \
         column fields.<column>.kind (random or sequence), .min, .max, .length, .start, .end",
        unknown.join(", ")
    )))
}

fn parse<T: std::str::FromStr>(key: &str, text: &str) -> Result<T> {
    text.trim()
        .parse()
        .map_err(|_| FlinkError::InvalidProgram(format!("the datagen option '{key}' cannot be '{text}'")))
}

fn field_generator(column: &Column, options: &BTreeMap<String, String>) -> Result<FieldGenerator> {
    let option = |name: &str| options.get(&format!("fields.{}.{name}", column.name));
    let key = |name: &str| format!("fields.{}.{name}", column.name);
    let data_type = column.data_type;
    match option("kind").map(String::as_str).unwrap_or("random") {
        "random" => {
            if let Some((type_min, type_max)) = data_type.integer_range() {
                let min = option("min").map_or(Ok(type_min), |t| parse(&key("min"), t))?;
                let max = option("max").map_or(Ok(type_max), |t| parse(&key("max"), t))?;
                if min > max || min < type_min || max > type_max {
                    return Err(FlinkError::InvalidProgram(format!(
                        "column '{}': {} needs min <= max within {type_min} ..= {type_max}, got {min} and {max}",
                        column.name, data_type
                    )));
                }
                return Ok(FieldGenerator::RandomInteger { min, max });
            }
            match data_type {
                DataType::Float | DataType::Double => {
                    let (type_min, type_max) =
                        if data_type == DataType::Float { (0.0, f32::MAX as f64) } else { (0.0, f64::MAX) };
                    let min = option("min").map_or(Ok(type_min), |t| parse(&key("min"), t))?;
                    let max = option("max").map_or(Ok(type_max), |t| parse(&key("max"), t))?;
                    // NaN bounds fail too.
                    if min.partial_cmp(&max) != Some(std::cmp::Ordering::Less) {
                        return Err(FlinkError::InvalidProgram(format!(
                            "column '{}': random {data_type} needs min < max, got {min} and {max}",
                            column.name
                        )));
                    }
                    Ok(FieldGenerator::RandomFloat { min, max })
                }
                DataType::Boolean => Ok(FieldGenerator::RandomBoolean),
                DataType::Char(n) | DataType::Varchar(n) => {
                    let length = option("length").map_or(Ok(100.min(n as usize)), |t| parse(&key("length"), t))?;
                    Ok(FieldGenerator::RandomString { length: length.min(n as usize) })
                }
                _ => Ok(FieldGenerator::RandomString {
                    length: option("length").map_or(Ok(100), |t| parse(&key("length"), t))?,
                }),
            }
        }
        "sequence" => {
            if !(data_type.is_integer() || data_type.is_string()) {
                return Err(FlinkError::InvalidProgram(format!(
                    "column '{}': a sequence needs an integer or string column, not {data_type}",
                    column.name
                )));
            }
            let bound = |name: &str| -> Result<i64> {
                let text = option(name).ok_or_else(|| {
                    FlinkError::InvalidProgram(format!(
                        "the sequence of column '{}' needs '{}'",
                        column.name,
                        key(name)
                    ))
                })?;
                parse(&key(name), text)
            };
            let (start, end) = (bound("start")?, bound("end")?);
            let (type_min, type_max) = data_type.integer_range().unwrap_or((i64::MIN, i64::MAX));
            if start > end || start < type_min || end > type_max {
                return Err(FlinkError::InvalidProgram(format!(
                    "column '{}': a sequence of {data_type} needs start <= end within {type_min} ..= {type_max}, \
                     got {start} and {end}",
                    column.name
                )));
            }
            Ok(FieldGenerator::Sequence { start, end })
        }
        other => Err(FlinkError::InvalidProgram(format!(
            "'{}' is '{other}'; the datagen kinds are 'random' and 'sequence'",
            key("kind")
        ))),
    }
}

/// The value of `data_type` that `generator` makes for the context's row.
fn generate(data_type: DataType, generator: &FieldGenerator, ctx: &mut GeneratorContext) -> Value {
    let whole = match generator {
        FieldGenerator::RandomInteger { min, max } => ctx.random_long(*min, *max),
        FieldGenerator::Sequence { start, .. } => ctx.sequence(*start),
        FieldGenerator::RandomFloat { min, max } => {
            let value = ctx.random_double(*min, *max);
            return if data_type == DataType::Float { Value::Float(value as f32) } else { Value::Double(value) };
        }
        FieldGenerator::RandomBoolean => return Value::Boolean(ctx.random_bool()),
        FieldGenerator::RandomString { length } => return Value::String(ctx.random_string(*length)),
    };
    // The range was checked against the type when the generator was made.
    match data_type {
        DataType::TinyInt => Value::TinyInt(whole as i8),
        DataType::SmallInt => Value::SmallInt(whole as i16),
        DataType::Int => Value::Int(whole as i32),
        DataType::BigInt => Value::BigInt(whole),
        _ => Value::String(whole.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Schema;

    fn descriptor(options: &[(&str, &str)]) -> Result<TableDescriptor> {
        let schema = Schema::new_builder()
            .column("id", DataType::Int)
            .column("name", DataType::Varchar(8))
            .column("ok", DataType::Boolean)
            .build()?;
        let mut builder = TableDescriptor::for_connector("datagen").schema(schema);
        for (key, value) in options {
            builder = builder.option(*key, *value);
        }
        builder.build()
    }

    #[test]
    fn columns_get_their_generators_from_the_options() {
        let d =
            descriptor(&[("fields.id.kind", "sequence"), ("fields.id.start", "5"), ("fields.id.end", "9")]).unwrap();
        let options = d.options();
        let [id, name, ok] = &d.schema().columns() else { panic!("three columns") };
        assert_eq!(field_generator(id, options).unwrap(), FieldGenerator::Sequence { start: 5, end: 9 });
        assert_eq!(field_generator(name, options).unwrap(), FieldGenerator::RandomString { length: 8 });
        assert_eq!(field_generator(ok, options).unwrap(), FieldGenerator::RandomBoolean);
    }

    #[test]
    fn bad_options_are_refused_with_what_to_fix() {
        let error = |options: &[(&str, &str)]| datagen_source(&descriptor(options).unwrap()).err().unwrap().to_string();
        assert!(error(&[("fields.nope.kind", "random")])
            .contains("unsupported options for the 'datagen' connector: fields.nope.kind"));
        assert!(error(&[("fields.id.kind", "sequence")]).contains("needs 'fields.id.start'"));
        assert!(error(&[("fields.id.min", "9"), ("fields.id.max", "1")]).contains("needs min <= max"));
        assert!(error(&[("fields.id.max", "99999999999")]).contains("within"));
        assert!(error(&[("fields.ok.kind", "sequence"), ("fields.ok.start", "1"), ("fields.ok.end", "2")])
            .contains("integer or string column"));
        assert!(error(&[("rows-per-second", "fast")]).contains("'rows-per-second' cannot be 'fast'"));
        assert!(error(&[("fields.id.kind", "zipf")]).contains("'random' and 'sequence'"));
    }
}
