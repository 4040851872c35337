//! The broadcast state pattern: a low-volume stream (rules, configuration) is broadcast to every
//! instance of an operator, which keeps it in broadcast state and applies it to the records of
//! another stream, keyed or not, as Flink's `BroadcastProcessFunction` and
//! `KeyedBroadcastProcessFunction`.
//!
//! ```
//! use pyflink_core::api::broadcast::{BroadcastContext, BroadcastProcessFunction, ReadOnlyBroadcastContext};
//! use pyflink_core::{MapStateDescriptor, Result, StreamExecutionEnvironment};
//!
//! /// Multiplies each number by the factor last broadcast.
//! #[derive(Clone)]
//! struct Scale(MapStateDescriptor<String, i64>);
//!
//! impl BroadcastProcessFunction<i64, i64, i64> for Scale {
//!     fn process_element(&mut self, value: i64, ctx: &mut ReadOnlyBroadcastContext<'_, i64>) -> Result<()> {
//!         let factor = ctx.get_broadcast_state(&self.0)?.get(&"factor".to_string()).copied().unwrap_or(1);
//!         ctx.collect(value * factor);
//!         Ok(())
//!     }
//!     fn process_broadcast_element(&mut self, factor: i64, ctx: &mut BroadcastContext<'_, i64>) -> Result<()> {
//!         ctx.get_broadcast_state(&self.0)?.put("factor".to_string(), factor);
//!         Ok(())
//!     }
//! }
//!
//! let env = StreamExecutionEnvironment::get_execution_environment();
//! env.set_parallelism(1);
//! let factors = MapStateDescriptor::<String, i64>::new("factors");
//! let rules = env.from_collection(vec![10i64]).broadcast_with(&factors);
//! let numbers = env.from_collection(vec![1i64, 2, 3]);
//! let scaled: Vec<i64> = numbers.connect_broadcast(&rules).process(Scale(factors)).execute_and_collect().unwrap().map(Result::unwrap).collect();
//! // Which input is read first is not defined: each number is scaled by 1 or by 10.
//! assert!(scaled.iter().zip([1, 2, 3]).all(|(s, n)| *s == n || *s == n * 10));
//! ```

use std::hash::Hash;
use std::ops::{Deref, DerefMut};

use pyflink_state::{BroadcastState, BroadcastStateStore, MapStateDescriptor, ReadOnlyBroadcastState};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::datastream::DataStream;
use crate::api::functions::{KeyedProcessContext, KeyedRuntimeContext, ProcessContext};
use crate::api::keyed::KeyedStream;
use crate::operators::broadcast_process::{BroadcastProcessOperator, KeyedBroadcastProcessOperator};
use crate::operators::keyed_reduce::KeySelector;
use crate::runtime::binary::build_binary;
use crate::runtime::graph::{build_fn, GraphNode};
use crate::runtime::operator::RuntimeContext;
use crate::{Data, Key, Result};

/// A stream broadcast to every instance of the operator it is connected to, with the broadcast
/// state it may write (`DataStream::broadcast_with`).
#[derive(Clone)]
pub struct BroadcastStream<B: Data> {
    pub(crate) stream: DataStream<B>,
    pub(crate) declared: Vec<String>,
}

impl<B: Data> BroadcastStream<B> {
    /// Declares one more broadcast state.
    pub fn and<UK, UV>(mut self, descriptor: &MapStateDescriptor<UK, UV>) -> Self {
        self.declared.push(descriptor.name().to_string());
        self
    }
}

/// What a broadcast function sees while it processes a broadcast element: where to emit, and
/// the broadcast state to update.
pub struct BroadcastContext<'a, OUT: Data> {
    pub(crate) context: ProcessContext<'a, OUT>,
    pub(crate) store: &'a mut BroadcastStateStore,
}

impl<OUT: Data> BroadcastContext<'_, OUT> {
    /// The broadcast state `descriptor` names, to read and write.
    pub fn get_broadcast_state<UK, UV>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<BroadcastState<'_, UK, UV>>
    where
        UK: Hash + Eq + Serialize + DeserializeOwned + 'static,
        UV: Serialize + DeserializeOwned + 'static,
    {
        Ok(self.store.get_broadcast_state(descriptor)?)
    }
}

