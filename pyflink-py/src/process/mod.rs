//! Process mode (`python.execution-mode: process`): each parallel instance buffers its records
//! into bundles and a Python worker process (`python -m pyflink_rs.worker`) runs the chained
//! functions over each bundle, so that Python work runs beside the engine's threads without the
//! interpreter's lock.
//!
//! - [`bundled`]: the operators of one-function transformations and the bundle protocol they
//!   share;
//! - [`chain`]: consecutive Python transformations chained into one operator and one worker;
//! - [`process_function`], [`keyed`] and [`reduce`]: `ProcessFunction`s, `KeyedProcessFunction`s
//!   (keyed state and timers kept by the engine) and rolling reduces;
//! - [`worker`]: the engine's side of a worker process.

pub mod bundled;
pub mod chain;
pub mod keyed;
pub mod process_function;
pub mod reduce;
pub mod worker;
