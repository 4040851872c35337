//! `ChangelogNormalize`: an upsert stream made a full changelog, as Flink's planner does after
//! a source that reads upserts (`upsert-kafka`). The upsert stream says only the latest row of
//! each key (`+I` or `+U`) and that a key was deleted (`-D`, with its key columns); the
//! operator keeps each key's last row in keyed state and emits what a changelog consumer needs:
//! `+I` for a key's first row, `-U` of the old row and `+U` of the new one for a change, `-D`
//! of the old row for a deletion. A row equal to the one kept, and a deletion of a key that has
//! no row, change nothing and emit nothing.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::row::{RowConverter, SortField};
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::table::RowKind;
use pyflink_core::{DataStream, ValueState, ValueStateDescriptor};

use crate::batch::ChangeBatch;
use crate::error::{Result, TableError};
use crate::exec::group_aggregate::flink;
use crate::exec::key_split::{GroupKey, KeyColumns, KeySplit, KeyedChanges};

/// The full changelog of `upserts`, an upsert stream of rows of `schema` whose key is the
/// columns at `key`, normalized by `parallelism` instances that each keep the last row of
/// their keys.
///
/// The upserts are split by key beside their input, so that the changes of one key reach their
/// instance in the order they were read.
pub fn normalize_changelog(
    upserts: DataStream<ChangeBatch>,
    schema: &SchemaRef,
    key: &[usize],
    parallelism: usize,
) -> Result<DataStream<ChangeBatch>> {
    let columns = Arc::new(KeyColumns::whole_rows(schema, key)?);
    let names: Vec<&str> = key.iter().map(|&i| schema.field(i).name().as_str()).collect();
    let normalize = ChangelogNormalize::new(Arc::clone(&columns), Arc::clone(schema));
    Ok(upserts
        .process(KeySplit::for_parallelism(columns, Some(parallelism)))
        .name("KeySplit(upsert key)")
        .inherit_parallelism()
        .key_by(|changes: &KeyedChanges| changes.route.clone())
        .process(normalize)
        .name(&format!("ChangelogNormalize(key=[{}])", names.join(", ")))
        .set_parallelism(parallelism))
}

/// The keyed half: each key's last row (Arrow's row format of all its columns) in keyed state.
struct ChangelogNormalize {
    /// The key columns, then every column of the row, of the batches it gets.
    columns: Arc<KeyColumns>,
    /// The schema of the rows it emits.
    schema: SchemaRef,
    keys: Option<RowConverter>,
    rows: Option<RowConverter>,
    last_row: Option<ValueState<Vec<u8>>>,
}

impl ChangelogNormalize {
    fn new(columns: Arc<KeyColumns>, schema: SchemaRef) -> Self {
        ChangelogNormalize { columns, schema, keys: None, rows: None, last_row: None }
    }

    fn normalize(
        &mut self,
        changes: &ChangeBatch,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        let not_open = || TableError::Execution("ChangelogNormalize not opened".into());
        let (Some(keys), Some(rows), Some(last_row)) = (self.keys.as_mut(), self.rows.as_ref(), self.last_row.as_ref())
        else {
            return Err(not_open());
        };
        let key_count = self.columns.key_count();
        let group_keys = self.columns.group_keys(keys, &changes.rows)?;
        let encoded = rows
            .convert_columns(&changes.rows.columns()[key_count..])
            .map_err(|e| TableError::Execution(e.to_string()))?;
        let state_error = |e: pyflink_state::StateError| TableError::Execution(e.to_string());
        let mut kinds = Vec::new();
        let mut emitted: Vec<Vec<u8>> = Vec::new();
        for index in 0..changes.len() {
            ctx.set_current_key(group_keys.key(index).to_vec());
            let previous = last_row.try_value().map_err(state_error)?;
            match changes.kind(index) {
                RowKind::Insert | RowKind::UpdateAfter => {
                    let row = encoded.row(index);
                    match previous {
                        None => kinds.push(RowKind::Insert),
                        Some(previous) if previous.as_slice() == row.as_ref() => continue,
                        Some(previous) => {
                            kinds.extend([RowKind::UpdateBefore, RowKind::UpdateAfter]);
                            emitted.push(previous);
                        }
                    }
                    emitted.push(row.as_ref().to_vec());
                    last_row.try_update(row.as_ref().to_vec()).map_err(state_error)?;
                }
                RowKind::Delete | RowKind::UpdateBefore => {
                    if let Some(previous) = previous {
                        kinds.push(RowKind::Delete);
                        emitted.push(previous);
                        last_row.try_clear().map_err(state_error)?;
                    }
                }
            }
        }
        if kinds.is_empty() {
            return Ok(());
        }
        let parser = rows.parser();
        let columns = rows
            .convert_rows(emitted.iter().map(|row| parser.parse(row)))
            .map_err(|e| TableError::Execution(e.to_string()))?;
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| TableError::Execution(format!("the normalized rows do not fit the table's schema: {e}")))?;
        let all_inserts = kinds.iter().all(|kind| *kind == RowKind::Insert);
        ctx.collect(ChangeBatch { rows: batch, kinds: (!all_inserts).then_some(kinds) });
        Ok(())
    }
}

/// Each parallel instance starts from the spec alone; `open` makes the rest.
impl Clone for ChangelogNormalize {
    fn clone(&self) -> Self {
        ChangelogNormalize::new(Arc::clone(&self.columns), Arc::clone(&self.schema))
    }
}

impl KeyedProcessFunction<GroupKey, KeyedChanges, ChangeBatch> for ChangelogNormalize {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, GroupKey>) -> pyflink_core::Result<()> {
        self.keys = Some(self.columns.converter().map_err(flink)?);
        let fields = self.schema.fields().iter().map(|field| SortField::new(field.data_type().clone())).collect();
        self.rows = Some(RowConverter::new(fields).map_err(|e| flink(TableError::Execution(e.to_string())))?);
        self.last_row = Some(context.get_state(&ValueStateDescriptor::new("changelogNormalize"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        value: KeyedChanges,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.normalize(&value.changes, ctx).map_err(flink)
    }
}
