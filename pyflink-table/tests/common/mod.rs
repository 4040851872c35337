//! What the table tests share: applying a changelog to get the table it leaves, cutting rows
//! into batches that arrive one after another, and a connector that reads such batches.

#![allow(dead_code)] // Each test crate uses some of these.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use pyflink_core::table::{Row, RowKind, Value};
use pyflink_core::DataStream;
use pyflink_table::batch::{rows_to_batch, ChangeBatch};
use pyflink_table::connectors::{TableConnector, TableContext};

/// A connector (`'connector' = 'batches'`) whose tables read the batches the test gave them,
/// in order, on one instance.
#[derive(Clone, Default)]
pub struct Batches {
    pub tables: Arc<Mutex<HashMap<String, Vec<RecordBatch>>>>,
}

impl Batches {
    /// Gives table `name` the rows `batches`.
    pub fn insert(&self, name: &str, batches: Vec<RecordBatch>) {
        self.tables.lock().unwrap().insert(name.to_string(), batches);
    }
}

impl TableConnector for Batches {
    fn identifier(&self) -> &str {
        "batches"
    }

    fn source(&self, context: &TableContext<'_>) -> pyflink_table::Result<DataStream<ChangeBatch>> {
        let batches = self.tables.lock().unwrap().get(context.table_name).cloned().unwrap_or_default();
        Ok(context.env.from_collection(batches.into_iter().map(ChangeBatch::inserts).collect()).set_parallelism(1))
    }
}

/// The table a changelog leaves: its rows, sorted. A change that takes back a row the table
/// does not hold fails the test.
pub fn apply(changelog: Vec<Row>) -> Vec<Vec<Value>> {
    let mut table: Vec<Vec<Value>> = Vec::new();
    for row in changelog {
        match row.kind {
            RowKind::Insert | RowKind::UpdateAfter => table.push(row.fields),
            RowKind::UpdateBefore | RowKind::Delete => {
                let position = table.iter().position(|held| *held == row.fields);
                let position = position.unwrap_or_else(|| panic!("{row} takes back a row the table does not have"));
                table.swap_remove(position);
            }
        }
    }
    sorted(table)
}

/// `rows`, sorted (by their debug text, which orders any values).
pub fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by_key(|row| format!("{row:?}"));
    rows
}

/// `rows` as batches of `schema`, cut after as many rows as each of `cuts` says in turn.
pub fn cut_into_batches(rows: &[Row], schema: &SchemaRef, cuts: &[usize]) -> Vec<RecordBatch> {
    let mut batches = Vec::new();
    let mut rest = rows;
    for cut in cuts.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (batch, tail) = rest.split_at((*cut).clamp(1, rest.len()));
        batches.push(rows_to_batch(batch, schema).unwrap());
        rest = tail;
    }
    batches
}
