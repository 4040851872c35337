//! `LookupJoin`: joins each row of a stream with the rows of a table looked up by key when the
//! row arrives (Flink's lookup join, `JOIN t FOR SYSTEM_TIME AS OF o.proc_time ON o.k = t.k`).
//! Each parallel instance opens its own [`LookupFunction`] and keeps its own cache of answers
//! when the table asks for one. A row keeps its change kind; a row whose key has a NULL, or
//! that finds nothing, is dropped by an inner join and padded with NULLs by a left join. The
//! table is read as it is at that moment: later changes to it do not change rows already joined.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{
    new_null_array, Array, ArrayRef, BooleanArray, RecordBatch, RecordBatchOptions, UInt32Array,
};
use datafusion::arrow::compute::{cast, concat_batches, filter_record_batch, take};
use datafusion::arrow::datatypes::{DataType as ArrowType, SchemaRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema};
use datafusion::logical_expr::{Expr, Join, JoinType, LogicalPlan};
use datafusion::physical_expr::PhysicalExpr;
use pyflink_core::table::RowKind;
use pyflink_core::{ProcessContext, ProcessFunction, RuntimeContext};

use crate::batch::ChangeBatch;
use crate::catalog::TableData;
use crate::connectors::lookup::{LookupCacheOptions, LookupFunction, LookupTable};
use crate::error::{Result, TableError};
use crate::exec::group_aggregate::flink;
use crate::exec::with_functions::with_functions;
use crate::exec::{evaluate, physical, Compiler, Planned};
use crate::temporal_join::LookupSource;

/// What a lookup join does, shared by its parallel instances.
pub(crate) struct LookupJoinSpec {
    /// The key of each input row, one expression per key column of the table.
    pub(crate) left_keys: Vec<Arc<dyn PhysicalExpr>>,
    /// The key batch given to the lookup: the key columns' names and types.
    pub(crate) key_schema: SchemaRef,
    pub(crate) table: Arc<dyn LookupTable>,
    pub(crate) cache: Option<LookupCacheOptions>,
    pub(crate) max_retries: u32,
    /// A condition on the looked-up rows alone (over all the table's columns).
    pub(crate) right_filter: Option<Arc<dyn PhysicalExpr>>,
    /// The looked-up columns the join keeps, if not all.
    pub(crate) right_projection: Option<Vec<usize>>,
    /// The kept looked-up columns.
    pub(crate) right_schema: SchemaRef,
    /// A condition on each pair of an input row and a looked-up row.
    pub(crate) pair_filter: Option<Arc<dyn PhysicalExpr>>,
    pub(crate) left_join: bool,
    pub(crate) output: SchemaRef,
}

/// A parallel instance of a lookup join.
#[derive(Clone)]
pub(crate) struct LookupJoin {
    spec: Arc<LookupJoinSpec>,
    /// The instance's function and cache, from `open` on.
    state: Option<Arc<Mutex<Instance>>>,
}

impl LookupJoin {
    pub(crate) fn new(spec: Arc<LookupJoinSpec>) -> Self {
        LookupJoin { spec, state: None }
    }
}

struct Instance {
    function: Box<dyn LookupFunction>,
    keys: RowConverter,
    cache: Option<Cache>,
}

impl ProcessFunction<ChangeBatch, ChangeBatch> for LookupJoin {
    fn open(&mut self, _context: &RuntimeContext) -> pyflink_core::Result<()> {
        let spec = &self.spec;
        let function = spec.table.open().map_err(flink)?;
        let fields = spec.key_schema.fields().iter().map(|field| SortField::new(field.data_type().clone())).collect();
        let keys = RowConverter::new(fields).map_err(|e| flink(TableError::execution(e)))?;
        let cache = spec.cache.clone().map(Cache::new);
        self.state = Some(Arc::new(Mutex::new(Instance { function, keys, cache })));
        Ok(())
    }

