//! The Table API, as far as it goes: tables described by a connector, a schema and options
//! ([`TableDescriptor`]), registered by name in a [`StreamTableEnvironment`], and read as data
//! streams of [`Row`]s. The `datagen` connector makes rows of random or sequence values.
//!
//! Queries over tables (SQL and Table API expressions, planned with DataFusion, on streams of
//! Arrow batches) are not here yet; a table becomes a [`DataStream`](crate::DataStream) and the
//! DataStream API takes it from there.

mod datagen;
mod descriptor;
mod environment;
mod row;
mod schema;
pub mod timestamp;
mod types;

pub use descriptor::{TableDescriptor, TableDescriptorBuilder};
pub use environment::{StreamTableEnvironment, Table};
pub use row::{Row, RowKind, Value};
pub use schema::{Column, Schema, SchemaBuilder};
pub use types::DataType;
