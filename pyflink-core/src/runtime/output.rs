//! Where operators emit: the main output and any side outputs, batched per input batch.

use std::any::Any;

use timely::dataflow::channels::pushers;
use timely::dataflow::operators::{Capability, InputCapability};

use crate::element::{Element, StreamRecord, Watermark, WatermarkStatus};
use crate::runtime::batch_pool::{fresh_batch, refill};
use crate::runtime::timestamp::Time;
use crate::Data;

/// The number of elements an operator batches before sending.
pub(crate) const BATCH: usize = 1024;

/// The timely output of a stream of `Element<T>`.
pub(crate) type ElementOutput<T> = pushers::Output<Time, Vec<Element<T>>>;

/// An open session on an [`ElementOutput`]. Closing a session makes downstream exchanges flush
/// their partly filled batches, so operators keep one session open per activation.
pub(crate) type ElementSession<'a, T> = pushers::OutputSession<'a, Time, Vec<Element<T>>>;

/// The capability to send a batch under: the one of the input batch being processed, or one the
/// operator holds (for output at end of input).
#[derive(Clone, Copy)]
pub(crate) enum SendCapability<'a> {
    Input(&'a InputCapability<Time>),
    Held(&'a [Capability<Time>]),
}

impl SendCapability<'_> {
    /// Sends `buffer` through `session` (output port `port`) and leaves `buffer` empty.
    pub(crate) fn send<T: Data>(&self, port: usize, session: &mut ElementSession<'_, T>, buffer: &mut Vec<Element<T>>) {
        if buffer.is_empty() {
            return;
        }
        match self {
            SendCapability::Input(cap) => session.give(*cap, buffer),
            SendCapability::Held(caps) => session.give(&caps[port], buffer),
        }
        // Timely takes the batch; give the buffer room for a whole batch again at once rather
        // than letting it regrow record by record.
        refill(buffer);
    }
}

/// A typed side output port: its tag, its buffer and the timely output it flushes to.
pub(crate) trait SidePort {
    /// The id of the `OutputTag` this port serves.
    fn tag_id(&self) -> &str;
    /// The buffer, a `Vec<Element<S>>` behind `Any`.
    fn buffer(&mut self) -> &mut dyn Any;
    /// Appends a watermark to the buffer (watermarks reach side outputs too).
    fn push_watermark(&mut self, watermark: Watermark);
    /// Appends a watermark status change to the buffer.
    fn push_status(&mut self, status: WatermarkStatus);
    /// Sends the buffered elements.
    fn flush(&mut self, capability: SendCapability<'_>);
}

/// The [`SidePort`] for side outputs of type `S`.
pub(crate) struct TypedSidePort<S: Data> {
    pub(crate) tag_id: String,
    pub(crate) port: usize,
    pub(crate) buffer: Vec<Element<S>>,
    pub(crate) output: ElementOutput<S>,
}

impl<S: Data> SidePort for TypedSidePort<S> {
    fn tag_id(&self) -> &str {
        &self.tag_id
    }
    fn buffer(&mut self) -> &mut dyn Any {
        &mut self.buffer
    }
    fn push_watermark(&mut self, watermark: Watermark) {
        self.buffer.push(Element::Watermark(watermark));
    }
    fn push_status(&mut self, status: WatermarkStatus) {
        self.buffer.push(Element::Status(status));
    }
    fn flush(&mut self, capability: SendCapability<'_>) {
        if !self.buffer.is_empty() {
            capability.send(self.port, &mut self.output.activate(), &mut self.buffer);
        }
    }
}

/// The emitting side of an operator: a batch of output elements plus the side output ports.
///
/// User functions see it through their contexts (`collect`, `output`); operators use it directly.
pub struct Output<T: Data> {
    pub(crate) buffer: Vec<Element<T>>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) channel: u32,
    pub(crate) sides: Vec<Box<dyn SidePort>>,
    /// The operator's combined input watermark (`i64::MIN` before the first).
    pub(crate) input_watermark: i64,
}

impl<T: Data> Output<T> {
    pub(crate) fn new(channel: usize, sides: Vec<Box<dyn SidePort>>) -> Self {
        Output { buffer: fresh_batch(), timestamp: None, channel: channel as u32, sides, input_watermark: i64::MIN }
    }

    /// Emits `value` with the timestamp of the record being processed.
    #[inline]
    pub fn collect(&mut self, value: T) {
        self.buffer.push(Element::Record(StreamRecord { value, timestamp: self.timestamp }));
    }

    /// Emits `value` with an explicit timestamp (or none).
    #[inline]
    pub fn collect_with_timestamp(&mut self, value: T, timestamp: Option<i64>) {
        self.buffer.push(Element::Record(StreamRecord { value, timestamp }));
    }

    /// The timestamp of the record being processed, if it has one.
    #[inline]
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// Emits `value` to the side output `tag_id`. Nothing downstream asked for that side output
    /// when no port has the tag; the value is then dropped, as in Flink.
    pub fn side_output<S: Data>(&mut self, tag_id: &str, value: S) {
        let timestamp = self.timestamp;
        if let Some(port) = self.sides.iter_mut().find(|p| p.tag_id() == tag_id) {
            if let Some(buffer) = port.buffer().downcast_mut::<Vec<Element<S>>>() {
                buffer.push(Element::Record(StreamRecord { value, timestamp }));
            }
        }
    }

    /// Emits a watermark from this instance to the main and all side outputs.
    pub fn emit_watermark(&mut self, timestamp: i64) {
        let watermark = Watermark { timestamp, channel: self.channel };
        self.buffer.push(Element::Watermark(watermark));
        for side in &mut self.sides {
            side.push_watermark(watermark);
        }
    }

    /// Tells downstream operators that this instance became idle (`true`) or active again.
    pub fn emit_watermark_status(&mut self, idle: bool) {
        let status = WatermarkStatus { idle, channel: self.channel };
        self.buffer.push(Element::Status(status));
        for side in &mut self.sides {
            side.push_status(status);
        }
    }

    /// Sends everything buffered to the main output (port 0) and the side ports.
    pub(crate) fn flush(&mut self, session: &mut ElementSession<'_, T>, capability: SendCapability<'_>) {
        capability.send(0, session, &mut self.buffer);
        for side in &mut self.sides {
            side.flush(capability);
        }
    }
}
