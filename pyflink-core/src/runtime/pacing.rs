//! Source pacing: how a source learns that the operators downstream are behind, and waits.
//!
//! Flink bounds the buffers between tasks, and a task whose output buffers are full blocks,
//! which in turn fills its input buffers, until the source blocks. Timely's channels are not
//! bounded, so pyflink-rs bounds what a source may have *in flight* instead: the records it has
//! sent that the job's last operators have not finished with. Every source batch is sent at a
//! time whose round is the wall-clock millisecond it was sent in (see
//! [`timestamp`](super::timestamp)); a probe on the streams at the end of the dataflow reports
//! the least time any operator may still be working on, which every worker knows from timely's
//! progress protocol. Batches sent before that time are finished. A source whose unfinished
//! records reach [`BackpressureConfig::max_in_flight_records`], or whose oldest unfinished
//! batch is older than [`BackpressureConfig::max_in_flight_time`], stops reading until they
//! are finished.
//!
//! Like Flink's buffer debloating, the records a source may have in flight (its *window*) also
//! follow the rate at which they are finished: as many as were finished in the last
//! `max_in_flight_time` (measured over at least [`RATE_INTERVAL`] ms) while the dataflow had
//! this source's records to work on all along, never fewer than [`MIN_WINDOW`]. Records are
//! finished in lumps (a batch at a time), which a measurement over the whole in-flight time
//! smooths. A source in front of a function that takes a millisecond per record thus keeps
//! about a second of records in flight, not tens of thousands, and a checkpoint barrier queued
//! behind them waits about that long. A new source starts at the least window and doubles it
//! whenever the dataflow finishes all it was allowed, quickly (within a quarter of the
//! in-flight time), before the source comes back, as a TCP window opens.
//!
//! For the frontier to advance, every operator must let go of old times: operators move the
//! capabilities they hold up to their input frontier (not to the start of the epoch), and
//! sources move theirs to the current round on every activation, while they wait too.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::operators::probe::Handle as ProbeHandle;

use crate::config::BackpressureConfig;
use crate::metrics::{Meter, MetricGroup};
use crate::runtime::timestamp::{round_of, Time};

/// How long a waiting source sleeps before it looks at the frontier again.
pub(crate) const WAIT_POLL: Duration = Duration::from_millis(1);

/// The fewest records a source may have in flight, whatever the rate.
pub(crate) const MIN_WINDOW: usize = 1024;

/// The shortest time, in ms, over which the rate at which records are finished is measured.
pub(crate) const RATE_INTERVAL: u64 = 100;

/// What a source instance has in flight, and whether it must wait.
pub(crate) struct Pacing {
    limits: BackpressureConfig,
    /// The frontier of the end of the dataflow.
    end: ProbeHandle<Time>,
    /// Records sent and not known to be finished, by the time they were sent at (ascending).
    sent: VecDeque<(Time, usize)>,
    in_flight: usize,
    /// The records the source may have in flight now.
    window: usize,
    /// The measurement of the rate: since which round, the records finished since, and
    /// whether the dataflow ran out of this source's records meanwhile because the source had
    /// no more (then the rate says how fast the source read, not how fast the dataflow can go,
    /// and is not used).
    rate_since: Option<u64>,
    finished: usize,
    ran_dry: bool,
    /// Whether pacing has held the source back (a full window, or records too old) since its
    /// records last ran dry.
    filled: bool,
    metrics: BackpressureMetrics,
}

impl Pacing {
    /// Pacing within `limits` on the frontier `end`, reporting to `metrics` if given.
    pub(crate) fn new(limits: BackpressureConfig, end: ProbeHandle<Time>, metrics: Option<&MetricGroup>) -> Self {
        Pacing {
            limits,
            end,
            sent: VecDeque::new(),
            in_flight: 0,
            window: MIN_WINDOW.min(limits.max_in_flight_records),
            rate_since: None,
            finished: 0,
            ran_dry: false,
            filled: false,
            metrics: BackpressureMetrics::new(metrics),
        }
    }

    /// Notes that `records` records were sent at `time`.
    #[inline]
    pub(crate) fn sent(&mut self, time: Time, records: usize) {
        if records == 0 {
            return;
        }
        self.in_flight += records;
        self.filled |= self.in_flight >= self.window;
        match self.sent.back_mut() {
            Some((last, count)) if *last == time => *count += records,
            _ => self.sent.push_back((time, records)),
        }
    }

    /// How many records the source may still send before it must wait.
    #[inline]
    pub(crate) fn allowance(&self) -> usize {
        self.window.saturating_sub(self.in_flight)
    }

