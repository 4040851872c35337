//! The functions SQL may call, by every name they answer to: DataFusion's built-in scalar,
//! aggregate and window functions, with Flink's `SUM` and `AVG` in place of DataFusion's, since
//! their result types differ (Flink sums and averages an `INT` column into an `INT`, where
//! DataFusion gives `BIGINT` and `DOUBLE`).
//!
//! The planner only asks these functions for their types; the streaming aggregates that compute
//! them are in [`crate::exec::accumulators`].

pub mod aggregate_function;
pub mod instances;
mod json;
mod map_of;
pub(crate) mod table_function;
mod to_timestamp_ltz;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::common::{not_impl_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, Volatility, WindowUDF,
};

/// The built-in functions, by lower-case name.
#[derive(Debug)]
pub(crate) struct Functions {
    pub(crate) scalar: HashMap<String, Arc<ScalarUDF>>,
    pub(crate) aggregate: HashMap<String, Arc<AggregateUDF>>,
    pub(crate) window: HashMap<String, Arc<WindowUDF>>,
    /// The table functions' columns, by the functions' lower-case names (the functions
    /// themselves are among the scalar ones).
    pub(crate) table: HashMap<String, SchemaRef>,
    /// The lower-case names of the functions the user registered (the ones `DROP FUNCTION`
    /// may remove).
    registered: HashSet<String>,
}

/// A function known by a name and aliases.
trait Named {
    fn names(&self) -> Vec<String>;
}

impl Named for ScalarUDF {
    fn names(&self) -> Vec<String> {
        std::iter::once(self.name()).chain(self.aliases().iter().map(String::as_str)).map(str::to_string).collect()
    }
}

impl Named for AggregateUDF {
    fn names(&self) -> Vec<String> {
        std::iter::once(self.name()).chain(self.aliases().iter().map(String::as_str)).map(str::to_string).collect()
    }
}

impl Named for WindowUDF {
    fn names(&self) -> Vec<String> {
        std::iter::once(self.name()).chain(self.aliases().iter().map(String::as_str)).map(str::to_string).collect()
    }
}

/// `functions` indexed by each of their names, in lower case; a later function takes a name
/// from an earlier one.
fn by_name<F: Named + ?Sized>(functions: impl IntoIterator<Item = Arc<F>>) -> HashMap<String, Arc<F>> {
    let mut index = HashMap::new();
    for function in functions {
        for name in function.names() {
            index.insert(name.to_ascii_lowercase(), Arc::clone(&function));
        }
    }
    index
}

impl Functions {
    pub(crate) fn built_in() -> Self {
        let scalar = datafusion::functions::all_default_functions()
            .into_iter()
            .chain(datafusion::functions_nested::all_default_nested_functions())
            .chain([
                Arc::new(ScalarUDF::new_from_impl(ProcTime::new())),
                Arc::new(ScalarUDF::new_from_impl(json::JsonValue::new())),
                Arc::new(ScalarUDF::new_from_impl(to_timestamp_ltz::ToTimestampLtz::new())),
                Arc::new(ScalarUDF::new_from_impl(map_of::MapOf::new())),
            ]);
        let flink_aggregates = [FlinkAggregate::Sum, FlinkAggregate::Avg]
            .into_iter()
            .map(|function| Arc::new(AggregateUDF::new_from_impl(FlinkAggregateUdf::new(function))));
        let aggregate =
            datafusion::functions_aggregate::all_default_aggregate_functions().into_iter().chain(flink_aggregates);
        Functions {
            scalar: by_name(scalar),
            aggregate: by_name(aggregate),
            window: by_name(datafusion::functions_window::all_default_window_functions()),
            table: HashMap::new(),
            registered: HashSet::new(),
        }
    }

    /// Adds a scalar function of the user's, by its name and aliases, in place of any function
    /// of those names (Flink's temporary system functions shadow built-in ones).
    pub(crate) fn register_scalar(&mut self, function: Arc<ScalarUDF>) {
        for name in function.names() {
            self.table.remove(&name.to_ascii_lowercase());
            self.aggregate.remove(&name.to_ascii_lowercase());
            self.registered.insert(name.to_ascii_lowercase());
            self.scalar.insert(name.to_ascii_lowercase(), Arc::clone(&function));
        }
    }

    /// Whether a function is called `name` (in any case).
    pub(crate) fn contains(&self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        self.scalar.contains_key(&name) || self.aggregate.contains_key(&name) || self.window.contains_key(&name)
    }

