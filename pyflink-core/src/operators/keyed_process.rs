//! `KeyedStream::process`: runs a [`KeyedProcessFunction`] with the record's key current in the
//! instance's keyed state backend, and fires its timers when event or processing time reaches
//! them.

use pyflink_state::{KeyGroupAssigner, KeyedStateBackend};

use crate::api::functions::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, ProcessContext};
use crate::checkpoint::StateSnapshotContext;
use crate::operators::keyed_reduce::KeySelector;
use crate::operators::snapshot_keyed;
use crate::runtime::operator::{OneInputOperator, RuntimeContext};
use crate::runtime::output::Output;
use crate::time::timer_service::InternalTimerService;
use crate::time::TimeDomain;
use crate::{Data, Key, Result};

/// Runs a keyed process function.
pub(crate) struct KeyedProcessOperator<IN, K: Key, F> {
    key: KeySelector<IN, K>,
    function: F,
    backend: Option<KeyedStateBackend<K>>,
    timers: Option<InternalTimerService<K, ()>>,
    assigner: KeyGroupAssigner,
}

impl<IN, K: Key, F> KeyedProcessOperator<IN, K, F> {
    pub(crate) fn new(key: KeySelector<IN, K>, function: F) -> Self {
        KeyedProcessOperator { key, function, backend: None, timers: None, assigner: KeyGroupAssigner::new(1) }
    }
}

impl<IN: Data, K: Key, F> KeyedProcessOperator<IN, K, F> {
    /// Fires the timer of `key` at `timestamp` in `domain`.
    fn fire<OUT: Data>(&mut self, domain: TimeDomain, timestamp: i64, key: K, out: &mut Output<OUT>) -> Result<()>
    where
        F: KeyedProcessFunction<K, IN, OUT>,
    {
        let (Some(backend), Some(timers)) = (self.backend.as_ref(), self.timers.as_mut()) else {
            return Ok(());
        };
        backend.set_current_key(key);
        out.timestamp = match domain {
            TimeDomain::EventTime => Some(timestamp),
            TimeDomain::ProcessingTime => None,
        };
        let function = &mut self.function;
        backend.enter(|| {
            let context = ProcessContext { out };
            let mut ctx = KeyedProcessContext { context, backend, timers, time_domain: Some(domain) };
            function.on_timer(timestamp, &mut ctx)
        })
    }

    /// Runs `call` of the function when no record is current (ending a batch or the input):
    /// the function sets the key of each buffered record it handles.
    fn between_records<OUT: Data>(
        &mut self,
        out: &mut Output<OUT>,
        call: impl FnOnce(&mut F, &mut KeyedProcessContext<'_, K, OUT>) -> Result<()>,
    ) -> Result<()> {
        let (Some(backend), Some(timers)) = (self.backend.as_ref(), self.timers.as_mut()) else {
            return Ok(());
        };
        out.timestamp = None;
        let function = &mut self.function;
        backend.enter(|| {
            let context = ProcessContext { out };
            call(function, &mut KeyedProcessContext { context, backend, timers, time_domain: None })
        })
    }
}

impl<IN: Data, K: Key, OUT: Data, F: KeyedProcessFunction<K, IN, OUT>> OneInputOperator<IN, OUT>
    for KeyedProcessOperator<IN, K, F>
{
    fn open(&mut self, context: &RuntimeContext) -> Result<()> {
        let (backend, restored) = context.keyed_backend::<K>()?;
        let mut timers = InternalTimerService::new(context.processing_time_service().clone());
        timers.restore(&restored, context.key_group_range())?;
        self.timers = Some(timers);
        self.assigner = KeyGroupAssigner::new(context.max_parallelism);
        let backend = self.backend.insert(backend);
        self.function.open(&mut KeyedRuntimeContext { runtime: context, backend })
    }

    fn snapshot_state(&mut self, context: &mut StateSnapshotContext) -> Result<()> {
        // Writing state is all it may do: there is no output between a checkpoint's barriers.
        let mut no_output = Output::new(0, Vec::new());
        self.between_records(&mut no_output, |function, ctx| function.prepare_snapshot(ctx))?;
        if !no_output.buffer.is_empty() {
            return Err(crate::FlinkError::Runtime(
                "a keyed process function emitted records in prepare_snapshot, which may only write state".into(),
            ));
        }
        let (Some(backend), Some(timers)) = (&self.backend, &self.timers) else { return Ok(()) };
        snapshot_keyed(backend, timers, &self.assigner, context)
    }

    #[inline]
    fn process_element(&mut self, value: IN, out: &mut Output<OUT>) -> Result<()> {
        let backend = self.backend.as_ref().expect("opened before the first record");
        let timers = self.timers.as_mut().expect("opened before the first record");
        backend.set_current_key((self.key)(&value));
        let function = &mut self.function;
        backend.enter(|| {
            let context = ProcessContext { out };
            function.process_element(value, &mut KeyedProcessContext { context, backend, timers, time_domain: None })
        })
    }

    fn end_input(&mut self, out: &mut Output<OUT>) -> Result<()> {
        self.between_records(out, |function, ctx| function.end_input(ctx))
    }

    fn finish_batch(&mut self, out: &mut Output<OUT>) -> Result<()> {
        self.between_records(out, |function, ctx| function.finish_batch(ctx))
    }

    fn end_batch(&mut self, out: &mut Output<OUT>) -> Result<()> {
        self.between_records(out, |function, ctx| function.end_batch(ctx))
    }

    fn owes_results(&self) -> bool {
        self.function.owes_results()
    }

    fn process_watermark(&mut self, timestamp: i64, out: &mut Output<OUT>) -> Result<()> {
        if let Some(timers) = self.timers.as_mut() {
            timers.advance_watermark(timestamp);
        }
        loop {
            let mut fired = false;
            while let Some((at, key, ())) = self.timers.as_mut().and_then(|t| t.event.pop_due(timestamp)) {
                self.fire(TimeDomain::EventTime, at, key, out)?;
                fired = true;
            }
            if !fired {
                break;
            }
            // A function that buffers its timer calls finishes them before the watermark
            // passes on; finishing them may set timers that are already due.
            self.finish_batch(out)?;
        }
        out.emit_watermark(timestamp);
        Ok(())
    }

    fn on_processing_time(&mut self, now: i64, out: &mut Output<OUT>) -> Result<()> {
        let mut fired = false;
        while let Some((at, key, ())) = self.timers.as_mut().and_then(|t| t.processing.pop_due(now)) {
            self.fire(TimeDomain::ProcessingTime, at, key, out)?;
            fired = true;
        }
        if fired {
            self.finish_batch(out)?;
        }
        if let Some(timers) = self.timers.as_mut() {
            timers.rearm_processing_time();
        }
        Ok(())
    }

    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        F::within_batch(batch)
    }

    fn close(&mut self) -> Result<()> {
        let function = &mut self.function;
        match &self.backend {
            Some(backend) => backend.enter(|| function.close()),
            None => function.close(),
        }
    }
}