    /// Forgets what the end of the dataflow has finished with, and tells whether the source
    /// must wait (at the current round `now`) for more of it to be finished.
    pub(crate) fn must_wait(&mut self, now: u64) -> bool {
        let frontier = self.end.with_frontier(|frontier| frontier.iter().min().copied());
        self.must_wait_at(now, frontier)
    }

    /// [`must_wait`](Self::must_wait) with the end of the dataflow at `frontier` (`None`: it
    /// has ended).
    fn must_wait_at(&mut self, now: u64, frontier: Option<Time>) -> bool {
        let max_age = self.limits.max_in_flight_time.as_millis() as u64;
        let mut newest_finished = None;
        while let Some(&(time, count)) = self.sent.front() {
            // An empty frontier: the end of the dataflow has finished with everything.
            if frontier.is_some_and(|least| time >= least) {
                break;
            }
            self.sent.pop_front();
            self.in_flight -= count;
            self.finished += count;
            newest_finished = Some(time);
        }
        if self.in_flight == 0 {
            let quick = newest_finished.is_some_and(|time| now.saturating_sub(round_of(time)) <= max_age / 4);
            if self.filled && quick {
                // The dataflow finished all the window allowed, quickly, before the source
                // could send more: the window limits the source, so it doubles.
                self.window = (self.window * 2).min(self.limits.max_in_flight_records);
            } else if !self.filled {
                self.ran_dry = true;
            }
            self.filled = false;
        }
        self.measure_rate(now);
        let too_old = self.sent.front().is_some_and(|&(time, _)| now.saturating_sub(round_of(time)) > max_age);
        let wait = too_old || self.in_flight >= self.window;
        self.filled |= wait;
        self.metrics.record(wait);
        wait
    }

    /// Sets the window to `max_in_flight_time` worth of records at the rate they were
    /// finished since the last measurement, if the dataflow had this source's records to work
    /// on all along.
    fn measure_rate(&mut self, now: u64) {
        let Some(since) = self.rate_since else {
            self.rate_since = Some(now);
            return;
        };
        let elapsed = now.saturating_sub(since);
        if elapsed < RATE_INTERVAL.max(self.limits.max_in_flight_time.as_millis() as u64) {
            return;
        }
        if !self.ran_dry {
            let per_ms = self.finished as f64 / elapsed as f64;
            let wanted = per_ms * self.limits.max_in_flight_time.as_millis() as f64;
            let ceiling = self.limits.max_in_flight_records;
            self.window = (wanted as usize).clamp(MIN_WINDOW.min(ceiling), ceiling);
        }
        self.rate_since = Some(now);
        self.finished = 0;
        self.ran_dry = false;
    }

    /// The records the source may have in flight now.
    #[cfg(test)]
    pub(crate) fn window(&self) -> usize {
        self.window
    }

    /// The records in flight.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight
    }
}

/// Flink's backpressure metrics of a source instance: `isBackPressured` (1 while it waits) and
/// `backPressuredTimeMsPerSecond` (the share of the last seconds it waited, in ms per second).
struct BackpressureMetrics {
    waiting: Arc<AtomicBool>,
    waited_ms: Meter,
    /// Since when the source waits, with the milliseconds of that wait already counted.
    since: Option<(Instant, u64)>,
}

impl BackpressureMetrics {
    fn new(group: Option<&MetricGroup>) -> Self {
        let waiting = Arc::new(AtomicBool::new(false));
        let waited_ms = Meter::new(Duration::from_secs(5));
        if let Some(group) = group {
            let flag = Arc::clone(&waiting);
            group.gauge("isBackPressured", move || f64::from(u8::from(flag.load(Ordering::Relaxed))));
            let rate = waited_ms.clone();
            group.gauge("backPressuredTimeMsPerSecond", move || rate.get_rate().min(1000.0));
        }
        BackpressureMetrics { waiting, waited_ms, since: None }
    }

