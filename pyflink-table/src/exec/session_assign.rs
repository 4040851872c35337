//! `SessionAssign`: the rows of a `SESSION` window function call. Sessions are known only
//! once they end, so each partition's rows wait in keyed state with the partition's open
//! sessions; when the watermark passes a session's end, its rows go on with the session's
//! `window_start`, `window_end` and `window_time`, before the watermark does, so that a window
//! aggregate after it counts them in time.
//!
//! A row at `t` opens the session `[t, t + gap)`, which merges with every open session of its
//! partition that it overlaps or touches, as Flink's session windows merge. A row whose session,
//! merged, has already ended by the watermark is late and dropped.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::SchemaRef;
use pyflink_core::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext};
use pyflink_core::{ListState, ListStateDescriptor, ValueState, ValueStateDescriptor};

use crate::batch::{take_rows, ChangeBatch};
use crate::error::{Result, TableError};
use crate::exec::group_aggregate::flink;
use crate::exec::key_split::{rows_by_key, GroupKey, KeyColumns, KeyedChanges};
use crate::exec::watermarks::{millis, row_times};
use crate::exec::window_assign::with_window_columns;

/// A session of a partition: `[start, end)`.
type Session = (i64, i64);

/// Holds each partition's rows until their sessions end.
pub(crate) struct SessionAssign {
    /// The partition keys, then the input's columns.
    columns: Arc<KeyColumns>,
    gap: i64,
    /// The position of the time column among the input's columns.
    time_column: usize,
    /// The input's columns and the three window columns.
    schema: SchemaRef,
    sessions: Option<ValueState<Vec<Session>>>,
    rows: Option<ListState<ChangeBatch>>,
    late_rows: Option<pyflink_core::metrics::Counter>,
}

impl SessionAssign {
    pub(crate) fn new(columns: Arc<KeyColumns>, gap: i64, time_column: usize, schema: SchemaRef) -> Self {
        SessionAssign { columns, gap, time_column, schema, sessions: None, rows: None, late_rows: None }
    }

    fn state(&self) -> Result<(&ValueState<Vec<Session>>, &ListState<ChangeBatch>)> {
        match (&self.sessions, &self.rows) {
            (Some(sessions), Some(rows)) => Ok((sessions, rows)),
            _ => Err(TableError::Execution("SessionAssign not opened".into())),
        }
    }

    /// The input's columns of the rows `positions` of `keyed` (whose key columns come first).
    fn input_rows(&self, keyed: &RecordBatch, positions: Vec<u32>) -> Result<RecordBatch> {
        let columns = keyed.columns()[self.columns.key_count()..].to_vec();
        let fields: Vec<_> = self.schema.fields()[..columns.len()].to_vec();
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        let input = RecordBatch::try_new(schema, columns).map_err(TableError::execution)?;
        if positions.len() == input.num_rows() {
            return Ok(input);
        }
        take_rows(&input, positions)
    }

