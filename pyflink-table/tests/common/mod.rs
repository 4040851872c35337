//! What the table tests share: applying a changelog to get the table it leaves, and cutting
//! rows into batches that arrive one after another.

#![allow(dead_code)] // Each test crate uses some of these.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use pyflink_core::table::{Row, RowKind, Value};
use pyflink_table::batch::rows_to_batch;

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
