//! Watermark alignment of sources (Flink's `withWatermarkAlignment`): the source instances of
//! one alignment group report their watermarks to the job every update interval, and an
//! instance whose watermark is more than the group's allowed drift ahead of the group's lowest
//! watermark stops reading until the others catch up. This keeps a fast source (a Kafka topic
//! with a backlog, a file with old data) from filling window and join state with events the
//! slow sources will take long to match.
//!
//! A source is aligned by its own strategy, or by the timestamp assigner that follows it through
//! forward edges (`assign_timestamps_and_watermarks` right after `from_source`, as the Python API
//! builds it): that assigner publishes its watermark in an [`AssignerWatermark`] the source
//! instance on the same worker reads.
//!
//! As in Flink, an instance that has not emitted a watermark yet does not report, an idle or
//! finished one reports `i64::MAX`, and the instance with the lowest watermark never waits (the
//! drift is not negative), so the group always makes progress.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::runtime::graph::NodeId;
use crate::time::WatermarkAlignment;

/// The reported watermarks of one group, by source node and instance.
type GroupWatermarks = HashMap<(NodeId, usize), i64>;

/// The watermarks of each alignment group, by the reporting source node and instance, and the
/// assigners that align sources; shared by the workers of one job attempt.
#[derive(Debug, Default)]
pub(crate) struct AlignmentGroups {
    groups: Mutex<HashMap<String, GroupWatermarks>>,
    assigners: Mutex<HashMap<(NodeId, usize), Arc<AssignerWatermark>>>,
}

/// The watermark of the timestamp assigner that follows instance `subtask` of a source, once
/// that assigner's strategy asks for alignment.
#[derive(Debug)]
pub(crate) struct AssignerWatermark {
    settings: OnceLock<WatermarkAlignment>,
    watermark: AtomicI64,
    idle: AtomicBool,
}

impl AssignerWatermark {
    /// Turns alignment on with `settings` (the first assigner to do so wins).
    pub(crate) fn align(&self, settings: &WatermarkAlignment) {
        let _ = self.settings.set(settings.clone());
    }

    /// Publishes the assigner's current watermark and whether it is idle.
    #[inline]
    pub(crate) fn publish(&self, watermark: i64, idle: bool) {
        self.watermark.store(watermark, Ordering::Relaxed);
        self.idle.store(idle, Ordering::Relaxed);
    }

    /// The alignment asked for, once the assigner has opened.
    pub(crate) fn settings(&self) -> Option<&WatermarkAlignment> {
        self.settings.get()
    }
}

impl AlignmentGroups {
    /// The shared watermark of the assigner after instance `subtask` of source `source`.
    pub(crate) fn assigner_of(&self, source: NodeId, subtask: usize) -> Arc<AssignerWatermark> {
        let mut assigners = self.assigners.lock().unwrap_or_else(|e| e.into_inner());
        let entry = assigners.entry((source, subtask)).or_insert_with(|| {
            Arc::new(AssignerWatermark {
                settings: OnceLock::new(),
                watermark: AtomicI64::new(i64::MIN),
                idle: AtomicBool::new(false),
            })
        });
        Arc::clone(entry)
    }

    /// Records `watermark` for instance `subtask` of source `node` in `group`, and returns the
    /// group's lowest reported watermark (`i64::MAX` when nothing reported).
    fn report(&self, group: &str, node: usize, subtask: usize, watermark: Option<i64>) -> i64 {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        let members = groups.entry(group.to_string()).or_default();
        match watermark {
            Some(watermark) => members.insert((node, subtask), watermark),
            None => members.remove(&(node, subtask)),
        };
        members.values().copied().min().unwrap_or(i64::MAX)
    }

