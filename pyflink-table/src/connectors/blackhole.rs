//! The `blackhole` connector: a sink that drops every row, to measure a query alone.

use pyflink_core::DataStream;

use crate::batch::ChangeBatch;
use crate::connectors::{TableConnector, TableContext};
use crate::error::Result;

/// Drops what is inserted into its tables; it takes no options.
#[derive(Debug, Clone, Copy, Default)]
pub struct BlackholeConnector;

impl TableConnector for BlackholeConnector {
    fn identifier(&self) -> &str {
        "blackhole"
    }

    fn sink(&self, context: &TableContext<'_>, rows: DataStream<ChangeBatch>) -> Result<()> {
        context.reject_metadata("blackhole")?;
        context.check_options("blackhole", &|_| false, &[])?;
        rows.discard().name(&format!("Sink: {}[blackhole]", context.table_name));
        Ok(())
    }
}
