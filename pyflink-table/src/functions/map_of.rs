//! `map_of(key, value, ...)`, what Flink's `MAP[key, value, ...]` is rewritten into: a map per
//! row of the given entries. DataFusion's own `make_map` is not used because its planner makes
//! it `map(keys, values)`, which fails when constant keys meet values from columns (one entry
//! list against one per row); this one expands constants to every row.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, MapArray, StructArray};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::{DataType as ArrowType, Field, Fields};
use datafusion::common::{exec_err, plan_err};
use datafusion::logical_expr::type_coercion::binary::type_union_resolution;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// The `map_of` function as DataFusion's planner sees it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct MapOf {
    signature: Signature,
}

impl MapOf {
    pub(crate) fn new() -> Self {
        MapOf { signature: Signature::user_defined(Volatility::Immutable) }
    }
}

/// The map type of entries of `key` and `value` types, as DataFusion's maps have it.
fn map_type(key: &ArrowType, value: &ArrowType) -> ArrowType {
    let entries = Fields::from(vec![Field::new("key", key.clone(), false), Field::new("value", value.clone(), true)]);
    ArrowType::Map(Arc::new(Field::new("entries", ArrowType::Struct(entries), false)), false)
}

impl ScalarUDFImpl for MapOf {
    fn name(&self) -> &str {
        "map_of"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[ArrowType]) -> datafusion::common::Result<Vec<ArrowType>> {
        if arg_types.is_empty() || !arg_types.len().is_multiple_of(2) {
            return plan_err!("MAP[...] takes keys and values in pairs: MAP['a', 1, 'b', 2]");
        }
        let keys: Vec<ArrowType> = arg_types.iter().step_by(2).cloned().collect();
        let values: Vec<ArrowType> = arg_types.iter().skip(1).step_by(2).cloned().collect();
        let (Some(key), Some(value)) = (type_union_resolution(&keys), type_union_resolution(&values)) else {
            return plan_err!("the keys, or the values, of MAP[...] have no common type: {arg_types:?}");
        };
        Ok(arg_types.iter().enumerate().map(|(i, _)| if i % 2 == 0 { key.clone() } else { value.clone() }).collect())
    }

    fn return_type(&self, arg_types: &[ArrowType]) -> datafusion::common::Result<ArrowType> {
        match arg_types {
            [key, value, ..] => Ok(map_type(key, value)),
            _ => plan_err!("MAP[...] takes keys and values in pairs: MAP['a', 1, 'b', 2]"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::common::Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays: Vec<ArrayRef> =
            args.args.iter().map(|arg| arg.to_array(rows)).collect::<datafusion::common::Result<_>>()?;
        let pairs = arrays.len() / 2;
        let keys: Vec<&dyn datafusion::arrow::array::Array> = arrays.iter().step_by(2).map(|a| a.as_ref()).collect();
        let values: Vec<&dyn datafusion::arrow::array::Array> =
            arrays.iter().skip(1).step_by(2).map(|a| a.as_ref()).collect();
        // Row r's entries are the r-th key and value of each pair, in order.
        let indices: Vec<(usize, usize)> = (0..rows).flat_map(|row| (0..pairs).map(move |pair| (pair, row))).collect();
        let (keys, values) = (interleave(&keys, &indices)?, interleave(&values, &indices)?);
        if keys.null_count() > 0 {
            return exec_err!("a key of MAP[...] is NULL: map keys cannot be NULL");
        }
        let ArrowType::Map(entries_field, _) = map_type(keys.data_type(), values.data_type()) else {
            return exec_err!("MAP[...] made no map type");
        };
        let ArrowType::Struct(fields) = entries_field.data_type() else {
            return exec_err!("MAP[...] made no entry type");
        };
        let entries = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(pairs, rows));
        let map = MapArray::try_new(entries_field, offsets, entries, None, false)?;
        Ok(ColumnarValue::Array(Arc::new(map)))
    }
}