    /// Forgets every report, before a new attempt of the job starts from a checkpoint.
    pub(crate) fn clear(&self) {
        self.groups.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.assigners.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// Where an aligned source's watermark comes from.
pub(crate) enum AlignedWatermark {
    /// The source's own watermark strategy.
    Reader,
    /// The timestamp assigner that follows it.
    Assigner(Arc<AssignerWatermark>),
}

/// One source instance's part in its alignment group.
pub(crate) struct SourceAlignment {
    /// Where the instance's watermark comes from.
    pub(crate) follows: AlignedWatermark,
    groups: Arc<AlignmentGroups>,
    settings: WatermarkAlignment,
    node: usize,
    subtask: usize,
    next_report: Instant,
    /// The highest watermark this instance may have before it waits: the group's lowest
    /// watermark at the last report plus the drift.
    max_desired: i64,
}

impl SourceAlignment {
    pub(crate) fn new(
        groups: Arc<AlignmentGroups>,
        settings: WatermarkAlignment,
        follows: AlignedWatermark,
        node: NodeId,
        subtask: usize,
    ) -> Self {
        SourceAlignment { follows, groups, settings, node, subtask, next_report: Instant::now(), max_desired: i64::MAX }
    }

    /// The assigner's watermark as reported to the group (see [`Self::maybe_report`]) and as
    /// compared with the group's, when the instance follows an assigner.
    #[inline]
    pub(crate) fn assigner_watermark(&self) -> Option<(Option<i64>, i64)> {
        let AlignedWatermark::Assigner(assigner) = &self.follows else { return None };
        let watermark = assigner.watermark.load(Ordering::Relaxed);
        let reported = if assigner.idle.load(Ordering::Relaxed) {
            Some(i64::MAX)
        } else {
            (watermark != i64::MIN).then_some(watermark)
        };
        Some((reported, watermark))
    }

    /// Reports the instance's watermark when the update interval has passed: `None` before its
    /// first watermark, `i64::MAX` while it is idle.
    pub(crate) fn maybe_report(&mut self, watermark: Option<i64>) {
        let now = Instant::now();
        if now < self.next_report {
            return;
        }
        self.next_report = now + self.settings.update_interval;
        let lowest = self.groups.report(&self.settings.group, self.node, self.subtask, watermark);
        self.max_desired = lowest.saturating_add(crate::time::duration_millis(self.settings.max_drift));
    }

    /// Reports that the instance has finished: it no longer holds the group back.
    pub(crate) fn finish(&mut self) {
        self.groups.report(&self.settings.group, self.node, self.subtask, Some(i64::MAX));
    }

    /// Whether an instance at `watermark` is too far ahead of its group to read on.
    #[inline]
    pub(crate) fn must_wait(&self, watermark: i64) -> bool {
        watermark > self.max_desired
    }

    /// How long a waiting instance sleeps before it looks again.
    pub(crate) fn recheck_after(&self) -> Duration {
        self.next_report.saturating_duration_since(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(groups: &Arc<AlignmentGroups>, node: usize, drift_ms: u64) -> SourceAlignment {
        let settings = WatermarkAlignment {
            group: "g".into(),
            max_drift: Duration::from_millis(drift_ms),
            update_interval: Duration::ZERO,
        };
        SourceAlignment::new(Arc::clone(groups), settings, AlignedWatermark::Reader, node, 0)
    }

    #[test]
    fn an_instance_waits_while_it_is_ahead_of_the_lowest_by_more_than_the_drift() {
        let groups = Arc::new(AlignmentGroups::default());
        let mut fast = member(&groups, 0, 100);
        let mut slow = member(&groups, 1, 100);
        fast.maybe_report(Some(1_000));
        assert!(!fast.must_wait(1_000), "alone, it is the lowest of its group");
        slow.maybe_report(Some(500));
        fast.maybe_report(Some(1_000));
        assert!(fast.must_wait(1_000));
        assert!(!slow.must_wait(500), "the lowest never waits");
        slow.maybe_report(Some(950));
        fast.maybe_report(Some(1_000));
        assert!(!fast.must_wait(1_000));
    }

    #[test]
    fn unreported_idle_and_finished_instances_do_not_hold_the_group_back() {
        let groups = Arc::new(AlignmentGroups::default());
        let mut fast = member(&groups, 0, 10);
        let mut other = member(&groups, 1, 10);
        other.maybe_report(None);
        fast.maybe_report(Some(5_000));
        assert!(!fast.must_wait(5_000), "an instance without a watermark does not report");
        other.maybe_report(Some(0));
        fast.maybe_report(Some(5_000));
        assert!(fast.must_wait(5_000));
        other.maybe_report(Some(i64::MAX));
        fast.maybe_report(Some(5_000));
        assert!(!fast.must_wait(5_000), "idle reports the maximum");
        other.maybe_report(Some(0));
        other.finish();
        fast.maybe_report(Some(5_000));
        assert!(!fast.must_wait(5_000));
    }

    #[test]
    fn reports_wait_for_the_update_interval() {
        let groups = Arc::new(AlignmentGroups::default());
        let settings = WatermarkAlignment {
            group: "g".into(),
            max_drift: Duration::ZERO,
            update_interval: Duration::from_secs(3600),
        };
        let mut fast = SourceAlignment::new(Arc::clone(&groups), settings, AlignedWatermark::Reader, 0, 0);
        let mut slow = member(&groups, 1, 0);
        slow.maybe_report(Some(1));
        fast.maybe_report(Some(10));
        assert!(fast.must_wait(10));
        slow.maybe_report(Some(20));
        fast.maybe_report(Some(10));
        assert!(fast.must_wait(10), "the group's minimum is only read again after the interval");
        assert!(fast.recheck_after() > Duration::from_secs(3000));
    }
}