impl<'a, OUT: Data> Deref for BroadcastContext<'a, OUT> {
    type Target = ProcessContext<'a, OUT>;
    fn deref(&self) -> &Self::Target {
        &self.context
    }
}

impl<OUT: Data> DerefMut for BroadcastContext<'_, OUT> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.context
    }
}

/// What a broadcast function sees while it processes a record of the other stream: where to
/// emit, and the broadcast state to read.
pub struct ReadOnlyBroadcastContext<'a, OUT: Data> {
    pub(crate) context: ProcessContext<'a, OUT>,
    pub(crate) store: &'a mut BroadcastStateStore,
}

impl<OUT: Data> ReadOnlyBroadcastContext<'_, OUT> {
    /// The broadcast state `descriptor` names, to read.
    pub fn get_broadcast_state<UK, UV>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<ReadOnlyBroadcastState<'_, UK, UV>>
    where
        UK: Hash + Eq + Serialize + DeserializeOwned + 'static,
        UV: Serialize + DeserializeOwned + 'static,
    {
        Ok(self.store.get_read_only_broadcast_state(descriptor)?)
    }
}

impl<'a, OUT: Data> Deref for ReadOnlyBroadcastContext<'a, OUT> {
    type Target = ProcessContext<'a, OUT>;
    fn deref(&self) -> &Self::Target {
        &self.context
    }
}

impl<OUT: Data> DerefMut for ReadOnlyBroadcastContext<'_, OUT> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.context
    }
}

/// What a keyed broadcast function sees while it processes a keyed record or a timer: the keyed
/// context (key, keyed state, timers) and the broadcast state to read.
pub struct KeyedReadOnlyBroadcastContext<'a, K: Key, OUT: Data> {
    pub(crate) context: KeyedProcessContext<'a, K, OUT>,
    pub(crate) store: &'a mut BroadcastStateStore,
}

impl<K: Key, OUT: Data> KeyedReadOnlyBroadcastContext<'_, K, OUT> {
    /// The broadcast state `descriptor` names, to read.
    pub fn get_broadcast_state<UK, UV>(
        &mut self,
        descriptor: &MapStateDescriptor<UK, UV>,
    ) -> Result<ReadOnlyBroadcastState<'_, UK, UV>>
    where
        UK: Hash + Eq + Serialize + DeserializeOwned + 'static,
        UV: Serialize + DeserializeOwned + 'static,
    {
        Ok(self.store.get_read_only_broadcast_state(descriptor)?)
    }
}

impl<'a, K: Key, OUT: Data> Deref for KeyedReadOnlyBroadcastContext<'a, K, OUT> {
    type Target = KeyedProcessContext<'a, K, OUT>;
    fn deref(&self) -> &Self::Target {
        &self.context
    }
}

impl<K: Key, OUT: Data> DerefMut for KeyedReadOnlyBroadcastContext<'_, K, OUT> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.context
    }
}

