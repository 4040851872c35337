//! How records move from one operator's instances to the next: forward, by key, round robin,
//! random, rescale, broadcast, global or a custom partitioner. Watermarks always go to every
//! downstream instance, so each one can combine the watermarks of all its upstream instances.

use std::sync::Arc;

use pyflink_state::key_group::operator_index_for_key_group;
use pyflink_state::KeyGroupAssigner;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use timely::communication::Push;
use timely::dataflow::channels::pushers::exchange::Distributor;
use timely::dataflow::channels::Message;
use timely::progress::Stamp;

use crate::element::Element;
use crate::runtime::batch_pool::{recycle, refill};
use crate::runtime::job::JobShared;
use crate::runtime::output::BATCH;
use crate::{Data, FlinkError, Result};

/// The stable hash of a record's key, computed through the key selector of a `KeyedStream`.
pub(crate) type KeyHashFn<T> = Arc<dyn Fn(&T) -> u64 + Send + Sync>;
/// A user partitioner: the record and the number of partitions to the target partition, or
/// the error that fails the job.
pub(crate) type CustomPartitionFn<T> = Arc<dyn Fn(&T, usize) -> Result<usize> + Send + Sync>;

/// The partitioning of the edge into the next operator.
pub(crate) enum Partitioner<T> {
    /// Forward when both sides have the same parallelism, otherwise rebalance (Flink's default).
    Default,
    /// Instance i sends to instance i; both sides must have the same parallelism.
    Forward,
    /// Round robin over all downstream instances.
    Rebalance,
    /// Uniformly random downstream instance.
    Shuffle,
    /// Round robin over a local subset of downstream instances.
    Rescale,
    /// Every record to every downstream instance.
    Broadcast,
    /// Every record to downstream instance 0.
    Global,
    /// By key group: the owner of the record key's group.
    KeyGroup(KeyHashFn<T>),
    /// By a user function.
    Custom(CustomPartitionFn<T>),
}

impl<T> Clone for Partitioner<T> {
    fn clone(&self) -> Self {
        match self {
            Partitioner::Default => Partitioner::Default,
            Partitioner::Forward => Partitioner::Forward,
            Partitioner::Rebalance => Partitioner::Rebalance,
            Partitioner::Shuffle => Partitioner::Shuffle,
            Partitioner::Rescale => Partitioner::Rescale,
            Partitioner::Broadcast => Partitioner::Broadcast,
            Partitioner::Global => Partitioner::Global,
            Partitioner::KeyGroup(f) => Partitioner::KeyGroup(Arc::clone(f)),
            Partitioner::Custom(f) => Partitioner::Custom(Arc::clone(f)),
        }
    }
}

impl<T> Partitioner<T> {
    /// Flink's name of the partitioning, for plans and errors.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Partitioner::Default => "DEFAULT",
            Partitioner::Forward => "FORWARD",
            Partitioner::Rebalance => "REBALANCE",
            Partitioner::Shuffle => "SHUFFLE",
            Partitioner::Rescale => "RESCALE",
            Partitioner::Broadcast => "BROADCAST",
            Partitioner::Global => "GLOBAL",
            Partitioner::KeyGroup(_) => "HASH",
            Partitioner::Custom(_) => "CUSTOM",
        }
    }

    /// Whether the edge is a direct, same-instance connection.
    pub(crate) fn is_forward(&self, upstream: usize, downstream: usize) -> bool {
        matches!(self, Partitioner::Forward) || (matches!(self, Partitioner::Default) && upstream == downstream)
    }
}

/// The routing target that stands for "every target" (watermarks and status changes).
const BROADCAST: u32 = u32::MAX;

/// The per-edge routing state of one sending instance.
enum Route<T> {
    RoundRobin { next: usize },
    Random(SmallRng),
    Rescale { targets: Vec<usize>, next: usize },
    Broadcast,
    Global,
    KeyGroup { key_hash: KeyHashFn<T>, assigner: KeyGroupAssigner, owners: Vec<u32> },
    Custom(CustomPartitionFn<T>),
}

