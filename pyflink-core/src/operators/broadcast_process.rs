//! The operators of the broadcast state pattern: the first input is processed with read-only
//! broadcast state (and, keyed, with keyed state and timers), the second (broadcast) input
//! updates the broadcast state. Broadcast state is checkpointed by every instance; a restore gives
//! each new instance the copy of one old instance.

use pyflink_state::{BroadcastStateStore, KeyGroupAssigner, KeyedStateBackend};

use crate::api::broadcast::{
    BroadcastContext, BroadcastProcessFunction, KeyedBroadcastProcessFunction, KeyedReadOnlyBroadcastContext,
    ReadOnlyBroadcastContext,
};
use crate::api::functions::{KeyedProcessContext, KeyedRuntimeContext, ProcessContext};
use crate::checkpoint::StateSnapshotContext;
use crate::operators::keyed_reduce::KeySelector;
use crate::operators::snapshot_keyed;
use crate::runtime::operator::{RuntimeContext, TwoInputOperator};
use crate::runtime::output::Output;
use crate::time::timer_service::InternalTimerService;
use crate::time::TimeDomain;
use crate::{Data, Key, Result};

/// The file of an instance's broadcast state in checkpoints.
const BROADCAST_FILE: &str = "broadcast";

/// The broadcast state of an instance: restored from the old instance of the same index (modulo
/// the old parallelism; all copies are equal), or empty.
fn open_store(context: &RuntimeContext, declared: &[String]) -> Result<BroadcastStateStore> {
    if let Some(restored) = context.restored() {
        let files = restored.files(BROADCAST_FILE)?;
        if !files.is_empty() {
            let (_, bytes) = &files[context.subtask_index % files.len()];
            return Ok(BroadcastStateStore::restore(bytes, declared.to_vec())?);
        }
    }
    Ok(BroadcastStateStore::new(declared.to_vec()))
}

fn snapshot_store(store: &Option<BroadcastStateStore>, context: &mut StateSnapshotContext) -> Result<()> {
    if let Some(store) = store.as_ref().filter(|s| !s.is_empty()) {
        context.add_file(BROADCAST_FILE, store.snapshot()?);
    }
    Ok(())
}

/// Runs a [`BroadcastProcessFunction`].
pub(crate) struct BroadcastProcessOperator<F> {
    function: F,
    declared: Vec<String>,
    store: Option<BroadcastStateStore>,
}

impl<F> BroadcastProcessOperator<F> {
    pub(crate) fn new(function: F, declared: Vec<String>) -> Self {
        BroadcastProcessOperator { function, declared, store: None }
    }
}

impl<IN: Data, B: Data, OUT: Data, F: BroadcastProcessFunction<IN, B, OUT>> TwoInputOperator<IN, B, OUT>
    for BroadcastProcessOperator<F>
{
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.store = Some(open_store(context, &self.declared)?);
        self.function.open(context)
    }

    fn process_element1(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()> {
        let store = self.store.as_mut().expect("opened before the first record");
        self.function.process_element(value, &mut ReadOnlyBroadcastContext { context: ProcessContext { out }, store })
    }

    fn process_element2(&mut self, value: B, out: &mut Output<OUT>) -> Result<()> {
        let store = self.store.as_mut().expect("opened before the first record");
        self.function.process_broadcast_element(value, &mut BroadcastContext { context: ProcessContext { out }, store })
    }

    fn snapshot_state(&mut self, context: &mut StateSnapshotContext) -> Result<()> {
        snapshot_store(&self.store, context)
    }

    fn close(&mut self) -> Result<()> {
        self.function.close()
    }
}

/// Runs a [`KeyedBroadcastProcessFunction`].
pub(crate) struct KeyedBroadcastProcessOperator<IN, K: Key, F> {
    key: KeySelector<IN, K>,
    function: F,
    declared: Vec<String>,
    store: Option<BroadcastStateStore>,
    backend: Option<KeyedStateBackend<K>>,
    timers: Option<InternalTimerService<K, ()>>,
    assigner: KeyGroupAssigner,
}

