//! Kafka transactions of the `EXACTLY_ONCE` sink: each writer writes a checkpoint's records in
//! a transaction of its own, which the sink commits when that checkpoint completes.
//!
//! A transaction is held by the producer that began it: librdkafka cannot commit another
//! producer's transaction, as Flink's Java sink does by resuming its producer id and epoch. So
//! the transactions prepared for checkpoints live here, in the sink, which outlives the
//! restarts of its job: after a failure, the restored checkpoint's transactions are committed
//! by the producers that hold them, and the later ones are aborted.
//!
//! Transactional ids are `<prefix>-<subtask>-<n>`, the smallest `n` not in use, so a writer
//! cycles through a few ids. Creating a producer for an id (`init_transactions`) aborts what an
//! earlier process left open under it; a new writer does that for the first
//! [`IDS_CLEANED_ON_START`] ids of its subtask, so that leftovers of a crashed process do not
//! hold back read_committed consumers until the broker times them out.
//!
//! The calls that end transactions (commit, abort, and `init_transactions`, which aborts what
//! its id left open) are made one at a time per sink, see [`Transactions::one_at_a_time`].
//!
//! Every transaction call waits for the broker through the writer's [`BrokerCalls`], bounded
//! by `max.block.ms`. Initializations give up when the task must stop; aborts go on for
//! [`ABORT_GRACE`] more (after that the next producer of the id aborts what is left); commits of
//! completed checkpoints go on until the broker answers or the bound passes, since no later
//! process could commit them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyflink_core::{FlinkError, Result};
use rdkafka::producer::{BaseProducer, Producer};

use crate::kafka::broker::{BrokerCalls, CallFailure, OnStop, MAX_BLOCK_MS};
use crate::kafka::sink::DeliveryReports;
use crate::kafka::{client_config, kafka_error};

/// The producer type of the Kafka sink.
pub(crate) type SinkProducer = BaseProducer<DeliveryReports>;

/// How long the abort of a transaction (with the flush before it) may go on once its task must
/// stop: long enough for a healthy broker, so that no transaction is left open to hold back
/// read_committed consumers, and short enough not to hold a cancelled job when the broker is gone.
const ABORT_GRACE: Duration = Duration::from_secs(5);

/// The ids a new writer cleans of what an earlier process left open. A writer uses ids 0 and 1
/// in turn while each checkpoint completes before the next is taken, more when they overlap.
pub(crate) const IDS_CLEANED_ON_START: usize = 3;

/// The transactions of one `KafkaSink`, shared by its writers.
pub(crate) struct Transactions {
    prefix: String,
    properties: BTreeMap<String, String>,
    /// The bound of each transaction call (`max.block.ms`).
    max_block: Duration,
    registry: Mutex<Registry>,
    /// Held while a call that ends a transaction runs: see [`Transactions::one_at_a_time`].
    ending: Mutex<()>,
}

#[derive(Default)]
struct Registry {
    /// Transactions prepared for a checkpoint and not yet committed, by transactional id.
    prepared: HashMap<String, Prepared>,
    /// Ids with a transaction open in a writer.
    open: HashSet<String>,
    /// Producers with no transaction open, ready to begin one, by transactional id.
    idle: HashMap<String, SinkProducer>,
    /// The serial of the last transaction of each id that was committed or aborted.
    finished: HashMap<String, u64>,
    /// The serial of the next transaction: it tells a transaction from earlier ones of its id.
    next_serial: u64,
    /// The broker calls of the latest writer of each subtask, which commit its transactions.
    calls: HashMap<usize, BrokerCalls>,
}

struct Prepared {
    serial: u64,
    subtask: usize,
    producer: SinkProducer,
}

/// A transaction a writer has open: its records go to `producer`.
pub(crate) struct OpenTransaction {
    pub(crate) id: String,
    pub(crate) serial: u64,
    pub(crate) producer: SinkProducer,
}

