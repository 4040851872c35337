//! Aggregate functions of the user's (Flink's `AggregateFunction`): a function that keeps an
//! accumulator per group, adds each row's arguments to it (`accumulate`), takes a retracted
//! row's back out (`retract`), merges accumulators of the same group (`merge`) and gives the
//! group's value (`get_value`).
//!
//! The engine keeps accumulators in keyed state without knowing what they are: an
//! accumulator is the function's own object while a job runs, and bytes it made of it
//! in checkpoints and in state backends that store bytes (RocksDB); the function turns such
//! bytes back into its object when it next sees them.
//!
//! For planning, a function is an [`AggregateUDF`] of DataFusion's that only knows its name
//! and result type ([`UserAggregate`]); the streaming aggregates find the function in it.

use std::any::Any;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::ArrayRef;
use datafusion::arrow::datatypes::DataType as ArrowType;
use datafusion::common::{not_impl_err, ScalarValue};
use datafusion::logical_expr::function::AccumulatorArgs;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::batch::serde_bytes_vec;
use crate::error::Result;

/// An accumulator of a user's function, as the function made it. The function changes it in
/// place (through `&self`: a Python object is mutable as it is, a Rust one keeps its fields in a
/// `Mutex` or `Cell`s).
pub trait AccumulatorObject: Send + Sync + fmt::Debug {
    /// The accumulator as bytes, which [`UserAggregateFunction::restore_accumulator`] turns back
    /// into an equal accumulator.
    fn to_bytes(&self) -> Result<Vec<u8>>;

    /// The object, for the function to downcast to its own type.
    fn as_any(&self) -> &dyn Any;
}

/// An aggregate function of the user's. Each method may fail with an error that names the
/// function; the job then fails with it.
pub trait UserAggregateFunction: Send + Sync + fmt::Debug {
    /// The name SQL calls the function by.
    fn name(&self) -> &str;

    /// The type of the function's values.
    fn result_type(&self) -> &ArrowType;

    /// The accumulator of a group without rows.
    fn create_accumulator(&self) -> Result<Arc<dyn AccumulatorObject>>;

    /// The accumulator `bytes` were made of ([`AccumulatorObject::to_bytes`]).
    fn restore_accumulator(&self, bytes: &[u8]) -> Result<Arc<dyn AccumulatorObject>>;

    /// Adds row `row` of the argument columns `arguments` to `accumulator`.
    fn accumulate(&self, accumulator: &dyn AccumulatorObject, arguments: &[ArrayRef], row: usize) -> Result<()>;

    /// Takes row `row` of `arguments`, added before, back out of `accumulator` (for input that
    /// is a changelog, and for OVER windows that slide).
    fn retract(&self, accumulator: &dyn AccumulatorObject, arguments: &[ArrayRef], row: usize) -> Result<()>;

    /// Adds what `other`, an accumulator of the same group over other rows, holds.
    fn merge(&self, accumulator: &dyn AccumulatorObject, other: &dyn AccumulatorObject) -> Result<()>;

    /// The group's value, of [`UserAggregateFunction::result_type`].
    fn get_value(&self, accumulator: &dyn AccumulatorObject) -> Result<ScalarValue>;
}

/// The accumulator of one group of a user's aggregate function, as the engine keeps it: the
/// function's object while rows are added, bytes once written to keyed state (so that a
/// snapshot, which may be encoded after processing went on, never sees later changes).
#[derive(Clone, Debug)]
pub(crate) enum UserAccumulator {
    Live(Arc<dyn AccumulatorObject>),
    Stored(Vec<u8>),
}

impl UserAccumulator {
    /// The function's object, made of the stored bytes first if need be.
    pub(crate) fn object(&mut self, function: &dyn UserAggregateFunction) -> Result<&dyn AccumulatorObject> {
        if let UserAccumulator::Stored(bytes) = self {
            *self = UserAccumulator::Live(function.restore_accumulator(bytes)?);
        }
        match self {
            UserAccumulator::Live(object) => Ok(&**object),
            UserAccumulator::Stored(_) => unreachable!("made live above"),
        }
    }

