//! The timely timestamp of the runtime: a checkpoint epoch and, within it, a round.
//!
//! A record's timely time says two things. Its *epoch* (the high 64 bits) is the checkpoint it
//! belongs to: tasks snapshot epoch `e` once their input frontier has passed it. Its *round* (the
//! low 64 bits) is the wall-clock time in Unix milliseconds at which its source sent it. Rounds let
//! a source see, through the frontier of the job's last operators, how long ago the oldest of its
//! records still being processed was sent, and pace itself on that (see
//! [`pacing`](super::pacing)). Wall-clock milliseconds are comparable between workers and
//! processes, which a per-source counter would not be.
//!
//! Ordered as one `u128`, times are lexicographic in (epoch, round): any time of a later epoch
//! is greater than every time of an earlier one, whatever the rounds.

use std::time::{SystemTime, UNIX_EPOCH};

use timely::progress::frontier::MutableAntichain;

/// A timely time of the runtime: `epoch << 64 | round`.
pub(crate) type Time = u128;

/// The checkpoint epoch of `time`.
#[inline]
pub(crate) fn epoch_of(time: Time) -> u64 {
    (time >> 64) as u64
}

/// The round of `time`: the Unix milliseconds at which its source sent it.
#[inline]
pub(crate) fn round_of(time: Time) -> u64 {
    time as u64
}

/// The time of `round` in `epoch`.
#[inline]
pub(crate) fn time_at(epoch: u64, round: u64) -> Time {
    (Time::from(epoch) << 64) | Time::from(round)
}

/// The least time of `epoch`.
#[inline]
pub(crate) fn epoch_start(epoch: u64) -> Time {
    time_at(epoch, 0)
}

/// The current round: the wall-clock time in Unix milliseconds.
#[inline]
pub(crate) fn current_round() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// The least time still possible at any of `frontiers`, or `None` once every input has ended.
#[inline]
pub(crate) fn least_time(frontiers: &[MutableAntichain<Time>]) -> Option<Time> {
    frontiers.iter().filter_map(|f| f.frontier().iter().min().copied()).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_order_by_epoch_first_then_round() {
        let late_in_zero = time_at(0, u64::MAX);
        let early_in_one = time_at(1, 0);
        assert!(late_in_zero < early_in_one);
        assert!(time_at(3, 10) < time_at(3, 11));
        assert_eq!((epoch_of(time_at(7, 42)), round_of(time_at(7, 42))), (7, 42));
        assert_eq!(epoch_start(2), time_at(2, 0));
    }

    #[test]
    fn the_least_time_is_over_every_input() {
        let mut first = MutableAntichain::new();
        first.update_iter([(time_at(1, 5), 1)]);
        let mut second = MutableAntichain::new();
        second.update_iter([(time_at(0, 9), 1)]);
        assert_eq!(least_time(&[first.clone(), second]), Some(time_at(0, 9)));
        let ended = MutableAntichain::new();
        assert_eq!(least_time(&[first]), Some(time_at(1, 5)));
        assert_eq!(least_time(&[ended]), None);
    }
}
