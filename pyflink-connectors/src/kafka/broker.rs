//! Broker calls made on a worker thread: bounded, counted, and cut short when the task stops.
//!
//! A Kafka reader or writer runs on the worker thread of its task, which also runs the task's
//! other operators, so a call that waits for the broker (a flush, a transaction commit, a
//! metadata lookup) holds them all up. Such calls therefore wait in slices, from
//! [`FIRST_SLICE`] doubling up to [`LONGEST_SLICE`]; between slices the call gives up if the task
//! must stop (a cancelled job, a failure elsewhere) or once its bound has passed. The bounds are
//! the Kafka clients' own: `max.block.ms` for the sink (default 60 s) and
//! `default.api.timeout.ms` for the source (default 60 s). Each instance counts the time its
//! calls waited (`brokerWaitTimeMs`) and the calls that gave up at their bound
//! (`brokerTimeouts`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pyflink_core::metrics::{Counter, MetricGroup, MetricRegistry};
use pyflink_core::runtime::StopSignal;
use pyflink_core::{FlinkError, Result};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::kafka::kafka_error;

/// The first slice a call waits before checking whether its task must stop.
const FIRST_SLICE: Duration = Duration::from_millis(100);

/// The longest slice: the most a stopping task waits for a call to notice.
const LONGEST_SLICE: Duration = Duration::from_secs(1);

/// The producer property bounding the sink's broker calls (the Java client's name).
pub(crate) const MAX_BLOCK_MS: &str = "max.block.ms";

/// The consumer property bounding the source's broker calls (the Java client's name).
pub(crate) const DEFAULT_API_TIMEOUT_MS: &str = "default.api.timeout.ms";

/// The default of both bounds, as in the Java clients.
const DEFAULT_BOUND: Duration = Duration::from_secs(60);

/// Properties of the Java clients that pyflink-rs reads itself and librdkafka does not know.
const OWN_PROPERTIES: [&str; 2] = [MAX_BLOCK_MS, DEFAULT_API_TIMEOUT_MS];

/// Whether librdkafka is given the property `key`.
pub(crate) fn is_for_librdkafka(key: &str) -> bool {
    !OWN_PROPERTIES.contains(&key)
}

/// The bound `key` sets in `properties` (milliseconds), or the default of 60 s.
pub(crate) fn bound_of(properties: &BTreeMap<String, String>, key: &str) -> Result<Duration> {
    match properties.get(key) {
        None => Ok(DEFAULT_BOUND),
        Some(text) => text.trim().parse::<u64>().map(Duration::from_millis).map_err(|_| {
            FlinkError::InvalidProgram(format!(
                "the Kafka property {key} must be a number of milliseconds, not '{text}'"
            ))
        }),
    }
}

/// What a call does when its task must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnStop {
    /// Give up: nothing is lost that a restore does not redo.
    GiveUp,
    /// Go on until this long after the call began, then give up: a cleanup (the abort of a
    /// transaction) that is quick with a healthy broker and should not be cut short then, but
    /// must not hold a stopping job for long when the broker is gone.
    Grace(Duration),
    /// Go on until the bound: giving up would lose what the call finishes (the commit of a
    /// completed checkpoint's transaction, which no later process can commit).
    Finish,
}

/// Why a broker call did not succeed.
#[derive(Debug)]
pub(crate) enum CallFailure {
    /// The broker answered with an error.
    Broker(KafkaError),
    /// No answer within the bound; `last` is the last error that said why, if any did.
    TimedOut { bound: Duration, property: &'static str, last: Option<String> },
    /// The task had to stop first.
    Stopped,
}

impl CallFailure {
    /// The job's error for the call `what`.
    pub(crate) fn into_error(self, what: &str) -> FlinkError {
        match self {
            CallFailure::Broker(error) => kafka_error(what, error),
            CallFailure::TimedOut { bound, property, last } => FlinkError::Connector(format!(
                "Kafka: cannot {what}: the broker did not answer within {} ms ({property}){}; is it \
                 reachable, and is {property} long enough?",
                bound.as_millis(),
                last.map(|error| format!(", last error: {error}")).unwrap_or_default()
            )),
            CallFailure::Stopped => {
                FlinkError::Runtime(format!("Kafka: gave up waiting to {what}: the task is stopping"))
            }
        }
    }
}

/// The broker calls of one reader or writer (see the module's documentation).
#[derive(Debug, Clone)]
pub(crate) struct BrokerCalls {
    stop: StopSignal,
    bound: Duration,
    property: &'static str,
    wait_time_ms: Counter,
    timeouts: Counter,
}

impl BrokerCalls {
    /// The calls of the instance whose metrics are `metrics` and that stops on `stop`, each
    /// bounded by `bound`, which `property` sets.
    pub(crate) fn new(metrics: &MetricGroup, stop: StopSignal, bound: Duration, property: &'static str) -> Self {
        BrokerCalls {
            stop,
            bound,
            property,
            wait_time_ms: metrics.counter("brokerWaitTimeMs"),
            timeouts: metrics.counter("brokerTimeouts"),
        }
    }