    fn process_element(
        &mut self,
        batch: ChangeBatch,
        ctx: &mut ProcessContext<'_, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        let Some(state) = &self.state else {
            return Err(flink(TableError::Execution("the lookup join was not opened".into())));
        };
        let mut instance = state.lock().unwrap_or_else(PoisonError::into_inner);
        let joined = self.join(&mut instance, &batch).map_err(flink)?;
        if !joined.is_empty() {
            ctx.collect(joined);
        }
        Ok(())
    }

    fn close(&mut self) -> pyflink_core::Result<()> {
        if let Some(state) = self.state.take() {
            state.lock().unwrap_or_else(PoisonError::into_inner).function.close();
        }
        Ok(())
    }
}

impl LookupJoin {
    /// The rows of `batch` joined with what their keys find.
    fn join(&self, instance: &mut Instance, batch: &ChangeBatch) -> Result<ChangeBatch> {
        let spec = &self.spec;
        let keys = evaluate(&spec.left_keys, &batch.rows)?
            .into_iter()
            .zip(spec.key_schema.fields())
            .map(|(column, field)| cast_key(column, field.data_type()))
            .collect::<Result<Vec<ArrayRef>>>()?;
        let key_rows = instance.keys.convert_columns(&keys).map_err(TableError::execution)?;
        let mut left_rows: Vec<u32> = Vec::new();
        let mut right_parts: Vec<RecordBatch> = Vec::new();
        let mut kinds: Vec<RowKind> = Vec::new();
        for row in 0..batch.len() {
            let found = if keys.iter().any(|key| key.is_null(row)) {
                // A NULL key equals nothing.
                None
            } else {
                let key = key_rows.row(row);
                Some(self.rows_of(instance, key.as_ref(), &keys, row)?)
            };
            let found = found.filter(|rows| rows.num_rows() > 0);
            match found {
                Some(rows) => {
                    let matched = self.matching(batch, row, rows)?;
                    for _ in 0..matched.num_rows() {
                        left_rows.push(row as u32);
                        kinds.push(batch.kind(row));
                    }
                    if matched.num_rows() == 0 && spec.left_join {
                        left_rows.push(row as u32);
                        kinds.push(batch.kind(row));
                        right_parts.push(self.nulls(1)?);
                    } else {
                        right_parts.push(matched);
                    }
                }
                None if spec.left_join => {
                    left_rows.push(row as u32);
                    kinds.push(batch.kind(row));
                    right_parts.push(self.nulls(1)?);
                }
                None => {}
            }
        }
        if left_rows.is_empty() {
            return Ok(ChangeBatch::inserts(RecordBatch::new_empty(Arc::clone(&spec.output))));
        }
        let right = concat_batches(&spec.right_schema, &right_parts).map_err(TableError::execution)?;
        let indices = UInt32Array::from(left_rows);
        let mut columns = taken(&batch.rows, &indices)?;
        columns.extend(right.columns().iter().cloned());
        let rows = RecordBatch::try_new(Arc::clone(&spec.output), columns).map_err(TableError::execution)?;
        let kinds = kinds.iter().any(|kind| *kind != RowKind::Insert).then_some(kinds);
        Ok(ChangeBatch { rows, kinds })
    }

