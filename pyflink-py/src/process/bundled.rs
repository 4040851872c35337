//! Python operators of process mode: each parallel instance buffers its records into bundles
//! (up to `python.fn-execution.bundle.size` records, and never past the end of an input batch
//! or a watermark) and has its worker process run the function over a whole bundle. Results
//! keep their own record's timestamp; keyed results update the engine's keyed state, so
//! checkpoints and rescaling work as in thread mode.

use std::sync::Arc;

use pyflink_core::{Data, ProcessContext, ProcessFunction, Result, RuntimeContext};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::process::worker::PythonWorker;
use crate::thread::operators::{OutputType, Transform};
use crate::value::{KeyedRecord, PyKey, PyValue};

/// What every process-mode operator holds: the function, its worker, and the bundle size.
pub(crate) struct Bundling {
    function: Arc<Vec<u8>>,
    kind: &'static str,
    pub(crate) bundle_size: usize,
    worker: Option<PythonWorker>,
}

impl Clone for Bundling {
    fn clone(&self) -> Self {
        // Each parallel instance starts its own worker when it opens.
        Bundling { function: Arc::clone(&self.function), kind: self.kind, bundle_size: self.bundle_size, worker: None }
    }
}

impl Bundling {
    pub(crate) fn new(function: Vec<u8>, kind: &'static str, bundle_size: usize) -> Self {
        Bundling { function: Arc::new(function), kind, bundle_size: bundle_size.max(1), worker: None }
    }

    pub(crate) fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
        let worker = Python::attach(|py| PythonWorker::start(py, &self.function, self.kind, &runtime.task_info()))?;
        self.worker = Some(worker);
        Ok(())
    }

    fn worker(&mut self) -> &mut PythonWorker {
        self.worker.as_mut().expect("open() runs before the first record")
    }

    /// Runs the bundle `payload` in the worker.
    pub(crate) fn run<'py>(&mut self, py: Python<'py>, payload: Bound<'py, PyAny>) -> Result<Bound<'py, PyAny>> {
        self.worker().bundle(py, payload)
    }

    /// Sends the bundle `payload` without waiting for its answer, and returns the answer to
    /// the bundle that was in flight, if one was. The new bundle is pickled while the worker
    /// still computes the previous one, and the previous answer unpickled while it computes
    /// the new one.
    pub(crate) fn pass<'py>(
        &mut self,
        py: Python<'py>,
        payload: Bound<'py, PyAny>,
        in_flight: bool,
    ) -> Result<Option<Bound<'py, PyAny>>> {
        let worker = self.worker();
        let frame = worker.frame(py, payload)?;
        let previous = if in_flight { Some(worker.receive_frame(py)?) } else { None };
        worker.send(py, frame)?;
        previous.map(|bytes| worker.answer(py, &bytes)).transpose()
    }

    /// The answer to the bundle in flight.
    pub(crate) fn collect<'py>(&mut self, py: Python<'py>) -> Result<Bound<'py, PyAny>> {
        self.worker().receive(py)
    }

    pub(crate) fn close(&mut self) -> Result<()> {
        match self.worker.take() {
            Some(worker) => Python::attach(|py| worker.close(py)),
            None => Ok(()),
        }
    }
}

/// One Python transformation of a chain run by one worker.
#[derive(Debug, Clone)]
pub struct Stage {
    /// What the function does with a record.
    pub transform: Transform,
    /// The cloudpickled function.
    pub function: Vec<u8>,
    /// The name of its step, for the name of the chain.
    pub name: String,
}

impl Stage {
    fn kind(&self) -> &'static str {
        match self.transform {
            Transform::Map => "map",
            Transform::FlatMap => "flat_map",
            Transform::Filter => "filter",
        }
    }
}

/// The worker's description of a chain: the pickled list of `(kind, function)` stages, a key
/// selector last if `key_selector` is given.
fn chain_payload(stages: &[Stage], key_selector: Option<&[u8]>) -> Result<Vec<u8>> {
    Python::attach(|py| {
        let described = (|| -> PyResult<Vec<u8>> {
            let mut list = Vec::with_capacity(stages.len() + 1);
            for stage in stages {
                list.push((stage.kind(), PyBytes::new(py, &stage.function)).into_pyobject(py)?);
            }
            if let Some(selector) = key_selector {
                list.push(("key", PyBytes::new(py, selector)).into_pyobject(py)?);
            }
            crate::value::pickle(PyList::new(py, list)?.as_any())
        })();
        described.map_err(|e| python_error(py, e))
    })
}

