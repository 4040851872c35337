//! The exchange by key of table operators: [`KeySplit`] evaluates the key columns (and the
//! columns the keyed operator reads) of each batch and splits it by the parallel instance that
//! owns each row's key, so that a keyed operator (a group aggregate, a session window, an OVER
//! aggregate) gets batches of its own keys, each with one of them to route it by.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::physical_expr::expressions::Column as ColumnExpr;
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::{
    DataStream, KeyedProcessContext, KeyedProcessFunction, ProcessContext, ProcessFunction, RuntimeContext,
};
use pyflink_state::key_group::{operator_index_for_key_group, stable_hash};
use pyflink_state::KeyGroupAssigner;
use serde::{Deserialize, Serialize};

use crate::batch::{take_rows, ChangeBatch};
use crate::error::{Result, TableError};
use crate::exec::evaluate;
use crate::exec::group_aggregate::flink;

/// The encoded group key of a row (Arrow's row format of the group columns): equal keys are
/// equal bytes, so it is the key of the aggregate's keyed state.
pub(crate) type GroupKey = Vec<u8>;

/// A batch of rows whose keys all belong to one aggregate instance, with one of those keys,
/// by which the exchange routes the batch to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyedChanges {
    pub(crate) route: GroupKey,
    pub(crate) changes: ChangeBatch,
}

/// The columns a keyed operator reads: its keys, then other columns (arguments), each an
/// expression over the operator's input.
pub(crate) struct KeyColumns {
    pub(crate) keys: Vec<Arc<dyn PhysicalExpr>>,
    pub(crate) arguments: Vec<Arc<dyn PhysicalExpr>>,
    /// The schema of the batches the keyed operator gets: keys, then arguments.
    pub(crate) keyed_schema: SchemaRef,
}

impl KeyColumns {
    /// The columns `keys` and then `arguments`, over rows of `input`.
    pub(crate) fn new(
        keys: Vec<Arc<dyn PhysicalExpr>>,
        arguments: Vec<Arc<dyn PhysicalExpr>>,
        input: &Schema,
    ) -> Result<Self> {
        let mut expressions = keys.clone();
        expressions.extend(arguments.iter().cloned());
        let names = (0..keys.len()).map(|i| format!("key{i}")).chain((0..arguments.len()).map(|i| format!("arg{i}")));
        let keyed_schema = schema_of(&expressions, names, input)?;
        Ok(KeyColumns { keys, arguments, keyed_schema })
    }

    /// The columns at `key` of rows of `schema`, then every column of the row: for keyed
    /// operators that keep or pass on whole rows.
    pub(crate) fn whole_rows(schema: &SchemaRef, key: &[usize]) -> Result<Self> {
        let column = |i: usize| Arc::new(ColumnExpr::new(schema.field(i).name(), i)) as Arc<dyn PhysicalExpr>;
        let keys = key.iter().map(|&i| column(i)).collect();
        let all = (0..schema.fields().len()).map(column).collect();
        KeyColumns::new(keys, all, schema)
    }