    /// The looked-up rows of `key` (from the cache when it has them), filtered and projected.
    fn rows_of(&self, instance: &mut Instance, key: &[u8], keys: &[ArrayRef], row: usize) -> Result<RecordBatch> {
        if let Some(rows) = instance.cache.as_mut().and_then(|cache| cache.get(key)) {
            return Ok(rows);
        }
        let spec = &self.spec;
        let key_batch = RecordBatch::try_new(
            Arc::clone(&spec.key_schema),
            keys.iter().map(|column| column.slice(row, 1)).collect(),
        )
        .map_err(TableError::execution)?;
        let mut attempt = 0;
        let found = loop {
            match instance.function.lookup(&key_batch) {
                Ok(found) => break found,
                Err(error) if attempt >= spec.max_retries => return Err(error),
                Err(error) => {
                    attempt += 1;
                    tracing::warn!(%error, attempt, "a lookup failed; trying again on a new connection");
                    std::thread::sleep(Duration::from_millis(100 * u64::from(attempt)));
                    instance.function.close();
                    instance.function = spec.table.open()?;
                }
            }
        };
        let found = match &spec.right_filter {
            Some(condition) => {
                let keep = condition.evaluate(&found)?.into_array(found.num_rows())?;
                let keep = keep.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| {
                    TableError::Execution("the condition on the looked-up rows is not a boolean".into())
                })?;
                filter_record_batch(&found, keep).map_err(TableError::execution)?
            }
            None => found,
        };
        let found = match &spec.right_projection {
            Some(columns) => found.project(columns).map_err(TableError::execution)?,
            None => found,
        };
        if let Some(cache) = &mut instance.cache {
            cache.put(key.to_vec(), found.clone());
        }
        Ok(found)
    }

    /// The rows of `found` that pass the join's condition with the input row `row`.
    fn matching(&self, batch: &ChangeBatch, row: usize, found: RecordBatch) -> Result<RecordBatch> {
        let Some(condition) = &self.spec.pair_filter else { return Ok(found) };
        let indices = UInt32Array::from(vec![row as u32; found.num_rows()]);
        let mut columns = taken(&batch.rows, &indices)?;
        columns.extend(found.columns().iter().cloned());
        let pairs = RecordBatch::try_new(Arc::clone(&self.spec.output), columns).map_err(TableError::execution)?;
        let keep = condition.evaluate(&pairs)?.into_array(pairs.num_rows())?;
        let keep = keep
            .as_any()
            .downcast_ref::<BooleanArray>()
            .ok_or_else(|| TableError::Execution("the join condition is not a boolean".into()))?;
        filter_record_batch(&found, keep).map_err(TableError::execution)
    }

    /// `rows` rows of NULLs in the looked-up columns the join keeps.
    fn nulls(&self, rows: usize) -> Result<RecordBatch> {
        let right = Arc::clone(&self.spec.right_schema);
        let columns = right.fields().iter().map(|field| new_null_array(field.data_type(), rows)).collect();
        RecordBatch::try_new_with_options(right, columns, &RecordBatchOptions::new().with_row_count(Some(rows)))
            .map_err(TableError::execution)
    }
}

/// A key column cast to the type of the table's key column.
fn cast_key(column: ArrayRef, data_type: &ArrowType) -> Result<ArrayRef> {
    if column.data_type() == data_type {
        return Ok(column);
    }
    cast(&column, data_type).map_err(TableError::execution)
}

/// The rows of `rows` at `indices`, column by column.
fn taken(rows: &RecordBatch, indices: &UInt32Array) -> Result<Vec<ArrayRef>> {
    rows.columns().iter().map(|column| take(column.as_ref(), indices, None).map_err(TableError::execution)).collect()
}

/// Answers by key, the oldest dropped first when full; an answer is used until it expires.
struct Cache {
    options: LookupCacheOptions,
    entries: HashMap<Vec<u8>, Entry>,
    /// Keys in the order they were put in.
    order: VecDeque<Vec<u8>>,
}

struct Entry {
    rows: RecordBatch,
    written: Instant,
    accessed: Instant,
}

impl Cache {
    fn new(options: LookupCacheOptions) -> Self {
        Cache { options, entries: HashMap::new(), order: VecDeque::new() }
    }

    fn get(&mut self, key: &[u8]) -> Option<RecordBatch> {
        let now = Instant::now();
        let entry = self.entries.get_mut(key)?;
        let expired = |since: Instant, after: Option<Duration>| after.is_some_and(|after| now - since >= after);
        if expired(entry.written, self.options.expire_after_write)
            || expired(entry.accessed, self.options.expire_after_access)
        {
            self.entries.remove(key);
            return None;
        }
        entry.accessed = now;
        Some(entry.rows.clone())
    }