impl<IN, K: Key, F> KeyedBroadcastProcessOperator<IN, K, F> {
    pub(crate) fn new(key: KeySelector<IN, K>, function: F, declared: Vec<String>) -> Self {
        KeyedBroadcastProcessOperator {
            key,
            function,
            declared,
            store: None,
            backend: None,
            timers: None,
            assigner: KeyGroupAssigner::new(1),
        }
    }

    /// Runs `f` with the keyed read-only context of the current key.
    fn with_keyed<OUT: Data, R>(
        &mut self,
        out: &mut Output<OUT>,
        time_domain: Option<TimeDomain>,
        f: impl FnOnce(&mut F, &mut KeyedReadOnlyBroadcastContext<'_, K, OUT>) -> R,
    ) -> R {
        let backend = self.backend.as_ref().expect("opened before the first record");
        let timers = self.timers.as_mut().expect("opened before the first record");
        let store = self.store.as_mut().expect("opened before the first record");
        let function = &mut self.function;
        backend.enter(|| {
            let context = KeyedProcessContext { context: ProcessContext { out }, backend, timers, time_domain };
            f(function, &mut KeyedReadOnlyBroadcastContext { context, store })
        })
    }

    fn fire<B: Data, OUT: Data>(&mut self, domain: TimeDomain, at: i64, key: K, out: &mut Output<OUT>) -> Result<()>
    where
        IN: Data,
        F: KeyedBroadcastProcessFunction<K, IN, B, OUT>,
    {
        self.backend.as_ref().expect("opened").set_current_key(key);
        out.timestamp = (domain == TimeDomain::EventTime).then_some(at);
        self.with_keyed(out, Some(domain), |function, ctx| function.on_timer(at, ctx))
    }
}

impl<IN: Data, K: Key, B: Data, OUT: Data, F: KeyedBroadcastProcessFunction<K, IN, B, OUT>> TwoInputOperator<IN, B, OUT>
    for KeyedBroadcastProcessOperator<IN, K, F>
{
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        self.store = Some(open_store(context, &self.declared)?);
        let (backend, restored) = context.keyed_backend::<K>()?;
        let mut timers = InternalTimerService::new(context.processing_time_service().clone());
        timers.restore(&restored, context.key_group_range())?;
        self.timers = Some(timers);
        self.assigner = KeyGroupAssigner::new(context.max_parallelism);
        let backend = self.backend.insert(backend);
        self.function.open(&mut KeyedRuntimeContext { runtime: context, backend })
    }

    fn process_element1(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()> {
        self.backend.as_ref().expect("opened before the first record").set_current_key((self.key)(&value));
        self.with_keyed(out, None, |function, ctx| function.process_element(value, ctx))
    }

    fn process_element2(&mut self, value: B, out: &mut Output<OUT>) -> Result<()> {
        let store = self.store.as_mut().expect("opened before the first record");
        self.function.process_broadcast_element(value, &mut BroadcastContext { context: ProcessContext { out }, store })
    }

    fn process_watermark(&mut self, timestamp: i64, out: &mut Output<OUT>) -> Result<()> {
        if let Some(timers) = self.timers.as_mut() {
            timers.advance_watermark(timestamp);
        }
        while let Some((at, key, ())) = self.timers.as_mut().and_then(|t| t.event.pop_due(timestamp)) {
            self.fire::<B, OUT>(TimeDomain::EventTime, at, key, out)?;
        }
        out.emit_watermark(timestamp);
        Ok(())
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Output<OUT>) -> Result<()> {
        while let Some((at, key, ())) = self.timers.as_mut().and_then(|t| t.processing.pop_due(now)) {
            self.fire::<B, OUT>(TimeDomain::ProcessingTime, at, key, out)?;
        }
        if let Some(timers) = self.timers.as_mut() {
            timers.rearm_processing_time();
        }
        Ok(())
    }

    fn snapshot_state(&mut self, context: &mut StateSnapshotContext) -> Result<()> {
        snapshot_store(&self.store, context)?;
        let (Some(backend), Some(timers)) = (&self.backend, &self.timers) else { return Ok(()) };
        snapshot_keyed(backend, timers, &self.assigner, context)
    }

    fn close(&mut self) -> Result<()> {
        let function = &mut self.function;
        match &self.backend {
            Some(backend) => backend.enter(|| function.close()),
            None => function.close(),
        }
    }
}
