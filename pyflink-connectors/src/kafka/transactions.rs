//! Kafka transactions of the `EXACTLY_ONCE` sink: each writer writes a checkpoint's records in
//! a transaction of its own, which the sink commits when that checkpoint completes.
//!
//! A transaction is held by the producer that began it: librdkafka cannot commit another
//! producer's transaction, as Flink's Java sink does by resuming its producer id and epoch. So
//! the transactions prepared for checkpoints live here, in the sink, which outlives the
//! restarts of its job: after a failure, the restored checkpoint's transactions are committed
//! by the producers that hold them, and the later ones are aborted. A restored transaction
//! that no producer of this process holds (its process died, or the job was started again from
//! a retained checkpoint) is looked up by its mark: committed before the failure, it is left
//! alone; if not, its records are written again from the checkpoint's copy in a new
//! transaction, see [`crate::kafka::committable`].
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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyflink_core::{FlinkError, Result};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerGroupMetadata};
use rdkafka::producer::{BaseProducer, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::kafka::broker::{BrokerCalls, CallFailure, OnStop, MAX_BLOCK_MS};
use crate::kafka::committable::Committable;
use crate::kafka::sink::DeliveryReports;
use crate::kafka::{client_config, kafka_error};

/// The producer type of the Kafka sink.
pub(crate) type SinkProducer = BaseProducer<DeliveryReports>;

/// How long the abort of a transaction (with the flush before it) may go on once its task must
/// stop: long enough for a healthy broker, so that no transaction is left open to hold back
/// read_committed consumers, and short enough not to hold a cancelled job when the broker is gone.
const ABORT_GRACE: Duration = Duration::from_secs(5);

/// How long a restore looks for the marks of restored transactions before it takes those
/// not seen as never committed (see [`Transactions::await_marks`]).
const MARK_SETTLE_TIME: Duration = Duration::from_secs(5);

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
    /// The token of the last transaction of each id that this process committed.
    committed: HashMap<String, i64>,
    /// The consumer group of each transactional id, which its transactions mark.
    groups: HashMap<String, Arc<ConsumerGroupMetadata>>,
    /// The broker calls of the latest writer of each subtask, which commit its transactions.
    calls: HashMap<usize, BrokerCalls>,
}

struct Prepared {
    token: i64,
    subtask: usize,
    producer: SinkProducer,
}

