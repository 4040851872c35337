//! The built-in operators, one per file. Each implements the life cycle of
//! [`OneInputOperator`](crate::runtime::operator::OneInputOperator) or
//! [`TwoInputOperator`](crate::runtime::operator::TwoInputOperator); the runtime drives them.

pub(crate) mod broadcast_process;
pub(crate) mod co_process;
pub(crate) mod filter;
pub(crate) mod flat_map;
pub(crate) mod forward;
pub(crate) mod keyed_process;
pub(crate) mod keyed_reduce;
pub(crate) mod map;
pub(crate) mod process;
pub(crate) mod sink;
pub(crate) mod timestamps;

use pyflink_state::{KeyGroupAssigner, KeyedStateBackend};

use crate::checkpoint::StateSnapshotContext;
use crate::time::timer_service::InternalTimerService;
use crate::{Key, Result};

/// Adds the keyed state and the timers of a keyed operator to its snapshot. The backend's heap
/// tables are frozen and encoded later, off the task thread; the timers are encoded now.
pub(crate) fn snapshot_keyed<K: Key>(
    backend: &KeyedStateBackend<K>,
    timers: &InternalTimerService<K, ()>,
    assigner: &KeyGroupAssigner,
    context: &mut StateSnapshotContext,
) -> Result<()> {
    let mut snapshot = backend.snapshot_deferred()?;
    for section in timers.snapshot(assigner)? {
        snapshot.push_section(section);
    }
    context.add_keyed(snapshot);
    Ok(())
}
