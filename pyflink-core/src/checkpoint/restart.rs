//! Restart strategies: whether and when a failed job restarts from its latest complete
//! checkpoint, as Flink's `RestartStrategies`.

use std::collections::VecDeque;
use std::time::Duration;

/// The restarts in a row that the default strategy with checkpointing allows: waits of 1, 2,
/// 4, …, 32 s and then 60 s add up to about five minutes of trying.
pub const DEFAULT_ATTEMPTS_BEFORE_RESET: u32 = 10;

/// How a failed job is restarted.
///
/// ```
/// use std::time::Duration;
/// use pyflink_core::checkpoint::RestartStrategy;
///
/// let mut fixed = RestartStrategy::fixed_delay_restart(2, Duration::from_millis(10)).backoff();
/// assert_eq!(fixed.next_delay(), Some(Duration::from_millis(10)));
/// assert_eq!(fixed.next_delay(), Some(Duration::from_millis(10)));
/// assert_eq!(fixed.next_delay(), None, "two restarts, then the job fails");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum RestartStrategy {
    /// Never restart: the first failure fails the job (the default without checkpointing).
    NoRestart,
    /// Restart up to `attempts` times, waiting `delay` before each restart.
    FixedDelay {
        /// The number of restarts allowed.
        attempts: u32,
        /// The wait before each restart.
        delay: Duration,
    },
    /// Restart with a wait growing by `multiplier` from `initial` up to `max`; after
    /// `reset_threshold` without failure the wait and the count of restarts start over. The
    /// job fails when it would restart more than `attempts_before_reset` times in a row (the
    /// default with checkpointing, as in Flink, with a bounded count of attempts).
    ExponentialDelay {
        /// The first wait.
        initial: Duration,
        /// The longest wait.
        max: Duration,
        /// The factor between successive waits.
        multiplier: f64,
        /// The failure-free time after which the wait resets to `initial`.
        reset_threshold: Duration,
        /// How many restarts may follow each other, none separated by `reset_threshold`
        /// without failure, before the job fails (Flink's
        /// `restart-strategy.exponential-delay.attempts-before-reset-backoff`).
        attempts_before_reset: u32,
    },
    /// Restart after `delay` as long as fewer than `max_failures` failures happened within
    /// the last `interval`; the failure that reaches `max_failures` within `interval` fails the
    /// job (Flink's `failure-rate` strategy).
    FailureRate {
        /// How many failures within `interval` fail the job.
        max_failures: u32,
        /// The span over which failures are counted.
        interval: Duration,
        /// The wait before each restart.
        delay: Duration,
    },
}

impl RestartStrategy {
    /// No restarts.
    pub fn no_restart() -> Self {
        RestartStrategy::NoRestart
    }

    /// Up to `attempts` restarts, `delay` apart.
    pub fn fixed_delay_restart(attempts: u32, delay: Duration) -> Self {
        RestartStrategy::FixedDelay { attempts, delay }
    }

    /// Restarts with exponentially growing waits, without a limit on their number (bound it
    /// with [`RestartStrategy::with_attempts_before_reset`]).
    pub fn exponential_delay_restart(
        initial: Duration,
        max: Duration,
        multiplier: f64,
        reset_threshold: Duration,
    ) -> Self {
        RestartStrategy::ExponentialDelay {
            initial,
            max,
            multiplier: multiplier.max(1.0),
            reset_threshold,
            attempts_before_reset: u32::MAX,
        }
    }

    /// Restarts `delay` apart until `max_failures` failures happen within `interval`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pyflink_core::checkpoint::RestartStrategy;
    ///
    /// let minute = Duration::from_secs(60);
    /// let mut backoff = RestartStrategy::failure_rate_restart(3, minute, Duration::ZERO).backoff();
    /// assert!(backoff.next_delay().is_some());
    /// assert!(backoff.next_delay().is_some());
    /// assert_eq!(backoff.next_delay(), None, "the third failure within a minute fails the job");
    /// ```
    pub fn failure_rate_restart(max_failures: u32, interval: Duration, delay: Duration) -> Self {
        RestartStrategy::FailureRate { max_failures: max_failures.max(1), interval, delay }
    }

    /// This exponential-delay strategy, failing the job after `attempts` restarts in a row;
    /// other strategies are returned as they are.
    ///
    /// ```
    /// use std::time::Duration;
    /// use pyflink_core::checkpoint::RestartStrategy;
    ///
    /// let second = Duration::from_secs(1);
    /// let strategy = RestartStrategy::exponential_delay_restart(second, 4 * second, 2.0, 60 * second)
    ///     .with_attempts_before_reset(3);
    /// let mut backoff = strategy.backoff();
    /// let waits: Vec<_> = std::iter::from_fn(|| backoff.next_delay()).collect();
    /// assert_eq!(waits, [second, 2 * second, 4 * second]);
    /// ```
    pub fn with_attempts_before_reset(mut self, attempts: u32) -> Self {
        if let RestartStrategy::ExponentialDelay { attempts_before_reset, .. } = &mut self {
            *attempts_before_reset = attempts;
        }
        self
    }