    /// Adds the rows of one batch to the sessions of their partitions.
    fn add_rows(
        &mut self,
        changes: &ChangeBatch,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> Result<()> {
        if changes.kinds.is_some() {
            return Err(TableError::Unsupported(
                "SESSION over a table that is updated (a changelog) in queries; window functions read tables that are \
                 only appended to"
                    .into(),
            ));
        }
        let keyed = &changes.rows;
        let times = row_times(keyed.column(self.columns.key_count() + self.time_column))?;
        let mut converter = self.columns.converter()?;
        let keys = self.columns.group_keys(&mut converter, keyed)?;
        let partitions = rows_by_key(&keys, 0..keyed.num_rows());
        let watermark = ctx.timer_service().current_watermark();
        let mut late = 0;
        for (key, rows) in partitions {
            ctx.set_current_key(key);
            let (sessions_state, _) = self.state()?;
            let mut sessions = sessions_state.try_value().map_err(TableError::execution)?.unwrap_or_default();
            let mut kept = Vec::with_capacity(rows.len());
            for row in rows {
                let time = times.value(row as usize);
                match merge(&mut sessions, (time, time + self.gap), watermark) {
                    Merged::Late => late += 1,
                    Merged::Into { ended, new_end } => {
                        let mut timers = ctx.timer_service();
                        for end in ended {
                            timers.delete_event_time_timer(end - 1);
                        }
                        timers.register_event_time_timer(new_end - 1);
                        kept.push(row);
                    }
                }
            }
            if kept.is_empty() {
                continue;
            }
            let rows = self.input_rows(keyed, kept)?;
            let (sessions_state, rows_state) = self.state()?;
            sessions_state.try_update(sessions).map_err(TableError::execution)?;
            rows_state.add(ChangeBatch::inserts(rows)).map_err(TableError::execution)?;
        }
        if let Some(counter) = self.late_rows.as_ref().filter(|_| late > 0) {
            counter.inc_by(late);
        }
        Ok(())
    }

    /// The current partition's sessions that ended by `time`: their rows go on, with their
    /// windows; the others stay.
    fn close_sessions(&mut self, time: i64, ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>) -> Result<()> {
        let (sessions_state, rows_state) = self.state()?;
        let sessions = sessions_state.try_value().map_err(TableError::execution)?.unwrap_or_default();
        let (ended, open): (Vec<Session>, Vec<Session>) = sessions.into_iter().partition(|(_, end)| end - 1 <= time);
        if ended.is_empty() {
            return Ok(());
        }
        let batches = rows_state.get().map_err(TableError::execution)?;
        let Some(first) = batches.first() else { return Ok(()) };
        let rows = concat_batches(&first.rows.schema(), batches.iter().map(|batch| &batch.rows))
            .map_err(|e| TableError::Execution(e.to_string()))?;
        let times = millis(rows.column(self.time_column))?;
        let (mut closed, mut starts, mut ends, mut waiting) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (row, &time) in times.values().iter().enumerate() {
            match ended.iter().find(|(start, end)| *start <= time && time < *end) {
                Some(&(start, end)) => {
                    closed.push(row as u32);
                    starts.push(start);
                    ends.push(end);
                }
                None => waiting.push(row as u32),
            }
        }
        if open.is_empty() {
            sessions_state.try_clear().map_err(TableError::execution)?;
            rows_state.clear().map_err(TableError::execution)?;
        } else {
            sessions_state.try_update(open).map_err(TableError::execution)?;
            rows_state.update(vec![ChangeBatch::inserts(take_rows(&rows, waiting)?)]).map_err(TableError::execution)?;
        }
        if closed.is_empty() {
            return Ok(());
        }
        let columns = take_rows(&rows, closed)?.columns().to_vec();
        let output = with_window_columns(&self.schema, columns, starts, ends)?;
        ctx.collect(ChangeBatch::inserts(output));
        Ok(())
    }
}

/// What adding a row's session to a partition's sessions did.
#[derive(Debug, PartialEq)]
enum Merged {
    /// The session, merged, ended by the watermark: the row is late.
    Late,
    /// The row is in the session ending at `new_end`, which replaced the sessions whose ends
    /// are `ended` (their timers are no longer needed).
    Into { ended: Vec<i64>, new_end: i64 },
}

/// Adds `session` to `sessions`, merged with those it overlaps or touches, unless the merged
/// session ended by `watermark`.
fn merge(sessions: &mut Vec<Session>, session: Session, watermark: i64) -> Merged {
    let (mut start, mut end) = session;
    let touches = |&(other_start, other_end): &Session| other_start <= session.1 && other_end >= session.0;
    for other in sessions.iter().filter(|other| touches(other)) {
        start = start.min(other.0);
        end = end.max(other.1);
    }
    if end - 1 <= watermark {
        return Merged::Late;
    }
    let mut ended = Vec::new();
    sessions.retain(|other| {
        let merged = touches(other);
        if merged && other.1 != end {
            ended.push(other.1);
        }
        !merged
    });
    sessions.push((start, end));
    sessions.sort_unstable();
    Merged::Into { ended, new_end: end }
}

/// Each parallel instance starts from the call alone; `open` makes the rest.
impl Clone for SessionAssign {
    fn clone(&self) -> Self {
        SessionAssign::new(Arc::clone(&self.columns), self.gap, self.time_column, Arc::clone(&self.schema))
    }
}

impl KeyedProcessFunction<GroupKey, KeyedChanges, ChangeBatch> for SessionAssign {
    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, GroupKey>) -> pyflink_core::Result<()> {
        self.sessions = Some(context.get_state(&ValueStateDescriptor::new("sessions"))?);
        self.rows = Some(context.get_list_state(&ListStateDescriptor::new("sessionRows"))?);
        self.late_rows = Some(context.runtime().get_metric_group().counter("numLateRecordsDropped"));
        Ok(())
    }

    fn process_element(
        &mut self,
        value: KeyedChanges,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.add_rows(&value.changes, ctx).map_err(flink)
    }

    fn on_timer(
        &mut self,
        timestamp: i64,
        ctx: &mut KeyedProcessContext<'_, GroupKey, ChangeBatch>,
    ) -> pyflink_core::Result<()> {
        self.close_sessions(timestamp, ctx).map_err(flink)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_merge_when_they_overlap_or_touch() {
        let mut sessions = Vec::new();
        assert_eq!(merge(&mut sessions, (1_000, 6_000), i64::MIN), Merged::Into { ended: vec![], new_end: 6_000 });
        assert_eq!(merge(&mut sessions, (3_000, 8_000), i64::MIN), Merged::Into { ended: vec![6_000], new_end: 8_000 });
        assert_eq!(merge(&mut sessions, (10_000, 15_000), i64::MIN), Merged::Into { ended: vec![], new_end: 15_000 });
        assert_eq!(sessions, vec![(1_000, 8_000), (10_000, 15_000)]);
        // A row between them bridges both: [8_000, 13_000) touches the first and overlaps the second.
        assert_eq!(
            merge(&mut sessions, (8_000, 13_000), i64::MIN),
            Merged::Into { ended: vec![8_000], new_end: 15_000 }
        );
        assert_eq!(sessions, vec![(1_000, 15_000)]);
    }

    #[test]
    fn a_row_whose_session_ended_by_the_watermark_is_late() {
        let mut sessions = vec![(1_000, 6_000)];
        assert_eq!(merge(&mut sessions, (100, 600), 1_000), Merged::Late);
        // Late on its own, but it joins a session that is still open.
        assert_eq!(merge(&mut sessions, (900, 1_400), 1_000), Merged::Into { ended: vec![], new_end: 6_000 });
        assert_eq!(sessions, vec![(900, 6_000)]);
    }
}