    fn put(&mut self, key: Vec<u8>, rows: RecordBatch) {
        if self.options.max_rows == 0 || (rows.num_rows() == 0 && !self.options.cache_missing_key) {
            return;
        }
        let now = Instant::now();
        if self.entries.insert(key.clone(), Entry { rows, written: now, accessed: now }).is_none() {
            self.order.push_back(key);
        }
        while self.entries.len() > self.options.max_rows {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.entries.remove(&oldest);
                }
                None => break,
            }
        }
        // Keys removed on expiry leave their place in `order`; drop those places now and then.
        if self.order.len() > 2 * self.options.max_rows.max(16) {
            let entries = &self.entries;
            self.order.retain(|key| entries.contains_key(key));
        }
    }
}

/// The right side of a join that reads a table `FOR SYSTEM_TIME AS OF`: the scan, its source,
/// and the conditions on it alone.
pub(crate) struct LookupSide<'p> {
    source: &'p LookupSource,
    filters: Vec<Expr>,
}

/// The lookup table `plan` reads, if it reads one (through aliases, filters and projections
/// of its columns).
pub(crate) fn lookup_side(plan: &LogicalPlan) -> Option<LookupSide<'_>> {
    match plan {
        LogicalPlan::SubqueryAlias(alias) => lookup_side(&alias.input),
        LogicalPlan::Projection(projection) if projection.expr.iter().all(|expr| matches!(expr, Expr::Column(_))) => {
            lookup_side(&projection.input)
        }
        LogicalPlan::Filter(filter) => {
            let mut side = lookup_side(&filter.input)?;
            side.filters.push(filter.predicate.clone());
            Some(side)
        }
        LogicalPlan::TableScan(scan) => {
            let source = scan.source.downcast_ref::<LookupSource>()?;
            Some(LookupSide { source, filters: scan.filters.clone() })
        }
        _ => None,
    }
}

/// `expr` with its columns unqualified, to be read against the lookup table's own columns.
fn unqualified(expr: Expr) -> Result<Expr> {
    Ok(expr
        .transform(|expr| match expr {
            Expr::Column(column) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(column.name)))),
            other => Ok(Transformed::no(other)),
        })
        .map_err(|e| TableError::Validation(e.strip_backtrace()))?
        .data)
}