    /// The accumulator as bytes, to be written to keyed state.
    pub(crate) fn stored(self) -> Result<UserAccumulator> {
        match self {
            UserAccumulator::Live(object) => Ok(UserAccumulator::Stored(object.to_bytes()?)),
            stored => Ok(stored),
        }
    }
}

/// Accumulators are equal when they are the same object, or equal bytes.
impl PartialEq for UserAccumulator {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (UserAccumulator::Live(a), UserAccumulator::Live(b)) => Arc::ptr_eq(a, b),
            (UserAccumulator::Stored(a), UserAccumulator::Stored(b)) => a == b,
            _ => false,
        }
    }
}

impl Serialize for UserAccumulator {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            UserAccumulator::Live(object) => {
                let bytes = object.to_bytes().map_err(|e| serde::ser::Error::custom(e.to_string()))?;
                serializer.serialize_bytes(&bytes)
            }
            UserAccumulator::Stored(bytes) => serializer.serialize_bytes(bytes),
        }
    }
}

impl<'de> Deserialize<'de> for UserAccumulator {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        Ok(UserAccumulator::Stored(serde_bytes_vec(deserializer, "the bytes of an accumulator")?))
    }
}

/// A user's aggregate function as DataFusion plans it: its name and result type. It is never
/// run by DataFusion; the streaming aggregates call [`UserAggregate::function`].
#[derive(Debug)]
pub(crate) struct UserAggregate {
    function: Arc<dyn UserAggregateFunction>,
    signature: Signature,
}

impl UserAggregate {
    pub(crate) fn udaf(function: Arc<dyn UserAggregateFunction>) -> AggregateUDF {
        AggregateUDF::new_from_impl(UserAggregate {
            function,
            signature: Signature::user_defined(Volatility::Volatile),
        })
    }

    /// The function of `udaf`, if it is one of the user's.
    pub(crate) fn of(udaf: &AggregateUDF) -> Option<Arc<dyn UserAggregateFunction>> {
        let inner: &dyn Any = udaf.inner().as_ref();
        inner.downcast_ref::<UserAggregate>().map(|user| Arc::clone(&user.function))
    }
}

/// Functions are the same when they are the same object.
impl PartialEq for UserAggregate {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.function, &other.function)
    }
}

impl Eq for UserAggregate {}

impl Hash for UserAggregate {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.function.name().hash(state);
    }
}

impl AggregateUDFImpl for UserAggregate {
    fn name(&self) -> &str {
        self.function.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The function takes its arguments as they are.
    fn coerce_types(&self, arg_types: &[ArrowType]) -> datafusion::common::Result<Vec<ArrowType>> {
        Ok(arg_types.to_vec())
    }

    fn return_type(&self, _arg_types: &[ArrowType]) -> datafusion::common::Result<ArrowType> {
        Ok(self.function.result_type().clone())
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> datafusion::common::Result<Box<dyn Accumulator>> {
        not_impl_err!("the function {} runs in the streaming aggregates only", self.function.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Bytes(Vec<u8>);

    impl AccumulatorObject for Bytes {
        fn to_bytes(&self) -> Result<Vec<u8>> {
            Ok(self.0.clone())
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    #[test]
    fn accumulators_are_stored_as_the_bytes_their_function_makes() {
        let live = UserAccumulator::Live(Arc::new(Bytes(vec![1, 2, 3])));
        let encoded = bincode::serialize(&live).unwrap();
        let stored: UserAccumulator = bincode::deserialize(&encoded).unwrap();
        assert_eq!(stored, UserAccumulator::Stored(vec![1, 2, 3]));
        assert_eq!(bincode::serialize(&stored).unwrap(), encoded);
        assert_ne!(live, stored);
        assert_eq!(live.clone(), live);
        assert_eq!(live.stored().unwrap(), stored);
    }
}
