//! `TO_TIMESTAMP_LTZ(numeric[, precision])`: an epoch time in seconds (precision 0) or
//! milliseconds (precision 3, the default) as a `TIMESTAMP_LTZ(3)`, as Flink's function.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, TimestampMillisecondArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType as ArrowType, Float64Type, Int64Type, TimeUnit};
use datafusion::common::{exec_err, plan_err};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// The `TO_TIMESTAMP_LTZ` function as DataFusion's planner sees it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ToTimestampLtz {
    signature: Signature,
}

impl ToTimestampLtz {
    pub(crate) fn new() -> Self {
        ToTimestampLtz { signature: Signature::variadic_any(Volatility::Immutable) }
    }
}

impl ScalarUDFImpl for ToTimestampLtz {
    fn name(&self) -> &str {
        "to_timestamp_ltz"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[ArrowType]) -> datafusion::common::Result<ArrowType> {
        match arg_types {
            [value] | [value, _] if value.is_numeric() || value.is_null() => {
                Ok(ArrowType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())))
            }
            _ => plan_err!(
                "TO_TIMESTAMP_LTZ takes an epoch time and its precision (0 for seconds, 3 for milliseconds): \
                 TO_TIMESTAMP_LTZ(1700000000123, 3)"
            ),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::common::Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let precision = match arrays.get(1) {
            None => 3,
            Some(precision) => {
                let precision = cast(precision, &ArrowType::Int64)?;
                let precision = precision.as_primitive::<Int64Type>();
                if precision.is_empty() || precision.is_null(0) {
                    return exec_err!("the precision of TO_TIMESTAMP_LTZ is NULL: use 0 or 3");
                }
                precision.value(0)
            }
        };
        let scale = match precision {
            0 => 1000,
            3 => 1,
            other => {
                return exec_err!("the precision of TO_TIMESTAMP_LTZ is {other}: use 0 (seconds) or 3 (milliseconds)")
            }
        };
        let value = &arrays[0];
        let millis: TimestampMillisecondArray = if value.data_type().is_integer() || value.data_type().is_null() {
            let value = cast(value, &ArrowType::Int64)?;
            value.as_primitive::<Int64Type>().iter().map(|v| v.and_then(|v| v.checked_mul(scale))).collect()
        } else {
            let value = cast(value, &ArrowType::Float64)?;
            value.as_primitive::<Float64Type>().iter().map(|v| v.map(|v| (v * scale as f64) as i64)).collect()
        };
        Ok(ColumnarValue::Array(Arc::new(millis.with_timezone("UTC")) as ArrayRef))
    }
}