/// Processes a stream with the broadcast state a broadcast stream writes.
pub trait BroadcastProcessFunction<IN: Data, B: Data, OUT: Data>: Clone + Send + Sync + 'static {
    /// Called once per parallel instance before the first element.
    fn open(&mut self, _context: &RuntimeContext) -> Result<()> {
        Ok(())
    }

    /// Processes a record of the non-broadcast stream; the broadcast state is read-only here,
    /// so that every instance's copy stays the same.
    fn process_element(&mut self, value: IN, ctx: &mut ReadOnlyBroadcastContext<'_, OUT>) -> Result<()>;

    /// Processes a broadcast element; every instance sees every one.
    fn process_broadcast_element(&mut self, value: B, ctx: &mut BroadcastContext<'_, OUT>) -> Result<()>;

    /// Called once after the last element.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Processes a keyed stream with keyed state, timers, and the broadcast state a broadcast
/// stream writes.
pub trait KeyedBroadcastProcessFunction<K: Key, IN: Data, B: Data, OUT: Data>: Clone + Send + Sync + 'static {
    /// Called once per parallel instance before the first element; create state handles here.
    fn open(&mut self, _context: &mut KeyedRuntimeContext<'_, K>) -> Result<()> {
        Ok(())
    }

    /// Processes a keyed record: keyed state is the record's key's, broadcast state read-only.
    fn process_element(&mut self, value: IN, ctx: &mut KeyedReadOnlyBroadcastContext<'_, K, OUT>) -> Result<()>;

    /// Processes a broadcast element (there is no current key).
    fn process_broadcast_element(&mut self, value: B, ctx: &mut BroadcastContext<'_, OUT>) -> Result<()>;

    /// Called when a timer of the current key fires.
    fn on_timer(&mut self, _timestamp: i64, _ctx: &mut KeyedReadOnlyBroadcastContext<'_, K, OUT>) -> Result<()> {
        Ok(())
    }

    /// Called once after the last element.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<T: Data> DataStream<T> {
    /// This stream broadcast to every instance of the operator it is connected to, which may
    /// keep it in the broadcast state `descriptor` names (PyFlink's `broadcast(descriptor)`;
    /// declare more states with [`BroadcastStream::and`]).
    pub fn broadcast_with<UK, UV>(&self, descriptor: &MapStateDescriptor<UK, UV>) -> BroadcastStream<T> {
        BroadcastStream { stream: self.broadcast(), declared: vec![descriptor.name().to_string()] }
    }

    /// Connects this stream with a broadcast stream, for a [`BroadcastProcessFunction`].
    pub fn connect_broadcast<B: Data>(&self, broadcast: &BroadcastStream<B>) -> BroadcastConnectedStream<T, B> {
        BroadcastConnectedStream { stream: self.clone(), broadcast: broadcast.clone() }
    }
}

impl<T: Data, K: Key> KeyedStream<T, K> {
    /// Connects this keyed stream with a broadcast stream, for a
    /// [`KeyedBroadcastProcessFunction`].
    pub fn connect_broadcast<B: Data>(&self, broadcast: &BroadcastStream<B>) -> KeyedBroadcastConnectedStream<T, K, B> {
        KeyedBroadcastConnectedStream { keyed: self.clone(), broadcast: broadcast.clone() }
    }
}

/// A stream connected with a broadcast stream.
pub struct BroadcastConnectedStream<T: Data, B: Data> {
    stream: DataStream<T>,
    broadcast: BroadcastStream<B>,
}

impl<T: Data, B: Data> BroadcastConnectedStream<T, B> {
    /// Runs `function` over both streams.
    pub fn process<O: Data, F: BroadcastProcessFunction<T, B, O>>(&self, function: F) -> DataStream<O> {
        let declared = self.broadcast.declared.clone();
        let make = move || BroadcastProcessOperator::new(function.clone(), declared.clone());
        add_two_input(&self.stream, &self.broadcast.stream, "BroadcastProcess", make)
    }
}

/// A keyed stream connected with a broadcast stream.
pub struct KeyedBroadcastConnectedStream<T: Data, K: Key, B: Data> {
    keyed: KeyedStream<T, K>,
    broadcast: BroadcastStream<B>,
}

impl<T: Data, K: Key, B: Data> KeyedBroadcastConnectedStream<T, K, B> {
    /// Runs `function` over both streams.
    pub fn process<O: Data, F: KeyedBroadcastProcessFunction<K, T, B, O>>(&self, function: F) -> DataStream<O> {
        let declared = self.broadcast.declared.clone();
        let key: KeySelector<T, K> = self.keyed.key_selector();
        let make = move || KeyedBroadcastProcessOperator::new(key.clone(), function.clone(), declared.clone());
        add_two_input(self.keyed.stream(), &self.broadcast.stream, "KeyedBroadcastProcess", make)
    }
}

/// Adds a node running the two-input operator `make()` over `first` and `second`.
fn add_two_input<T: Data, B: Data, O: Data, Op, M>(
    first: &DataStream<T>,
    second: &DataStream<B>,
    name: &str,
    make: M,
) -> DataStream<O>
where
    Op: crate::runtime::operator::TwoInputOperator<T, B, O>,
    M: Fn() -> Op + Send + Sync + 'static,
{
    let (a, b) = (first.edge_source(), second.edge_source());
    let node = GraphNode::operator(
        name,
        vec![first.input_ref(), second.input_ref()],
        build_fn(move |context, _node, plan| {
            let (a, b) = (a.edge(context), b.edge(context));
            build_binary(context, plan, a, b, make())
        }),
    );
    let env = first.get_execution_environment();
    DataStream::new(env.clone(), env.add_node(node))
}
