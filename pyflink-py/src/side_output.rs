//! Side outputs from Python: a process function yields `(output_tag, value)` to send `value`
//! to the side output of `output_tag`, as in PyFlink. The operator knows, from the program,
//! which tags are read and their record types; values for tags nobody reads are dropped, as
//! Flink drops them.

use std::sync::Arc;

use pyflink_core::window::{Window, WindowContext};
use pyflink_core::{OutputTag, ProcessContext};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::thread::operators::OutputType;
use crate::types::TypeInfo;
use crate::value::PyValue;

use crate::bridge::output_tag as output_tag_class;

/// The side outputs an operator's results may go to: each read tag with its record type.
#[derive(Clone, Default)]
pub struct SideOutputs {
    tags: Arc<Vec<(OutputTag<PyValue>, OutputType)>>,
}

/// Where a Python function's results go: the main output and the side outputs of a process
/// or window function's context.
pub trait Emit {
    /// Emits `value` to the main output.
    fn emit(&mut self, value: PyValue);
    /// Emits `value` to the side output `tag`.
    fn emit_to(&mut self, tag: &OutputTag<PyValue>, value: PyValue);
}

impl Emit for ProcessContext<'_, PyValue> {
    fn emit(&mut self, value: PyValue) {
        self.collect(value);
    }
    fn emit_to(&mut self, tag: &OutputTag<PyValue>, value: PyValue) {
        self.output(tag, value);
    }
}

impl<W: Window> Emit for WindowContext<'_, W, PyValue> {
    fn emit(&mut self, value: PyValue) {
        self.collect(value);
    }
    fn emit_to(&mut self, tag: &OutputTag<PyValue>, value: PyValue) {
        self.output(tag, value);
    }
}

/// Where one result of a Python function goes.
pub enum Routed<'a> {
    /// The main output.
    Main(PyValue),
    /// A side output.
    Side(&'a OutputTag<PyValue>, PyValue),
    /// Nowhere: a side output nobody reads.
    Dropped,
}

impl SideOutputs {
    /// The side outputs `tags` (tag id and record type).
    pub fn new(tags: Vec<(String, TypeInfo)>) -> Self {
        let tags = tags.into_iter().map(|(id, record_type)| (OutputTag::new(id), OutputType::new(record_type)));
        SideOutputs { tags: Arc::new(tags.collect()) }
    }

    /// Sends every item of the iterable `results` where [`SideOutputs::route`] says.
    pub fn emit_all(&self, results: &Bound<'_, PyAny>, main: &OutputType, out: &mut impl Emit) -> PyResult<()> {
        for result in results.try_iter()? {
            self.emit_one(result?, main, out)?;
        }
        Ok(())
    }

    /// Sends `result` where [`SideOutputs::route`] says.
    pub fn emit_one(&self, result: Bound<'_, PyAny>, main: &OutputType, out: &mut impl Emit) -> PyResult<()> {
        match self.route(result, main)? {
            Routed::Main(value) => out.emit(value),
            Routed::Side(tag, value) => out.emit_to(tag, value),
            Routed::Dropped => {}
        }
        Ok(())
    }

    /// Where `result` goes: a side output if it is a pair `(OutputTag, value)`, else the main
    /// output as a record of `main`.
    pub fn route<'py>(&self, result: Bound<'py, PyAny>, main: &OutputType) -> PyResult<Routed<'_>> {
        if let Ok(pair) = result.cast::<PyTuple>() {
            if pair.len() == 2 {
                let first = pair.get_item(0)?;
                if first.is_instance(output_tag_class(result.py())?)? {
                    let id = first.getattr("tag_id")?;
                    let id = id.extract::<&str>()?;
                    return Ok(match self.tags.iter().find(|(tag, _)| tag.id() == id) {
                        Some((tag, record_type)) => {
                            Routed::Side(tag, PyValue(record_type.apply(pair.get_item(1)?)?.unbind()))
                        }
                        None => Routed::Dropped,
                    });
                }
            }
        }
        Ok(Routed::Main(PyValue(main.apply(result)?.unbind())))
    }
}
