//! The DataStream API: environment, streams, keyed, windowed and connected streams, user
//! functions.

pub mod all_windowed;
pub mod broadcast;
pub mod connected;
pub mod datastream;
pub mod environment;
pub mod functions;
pub mod keyed;
pub mod windowed;