    pub(crate) fn key_count(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn converter(&self) -> Result<RowConverter> {
        let fields = self.keyed_schema.fields()[..self.key_count()]
            .iter()
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        RowConverter::new(fields).map_err(|e| TableError::Execution(e.to_string()))
    }

    /// The group keys of the rows of `batch` (keys first, then arguments).
    pub(crate) fn group_keys(&self, converter: &mut RowConverter, batch: &RecordBatch) -> Result<GroupKeys> {
        if self.key_count() == 0 {
            return Ok(GroupKeys::Global);
        }
        converter
            .convert_columns(&batch.columns()[..self.key_count()])
            .map(GroupKeys::Encoded)
            .map_err(|e| TableError::Execution(e.to_string()))
    }
}

/// The group key of each row of a batch.
pub(crate) enum GroupKeys {
    /// Keys encoded in Arrow's row format.
    Encoded(Rows),
    /// No GROUP BY keys: every row is in the one group, whose key is empty.
    Global,
}

impl GroupKeys {
    #[inline]
    pub(crate) fn key(&self, row: usize) -> &[u8] {
        match self {
            GroupKeys::Encoded(rows) => rows.row(row).data(),
            GroupKeys::Global => &[],
        }
    }
}

/// The positions `rows` of a batch whose keys are `keys`, grouped by key: each key with its
/// rows in their order, keys in the order they first appear.
pub(crate) fn rows_by_key(keys: &GroupKeys, rows: impl IntoIterator<Item = usize>) -> Vec<(GroupKey, Vec<u32>)> {
    let mut groups: Vec<(GroupKey, Vec<u32>)> = Vec::new();
    let mut index: HashMap<&[u8], usize> = HashMap::new();
    for row in rows {
        let key = keys.key(row);
        let slot = *index.entry(key).or_insert_with(|| {
            groups.push((key.to_vec(), Vec::new()));
            groups.len() - 1
        });
        groups[slot].1.push(row as u32);
    }
    groups
}

/// The schema of `expressions` evaluated over `input`, named `names`.
fn schema_of(
    expressions: &[Arc<dyn PhysicalExpr>],
    names: impl Iterator<Item = String>,
    input: &Schema,
) -> Result<SchemaRef> {
    let fields = expressions
        .iter()
        .zip(names)
        .map(|(expression, name)| {
            let data_type = expression.data_type(input).map_err(|e| TableError::Validation(e.strip_backtrace()))?;
            Ok(Field::new(name, data_type, true))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// The upstream half: evaluates keys and arguments and splits each batch by the aggregate
/// instance that owns each row's key.
pub(crate) struct KeySplit {
    columns: Arc<KeyColumns>,
    converter: Option<RowConverter>,
    /// The aggregate instance that owns each key group.
    owners: Vec<usize>,
    assigner: KeyGroupAssigner,
    /// The rows bound for each instance, reused between batches.
    by_owner: Vec<Vec<u32>>,
    scratch: Vec<u8>,
    /// The parallelism of the keyed operator, when it is not this operator's.
    target: Option<usize>,
}

impl KeySplit {
    pub(crate) fn new(columns: Arc<KeyColumns>) -> Self {
        KeySplit::for_parallelism(columns, None)
    }

    /// A split for a keyed operator of `target` instances (this operator's number when `None`).
    pub(crate) fn for_parallelism(columns: Arc<KeyColumns>, target: Option<usize>) -> Self {
        KeySplit {
            target,
            columns,
            converter: None,
            owners: Vec::new(),
            assigner: KeyGroupAssigner::new(1),
            by_owner: Vec::new(),
            scratch: Vec::new(),
        }
    }

    fn split(&mut self, input: ChangeBatch, ctx: &mut ProcessContext<'_, KeyedChanges>) -> Result<()> {
        let mut expressions = self.columns.keys.clone();
        expressions.extend(self.columns.arguments.iter().cloned());
        let columns = evaluate(&expressions, &input.rows)?;
        let keyed = RecordBatch::try_new(Arc::clone(&self.columns.keyed_schema), columns)
            .map_err(|e| TableError::Execution(e.to_string()))?;
        let converter = self.converter.as_mut().ok_or_else(|| TableError::Execution("KeySplit not opened".into()))?;
        let rows = self.columns.group_keys(converter, &keyed)?;
        if self.by_owner.len() == 1 {
            // One aggregate instance owns every key.
            if keyed.num_rows() > 0 {
                let route = rows.key(0).to_vec();
                ctx.collect(KeyedChanges { route, changes: ChangeBatch { rows: keyed, kinds: input.kinds } });
            }
            return Ok(());
        }
        for owner in &mut self.by_owner {
            owner.clear();
        }
        for index in 0..keyed.num_rows() {
            self.scratch.clear();
            self.scratch.extend_from_slice(rows.key(index));
            let owner = self.owners[self.assigner.group_of(stable_hash(&self.scratch))];
            self.by_owner[owner].push(index as u32);
        }
        for indices in self.by_owner.iter().filter(|indices| !indices.is_empty()) {
            let route = rows.key(indices[0] as usize).to_vec();
            let changes = if indices.len() == keyed.num_rows() {
                ChangeBatch { rows: keyed.clone(), kinds: input.kinds.clone() }
            } else {
                let kinds = input.kinds.as_ref().map(|kinds| indices.iter().map(|&i| kinds[i as usize]).collect());
                ChangeBatch { rows: take_rows(&keyed, indices.clone())?, kinds }
            };
            ctx.collect(KeyedChanges { route, changes });
        }
        Ok(())
    }
}

/// Each parallel instance starts from the spec alone; `open` makes the rest.
impl Clone for KeySplit {
    fn clone(&self) -> Self {
        KeySplit::for_parallelism(Arc::clone(&self.columns), self.target)
    }
}

impl ProcessFunction<ChangeBatch, KeyedChanges> for KeySplit {
    fn open(&mut self, context: &RuntimeContext) -> pyflink_core::Result<()> {
        // The keyed operator runs at this operator's parallelism (unless told another) and max
        // parallelism.
        let parallelism = self.target.unwrap_or_else(|| context.get_number_of_parallel_subtasks());
        let max_parallelism = context.get_max_number_of_parallel_subtasks();
        self.owners = (0..max_parallelism)
            .map(|group| operator_index_for_key_group(group, max_parallelism, parallelism))
            .collect();
        self.assigner = KeyGroupAssigner::new(max_parallelism);
        self.by_owner = vec![Vec::new(); parallelism];
        self.converter = Some(self.columns.converter().map_err(flink)?);
        Ok(())
    }

    fn process_element(
        &mut self,
        value: ChangeBatch,
        ctx: &mut ProcessContext<'_, KeyedChanges>,
    ) -> pyflink_core::Result<()> {
        self.split(value, ctx).map_err(flink)
    }
}

/// Flink's keyed shuffle before an upserting sink: `rows` (of `schema`) exchanged by the
/// values of the columns at `key`, so that every change of one key reaches the same one of the
/// sink's `parallelism` instances, in the order it was made. The sink that follows must run at
/// `parallelism`.
pub fn exchange_by_key(
    rows: DataStream<ChangeBatch>,
    schema: &SchemaRef,
    key: &[usize],
    parallelism: usize,
) -> Result<DataStream<ChangeBatch>> {
    let columns = Arc::new(KeyColumns::whole_rows(schema, key)?);
    let drop_keys = DropKeys { keys: key.len(), schema: Arc::clone(schema) };
    // The split runs beside its input, so that the changes of a key leave it in their order.
    Ok(rows
        .process(KeySplit::for_parallelism(columns, Some(parallelism)))
        .name("KeySplit(sink key)")
        .inherit_parallelism()
        .key_by(|changes: &KeyedChanges| changes.route.clone())
        .process(drop_keys)
        .name("Exchange(sink key)")
        .set_parallelism(parallelism))
}

/// The rows of keyed changes without their leading key columns.
#[derive(Clone)]
struct DropKeys {
    keys: usize,
    schema: SchemaRef,
}

impl KeyedProcessFunction<GroupKey, KeyedChanges, ChangeBatch> for DropKeys {
    fn process_element(
        &mut self,
        value: KeyedChanges,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let KeyedChanges { changes, .. } = value;
        let columns = changes.rows.columns()[self.keys..].to_vec();
        let rows = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| flink(TableError::Execution(e.to_string())))?;
        ctx.collect(ChangeBatch { rows, kinds: changes.kinds });
        Ok(())
    }
}