    /// Calls made outside any task (split enumeration): bounded, never stopped, not counted.
    pub(crate) fn unattached(bound: Duration, property: &'static str) -> Self {
        let metrics = MetricRegistry::default().group(Vec::new());
        BrokerCalls::new(&metrics, StopSignal::never(), bound, property)
    }

    /// Calls `call` with a timeout of one slice at a time until it returns anything but a
    /// timeout or a broker that cannot be reached (which may come back, as the Java clients
    /// expect), the bound has passed, or (with [`OnStop::GiveUp`]) the task must stop.
    ///
    /// `call` must be one that goes on where it stopped when called again (librdkafka's flush
    /// and transaction calls do) or that may simply be repeated (metadata and offset lookups).
    pub(crate) fn call<T>(
        &self,
        on_stop: OnStop,
        mut call: impl FnMut(Duration) -> std::result::Result<T, KafkaError>,
    ) -> std::result::Result<T, CallFailure> {
        let started = Instant::now();
        let mut slice = FIRST_SLICE;
        let mut last = None;
        loop {
            let before = Instant::now();
            let timeout = slice.min(self.bound.saturating_sub(started.elapsed()));
            match call(timeout) {
                Ok(value) => {
                    self.count_wait(before);
                    return Ok(value);
                }
                Err(error) if timed_out(&error) => {}
                Err(error) if unreachable(&error) => {
                    // The call gave up before its slice: wait out the rest before asking again.
                    std::thread::sleep(timeout.saturating_sub(before.elapsed()));
                    last = Some(error.to_string());
                }
                Err(error) => {
                    self.count_wait(before);
                    return Err(CallFailure::Broker(error));
                }
            }
            self.count_wait(before);
            self.keep_waiting(started, on_stop).map_err(|failure| match failure {
                CallFailure::TimedOut { bound, property, last: None } => {
                    CallFailure::TimedOut { bound, property, last: last.take() }
                }
                other => other,
            })?;
            slice = (slice * 2).min(LONGEST_SLICE);
        }
    }

    /// Fails if a wait that began at `started` must end: its bound has passed, or the task must
    /// stop and `on_stop` says to give up.
    pub(crate) fn keep_waiting(&self, started: Instant, on_stop: OnStop) -> std::result::Result<(), CallFailure> {
        if started.elapsed() >= self.bound {
            self.timeouts.inc();
            return Err(CallFailure::TimedOut { bound: self.bound, property: self.property, last: None });
        }
        let give_up = match on_stop {
            OnStop::GiveUp => true,
            OnStop::Grace(grace) => started.elapsed() >= grace,
            OnStop::Finish => false,
        };
        if give_up && self.stop.should_stop() {
            return Err(CallFailure::Stopped);
        }
        Ok(())
    }

    /// Adds the time since `since` to the instance's broker wait time.
    pub(crate) fn count_wait(&self, since: Instant) {
        self.wait_time_ms.inc_by(i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX));
    }
}

/// Whether `error` says only that the call's timeout passed (the call goes on when repeated).
fn timed_out(error: &KafkaError) -> bool {
    error.rdkafka_error_code() == Some(RDKafkaErrorCode::OperationTimedOut)
}