/// A transaction a writer has open: its records go to `producer`.
pub(crate) struct OpenTransaction {
    pub(crate) id: String,
    /// A random number that tells the transaction from every other one of its id.
    pub(crate) token: i64,
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
        self.registry().calls.insert(subtask, calls.clone());
        self.abort_prepared(|prepared| prepared.subtask % parallelism == subtask, calls);
        self.fence_ids(subtask, calls)
    }

    /// Aborts the transactions prepared here that `abandoned` picks.
    fn abort_prepared(&self, abandoned: impl Fn(&Prepared) -> bool, calls: &BrokerCalls) {
        let picked: Vec<(String, Prepared)> = {
            let mut registry = self.registry();
            let ids: Vec<String> = registry
                .prepared
                .iter()
                .filter(|(_, prepared)| abandoned(prepared))
                .map(|(id, _)| id.clone())
                .collect();
            ids.into_iter().filter_map(|id| registry.prepared.remove(&id).map(|p| (id, p))).collect()
        };
        for (id, prepared) in picked {
            if let Err(error) = self.finish(id.clone(), prepared.token, prepared.producer, End::Abort, calls) {
                // The next producer of the id fences the transaction off and aborts it.
                tracing::warn!(transactional_id = %id, %error, "an abandoned Kafka transaction could not be aborted");
            }
        }
    }

    /// Fences off the first [`IDS_CLEANED_ON_START`] ids of `subtask` that this process does
    /// not use, aborting what earlier producers left open under them.
    fn fence_ids(&self, subtask: usize, calls: &BrokerCalls) -> Result<()> {
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
        let (id, token, idle) = {
            let mut registry = self.registry();
            let id = (0..)
                .map(|n| self.transactional_id(subtask, n))
                .find(|id| !registry.open.contains(id) && !registry.prepared.contains_key(id))
                .expect("finitely many ids are in use");
            registry.open.insert(id.clone());
            let idle = registry.idle.remove(&id);
            (id, new_token(), idle)
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
            Ok(producer) => Ok(OpenTransaction { id, token, producer }),
            Err(error) => {
                self.registry().open.remove(&id);
                Err(error)
            }
        }
    }

    /// Marks a writer's flushed transaction and keeps it until its checkpoint completes;
    /// returns the committable that names it, with the copy of its `records`. `mark_topic` is
    /// the first topic the transaction wrote to.
    pub(crate) fn prepare(
        &self,
        transaction: OpenTransaction,
        subtask: usize,
        mark_topic: String,
        records: Vec<u8>,
        calls: &BrokerCalls,
    ) -> Result<Vec<u8>> {
        if let Err(error) = self.mark(&transaction.producer, &transaction.id, &mark_topic, transaction.token, calls) {
            self.abort(transaction, calls)?;
            return Err(error);
        }
        let committable = Committable {
            transactional_id: transaction.id.clone(),
            subtask,
            token: transaction.token,
            mark_topic,
            records,
        }
        .encode()?;
        let mut registry = self.registry();
        registry.open.remove(&transaction.id);
        let prepared = Prepared { token: transaction.token, subtask, producer: transaction.producer };
        registry.prepared.insert(transaction.id, prepared);
        Ok(committable)
    }

    /// Sends the mark of transaction `token` of `id` into it: its group's offset on partition
    /// 0 of `topic`, visible once the transaction commits.
    fn mark(&self, producer: &SinkProducer, id: &str, topic: &str, token: i64, calls: &BrokerCalls) -> Result<()> {
        let group = self.group(id)?;
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(topic, 0, Offset::Offset(token))
            .map_err(|e| kafka_error(&format!("mark transaction '{id}'"), e))?;
        calls
            .call(OnStop::GiveUp, |timeout| producer.send_offsets_to_transaction(&offsets, &group, timeout))
            .map_err(|failure| failure.into_error(&format!("mark transaction '{id}' in its consumer group")))
    }

    /// A client of the consumer group named `id`.
    fn group_client(&self, id: &str) -> Result<BaseConsumer> {
        let mut config = client_config(&self.properties);
        config.set("group.id", id).set("enable.auto.commit", "false");
        config.create().map_err(|e| kafka_error(&format!("create a client of consumer group '{id}'"), e))
    }

    /// The consumer group the transactions of `id` mark, made once per id.
    fn group(&self, id: &str) -> Result<Arc<ConsumerGroupMetadata>> {
        if let Some(group) = self.registry().groups.get(id) {
            return Ok(Arc::clone(group));
        }
        let group = self.group_client(id)?.group_metadata().map(Arc::new).ok_or_else(|| {
            FlinkError::Connector(format!("Kafka: no consumer group metadata for transactional id '{id}'"))
        })?;
        self.registry().groups.insert(id.to_string(), Arc::clone(&group));
        Ok(group)
    }

    /// Aborts a transaction a writer gives up (on failure or close), so that it holds back no
    /// read_committed consumer.
    pub(crate) fn abort(&self, transaction: OpenTransaction, calls: &BrokerCalls) -> Result<()> {
        let OpenTransaction { id, token, producer } = transaction;
        self.registry().open.remove(&id);
        self.finish(id, token, producer, End::Abort, calls)
    }

    /// Commits the transactions that `committables` name. One this process holds is committed
    /// by its producer; one committed already (as before a restore) is left alone. The others
    /// (restored, their producers gone) are made sure of: their writers' ids are fenced off,
    /// aborting what was left open, and a transaction whose mark does not show is written again
    /// from its copy (see [`Transactions::await_marks`]).
    pub(crate) fn commit(&self, committables: &[Vec<u8>]) -> Result<()> {
        let mut unheld = Vec::new();
        for bytes in committables {
            let committable = Committable::decode(bytes)?;
            if !self.commit_held(&committable)? {
                unheld.push(committable);
            }
        }
        if unheld.is_empty() {
            return Ok(());
        }
        let calls = BrokerCalls::unattached(self.max_block, MAX_BLOCK_MS);
        let subtasks: BTreeSet<usize> = unheld.iter().map(|committable| committable.subtask).collect();
        for subtask in subtasks {
            // What this process prepared for those writers after the restored checkpoint.
            self.abort_prepared(|prepared| prepared.subtask == subtask, &calls);
            self.fence_ids(subtask, &calls)?;
        }
        for committable in &unheld {
            let producer = self.fenced_producer(&committable.transactional_id, &calls)?;
            self.registry().idle.insert(committable.transactional_id.clone(), producer);
        }
        let marked = self.await_marks(&unheld, &calls)?;
        for (committable, marked) in unheld.iter().zip(marked) {
            let id = committable.transactional_id.clone();
            if marked {
                tracing::info!(transactional_id = %id, "a restored Kafka transaction was committed before the failure");
                self.registry().committed.insert(id, committable.token);
                continue;
            }
            tracing::info!(transactional_id = %id, "writing the records of a restored Kafka transaction again");
            let producer = self.fenced_producer(&id, &calls)?;
            self.registry().open.insert(id.clone());
            let written = self.write_again(committable, &producer, &calls);
            self.registry().open.remove(&id);
            match written {
                Ok(()) => {
                    self.finish(id, committable.token, producer, End::Commit { subtask: committable.subtask }, &calls)?
                }
                Err(error) => {
                    self.finish(id, committable.token, producer, End::Abort, &calls)?;
                    return Err(error);
                }
            }
        }
        Ok(())
    }

    /// Commits the transaction of `committable` if this process holds it; whether it is
    /// committed (by now or before).
    fn commit_held(&self, committable: &Committable) -> Result<bool> {
        let id = &committable.transactional_id;
        let (prepared, calls) = {
            let mut registry = self.registry();
            let prepared = match registry.prepared.get(id) {
                Some(prepared) if prepared.token == committable.token => registry.prepared.remove(id),
                _ if registry.committed.get(id) == Some(&committable.token) => return Ok(true),
                _ => return Ok(false),
            };
            (prepared, registry.calls.get(&committable.subtask).cloned())
        };
        let Some(prepared) = prepared else { return Ok(false) };
        let calls = calls.unwrap_or_else(|| BrokerCalls::unattached(self.max_block, MAX_BLOCK_MS));
        let end = End::Commit { subtask: prepared.subtask };
        self.finish(id.clone(), committable.token, prepared.producer, end, &calls)?;
        Ok(true)
    }

    /// A producer of `id` with no transaction open and every earlier producer of it fenced off.
    fn fenced_producer(&self, id: &str, calls: &BrokerCalls) -> Result<SinkProducer> {
        let idle = self.registry().idle.remove(id);
        match idle {
            Some(producer) => Ok(producer),
            None => self.create_producer(id, calls),
        }
    }

    /// Whether each restored transaction of `committables` shows its mark, once its id is
    /// fenced off.
    ///
    /// Kafka applies a transaction's group offsets as it commits, so the first look tells. Some
    /// brokers apply them only once every transaction overlapping it in a partition has ended
    /// (tansu 0.6): those of other writers that died with it end as the restore fences their
    /// ids off, in every process. So marks not seen are looked for again until
    /// [`MARK_SETTLE_TIME`] has passed; only then is a transaction taken as not committed.
    fn await_marks(&self, committables: &[Committable], calls: &BrokerCalls) -> Result<Vec<bool>> {
        let clients: Vec<BaseConsumer> =
            committables.iter().map(|c| self.group_client(&c.transactional_id)).collect::<Result<_>>()?;
        let mut marked = vec![false; committables.len()];
        let started = Instant::now();
        loop {
            for ((committable, client), marked) in committables.iter().zip(&clients).zip(marked.iter_mut()) {
                if !*marked {
                    *marked = is_marked(client, committable, calls)?;
                }
            }
            if marked.iter().all(|m| *m) || started.elapsed() >= MARK_SETTLE_TIME {
                return Ok(marked);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes the copied records of `committable` in a new transaction of `producer`, marked
    /// with the committable's token, and flushes them.
    fn write_again(&self, committable: &Committable, producer: &SinkProducer, calls: &BrokerCalls) -> Result<()> {
        let id = &committable.transactional_id;
        let _ = producer.context().take_failure();
        producer.begin_transaction().map_err(|e| kafka_error(&format!("begin a transaction of '{id}'"), e))?;
        for record in committable.records() {
            record?.outgoing().send(producer, calls)?;
        }
        self.mark(producer, id, &committable.mark_topic, committable.token, calls)?;
        calls
            .call(OnStop::GiveUp, |timeout| producer.flush(timeout))
            .map_err(|failure| failure.into_error(&format!("flush the records of transaction '{id}'")))?;
        match producer.context().take_failure() {
            Some(failure) => Err(FlinkError::Connector(format!(
                "Kafka: a record of restored transaction '{id}' was not delivered: {failure}"
            ))),
            None => Ok(()),
        }
    }

    /// Commits or aborts a producer's transaction and keeps the producer for a later one.
    ///
    /// A commit that fails with an error the broker says may succeed on retry (a timeout, a
    /// coordinator moving) leaves the transaction prepared, held by its producer: the failure
    /// fails the job, and the restore commits the restored checkpoint's transactions again, this
    /// one among them. A commit that cannot succeed (the transaction had to be aborted, or the
    /// producer was fenced) fails the job too: the restore writes the transaction's records
    /// again from the checkpoint's copy.
    fn finish(&self, id: String, token: i64, producer: SinkProducer, end: End, calls: &BrokerCalls) -> Result<()> {
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
            (Ok(()), end) => {
                if let End::Commit { .. } = end {
                    registry.committed.insert(id.clone(), token);
                }
                registry.idle.insert(id, producer);
                Ok(())
            }
            (Err(failure), End::Commit { subtask }) if commit_may_succeed_later(&failure) => {
                let what =
                    format!("commit transaction '{id}' (it stays prepared and is committed again after the restore)");
                let error = failure.into_error(&what);
                tracing::warn!(transactional_id = %id, %error, "committing a Kafka transaction failed; it is retried after the restore");
                registry.prepared.insert(id, Prepared { token, subtask, producer });
                Err(error)
            }
            (Err(failure), end) => {
                // The producer is dropped: the next producer of its id fences it off and aborts
                // what it left open.
                if let End::Commit { .. } = end {
                    let what =
                        format!("commit transaction '{id}' (the restore writes its records again from the checkpoint)");
                    let error = failure.into_error(&what);
                    tracing::error!(transactional_id = %id, %error, "a Kafka transaction of a completed checkpoint cannot be committed; the restore writes it again");
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

/// A token for a new transaction: random, and not negative, as offsets are not.
fn new_token() -> i64 {
    (rand::random::<u64>() >> 1) as i64
}

/// Whether the group of the transaction `committable` names, read through `client`, has the
/// transaction's token as its offset: the transaction's mark.
fn is_marked(client: &BaseConsumer, committable: &Committable, calls: &BrokerCalls) -> Result<bool> {
    let id = &committable.transactional_id;
    let mut partition = TopicPartitionList::new();
    partition.add_partition(&committable.mark_topic, 0);
    let offsets = calls
        .call(OnStop::GiveUp, |timeout| client.committed_offsets(partition.clone(), timeout))
        .map_err(|failure| failure.into_error(&format!("read the mark of transaction '{id}'")))?;
    let marked = offsets.find_partition(&committable.mark_topic, 0).map(|element| element.offset());
    Ok(marked == Some(Offset::Offset(committable.token)))
}
