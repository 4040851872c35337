//! `Limit`: `OFFSET` and `FETCH` (`LIMIT`) over rows that are only inserted: the first `skip`
//! rows are dropped and the `fetch` rows after them pass, in arrival order, as Flink's
//! streaming limit without `ORDER BY` does. All rows meet in one instance (one key), which
//! counts them in keyed state, so a job restored from a checkpoint goes on where it was.

use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::{ValueState, ValueStateDescriptor};

use crate::batch::ChangeBatch;
use crate::exec::group_aggregate::flink;
use crate::exec::key_split::GroupKey;
use crate::TableError;

/// Passes the rows at positions `skip..skip + fetch` of its input.
#[derive(Clone)]
pub(crate) struct Limit {
    pub(crate) skip: usize,
    pub(crate) fetch: Option<usize>,
    /// How many rows arrived before.
    seen: Option<ValueState<u64>>,
}

impl Limit {
    pub(crate) fn new(skip: usize, fetch: Option<usize>) -> Self {
        Limit { skip, fetch, seen: None }
    }

    /// The positions of the rows of a batch of `rows` that pass, when `seen` rows came before.
    fn passing(&self, seen: usize, rows: usize) -> std::ops::Range<usize> {
        let end = self.fetch.map_or(usize::MAX, |fetch| self.skip.saturating_add(fetch));
        let from = self.skip.clamp(seen, seen + rows) - seen;
        let to = end.clamp(seen, seen + rows) - seen;
        from..to.max(from)
    }
}

impl KeyedProcessFunction<GroupKey, ChangeBatch, ChangeBatch> for Limit {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, GroupKey>) -> pyflink_core::Result<()> {
        self.seen = Some(context.get_state(&ValueStateDescriptor::new("limitRowCount"))?);
        Ok(())
    }

    fn process_element(
        &mut self,
        changes: ChangeBatch,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        if changes.kinds.is_some() {
            return Err(flink(TableError::Unsupported(
                "LIMIT and FETCH over a table that is updated (a changelog) in queries".into(),
            )));
        }
        let state = self.seen.as_ref().ok_or_else(|| flink(TableError::Execution("Limit not opened".into())))?;
        let seen = state.try_value()?.unwrap_or(0) as usize;
        let rows = changes.len();
        let passing = self.passing(seen, rows);
        state.try_update((seen + rows) as u64)?;
        if passing.is_empty() {
            return Ok(());
        }
        let rows = changes.rows.slice(passing.start, passing.len());
        ctx.collect(ChangeBatch::inserts(rows));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_pass_between_the_offset_and_the_fetch() {
        let limit = Limit::new(2, Some(3));
        assert!(limit.passing(0, 1).is_empty());
        assert_eq!(limit.passing(1, 3), 1..3);
        assert_eq!(limit.passing(3, 10), 0..2);
        assert_eq!(limit.passing(5, 4), 0..0);
        assert_eq!(Limit::new(0, None).passing(7, 4), 0..4);
        assert_eq!(Limit::new(0, Some(0)).passing(0, 4), 0..0);
    }
}
