//! The built-in operators, one per file. Each implements the life cycle of
//! [`OneInputOperator`](crate::runtime::operator::OneInputOperator) or
//! [`TwoInputOperator`](crate::runtime::operator::TwoInputOperator); the runtime drives them.

pub(crate) mod broadcast_process;
pub(crate) mod co_process;
pub(crate) mod filter;
pub(crate) mod flat_map;
pub(crate) mod forward;
pub(crate) mod keyed_process;
pub(crate) mod keyed_reduce;
pub(crate) mod map;
pub(crate) mod process;
pub(crate) mod sink;
pub(crate) mod timestamps;
