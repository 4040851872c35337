//! Watermarks of a source reader: one generator per split, combined by minimum over the splits
//! that are neither idle nor finished, as Flink does for split-aware sources (a Kafka partition
//! is a split). Records a reader emits before naming a split belong to a reader-wide split.

use std::collections::HashMap;

use crate::runtime::output::Output;
use crate::time::{WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
use crate::Data;

/// The watermark generator and output of one split.
struct SplitWatermark<T> {
    generator: Box<dyn WatermarkGenerator<T>>,
    output: WatermarkOutput,
    finished: bool,
    used: bool,
}

/// Per-split watermark generation of one source reader.
pub(crate) struct SourceWatermarks<T> {
    strategy: WatermarkStrategy<T>,
    splits: Vec<SplitWatermark<T>>,
    ids: HashMap<String, usize>,
    current: usize,
    combined: i64,
    idle: bool,
    /// Whether the reader names splits; from then on every assigned split holds the watermark
    /// back, also before its first record.
    split_aware: bool,
}

impl<T: Data> SourceWatermarks<T> {
    pub(crate) fn new(strategy: WatermarkStrategy<T>) -> Self {
        let mut watermarks = SourceWatermarks {
            strategy,
            splits: Vec::new(),
            ids: HashMap::new(),
            current: 0,
            combined: i64::MIN,
            idle: false,
            split_aware: false,
        };
        watermarks.add_split();
        watermarks
    }

    fn add_split(&mut self) -> usize {
        self.splits.push(SplitWatermark {
            generator: self.strategy.create_generator(),
            output: WatermarkOutput::default(),
            finished: false,
            used: false,
        });
        self.splits.len() - 1
    }

    /// Registers a split assigned to the reader, so that once the reader names splits it holds
    /// the watermark back even before its first record (a restored split may start later than
    /// the others).
    pub(crate) fn register_split(&mut self, split_id: &str) {
        if !self.ids.contains_key(split_id) {
            let index = self.add_split();
            self.ids.insert(split_id.to_string(), index);
        }
    }

    /// Makes `split_id` the split of the records that follow.
    pub(crate) fn select_split(&mut self, split_id: &str) {
        self.split_aware = true;
        self.current = match self.ids.get(split_id) {
            Some(&index) => index,
            None => {
                let index = self.add_split();
                self.ids.insert(split_id.to_string(), index);
                index
            }
        };
    }

    /// The watermark the reader reports to its alignment group: `None` before its first
    /// watermark, the maximum while it is idle.
    pub(crate) fn reported(&self) -> Option<i64> {
        if self.idle {
            Some(i64::MAX)
        } else {
            (self.combined != i64::MIN).then_some(self.combined)
        }
    }

    /// The reader's combined watermark so far.
    #[inline]
    pub(crate) fn current(&self) -> i64 {
        self.combined
    }

    /// Marks `split_id` as finished: it no longer holds the watermark back.
    pub(crate) fn finish_split(&mut self, split_id: &str) {
        if let Some(&index) = self.ids.get(split_id) {
            self.splits[index].finished = true;
        }
    }

    /// The timestamp of a record and its watermark effects: runs the current split's generator.
    #[inline]
    pub(crate) fn on_record(&mut self, value: &T, timestamp: Option<i64>) -> Option<i64> {
        let timestamp = self.strategy.extract_timestamp(value, timestamp)?;
        let split = &mut self.splits[self.current];
        split.used = true;
        split.generator.on_event(value, timestamp, &mut split.output);
        Some(timestamp)
    }

    /// Whether a generator emitted something since the last [`SourceWatermarks::emit`].
    #[inline]
    pub(crate) fn has_changes(&self) -> bool {
        self.splits[self.current].output.has_pending()
    }

    /// Asks every split's generator for its periodic watermark.
    pub(crate) fn on_periodic_emit(&mut self) {
        for split in self.splits.iter_mut().filter(|s| !s.finished) {
            split.generator.on_periodic_emit(&mut split.output);
        }
    }

    /// Emits the combined watermark if it rose, and idle status changes, to `out`.
    pub(crate) fn emit(&mut self, out: &mut Output<T>) {
        for split in &mut self.splits {
            split.output.drain().for_each(drop);
        }
        // The reader-wide split (index 0) counts only once records were emitted outside any
        // named split; a named split holds the watermark back once the reader names splits.
        let split_aware = self.split_aware;
        let counts = |i: usize, s: &SplitWatermark<T>| if i == 0 { s.used } else { s.used || split_aware };
        let active =
            self.splits.iter().enumerate().filter(|(i, s)| !s.finished && !s.output.is_idle() && counts(*i, s));
        let active = active.map(|(_, s)| s);
        match active.map(|s| s.output.current_watermark()).min() {
            Some(min) => {
                if self.idle {
                    self.idle = false;
                    out.emit_watermark_status(false);
                }
                if min > self.combined {
                    self.combined = min;
                    out.emit_watermark(min);
                }
            }
            None if self.splits.iter().enumerate().any(|(i, s)| !s.finished && counts(i, s)) && !self.idle => {
                self.idle = true;
                out.emit_watermark_status(true);
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::element::Element;

    /// Emits `timestamp - 1` on every event.
    struct Punctuated;

    impl WatermarkGenerator<i64> for Punctuated {
        fn on_event(&mut self, _: &i64, timestamp: i64, output: &mut WatermarkOutput) {
            output.emit_watermark(timestamp - 1);
        }
        fn on_periodic_emit(&mut self, _: &mut WatermarkOutput) {}
    }

    fn emitted(out: &mut Output<i64>) -> Vec<String> {
        out.buffer
            .drain(..)
            .filter_map(|e| match e {
                Element::Watermark(w) => Some(format!("W{}", w.timestamp)),
                Element::Status(s) => Some(if s.idle { "idle".into() } else { "active".into() }),
                Element::Record(_) => None,
            })
            .collect()
    }

    fn record(watermarks: &mut SourceWatermarks<i64>, out: &mut Output<i64>, ts: i64) {
        watermarks.on_record(&ts, Some(ts));
        if watermarks.has_changes() {
            watermarks.emit(out);
        }
    }

    #[test]
    fn the_watermark_is_the_minimum_over_unfinished_splits() {
        let mut watermarks = SourceWatermarks::new(WatermarkStrategy::for_generator(|| Punctuated));
        let mut out = Output::new(0, Vec::new());
        watermarks.select_split("a");
        watermarks.select_split("b");
        watermarks.select_split("a");
        record(&mut watermarks, &mut out, 1000);
        assert!(emitted(&mut out).is_empty(), "split b holds the watermark back");
        watermarks.select_split("b");
        record(&mut watermarks, &mut out, 10);
        watermarks.select_split("a");
        record(&mut watermarks, &mut out, 2000);
        assert_eq!(emitted(&mut out), vec!["W9"]);
        watermarks.finish_split("b");
        watermarks.emit(&mut out);
        assert_eq!(emitted(&mut out), vec!["W1999"]);
    }

    #[test]
    fn records_outside_named_splits_have_their_own_generator() {
        let mut watermarks = SourceWatermarks::new(WatermarkStrategy::for_generator(|| Punctuated));
        let mut out = Output::new(0, Vec::new());
        record(&mut watermarks, &mut out, 50);
        record(&mut watermarks, &mut out, 40);
        record(&mut watermarks, &mut out, 60);
        assert_eq!(emitted(&mut out), vec!["W49", "W59"]);
    }

    #[test]
    fn idle_splits_are_excluded_and_all_idle_marks_the_source_idle() {
        let strategy = WatermarkStrategy::<i64>::for_bounded_out_of_orderness(std::time::Duration::ZERO)
            .with_idleness(std::time::Duration::ZERO);
        let mut watermarks = SourceWatermarks::new(strategy);
        let mut out = Output::new(0, Vec::new());
        record(&mut watermarks, &mut out, 100);
        watermarks.on_periodic_emit();
        watermarks.emit(&mut out);
        assert_eq!(emitted(&mut out), vec!["W99"]);
        // No event since the last check: with a zero timeout the next check finds it idle.
        watermarks.on_periodic_emit();
        watermarks.emit(&mut out);
        assert_eq!(emitted(&mut out), vec!["idle"]);
        record(&mut watermarks, &mut out, 200);
        watermarks.on_periodic_emit();
        watermarks.emit(&mut out);
        assert_eq!(emitted(&mut out), vec!["active", "W199"]);
    }
}
