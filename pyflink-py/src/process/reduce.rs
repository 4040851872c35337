//! A rolling reduce in process mode: the reduced value of each key is keyed state in the
//! engine (as in thread mode, so a job can change modes across a savepoint); a bundle carries
//! the current values of its keys, and its worker (`worker._Reduce`) returns each record's
//! result, the last of a key being its new value.
//!
//! One bundle may be in flight while the next fills. The new bundle's keys that the bundle in
//! flight also has are not read from state, which is behind: the worker carries their values
//! over from its previous bundle.

use std::collections::HashMap;

use pyflink_core::{KeyedProcessContext, KeyedProcessFunction, KeyedRuntimeContext, Result};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::function::python_error;
use crate::interpreter::with_interpreter;
use crate::process::bundled::Bundling;
use crate::thread::operators::{OutputType, ReduceState};
use crate::value::{KeyedRecord, PyKey, PyValue};

/// Where the worker finds a key's value before a bundle.
#[derive(Clone)]
enum Before {
    /// The engine's state (none for a new key).
    State(Option<PyValue>),
    /// The key's value after the previous bundle, at that bundle's slot.
    Carried(usize),
}

/// The keys and records of one bundle.
#[derive(Clone, Default)]
struct Bundle {
    /// The keys, by slot.
    keys: Vec<PyKey>,
    /// Each record's slot and timestamp.
    records: Vec<(usize, Option<i64>)>,
}

/// A rolling reduce whose function runs in a worker process.
#[derive(Clone)]
pub struct BundledReduce {
    bundling: Bundling,
    output: OutputType,
    state: ReduceState,
    /// The open bundle: its keys and where their values are, its slots, its records.
    before: Vec<Before>,
    slots: HashMap<PyKey, usize>,
    values: Vec<PyValue>,
    open: Bundle,
    /// The bundle in flight, and its slots by key.
    away: Option<Bundle>,
    away_slots: HashMap<PyKey, usize>,
}

impl BundledReduce {
    /// A reduce running `function` in bundles of `bundle_size` records, whose results are
    /// records of `output`.
    pub fn new(function: Vec<u8>, output: OutputType, bundle_size: usize) -> Self {
        BundledReduce {
            bundling: Bundling::new(function, "reduce", bundle_size),
            output,
            state: ReduceState::default(),
            before: Vec::new(),
            slots: HashMap::new(),
            values: Vec::new(),
            open: Bundle::default(),
            away: None,
            away_slots: HashMap::new(),
        }
    }

    /// The worker's message for the open bundle: the values of its keys from state (by slot),
    /// the slots whose values the worker carries over, the records' slots, and the records.
    fn message<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let current = PyDict::new(py);
        let carried = PyDict::new(py);
        for (slot, before) in self.before.drain(..).enumerate() {
            match before {
                Before::State(Some(value)) => current.set_item(slot, value.bind(py))?,
                Before::State(None) => {}
                Before::Carried(previous) => carried.set_item(slot, previous)?,
            }
        }
        let slots = PyList::new(py, self.open.records.iter().map(|(slot, _)| *slot))?;
        let records = PyList::new(py, self.values.drain(..).map(|value| value.0))?;
        Ok(PyTuple::new(py, [current.into_any(), carried.into_any(), slots.into_any(), records.into_any()])?.into_any())
    }

    /// Sends the open bundle, applying the answer to the one in flight.
    fn send(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
        if self.open.records.is_empty() {
            return Ok(());
        }
        Python::attach(|py| {
            let message = self.message(py).map_err(|e| python_error(py, e))?;
            let previous = self.bundling.pass(py, message, self.away.is_some())?;
            let sent = std::mem::take(&mut self.open);
            self.away_slots = std::mem::take(&mut self.slots);
            match (self.away.replace(sent), previous) {
                (Some(bundle), Some(results)) => self.apply(bundle, &results, ctx),
                _ => Ok(()),
            }
        })
    }

    /// Applies the answer to the bundle in flight.
    fn collect(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
        let Some(bundle) = self.away.take() else {
            return Ok(());
        };
        self.away_slots.clear();
        Python::attach(|py| {
            let results = self.bundling.collect(py)?;
            self.apply(bundle, &results, ctx)
        })
    }

    /// Emits each record's result, and stores each key's last result as its reduced value.
    fn apply(
        &mut self,
        bundle: Bundle,
        results: &Bound<'_, PyAny>,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        let py = results.py();
        let mut finals: Vec<Option<PyValue>> = (0..bundle.keys.len()).map(|_| None).collect();
        let emitted = (|| -> PyResult<()> {
            for ((slot, timestamp), result) in bundle.records.iter().zip(results.try_iter()?) {
                let result = PyValue(self.output.apply(result?)?.unbind());
                if !self.state.holds_back() {
                    ctx.set_timestamp(*timestamp);
                    ctx.collect(result.clone());
                }
                finals[*slot] = Some(result);
            }
            Ok(())
        })();
        emitted.map_err(|e| python_error(py, e))?;
        for (key, last) in bundle.keys.into_iter().zip(finals) {
            if let Some(value) = last {
                ctx.set_current_key(key.clone());
                self.state.update(&key, value);
            }
        }
        Ok(())
    }
}

impl KeyedProcessFunction<PyKey, KeyedRecord, PyValue> for BundledReduce {
    fn within_batch(batch: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        with_interpreter(batch)
    }

    fn open(&mut self, context: &mut KeyedRuntimeContext<'_, PyKey>) -> Result<()> {
        self.state.open(context)?;
        self.bundling.open(context.runtime())
    }

    fn end_input(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
        // The runtime has every bundle finished before the input ends.
        self.state.end_input(ctx);
        Ok(())
    }

    fn process_element(
        &mut self,
        record: KeyedRecord,
        ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>,
    ) -> Result<()> {
        let slot = match self.slots.get(&record.key) {
            Some(slot) => *slot,
            None => {
                let before = match self.away_slots.get(&record.key) {
                    Some(previous) => Before::Carried(*previous),
                    None => Before::State(self.state.value()),
                };
                self.before.push(before);
                self.open.keys.push(record.key.clone());
                self.slots.insert(record.key, self.open.keys.len() - 1);
                self.open.keys.len() - 1
            }
        };
        self.open.records.push((slot, ctx.timestamp()));
        self.values.push(record.value);
        if self.open.records.len() >= self.bundling.bundle_size {
            self.send(ctx)?;
        }
        Ok(())
    }

    fn end_batch(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
        self.send(ctx)
    }

    fn finish_batch(&mut self, ctx: &mut KeyedProcessContext<'_, PyKey, PyValue>) -> Result<()> {
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