/// Distributes the elements of one sending instance over the downstream instances.
pub(crate) struct ElementDistributor<T> {
    route: Route<T>,
    targets: usize,
    buffers: Vec<Vec<Element<T>>>,
    /// The target of each element of the batch being partitioned, reused between batches.
    targets_scratch: Vec<u32>,
    job: Arc<JobShared>,
    operator: String,
    sender: usize,
}

/// Everything an exchange edge needs to route records.
pub(crate) struct EdgeRouting<T> {
    pub(crate) partitioner: Partitioner<T>,
    pub(crate) sender: usize,
    pub(crate) upstream_parallelism: usize,
    pub(crate) downstream_parallelism: usize,
    pub(crate) max_parallelism: usize,
    pub(crate) job: Arc<JobShared>,
    pub(crate) operator: String,
}

impl<T: Data> ElementDistributor<T> {
    pub(crate) fn new(edge: EdgeRouting<T>, peers: usize) -> Self {
        let down = edge.downstream_parallelism;
        let route = match edge.partitioner {
            Partitioner::Default | Partitioner::Rebalance | Partitioner::Forward => {
                Route::RoundRobin { next: edge.sender % down }
            }
            Partitioner::Shuffle => Route::Random(SmallRng::seed_from_u64(edge.sender as u64 ^ 0x5eed)),
            Partitioner::Rescale => {
                Route::Rescale { targets: rescale_targets(edge.sender, edge.upstream_parallelism, down), next: 0 }
            }
            Partitioner::Broadcast => Route::Broadcast,
            Partitioner::Global => Route::Global,
            Partitioner::KeyGroup(f) => Route::KeyGroup {
                key_hash: f,
                assigner: KeyGroupAssigner::new(edge.max_parallelism),
                // The owner of every key group, looked up rather than computed per record.
                owners: (0..edge.max_parallelism)
                    .map(|group| operator_index_for_key_group(group, edge.max_parallelism, down) as u32)
                    .collect(),
            },
            Partitioner::Custom(f) => Route::Custom(f),
        };
        ElementDistributor {
            route,
            targets: down,
            buffers: (0..peers).map(|_| Vec::new()).collect(),
            targets_scratch: Vec::with_capacity(BATCH),
            job: edge.job,
            operator: edge.operator,
            sender: edge.sender,
        }
    }

    /// The target instance of a record, or `None` for broadcast.
    #[inline]
    fn target(&mut self, value: &T) -> Option<usize> {
        let targets = self.targets;
        Some(match &mut self.route {
            Route::KeyGroup { key_hash, assigner, owners } => owners[assigner.group_of(key_hash(value))] as usize,
            Route::RoundRobin { next } => {
                let t = *next;
                *next = if t + 1 == targets { 0 } else { t + 1 };
                t
            }
            Route::Random(rng) => rng.random_range(0..targets),
            Route::Rescale { targets, next } => {
                let t = targets[*next];
                *next = (*next + 1) % targets.len();
                t
            }
            Route::Global => 0,
            Route::Broadcast => return None,
            Route::Custom(f) => {
                let t = match f(value, targets) {
                    Ok(t) => t,
                    Err(error) => {
                        self.job.fail(FlinkError::TaskFailed {
                            operator: self.operator.clone(),
                            subtask: self.sender,
                            cause: format!("custom partitioner failed: {error}"),
                            recoverable: error.is_recoverable(),
                        });
                        return Some(0);
                    }
                };
                if t >= targets {
                    self.job.fail(FlinkError::TaskFailed {
                        operator: self.operator.clone(),
                        subtask: self.sender,
                        cause: format!("custom partitioner returned partition {t}, but there are only {targets} partitions (0..{targets})"),
                        // The partitioner returns the same for the same record after a restart.
                        recoverable: false,
                    });
                    return Some(0);
                }
                t
            }
        })
    }
}