/// Whether `error` says that no broker could be reached now, which a later call may.
fn unreachable(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::BrokerTransportFailure | RDKafkaErrorCode::AllBrokersDown)
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::*;

    fn calls(bound: Duration, stop: StopSignal) -> (BrokerCalls, MetricRegistry) {
        let registry = MetricRegistry::default();
        let calls = BrokerCalls::new(&registry.group(vec!["sink".into()]), stop, bound, MAX_BLOCK_MS);
        (calls, registry)
    }

    fn count(registry: &MetricRegistry, name: &str) -> i64 {
        match registry.snapshot().get(&format!("sink.{name}")) {
            Some(pyflink_core::metrics::MetricValue::Counter(n)) => *n,
            other => panic!("{name}: {other:?}"),
        }
    }

    /// A call that times out `slices` times, sleeping each slice, and then succeeds.
    fn slow_call(slices: usize) -> impl FnMut(Duration) -> std::result::Result<u32, KafkaError> {
        let mut left = slices;
        move |slice| {
            if left == 0 {
                return Ok(7);
            }
            left -= 1;
            std::thread::sleep(slice);
            Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut))
        }
    }

    #[test]
    fn a_call_goes_on_through_timed_out_slices_and_counts_its_wait() {
        let (calls, registry) = calls(Duration::from_secs(10), StopSignal::never());
        let started = Instant::now();
        assert_eq!(calls.call(OnStop::GiveUp, slow_call(2)).unwrap(), 7);
        // Slices of 100 and 200 ms.
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(count(&registry, "brokerWaitTimeMs") >= 300);
        assert_eq!(count(&registry, "brokerTimeouts"), 0);
    }

    #[test]
    fn a_call_gives_up_at_its_bound_with_an_error_naming_the_property() {
        let (calls, registry) = calls(Duration::from_millis(250), StopSignal::never());
        let started = Instant::now();
        let failure = calls.call(OnStop::Finish, slow_call(usize::MAX)).unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(600), "{:?}", started.elapsed());
        assert!(matches!(failure, CallFailure::TimedOut { .. }), "{failure:?}");
        let message = failure.into_error("flush records to the broker").to_string();
        assert!(message.contains("within 250 ms (max.block.ms)"), "{message}");
        assert_eq!(count(&registry, "brokerTimeouts"), 1);
    }

    #[test]
    fn a_call_gives_up_when_its_task_must_stop_unless_it_must_finish() {
        let flag = Arc::new(AtomicBool::new(true));
        let (calls, _) = calls(Duration::from_secs(60), StopSignal::from_flag(Arc::clone(&flag)));
        let started = Instant::now();
        assert!(matches!(calls.call(OnStop::GiveUp, slow_call(usize::MAX)), Err(CallFailure::Stopped)));
        assert!(started.elapsed() < Duration::from_secs(1));
        // A commit goes on: it ends when the broker answers.
        assert_eq!(calls.call(OnStop::Finish, slow_call(1)).unwrap(), 7);
        // An abort goes on for its grace, then gives up.
        assert_eq!(calls.call(OnStop::Grace(Duration::from_millis(500)), slow_call(2)).unwrap(), 7);
        let started = Instant::now();
        let grace = OnStop::Grace(Duration::from_millis(250));
        assert!(matches!(calls.call(grace, slow_call(usize::MAX)), Err(CallFailure::Stopped)));
        assert!((Duration::from_millis(250)..Duration::from_millis(700)).contains(&started.elapsed()));
        flag.store(false, Ordering::Release);
    }

    #[test]
    fn an_unreachable_broker_is_asked_again_until_the_bound_and_named_in_the_error() {
        let (calls, _) = calls(Duration::from_millis(450), StopSignal::never());
        let mut asked = 0;
        let started = Instant::now();
        let failure = calls
            .call(OnStop::GiveUp, |_| {
                asked += 1;
                Err::<(), _>(KafkaError::MetadataFetch(RDKafkaErrorCode::BrokerTransportFailure))
            })
            .unwrap_err();
        // Slices of 100, 200 and 150 ms, each waited out.
        assert_eq!(asked, 3);
        assert!(started.elapsed() >= Duration::from_millis(450), "{:?}", started.elapsed());
        let message = failure.into_error("list the topics").to_string();
        assert!(message.contains("last error: Meta data fetch error: BrokerTransportFailure"), "{message}");
    }

    #[test]
    fn errors_other_than_timeouts_end_the_call_at_once() {
        let (calls, _) = calls(Duration::from_secs(60), StopSignal::never());
        let failure = calls
            .call(OnStop::GiveUp, |_| {
                Err::<(), _>(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition))
            })
            .unwrap_err();
        assert!(matches!(failure, CallFailure::Broker(_)), "{failure:?}");
    }

    #[test]
    fn bounds_are_read_from_the_java_property_names() {
        let mut properties = BTreeMap::new();
        assert_eq!(bound_of(&properties, MAX_BLOCK_MS).unwrap(), Duration::from_secs(60));
        properties.insert(MAX_BLOCK_MS.to_string(), "1500".to_string());
        assert_eq!(bound_of(&properties, MAX_BLOCK_MS).unwrap(), Duration::from_millis(1500));
        properties.insert(MAX_BLOCK_MS.to_string(), "soon".to_string());
        let error = bound_of(&properties, MAX_BLOCK_MS).unwrap_err().to_string();
        assert!(error.contains("max.block.ms must be a number of milliseconds"), "{error}");
        assert!(!is_for_librdkafka(MAX_BLOCK_MS) && is_for_librdkafka("acks"));
    }
}