/// Whether every stage emits exactly one record per input record: the worker then answers
/// one result per record instead of a list per record.
fn one_to_one(stages: &[Stage]) -> bool {
    stages.iter().all(|stage| stage.transform == Transform::Map)
}

/// The records of an open bundle, with their timestamps.
pub(crate) type Pending = Vec<(PyValue, Option<i64>)>;

/// What a process-mode operator on a stream that is not keyed makes of a bundle: the message
/// its worker takes, and the records it emits from the worker's answer.
pub trait BundleCodec<OUT: Data>: Clone + Send + Sync + 'static {
    /// The worker's message for the records `pending`.
    fn message<'py>(
        &self,
        py: Python<'py>,
        pending: &Pending,
        ctx: &ProcessContext<'_, OUT>,
    ) -> PyResult<Bound<'py, PyAny>>;

    /// Emits, each with its own record's timestamp, what the worker answered for `pending`.
    fn emit(&self, pending: Pending, answer: &Bound<'_, PyAny>, ctx: &mut ProcessContext<'_, OUT>) -> PyResult<()>;
}

/// A Python operator of process mode on a stream that is not keyed: it buffers records with
/// their timestamps and has its worker run them a bundle at a time; `C` says what the bundle
/// and the answer hold.
///
/// A bundle ends when it is full or its batch ends; it is then sent, and its results are
/// emitted when the next bundle is sent or when the runtime asks for them (see
/// `OneInputOperator::end_batch`), so the worker computes while the engine works.
#[derive(Clone)]
pub struct Bundled<C> {
    bundling: Bundling,
    codec: C,
    pending: Pending,
    /// The records of the bundle in flight.
    away: Option<Pending>,
}

impl<C> Bundled<C> {
    pub(crate) fn with_codec(bundling: Bundling, codec: C) -> Self {
        Bundled { bundling, codec, pending: Vec::new(), away: None }
    }

    /// Sends the open bundle, emitting the results of the one in flight.
    fn send<OUT: Data>(&mut self, ctx: &mut ProcessContext<'_, OUT>) -> Result<()>
    where
        C: BundleCodec<OUT>,
    {
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        Python::attach(|py| {
            let message = self.codec.message(py, &pending, ctx).map_err(|e| python_error(py, e))?;
            let previous = self.bundling.pass(py, message, self.away.is_some())?;
            match (self.away.replace(pending), previous) {
                (Some(records), Some(answer)) => {
                    self.codec.emit(records, &answer, ctx).map_err(|e| python_error(py, e))
                }
                _ => Ok(()),
            }
        })
    }

    /// Emits the results of the bundle in flight.
    fn collect<OUT: Data>(&mut self, ctx: &mut ProcessContext<'_, OUT>) -> Result<()>
    where
        C: BundleCodec<OUT>,
    {
        let Some(records) = self.away.take() else {
            return Ok(());
        };
        Python::attach(|py| {
            let answer = self.bundling.collect(py)?;
            self.codec.emit(records, &answer, ctx).map_err(|e| python_error(py, e))
        })
    }
}

impl<OUT: Data, C: BundleCodec<OUT>> ProcessFunction<PyValue, OUT> for Bundled<C> {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, runtime: &RuntimeContext) -> Result<()> {
        self.bundling.open(runtime)
    }

    fn process_element(&mut self, value: PyValue, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self.pending.push((value, ctx.timestamp()));
        if self.pending.len() >= self.bundling.bundle_size {
            self.send(ctx)?;
        }
        Ok(())
    }

    fn end_batch(&mut self, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self.send(ctx)
    }

    fn finish_batch(&mut self, ctx: &mut ProcessContext<'_, OUT>) -> Result<()> {
        self.send(ctx)?;
        self.collect(ctx)
    }

    fn owes_results(&self) -> bool {
        self.away.is_some()
    }

    fn close(&mut self) -> Result<()> {
        self.bundling.close()
    }
}

/// The records of a bundle, as the chain worker takes them.
fn records_of<'py>(py: Python<'py>, pending: &Pending) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyList::new(py, pending.iter().map(|(value, _)| value.bind(py)))?.into_any())
}

/// Chained `map`, `flat_map` and `filter` functions run by one worker process: consecutive
/// Python transformations hand records to each other inside the worker, as PyFlink chains
/// Python operators, instead of crossing the pipe between each.
pub type BundledTransform = Bundled<ChainResults>;

