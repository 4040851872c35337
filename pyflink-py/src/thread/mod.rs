//! Thread mode, the default: Python functions run through pyo3 in the job's worker threads, on
//! whole input batches at a time, with records kept as Python objects from operator to operator.
//!
//! - [`operators`]: maps, flat maps, filters, reduces, sinks and the other one-function
//!   operators;
//! - [`process_function`]: `ProcessFunction`s on streams that are not keyed;
//! - [`keyed_process`]: `KeyedProcessFunction`s with keyed state and timers;
//! - [`async_wait`]: async I/O (`AsyncDataStream`) over each input batch.

pub mod async_wait;
pub mod keyed_process;
pub mod operators;
pub mod process_function;