    /// The default when checkpointing is on: exponential delay from 1 s to 1 min, doubling,
    /// reset after an hour without failure, as in Flink; but at most
    /// [`DEFAULT_ATTEMPTS_BEFORE_RESET`] restarts in a row (Flink's default has no bound), so a
    /// job failing on every try fails after about five minutes instead of retrying forever.
    pub fn default_with_checkpointing() -> Self {
        Self::exponential_delay_restart(Duration::from_secs(1), Duration::from_secs(60), 2.0, Duration::from_secs(3600))
            .with_attempts_before_reset(DEFAULT_ATTEMPTS_BEFORE_RESET)
    }

    /// The restart decisions of one job run.
    pub fn backoff(&self) -> RestartBackoff {
        RestartBackoff {
            strategy: self.clone(),
            restarts: 0,
            in_a_row: 0,
            current: None,
            clock: Duration::ZERO,
            failures: VecDeque::new(),
        }
    }
}

/// The restarts of one job under a [`RestartStrategy`].
#[derive(Debug, Clone)]
pub struct RestartBackoff {
    strategy: RestartStrategy,
    restarts: u32,
    /// Restarts since the last reset (exponential delay).
    in_a_row: u32,
    current: Option<Duration>,
    /// The job's running and waiting time so far, summed from the attempts' run times and the
    /// waits before restarts (failure rate).
    clock: Duration,
    /// When the latest failures happened on `clock`, oldest first (failure rate).
    failures: VecDeque<Duration>,
}

impl RestartBackoff {
    /// The wait before the next restart, or `None` if the job must fail.
    pub fn next_delay(&mut self) -> Option<Duration> {
        self.next_delay_after(Duration::ZERO)
    }

    /// As [`RestartBackoff::next_delay`], when the attempt that failed ran for `ran`.
    pub fn next_delay_after(&mut self, ran: Duration) -> Option<Duration> {
        match &self.strategy {
            RestartStrategy::NoRestart => None,
            RestartStrategy::FixedDelay { attempts, delay } => {
                if self.restarts >= *attempts {
                    return None;
                }
                self.restarts += 1;
                Some(*delay)
            }
            RestartStrategy::ExponentialDelay { initial, max, multiplier, reset_threshold, attempts_before_reset } => {
                let next = match self.current {
                    Some(previous) if ran < *reset_threshold => previous.mul_f64(*multiplier).min(*max),
                    _ => {
                        self.in_a_row = 0;
                        *initial
                    }
                };
                if self.in_a_row >= *attempts_before_reset {
                    return None;
                }
                self.in_a_row += 1;
                self.restarts += 1;
                self.current = Some(next);
                Some(next)
            }
            RestartStrategy::FailureRate { max_failures, interval, delay } => {
                self.clock += ran;
                self.failures.push_back(self.clock);
                while self.failures.len() > *max_failures as usize {
                    self.failures.pop_front();
                }
                let full = self.failures.len() >= *max_failures as usize;
                if full && self.failures.front().is_some_and(|oldest| self.clock - *oldest <= *interval) {
                    return None;
                }
                self.restarts += 1;
                self.clock += *delay;
                Some(*delay)
            }
        }
    }

    /// How many restarts happened.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_delay_grows_to_its_max_and_resets_after_a_quiet_run() {
        let ms = Duration::from_millis;
        let mut backoff = RestartStrategy::exponential_delay_restart(ms(10), ms(50), 2.0, ms(1000)).backoff();
        let delays: Vec<_> = (0..5).map(|_| backoff.next_delay().unwrap()).collect();
        assert_eq!(delays, vec![ms(10), ms(20), ms(40), ms(50), ms(50)]);
        assert_eq!(backoff.next_delay_after(ms(5000)), Some(ms(10)), "reset after a long healthy run");
        assert_eq!(RestartStrategy::no_restart().backoff().next_delay(), None);
    }

    #[test]
    fn failure_rate_fails_the_job_only_when_failures_crowd_into_its_interval() {
        let s = Duration::from_secs;
        let mut backoff = RestartStrategy::failure_rate_restart(2, s(10), s(1)).backoff();
        assert_eq!(backoff.next_delay_after(s(0)), Some(s(1)));
        // The second failure comes 20 s after the first: outside the interval.
        assert_eq!(backoff.next_delay_after(s(19)), Some(s(1)));
        // The third comes 5 s after the second: two failures within 10 s.
        assert_eq!(backoff.next_delay_after(s(4)), None);
        assert_eq!(backoff.restarts(), 2);
        let mut single = RestartStrategy::failure_rate_restart(1, s(10), s(1)).backoff();
        assert_eq!(single.next_delay(), None, "one failure per interval allowed means none");
    }

    #[test]
    fn the_default_with_checkpointing_is_bounded_but_counts_again_after_a_quiet_run() {
        let mut backoff = RestartStrategy::default_with_checkpointing().backoff();
        let waits: Vec<_> = std::iter::from_fn(|| backoff.next_delay()).collect();
        assert_eq!(waits.len(), DEFAULT_ATTEMPTS_BEFORE_RESET as usize);
        assert_eq!(waits.iter().sum::<Duration>(), Duration::from_secs(1 + 2 + 4 + 8 + 16 + 32 + 4 * 60));
        assert_eq!(backoff.next_delay_after(Duration::from_secs(3600)), Some(Duration::from_secs(1)));
        assert_eq!(backoff.restarts(), DEFAULT_ATTEMPTS_BEFORE_RESET + 1);
    }
}