/// The answers of a chain of transformations: one result per record when every stage maps one
/// record to one, else a list per record.
#[derive(Clone)]
pub struct ChainResults {
    one_to_one: bool,
    output: OutputType,
}

impl BundledTransform {
    /// An operator running `stages` in bundles of `bundle_size` records, emitting records of
    /// `output`.
    pub fn new(stages: &[Stage], output: OutputType, bundle_size: usize) -> Result<Self> {
        let chain = chain_payload(stages, None)?;
        let codec = ChainResults { one_to_one: one_to_one(stages), output };
        Ok(Bundled::with_codec(Bundling::new(chain, "chain", bundle_size), codec))
    }
}

impl BundleCodec<PyValue> for ChainResults {
    fn message<'py>(
        &self,
        py: Python<'py>,
        pending: &Pending,
        _: &ProcessContext<'_, PyValue>,
    ) -> PyResult<Bound<'py, PyAny>> {
        records_of(py, pending)
    }

    fn emit(
        &self,
        pending: Pending,
        results: &Bound<'_, PyAny>,
        ctx: &mut ProcessContext<'_, PyValue>,
    ) -> PyResult<()> {
        for ((_, timestamp), result) in pending.iter().zip(results.try_iter()?) {
            ctx.set_timestamp(*timestamp);
            let result = result?;
            if self.one_to_one {
                ctx.collect(PyValue(self.output.apply(result)?.unbind()));
                continue;
            }
            for item in result.try_iter()? {
                ctx.collect(PyValue(self.output.apply(item?)?.unbind()));
            }
        }
        Ok(())
    }
}

/// A key selector run by a worker process, after the chained transformations `stages` (if
/// any): the worker returns the keys (and the records, when stages changed them).
pub type BundledKeySelector = Bundled<KeyedChainResults>;

/// The answers of a chain ending in a key selector.
#[derive(Clone)]
pub struct KeyedChainResults {
    one_to_one: bool,
    /// Whether the selector is the only stage: the worker then answers only the keys.
    selector_only: bool,
}

impl BundledKeySelector {
    /// A selector running `stages`, then `selector`, in bundles of `bundle_size` records.
    pub fn new(stages: &[Stage], selector: &[u8], bundle_size: usize) -> Result<Self> {
        let chain = chain_payload(stages, Some(selector))?;
        let codec = KeyedChainResults { one_to_one: one_to_one(stages), selector_only: stages.is_empty() };
        Ok(Bundled::with_codec(Bundling::new(chain, "chain", bundle_size), codec))
    }
}

impl BundleCodec<KeyedRecord> for KeyedChainResults {
    fn message<'py>(
        &self,
        py: Python<'py>,
        pending: &Pending,
        _: &ProcessContext<'_, KeyedRecord>,
    ) -> PyResult<Bound<'py, PyAny>> {
        records_of(py, pending)
    }

    fn emit(
        &self,
        pending: Pending,
        results: &Bound<'_, PyAny>,
        ctx: &mut ProcessContext<'_, KeyedRecord>,
    ) -> PyResult<()> {
        if self.selector_only {
            for ((value, timestamp), key) in pending.into_iter().zip(results.try_iter()?) {
                ctx.set_timestamp(timestamp);
                ctx.collect(KeyedRecord { key: PyKey::from_object(&key?)?, value });
            }
            return Ok(());
        }
        if self.one_to_one {
            // One key and one record per input record, in two lists.
            let (keys, values): (Bound<'_, PyAny>, Bound<'_, PyAny>) = results.extract()?;
            for (((_, timestamp), key), value) in pending.iter().zip(keys.try_iter()?).zip(values.try_iter()?) {
                ctx.set_timestamp(*timestamp);
                ctx.collect(KeyedRecord { key: PyKey::from_object(&key?)?, value: PyValue(value?.unbind()) });
            }
            return Ok(());
        }
        for ((_, timestamp), result) in pending.iter().zip(results.try_iter()?) {
            ctx.set_timestamp(*timestamp);
            for pair in result?.try_iter()? {
                ctx.collect(keyed_record(pair?)?);
            }
        }
        Ok(())
    }
}

/// The record of a `(key, record)` pair from a worker.
fn keyed_record(pair: Bound<'_, PyAny>) -> PyResult<KeyedRecord> {
    let (key, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract()?;
    Ok(KeyedRecord { key: PyKey::from_object(&key)?, value: PyValue(value.unbind()) })
}
