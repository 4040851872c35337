//! The table a window function call makes, as DataFusion's planner sees it: the input table's
//! columns and the three window columns. The compiler finds the call again in the plan's scan
//! of a [`WindowSource`].

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::{plan_err, ScalarValue};
use datafusion::logical_expr::{Expr, TableSource};

use crate::catalog::Catalog;
use crate::windows::tvf::check_sizes;
use crate::windows::{WindowKind, WindowTvf};

/// The rows of a window function call.
#[derive(Debug)]
pub(crate) struct WindowSource {
    pub(crate) window: WindowTvf,
    /// The input's columns, then `window_start`, `window_end` and `window_time`.
    pub(crate) schema: SchemaRef,
}

impl TableSource for WindowSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// The source of the window function `function` called with `arguments` (as
/// [`super::rewrite_window_calls`] writes them), or `None` if `function` is no window function.
pub(crate) fn window_source(
    catalog: &Catalog,
    function: &str,
    arguments: &[Expr],
) -> Option<datafusion::common::Result<Arc<dyn TableSource>>> {
    let name = function.to_ascii_uppercase();
    if !["TUMBLE", "HOP", "CUMULATE", "SESSION"].contains(&name.as_str()) {
        return None;
    }
    Some(resolve(catalog, &name, arguments).map(|source| Arc::new(source) as Arc<dyn TableSource>))
}

fn resolve(catalog: &Catalog, name: &str, arguments: &[Expr]) -> datafusion::common::Result<WindowSource> {
    let (table, column, mut sizes) = match arguments {
        [table, column, sizes @ ..] => (string(table, name)?, string(column, name)?, sizes),
        _ => return plan_err!("{name} needs a table, a time column and the window's size"),
    };
    // SESSION's partition columns follow its gap.
    let mut partition_names = Vec::new();
    if name == "SESSION" && sizes.len() > 1 {
        partition_names =
            sizes[1..].iter().map(|column| string(column, name)).collect::<datafusion::common::Result<_>>()?;
        sizes = &sizes[..1];
    }
    let sizes = sizes.iter().map(|size| millis(size, name)).collect::<datafusion::common::Result<Vec<_>>>()?;
    let (kind, offset) = match (name, sizes.as_slice()) {
        ("TUMBLE", [size, rest @ ..]) if rest.len() <= 1 => (WindowKind::Tumble { size: *size }, rest.first()),
        ("HOP", [slide, size, rest @ ..]) if rest.len() <= 1 => {
            (WindowKind::Hop { slide: *slide, size: *size }, rest.first())
        }
        ("CUMULATE", [step, size, rest @ ..]) if rest.len() <= 1 => {
            (WindowKind::Cumulate { step: *step, size: *size }, rest.first())
        }
        ("SESSION", [gap]) => (WindowKind::Session { gap: *gap }, None),
        _ => return plan_err!("{name} was called with {} interval arguments", sizes.len()),
    };
    if let Err(message) = check_sizes(&kind) {
        return plan_err!("{message}");
    }
    let Some(input) = catalog.table(&table) else {
        return plan_err!("Object '{table}' not found");
    };
    let Some((time_column, field)) = input.schema.column_with_name(&column) else {
        let columns: Vec<&str> = input.schema.fields().iter().map(|f| f.name().as_str()).collect();
        return plan_err!(
            "the time column '{column}' of {name} is not a column of '{table}'; its columns are {}",
            columns.join(", ")
        );
    };
    let partition = partition_names
        .iter()
        .map(|partition| match input.schema.index_of(partition) {
            Ok(position) => Ok(position),
            Err(_) => plan_err!("the PARTITION BY column '{partition}' of {name} is not a column of '{table}'"),
        })
        .collect::<datafusion::common::Result<Vec<_>>>()?;
    let time_zone = match field.data_type() {
        ArrowType::Timestamp(TimeUnit::Second | TimeUnit::Millisecond, time_zone) => time_zone.clone(),
        other => {
            return plan_err!(
                "The window function requires the timecol to be a time attribute of type TIMESTAMP(p) or \
                 TIMESTAMP_LTZ(p) with p at most 3, but '{column}' is {other}"
            )
        }
    };
    let mut fields: Vec<Field> = input.schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    for window_column in ["window_start", "window_end"] {
        if fields.iter().any(|f| f.name() == window_column) {
            return plan_err!("'{table}' already has a column '{window_column}', which {name} adds");
        }
        fields.push(Field::new(window_column, ArrowType::Timestamp(TimeUnit::Millisecond, None), false));
    }
    fields.push(Field::new("window_time", ArrowType::Timestamp(TimeUnit::Millisecond, time_zone), false));
    let window = WindowTvf { kind, offset: offset.copied().unwrap_or(0), input: table, time_column, partition };
    Ok(WindowSource { window, schema: Arc::new(Schema::new(fields)) })
}

/// A string literal argument.
fn string(argument: &Expr, function: &str) -> datafusion::common::Result<String> {
    match argument {
        Expr::Literal(ScalarValue::Utf8(Some(text)) | ScalarValue::LargeUtf8(Some(text)), _) => Ok(text.clone()),
        other => plan_err!("{function} expects TABLE <name> and DESCRIPTOR(<column>), not {other}"),
    }
}

/// An interval literal argument in milliseconds.
fn millis(argument: &Expr, function: &str) -> datafusion::common::Result<i64> {
    let millis = match argument {
        Expr::Literal(ScalarValue::IntervalMonthDayNano(Some(interval)), _) if interval.months == 0 => {
            Some(i64::from(interval.days) * 86_400_000 + interval.nanoseconds / 1_000_000)
        }
        Expr::Literal(ScalarValue::IntervalDayTime(Some(interval)), _) => {
            Some(i64::from(interval.days) * 86_400_000 + i64::from(interval.milliseconds))
        }
        _ => None,
    };
    match millis {
        Some(millis) => Ok(millis),
        None => plan_err!(
            "the sizes of {function} are intervals of days or less, such as INTERVAL '10' MINUTES, not {argument}"
        ),
    }
}
