//! Table functions (Flink's `TableFunction`, PyFlink's `@udtf`): functions that turn one row into
//! any number of rows, read with `LATERAL TABLE(f(..))` beside the table whose rows they are
//! given:
//!
//! ```sql
//! SELECT line, word FROM lines, LATERAL TABLE(split(line)) AS T(word)
//! SELECT line, word FROM lines LEFT JOIN LATERAL TABLE(split(line)) AS T(word) ON TRUE
//! ```
//!
//! A table function is a DataFusion scalar function whose result, for each row, is a list of
//! rows (`List<Struct<..>>`): the struct's fields are the function's columns. The planner sees
//! `LATERAL TABLE(f(..))` as a scan of a [`LateralSource`], which keeps the call; the compiler
//! joins each row with the rows its call gave (`crate::exec::correlate`).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType as ArrowType, Schema, SchemaRef};
use datafusion::common::plan_err;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TableSource, Volatility,
};

use crate::catalog::Catalog;
use crate::error::{Result, TableError};

/// The rows a table function call gives, as the planner sees them.
#[derive(Debug)]
pub(crate) struct LateralSource {
    /// The call, over the columns of the table beside it.
    pub(crate) call: Expr,
    /// The function's columns.
    pub(crate) schema: SchemaRef,
}

impl TableSource for LateralSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}

/// The columns of the rows `function` gives: the fields of the structs of its result lists.
pub(crate) fn row_schema(function: &ScalarUDF) -> Result<SchemaRef> {
    let not_rows = |found: &str| {
        TableError::Validation(format!(
            "the table function '{}' must give a list of rows (a List of Struct) for each row, not {found}",
            function.name()
        ))
    };
    let result = function.return_type(&[]).map_err(|e| not_rows(&e.strip_backtrace()))?;
    match &result {
        ArrowType::List(item) | ArrowType::LargeList(item) => match item.data_type() {
            ArrowType::Struct(fields) => Ok(Arc::new(Schema::new(fields.clone()))),
            other => Err(not_rows(&format!("a List of {other}"))),
        },
        other => Err(not_rows(&other.to_string())),
    }
}

/// The source of `LATERAL TABLE(f(..))`, which DataFusion's planner asks for as the table
/// function `TABLE` with the call as its argument; `None` if `function` is not `TABLE`.
pub(crate) fn lateral_source(
    catalog: &Catalog,
    function: &str,
    arguments: &[Expr],
) -> Option<datafusion::common::Result<Arc<dyn TableSource>>> {
    if !function.eq_ignore_ascii_case("table") {
        return None;
    }
    let source =
        match arguments {
            [call @ Expr::ScalarFunction(scalar)] => {
                match catalog.functions.table.get(&scalar.func.name().to_ascii_lowercase()) {
                    Some(schema) => Ok(Arc::new(LateralSource { call: call.clone(), schema: Arc::clone(schema) })
                        as Arc<dyn TableSource>),
                    None => plan_err!(
                        "'{}' is not a table function: LATERAL TABLE(..) reads the rows of a table function (a udtf)",
                        scalar.func.name()
                    ),
                }
            }
            _ => plan_err!("LATERAL TABLE(..) takes one call of a table function, such as LATERAL TABLE(split(line))"),
        };
    Some(source)
}

/// The table function that gives the rows of a list of rows it is given as they are: what
/// `flat_aggregate` reads a table aggregate's value (the list of a group's rows) with.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RowsOf {
    name: String,
    rows: ArrowType,
    signature: Signature,
}

impl RowsOf {
    /// The function `name` over lists of type `rows`.
    pub(crate) fn udf(name: String, rows: ArrowType) -> ScalarUDF {
        ScalarUDF::new_from_impl(RowsOf { name, signature: Signature::any(1, Volatility::Immutable), rows })
    }
}

impl ScalarUDFImpl for RowsOf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[ArrowType]) -> datafusion::common::Result<ArrowType> {
        Ok(self.rows.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> datafusion::common::Result<ColumnarValue> {
        match args.args.into_iter().next() {
            Some(rows) => Ok(rows),
            None => plan_err!("{} takes the list of rows to give", self.name),
        }
    }
}