    /// Forgets the function `name` the user registered, and the table function it gives rows
    /// to (a table aggregate's); false if the user registered none of that name.
    pub(crate) fn drop(&mut self, name: &str) -> bool {
        let name = name.to_ascii_lowercase();
        if !self.registered.remove(&name) {
            return false;
        }
        let rows = crate::row_functions::rows_function(&name);
        let dropped = self.scalar.remove(&name).is_some() | self.aggregate.remove(&name).is_some();
        self.table.remove(&name);
        self.scalar.remove(&rows);
        self.table.remove(&rows);
        self.registered.remove(&rows);
        dropped
    }

    /// Adds an aggregate function of the user's, in place of any function of its name.
    pub(crate) fn register_aggregate(&mut self, function: Arc<AggregateUDF>) {
        for name in function.names() {
            let name = name.to_ascii_lowercase();
            self.scalar.remove(&name);
            self.table.remove(&name);
            self.registered.insert(name.clone());
            self.aggregate.insert(name, Arc::clone(&function));
        }
    }

    /// Adds a table function of the user's: a scalar function whose result is a list of rows
    /// for each row (see [`table_function`]).
    pub(crate) fn register_table(&mut self, function: Arc<ScalarUDF>) -> crate::error::Result<()> {
        let schema = table_function::row_schema(&function)?;
        self.register_scalar(Arc::clone(&function));
        for name in function.names() {
            self.table.insert(name.to_ascii_lowercase(), Arc::clone(&schema));
        }
        Ok(())
    }
}

/// The aggregate functions whose result types Flink defines differently from DataFusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FlinkAggregate {
    /// `SUM`: of the argument's type (`DECIMAL(38, s)` for decimals).
    Sum,
    /// `AVG`: of the argument's type (integer division for integers; `DECIMAL(38, max(6, s))`).
    Avg,
}

/// A [`FlinkAggregate`] as DataFusion's planner sees it.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkAggregateUdf {
    function: FlinkAggregate,
    signature: Signature,
}

impl FlinkAggregateUdf {
    fn new(function: FlinkAggregate) -> Self {
        FlinkAggregateUdf { function, signature: Signature::user_defined(Volatility::Immutable) }
    }
}

impl AggregateUDFImpl for FlinkAggregateUdf {
    fn name(&self) -> &str {
        match self.function {
            FlinkAggregate::Sum => "sum",
            FlinkAggregate::Avg => "avg",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[ArrowType]) -> datafusion::common::Result<Vec<ArrowType>> {
        match arg_types {
            [single] if single.is_numeric() => Ok(vec![single.clone()]),
            // A literal NULL sums to NULL of type INT, as in Flink.
            [ArrowType::Null] => Ok(vec![ArrowType::Int32]),
            [other] => plan_err!(
                "Cannot apply '{}' to arguments of type '{}'. Supported form(s): '{}(<NUMERIC>)'",
                self.name().to_ascii_uppercase(),
                crate::types::flink_name(other),
                self.name().to_ascii_uppercase()
            ),
            _ => plan_err!("{} takes exactly one argument", self.name().to_ascii_uppercase()),
        }
    }

    fn return_type(&self, arg_types: &[ArrowType]) -> datafusion::common::Result<ArrowType> {
        Ok(match (&arg_types[0], self.function) {
            (ArrowType::Decimal128(_, scale), FlinkAggregate::Sum) => ArrowType::Decimal128(38, *scale),
            (ArrowType::Decimal128(_, scale), FlinkAggregate::Avg) => ArrowType::Decimal128(38, (*scale).max(6)),
            (other, _) => other.clone(),
        })
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> datafusion::common::Result<Box<dyn Accumulator>> {
        not_impl_err!("Flink's {} runs in pyflink-rs's own operators, not in DataFusion's", self.name())
    }
}

/// `PROCTIME()`: the time a row is processed, as `TIMESTAMP_LTZ(3)`. Volatile, so the
/// optimizer never folds it into one constant as it does `NOW()`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ProcTime {
    signature: Signature,
}

impl ProcTime {
    fn new() -> Self {
        ProcTime { signature: Signature::exact(Vec::new(), Volatility::Volatile) }
    }

    /// The type of `PROCTIME()`'s values.
    pub(crate) fn data_type() -> ArrowType {
        ArrowType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
    }
}

impl ScalarUDFImpl for ProcTime {
    fn name(&self) -> &str {
        "proctime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[ArrowType]) -> datafusion::common::Result<ArrowType> {
        Ok(ProcTime::data_type())
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> datafusion::common::Result<ColumnarValue> {
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(Some(now), Some("UTC".into()))))
    }
}
