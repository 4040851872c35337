//! The DataStream API: environment, streams, keyed and connected streams, user functions.

pub mod connected;
pub mod datastream;
pub mod environment;
pub mod functions;
pub mod keyed;