impl Transactions {
    pub(crate) fn new(prefix: String, properties: BTreeMap<String, String>, max_block: Duration) -> Self {
        Transactions {
            prefix,
            properties,
            max_block,
            registry: Mutex::new(Registry::default()),
            ending: Mutex::new(()),
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `call`, a broker call that ends a transaction, while no other writer of this sink
    /// runs one.
    ///
    /// Why: a broker may settle transactions that overlap in a partition together. tansu 0.6
    /// does, and when two of them end at once, the second one's commit marker can be written
    /// after the first one's EndTxn already marked both committed; tansu then keeps that
    /// marker's offset as a range of a committed transaction, and every later transaction of
    /// the partition waits on it, so the last stable offset never moves past it and
    /// read_committed consumers stall. Ending them one after another never interleaves them,
    /// and costs one round trip per checkpoint and writer.
    fn one_at_a_time<T>(&self, call: impl FnOnce() -> T) -> T {
        let _ending = self.ending.lock().unwrap_or_else(PoisonError::into_inner);
        call()
    }

    fn transactional_id(&self, subtask: usize, n: usize) -> String {
        format!("{}-{subtask}-{n}", self.prefix)
    }

    /// A producer for `id` whose `init_transactions` has fenced off and aborted whatever
    /// another producer of that id left open.
    fn create_producer(&self, id: &str, calls: &BrokerCalls) -> Result<SinkProducer> {
        let mut config = client_config(&self.properties);
        config.set("transactional.id", id);
        let producer: SinkProducer = config
            .create_with_context(DeliveryReports::default())
            .map_err(|e| kafka_error(&format!("create a producer for transactional id '{id}'"), e))?;
        self.one_at_a_time(|| calls.call(OnStop::GiveUp, |timeout| producer.init_transactions(timeout)))
            .map_err(|failure| failure.into_error(&format!("initialize transactions of transactional id '{id}'")))?;
        Ok(producer)
    }

    /// Makes a new writer of `subtask` (of `parallelism`) start clean: aborts the transactions
    /// that its subtasks prepared for checkpoints that never completed (the restored
    /// checkpoint's were committed before), and what a crashed process left open.
    /// `calls` are the new writer's, which from now on also commit the subtask's transactions.
    pub(crate) fn recover(&self, subtask: usize, parallelism: usize, calls: &BrokerCalls) -> Result<()> {
        let abandoned: Vec<(String, Prepared)> = {
            let mut registry = self.registry();
            registry.calls.insert(subtask, calls.clone());
            let ids: Vec<String> = registry
                .prepared
                .iter()
                .filter(|(_, prepared)| prepared.subtask % parallelism == subtask)
                .map(|(id, _)| id.clone())
                .collect();
            ids.into_iter().filter_map(|id| registry.prepared.remove(&id).map(|p| (id, p))).collect()
        };
        for (id, prepared) in abandoned {
            self.finish(id, prepared.serial, prepared.producer, End::Abort, calls)?;
        }
        for n in 0..IDS_CLEANED_ON_START {
            let id = self.transactional_id(subtask, n);
            let known = {
                let registry = self.registry();
                registry.idle.contains_key(&id) || registry.open.contains(&id) || registry.prepared.contains_key(&id)
            };
            if !known {
                let producer = self.create_producer(&id, calls)?;
                self.registry().idle.insert(id, producer);
            }
        }
        Ok(())
    }

    /// Begins a transaction for a writer of `subtask`, under the smallest id not in use.
    pub(crate) fn begin(&self, subtask: usize, calls: &BrokerCalls) -> Result<OpenTransaction> {
        let (id, serial, idle) = {
            let mut registry = self.registry();
            let id = (0..)
                .map(|n| self.transactional_id(subtask, n))
                .find(|id| !registry.open.contains(id) && !registry.prepared.contains_key(id))
                .expect("finitely many ids are in use");
            registry.open.insert(id.clone());
            let serial = registry.next_serial;
            registry.next_serial += 1;
            let idle = registry.idle.remove(&id);
            (id, serial, idle)
        };
        let begun = match idle {
            Some(producer) => Ok(producer),
            None => self.create_producer(&id, calls),
        }
        .and_then(|producer| {
            // A failure reported for an earlier, aborted transaction of this producer (records
            // purged by the abort) says nothing about the new one.
            let _ = producer.context().take_failure();
            producer.begin_transaction().map_err(|e| kafka_error(&format!("begin a transaction of '{id}'"), e))?;
            Ok(producer)
        });
        match begun {
            Ok(producer) => Ok(OpenTransaction { id, serial, producer }),
            Err(error) => {
                self.registry().open.remove(&id);
                Err(error)
            }
        }
    }

    /// Keeps a writer's flushed transaction until its checkpoint completes; returns the
    /// committable that names it.
    pub(crate) fn prepare(&self, transaction: OpenTransaction, subtask: usize) -> Vec<u8> {
        let committable = format!("{}\0{}", transaction.id, transaction.serial).into_bytes();
        let mut registry = self.registry();
        registry.open.remove(&transaction.id);
        let prepared = Prepared { serial: transaction.serial, subtask, producer: transaction.producer };
        registry.prepared.insert(transaction.id, prepared);
        committable
    }

    /// Aborts a transaction a writer gives up (on failure or close), so that it holds back no
    /// read_committed consumer.
    pub(crate) fn abort(&self, transaction: OpenTransaction, calls: &BrokerCalls) -> Result<()> {
        let OpenTransaction { id, serial, producer } = transaction;
        self.registry().open.remove(&id);
        self.finish(id, serial, producer, End::Abort, calls)
    }

    /// Commits the transaction a committable names, if this process holds it (committing
    /// twice, as after a restore, is harmless).
    pub(crate) fn commit(&self, committable: &[u8]) -> Result<()> {
        let (id, serial) = parse_committable(committable)?;
        let (prepared, calls) = {
            let mut registry = self.registry();
            let prepared = match registry.prepared.get(&id) {
                Some(prepared) if prepared.serial == serial => registry.prepared.remove(&id),
                _ if registry.finished.get(&id).is_some_and(|&done| done >= serial) => return Ok(()),
                _ => None,
            };
            let calls = prepared.as_ref().and_then(|prepared| registry.calls.get(&prepared.subtask).cloned());
            (prepared, calls)
        };
        match prepared {
            Some(prepared) => {
                let calls = calls.unwrap_or_else(|| BrokerCalls::unattached(self.max_block, MAX_BLOCK_MS));
                self.finish(id, serial, prepared.producer, End::Commit { subtask: prepared.subtask }, &calls)
            }
            None => {
                // Another process began it: librdkafka cannot commit it from here. Committed
                // before that process failed, it is in the topic; if not, the next producer
                // of its id aborts it.
                tracing::warn!(
                    transactional_id = %id,
                    "a restored checkpoint names a Kafka transaction that this process did not begin; \
                     if it was not committed before the failure, its records are lost"
                );
                Ok(())
            }
        }
    }

    /// Commits or aborts a producer's transaction and keeps the producer for a later one.
    ///
    /// A commit that fails with an error the broker says may succeed on retry (a timeout, a
    /// coordinator moving) leaves the transaction prepared, held by its producer: the failure
    /// fails the job, and the restore commits the restored checkpoint's transactions again, this
    /// one among them. A commit that cannot succeed (the transaction had to be aborted, or the
    /// producer was fenced) loses the transaction's records: the error says so.
    fn finish(&self, id: String, serial: u64, producer: SinkProducer, end: End, calls: &BrokerCalls) -> Result<()> {
        let ended = if let End::Commit { .. } = end {
            self.one_at_a_time(|| calls.call(OnStop::Finish, |timeout| producer.commit_transaction(timeout)))
        } else {
            // What was sent is delivered first: aborting with records still in flight makes
            // librdkafka bump the producer's epoch, which brokers without KIP-360 (tansu 0.6)
            // refuse until the abort times out.
            let began = Instant::now();
            let _ = calls.call(OnStop::Grace(ABORT_GRACE), |timeout| producer.flush(timeout));
            let grace = OnStop::Grace(ABORT_GRACE.saturating_sub(began.elapsed()));
            self.one_at_a_time(|| calls.call(grace, |timeout| producer.abort_transaction(timeout)))
        };
        let mut registry = self.registry();
        match (ended, end) {
            (Ok(()), _) => {
                registry.finished.insert(id.clone(), serial);
                registry.idle.insert(id, producer);
                Ok(())
            }
            (Err(failure), End::Commit { subtask }) if commit_may_succeed_later(&failure) => {
                let what =
                    format!("commit transaction '{id}' (it stays prepared and is committed again after the restore)");
                let error = failure.into_error(&what);
                tracing::warn!(transactional_id = %id, %error, "committing a Kafka transaction failed; it is retried after the restore");
                registry.prepared.insert(id, Prepared { serial, subtask, producer });
                Err(error)
            }
            (Err(failure), end) => {
                // The producer is dropped: the next producer of its id fences it off and aborts
                // what it left open.
                registry.finished.insert(id.clone(), serial);
                if let End::Commit { .. } = end {
                    let what =
                        format!("commit transaction '{id}': it cannot be committed any more and its records are lost");
                    let error = failure.into_error(&what);
                    tracing::error!(transactional_id = %id, %error, "a Kafka transaction of a completed checkpoint cannot be committed; its records are lost");
                    Err(error)
                } else {
                    Err(failure.into_error(&format!("abort transaction '{id}'")))
                }
            }
        }
    }
}

/// How [`Transactions::finish`] ends a transaction.
#[derive(Clone, Copy)]
enum End {
    /// Commit it; a commit that may succeed later keeps it prepared for `subtask`.
    Commit { subtask: usize },
    /// Abort it.
    Abort,
}

/// Whether a failed `commit_transaction` may succeed when called again: after its bound (the
/// commit goes on in the background), and for errors librdkafka calls retriable that neither
/// need the transaction aborted nor are fatal to the producer.
fn commit_may_succeed_later(failure: &CallFailure) -> bool {
    match failure {
        CallFailure::TimedOut { .. } | CallFailure::Stopped => true,
        CallFailure::Broker(rdkafka::error::KafkaError::Transaction(cause)) => {
            cause.is_retriable() && !cause.txn_requires_abort() && !cause.is_fatal()
        }
        CallFailure::Broker(_) => false,
    }
}

fn parse_committable(committable: &[u8]) -> Result<(String, u64)> {
    let text = std::str::from_utf8(committable).ok();
    let parsed = text.and_then(|text| text.split_once('\0')).and_then(|(id, serial)| {
        let serial = serial.parse().ok()?;
        Some((id.to_string(), serial))
    });
    parsed.ok_or_else(|| {
        FlinkError::Connector(format!(
            "Kafka: a checkpoint holds a committable that names no transaction ({} bytes); \
             was it written by another sink?",
            committable.len()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committables_name_their_transaction() {
        assert_eq!(parse_committable(b"out-1-0\x0042").unwrap(), ("out-1-0".to_string(), 42));
        let error = parse_committable(b"garbage").unwrap_err();
        assert!(error.to_string().contains("names no transaction"), "{error}");
        assert!(parse_committable(&[0xff, 0, b'1']).is_err());
    }
}
