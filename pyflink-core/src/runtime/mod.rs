//! The runtime: the job graph, operator harnesses on timely-dataflow, partitioning, watermark
//! combination, and job execution.

pub(crate) mod activation;
pub(crate) mod alignment;
pub(crate) mod batch_pool;
pub(crate) mod binary;
pub mod client;
pub(crate) mod epochs;
pub(crate) mod graph;
pub(crate) mod input;
pub(crate) mod job;
pub mod operator;
pub mod output;
pub(crate) mod pacing;
pub(crate) mod partition;
pub(crate) mod source_task;
pub(crate) mod source_watermarks;
mod stop;
pub(crate) mod teardown;
pub(crate) mod timestamp;
pub(crate) mod unary;
pub(crate) mod wakeup;
pub mod watermark;

pub use job::panic_message;
pub use stop::StopSignal;