/// The downstream instances that upstream instance `sender` feeds under rescale partitioning.
fn rescale_targets(sender: usize, upstream: usize, downstream: usize) -> Vec<usize> {
    let targets: Vec<usize> = (0..downstream).filter(|&d| d * upstream / downstream == sender).collect();
    if targets.is_empty() {
        vec![sender * downstream / upstream]
    } else {
        targets
    }
}

impl<T: Data> Distributor<Vec<Element<T>>> for ElementDistributor<T> {
    fn partition<TS: Clone, P: Push<Message<TS, Vec<Element<T>>>>>(
        &mut self,
        container: &mut Vec<Element<T>>,
        stamp: &Stamp<TS>,
        pushers: &mut [P],
    ) {
        partition_elements(self, container, stamp, pushers);
    }

    fn flush<TS: Clone, P: Push<Message<TS, Vec<Element<T>>>>>(&mut self, stamp: &Stamp<TS>, pushers: &mut [P]) {
        for (buffer, pusher) in self.buffers.iter_mut().zip(pushers.iter_mut()) {
            if !buffer.is_empty() {
                Message::push_at(buffer, stamp.clone(), pusher);
                // A pusher to another process serializes the batch and leaves it in place, for
                // reuse; sent again, its records would arrive twice.
                buffer.clear();
            }
        }
    }

    fn relax(&mut self) {
        for buffer in &mut self.buffers {
            buffer.shrink_to(BATCH);
        }
    }
}

/// Routes every record of `container` and moves it into its target's buffer, sending buffers that
/// fill up. Routing happens in a first pass over references and moving in a second: routing inside
/// the moving loop made every element take a detour through a stack temporary while its key was
/// hashed, which cost more than the hashing.
fn partition_elements<T: Data, TS: Clone, P: Push<Message<TS, Vec<Element<T>>>>>(
    d: &mut ElementDistributor<T>,
    container: &mut Vec<Element<T>>,
    stamp: &Stamp<TS>,
    pushers: &mut [P],
) {
    let mut targets = std::mem::take(&mut d.targets_scratch);
    targets.clear();
    for element in container.iter() {
        targets.push(match element {
            Element::Record(record) => d.target(&record.value).map_or(BROADCAST, |t| t as u32),
            Element::Watermark(_) | Element::Status(_) => BROADCAST,
        });
    }
    for (element, &t) in container.drain(..).zip(targets.iter()) {
        if t == BROADCAST {
            broadcast(&mut d.buffers[..d.targets], element, stamp, pushers);
            continue;
        }
        let t = t as usize;
        let buffer = &mut d.buffers[t];
        buffer.push(element);
        if buffer.len() >= BATCH {
            Message::push_at(buffer, stamp.clone(), &mut pushers[t]);
            refill(buffer);
        }
    }
    d.targets_scratch = targets;
    recycle(container);
}

/// Appends `element` to the buffer of every target, sending the buffers that fill up.
fn broadcast<T: Data, TS: Clone, P: Push<Message<TS, Vec<Element<T>>>>>(
    buffers: &mut [Vec<Element<T>>],
    element: Element<T>,
    stamp: &Stamp<TS>,
    pushers: &mut [P],
) {
    for (buffer, pusher) in buffers.iter_mut().zip(pushers.iter_mut()) {
        buffer.push(element.clone());
        if buffer.len() >= BATCH {
            Message::push_at(buffer, stamp.clone(), pusher);
            refill(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rescale_targets;

    #[test]
    fn rescale_covers_every_target_once() {
        for up in 1..6 {
            for down in 1..9 {
                let mut seen = vec![0; down];
                for s in 0..up {
                    for t in rescale_targets(s, up, down) {
                        seen[t] += 1;
                    }
                }
                if down >= up {
                    assert!(seen.iter().all(|&c| c == 1), "up {up} down {down}: {seen:?}");
                } else {
                    assert!(seen.iter().all(|&c| c >= 1), "up {up} down {down}: {seen:?}");
                }
            }
        }
    }
}