impl Compiler<'_> {
    /// A join whose right side is read `FOR SYSTEM_TIME AS OF`: each row of the left side
    /// joined with the right side's rows looked up by the join's equality keys.
    pub(super) fn lookup_join(&self, join: &Join, side: LookupSide<'_>) -> Result<Planned> {
        let left_join = match join.join_type {
            JoinType::Inner => false,
            JoinType::Left => true,
            other => {
                return Err(TableError::Unsupported(format!(
                    "{other} lookup joins: a table read FOR SYSTEM_TIME AS OF is joined by an INNER or LEFT join"
                )))
            }
        };
        let name = &side.source.table;
        let Some(TableData::Connector(table)) = self.catalog.table(name).map(|found| &found.data) else {
            return Err(crate::catalog::table_not_found(name));
        };
        if table.read_schema != table.schema {
            return Err(TableError::Unsupported(format!(
                "a lookup join on table '{name}', which has computed columns: look up a table of physical columns"
            )));
        }
        let lookup_columns = DFSchema::try_from(table.schema.as_ref().clone())?;
        let mut key_positions = Vec::new();
        let mut left_keys = Vec::new();
        for (left, right) in &join.on {
            let column = match right {
                Expr::Column(column) => column,
                Expr::Cast(cast) => match cast.expr.as_ref() {
                    Expr::Column(column) => column,
                    _ => return Err(lookup_key_error(name, right)),
                },
                _ => return Err(lookup_key_error(name, right)),
            };
            let position = table.schema.index_of(&column.name).map_err(|_| lookup_key_error(name, right))?;
            key_positions.push(position);
            left_keys.push(physical(left, join.left.schema())?);
        }
        if key_positions.is_empty() {
            return Err(TableError::Validation(format!(
                "Temporal table join requires an equality condition on fields of table '{name}': join it ON a \
                 column of the left side = a column of '{name}'"
            )));
        }
        let key_schema = Arc::new(table.schema.project(&key_positions).map_err(TableError::execution)?);
        let connector = self.catalog.connectors.of_table(name, &table.definition.options)?;
        let (lookup_table, options) =
            connector.lookup(&table.context(self.env, self.streaming, false), &key_positions)?;
        let right_filter = side
            .filters
            .iter()
            .cloned()
            .reduce(Expr::and)
            .map(|predicate| physical(&unqualified(predicate)?, &lookup_columns))
            .transpose()?;
        let pair_schema = join.left.schema().join(join.right.schema())?;
        let pair_filter = join.filter.as_ref().map(|filter| physical(filter, &pair_schema)).transpose()?;
        let output = Arc::new(join.schema.as_arrow().clone());
        // The output's right columns: those of the right side, nullable in a left join.
        let left_width = join.left.schema().fields().len();
        let right_schema = Arc::new(
            output.project(&(left_width..output.fields().len()).collect::<Vec<_>>()).map_err(TableError::execution)?,
        );
        // The right side's columns are the table's, by name (aliases only change qualifiers).
        let right_projection = right_schema
            .fields()
            .iter()
            .map(|field| table.schema.index_of(field.name()).map_err(TableError::execution))
            .collect::<Result<Vec<usize>>>()?;
        let spec = Arc::new(LookupJoinSpec {
            left_keys,
            key_schema,
            table: lookup_table,
            cache: options.cache,
            max_retries: options.max_retries,
            right_filter,
            right_projection: Some(right_projection),
            right_schema,
            pair_filter,
            left_join,
            output: Arc::clone(&output),
        });
        let left = self.build(&join.left)?;
        let condition: Vec<String> = join.on.iter().map(|(left, right)| format!("=({left}, {right})")).collect();
        let stream = left.stream.process(with_functions(LookupJoin::new(spec))).name(&format!(
            "LookupJoin(table=[default_catalog.default_database.{name}], joinType=[{}], lookup=[{}], \
                 period=[{}])",
            if left_join { "LeftOuterJoin" } else { "InnerJoin" },
            condition.join(", "),
            side.source.time_column
        ));
        Ok(Planned { stream, schema: output, updates: left.updates })
    }
}

fn lookup_key_error(table: &str, key: &Expr) -> TableError {
    TableError::Validation(format!(
        "the lookup join on '{table}' finds its rows by columns of '{table}' equal to values of the left side; \
         {key} is no column of '{table}'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{Field, Schema};

    fn rows(n: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("v", ArrowType::Int64, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from_iter_values(0..n as i64))]).unwrap()
    }

    fn options(max_rows: usize, expire_after_write: Option<Duration>) -> LookupCacheOptions {
        LookupCacheOptions { max_rows, expire_after_write, expire_after_access: None, cache_missing_key: false }
    }

    #[test]
    fn the_cache_keeps_the_newest_keys_and_not_missing_ones() {
        let mut cache = Cache::new(options(2, None));
        for key in [b"a", b"b", b"c"] {
            cache.put(key.to_vec(), rows(1));
        }
        assert!(cache.get(b"a").is_none());
        assert_eq!(cache.get(b"c").map(|rows| rows.num_rows()), Some(1));
        cache.put(b"missing".to_vec(), rows(0));
        assert!(cache.get(b"missing").is_none());
    }

    #[test]
    fn an_answer_expires_after_it_was_written() {
        let mut cache = Cache::new(options(10, Some(Duration::from_millis(20))));
        cache.put(b"a".to_vec(), rows(2));
        assert!(cache.get(b"a").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.get(b"a").is_none());
    }
}