    /// Counts the time waited up to now; `wait` says whether the source waits from now on.
    fn record(&mut self, wait: bool) {
        if let Some((since, counted)) = self.since {
            let waited = since.elapsed().as_millis() as u64;
            self.waited_ms.mark_events((waited - counted) as i64);
            self.since = wait.then_some((since, waited));
        } else {
            // Keeps the rate current while the source does not wait.
            self.waited_ms.mark_events(0);
            if wait {
                self.since = Some((Instant::now(), 0));
            }
        }
        self.waiting.store(wait, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{MetricRegistry, MetricValue};
    use crate::runtime::timestamp::time_at;

    fn pacing(records: usize, ms: u64, metrics: Option<&MetricGroup>) -> Pacing {
        let limits =
            BackpressureConfig { max_in_flight_records: records, max_in_flight_time: Duration::from_millis(ms) };
        Pacing::new(limits, ProbeHandle::new(), metrics)
    }

    #[test]
    fn records_in_flight_up_to_the_limit_make_the_source_wait_until_the_end_passes_them() {
        let mut pacing = pacing(10, 1000, None);
        pacing.sent(time_at(0, 5), 4);
        pacing.sent(time_at(0, 5), 3);
        pacing.sent(time_at(1, 6), 3);
        assert_eq!(pacing.allowance(), 0);
        // The end is still at the first batch's time: all ten are in flight.
        assert!(pacing.must_wait_at(7, Some(time_at(0, 5))));
        // Past the first epoch's batches, not yet the second's.
        assert!(!pacing.must_wait_at(7, Some(time_at(1, 6))));
        assert_eq!((pacing.in_flight(), pacing.allowance()), (3, 7));
        // The end has finished: nothing is in flight.
        assert!(!pacing.must_wait_at(8, None));
        assert_eq!(pacing.in_flight(), 0);
    }

    #[test]
    fn an_old_unfinished_batch_makes_the_source_wait_however_few_records_it_holds() {
        let mut pacing = pacing(1000, 50, None);
        pacing.sent(time_at(0, 100), 1);
        assert!(!pacing.must_wait_at(150, Some(time_at(0, 100))), "50 ms old: still allowed");
        assert!(pacing.must_wait_at(151, Some(time_at(0, 100))));
        assert!(!pacing.must_wait_at(151, Some(time_at(0, 101))));
    }

    #[test]
    fn the_window_doubles_while_the_dataflow_finishes_all_it_allows() {
        let mut pacing = pacing(65_536, 1000, None);
        assert_eq!((pacing.window(), pacing.allowance()), (MIN_WINDOW, MIN_WINDOW));
        pacing.sent(time_at(0, 1), MIN_WINDOW);
        assert!(pacing.must_wait_at(1, Some(time_at(0, 1))), "the window is full");
        assert!(!pacing.must_wait_at(2, Some(time_at(0, 2))));
        assert_eq!(pacing.window(), 2 * MIN_WINDOW);
        // Running dry without having filled the window says nothing about it.
        pacing.sent(time_at(0, 3), 10);
        assert!(!pacing.must_wait_at(4, None));
        assert_eq!(pacing.window(), 2 * MIN_WINDOW);
    }

    #[test]
    fn a_busy_dataflow_gets_the_records_it_finishes_in_the_in_flight_time() {
        let mut pacing = pacing(65_536, 1000, None);
        pacing.sent(time_at(0, 1), 6000);
        pacing.sent(time_at(0, 2), 4240);
        assert!(pacing.must_wait_at(1, Some(time_at(0, 1))));
        assert!(pacing.must_wait_at(500, Some(time_at(0, 2))), "measured over the in-flight time only");
        assert_eq!(pacing.window(), MIN_WINDOW);
        // 6000 records finished in a second, with records to work on all along.
        assert!(!pacing.must_wait_at(1001, Some(time_at(0, 2))));
        assert_eq!(pacing.window(), 6000);
        pacing.sent(time_at(0, 1500), 5000);
        assert!(pacing.must_wait_at(2001, Some(time_at(0, 3))));
        assert_eq!(pacing.window(), 4240, "4240 records in the next second");
        // A dataflow that finishes nothing still gets the least window.
        assert!(pacing.must_wait_at(3001, Some(time_at(0, 3))));
        assert_eq!(pacing.window(), MIN_WINDOW);
    }

    #[test]
    fn waiting_shows_in_the_backpressure_metrics() {
        let registry = MetricRegistry::default();
        let group = registry.group(vec!["Source".into(), "0".into()]);
        let mut pacing = pacing(1, 1000, Some(&group));
        pacing.sent(time_at(0, 1), 1);
        assert!(pacing.must_wait_at(2, Some(time_at(0, 1))));
        std::thread::sleep(Duration::from_millis(60));
        assert!(pacing.must_wait_at(62, Some(time_at(0, 1))));
        let metrics = registry.snapshot();
        assert_eq!(metrics["Source.0.isBackPressured"], MetricValue::Gauge(1.0));
        let MetricValue::Gauge(waited) = metrics["Source.0.backPressuredTimeMsPerSecond"] else { panic!() };
        assert!(waited > 100.0, "waited about 60 ms within about 60 ms: {waited}");
        assert!(!pacing.must_wait_at(63, None));
        assert_eq!(registry.snapshot()["Source.0.isBackPressured"], MetricValue::Gauge(0.0));
    }
}
