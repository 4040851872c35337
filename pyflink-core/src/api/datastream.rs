//! `DataStream<T>`: a stream of records and the transformations that make new streams from it.

use std::sync::mpsc;
use std::sync::Arc;

use pyflink_state::key_group::stable_hash;

use crate::api::all_windowed::AllWindowedStream;
use crate::api::connected::ConnectedStreams;
use crate::api::environment::StreamExecutionEnvironment;
use crate::api::functions::{OutputTag, ProcessFunction};
use crate::api::keyed::KeyedStream;
use crate::api::windowed::WindowedStream;
use crate::element::Element;
use crate::operators::filter::FilterOperator;
use crate::operators::flat_map::FlatMapOperator;
use crate::operators::forward::ForwardOperator;
use crate::operators::map::MapOperator;
use crate::operators::process::ProcessOperator;
use crate::operators::sink::SinkOperator;
use crate::operators::timestamps::TimestampsAndWatermarksOperator;
use crate::runtime::graph::{build_fn, side_port_factory, GraphNode, InputRef, NodeId, SideOutputSpec};
use crate::runtime::input::InputEdge;
use crate::runtime::operator::OneInputOperator;
use crate::runtime::output::TypedSidePort;
use crate::runtime::partition::Partitioner;
use crate::runtime::unary::build_unary;
use crate::sinks::{CollectIterator, CollectSink, DiscardingSink, PrintSink, Sink};
use crate::time::WatermarkStrategy;
use crate::window::{CountTrigger, GlobalWindows, PurgingTrigger, WindowAssigner};
use crate::{Data, FlinkDisplay, FlinkError, Key, Result};

/// A stream of records of type `T`. Transformations record new nodes in the environment's job
/// graph; nothing runs until the environment executes.
pub struct DataStream<T: Data> {
    env: StreamExecutionEnvironment,
    node: NodeId,
    port: usize,
    partitioner: Partitioner<T>,
}

impl<T: Data> Clone for DataStream<T> {
    fn clone(&self) -> Self {
        DataStream { env: self.env.clone(), node: self.node, port: self.port, partitioner: self.partitioner.clone() }
    }
}

impl<T: Data> DataStream<T> {
    pub(crate) fn new(env: StreamExecutionEnvironment, node: NodeId) -> Self {
        DataStream { env, node, port: 0, partitioner: Partitioner::Default }
    }

    pub(crate) fn node_id(&self) -> NodeId {
        self.node
    }

    /// The environment this stream belongs to.
    pub fn get_execution_environment(&self) -> &StreamExecutionEnvironment {
        &self.env
    }

    fn with_partitioner(&self, partitioner: Partitioner<T>) -> DataStream<T> {
        DataStream { partitioner, ..self.clone() }
    }

    /// The input edge from this stream, for a node being added.
    pub(crate) fn input_ref(&self) -> InputRef {
        InputRef { node: self.node, partitioning: self.partitioner.name() }
    }

    /// The typed edge from this stream, as a build function sees it on a worker.
    pub(crate) fn edge_source(&self) -> EdgeSource<T> {
        EdgeSource { node: self.node, port: self.port, partitioner: self.partitioner.clone() }
    }

    /// Adds a node running the one-input operator `make()` on each worker.
    pub(crate) fn add_operator<O: Data, Op: OneInputOperator<T, O>>(
        &self,
        name: &str,
        make: impl Fn() -> Op + Send + Sync + 'static,
    ) -> DataStream<O> {
        let source = self.edge_source();
        let node = GraphNode::operator(
            name,
            vec![self.input_ref()],
            build_fn(move |context, node, plan| {
                let edge = source.edge(context);
                build_unary(context, node, plan, vec![edge], make())
            }),
        );
        DataStream::new(self.env.clone(), self.env.add_node(node))
    }

    /// Applies `f` to every record.
    pub fn map<O: Data, F: FnMut(T) -> O + Clone + Send + Sync + 'static>(&self, f: F) -> DataStream<O> {
        self.add_operator("Map", move || MapOperator(f.clone()))
    }

    /// Applies `f` to every record and emits every item of what it returns.
    pub fn flat_map<O: Data, I, F>(&self, f: F) -> DataStream<O>
    where
        I: IntoIterator<Item = O>,
        F: FnMut(T) -> I + Clone + Send + Sync + 'static,
    {
        self.add_operator("FlatMap", move || FlatMapOperator(f.clone()))
    }

    /// Keeps the records for which `f` is true.
    pub fn filter<F: FnMut(&T) -> bool + Clone + Send + Sync + 'static>(&self, f: F) -> DataStream<T> {
        self.add_operator("Filter", move || FilterOperator(f.clone()))
    }

    /// Runs a [`ProcessFunction`] on every record; it can emit to side outputs.
    pub fn process<O: Data, F: ProcessFunction<T, O>>(&self, function: F) -> DataStream<O> {
        self.add_operator("Process", move || ProcessOperator(function.clone()))
    }

    /// Gives every record its event timestamp from `strategy` and generates watermarks from it;
    /// watermarks from upstream are replaced, except the final one at the end of a bounded input.
    ///
    /// ```
    /// use pyflink_core::{time::WatermarkStrategy, StreamExecutionEnvironment};
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// env.set_parallelism(1);
    /// let events = env.from_collection(vec![('a', 1000i64), ('b', 3000)]);
    /// let stamped = events.assign_timestamps_and_watermarks(
    ///     WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|e: &(char, i64), _| e.1),
    /// );
    /// let timestamps = stamped.process(|_e: (char, i64), ctx: &mut pyflink_core::ProcessContext<'_, Option<i64>>| {
    ///     ctx.collect(ctx.timestamp());
    ///     Ok(())
    /// });
    /// let out: Vec<_> = timestamps.execute_and_collect().unwrap().map(Result::unwrap).collect();
    /// assert_eq!(out, vec![Some(1000), Some(3000)]);
    /// ```
    pub fn assign_timestamps_and_watermarks(&self, strategy: WatermarkStrategy<T>) -> DataStream<T> {
        let stream =
            self.add_operator("Timestamps/Watermarks", move || TimestampsAndWatermarksOperator::new(strategy.clone()));
        // As in Flink, the assigner runs beside its input (unless given a parallelism), so that
        // records keep their order from a source of another parallelism.
        self.env.update_node(stream.node, |node| node.inherits_parallelism = true);
        stream
    }

    /// Partitions the stream by the key `key_selector` extracts: records with equal keys go to
    /// the same parallel instance, whose keyed state holds that key.
    pub fn key_by<K: Key, F>(&self, key_selector: F) -> KeyedStream<T, K>
    where
        F: Fn(&T) -> K + Clone + Send + Sync + 'static,
    {
        // The exchange gets its own copy of the selector, so routing a record is one dynamic
        // call that extracts and hashes the key together.
        let hash_selector = key_selector.clone();
        let partitioner = Partitioner::KeyGroup(Arc::new(move |value: &T| stable_hash(&hash_selector(value))));
        KeyedStream::new(self.with_partitioner(partitioner), Arc::new(key_selector))
    }

    /// Groups all records into the windows `assigner` gives them, evaluated by one operator
    /// instance (parallelism 1), as Flink's `window_all`.
    pub fn window_all<A: WindowAssigner<T>>(&self, assigner: A) -> AllWindowedStream<T, A, A::DefaultTrigger> {
        let keyed = self.key_by(|_: &T| ());
        let (stream, key) = keyed.parts();
        let mut inner = WindowedStream::new(stream.clone(), key.clone(), assigner);
        inner.non_parallel = true;
        AllWindowedStream { inner }
    }

    /// Tumbling count windows over all records: groups of `size`.
    pub fn count_window_all(&self, size: u64) -> AllWindowedStream<T, GlobalWindows, PurgingTrigger<CountTrigger>> {
        let mut windowed = self.window_all(GlobalWindows::create()).trigger(PurgingTrigger::of(CountTrigger::of(size)));
        if size == 0 {
            windowed.inner.invalid = Some("count windows need a size above 0".into());
        }
        windowed
    }

    /// Merges this stream with `others` into one stream of all their records.
    pub fn union(&self, others: &[DataStream<T>]) -> DataStream<T> {
        let streams: Vec<DataStream<T>> = std::iter::once(self.clone()).chain(others.iter().cloned()).collect();
        let inputs = streams.iter().map(DataStream::input_ref).collect();
        let sources: Vec<EdgeSource<T>> = streams.iter().map(DataStream::edge_source).collect();
        let node = GraphNode::operator(
            "Union",
            inputs,
            build_fn(move |context, node, plan| {
                let edges = sources.iter().map(|s| s.edge(context)).collect();
                build_unary(context, node, plan, edges, ForwardOperator)
            }),
        );
        DataStream::new(self.env.clone(), self.env.add_node(node))
    }

    /// Connects this stream with `other`, for operators that process both with shared state.
    pub fn connect<U: Data>(&self, other: &DataStream<U>) -> ConnectedStreams<T, U> {
        ConnectedStreams::new(self.clone(), other.clone())
    }

    /// Sends each record to the same-numbered instance of the next operator; both must have the
    /// same parallelism.
    pub fn forward(&self) -> DataStream<T> {
        self.with_partitioner(Partitioner::Forward)
    }

    /// Distributes records uniformly at random.
    pub fn shuffle(&self) -> DataStream<T> {
        self.with_partitioner(Partitioner::Shuffle)
    }

    /// Distributes records round robin over all instances of the next operator.
    pub fn rebalance(&self) -> DataStream<T> {
        self.with_partitioner(Partitioner::Rebalance)
    }

    /// Distributes records round robin over a subset of the next operator's instances.
    pub fn rescale(&self) -> DataStream<T> {
        self.with_partitioner(Partitioner::Rescale)
    }

    /// Sends every record to every instance of the next operator.
    pub fn broadcast(&self) -> DataStream<T> {
        self.with_partitioner(Partitioner::Broadcast)
    }

    /// Sends every record to the first instance of the next operator.
    pub fn global(&self) -> DataStream<T> {
        self.with_partitioner(Partitioner::Global)
    }

    /// Sends each record to the partition `partitioner(key, partitions)` returns, for the key
    /// `key_selector` extracts. A partition outside `0 .. partitions` fails the job.
    pub fn partition_custom<K, P, F>(&self, partitioner: P, key_selector: F) -> DataStream<T>
    where
        P: Fn(&K, usize) -> usize + Send + Sync + 'static,
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        self.with_partitioner(Partitioner::Custom(Arc::new(move |value: &T, n| {
            Ok(partitioner(&key_selector(value), n))
        })))
    }

    /// As [`DataStream::partition_custom`], with a partitioner that may fail: its error fails
    /// the job (and restarts it when the error is recoverable).
    ///
    /// ```
    /// use pyflink_core::{FlinkError, StreamExecutionEnvironment};
    ///
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// env.set_parallelism(2);
    /// let odd_only = env
    ///     .from_collection(vec![1i64, 3, 4])
    ///     .try_partition_custom(|n: &i64, partitions| match n % 2 {
    ///         1 => Ok(n.unsigned_abs() as usize % partitions),
    ///         _ => Err(FlinkError::User(format!("{n} is even"))),
    ///     })
    ///     .map(|n| n);
    /// let error = odd_only.execute_and_collect().unwrap().find_map(Result::err).unwrap();
    /// assert!(error.to_string().contains("4 is even"), "{error}");
    /// ```
    pub fn try_partition_custom<P>(&self, partitioner: P) -> DataStream<T>
    where
        P: Fn(&T, usize) -> Result<usize> + Send + Sync + 'static,
    {
        self.with_partitioner(Partitioner::Custom(Arc::new(partitioner)))
    }

    /// The operators this stream comes from, one per line: its own first, then the tree of each
    /// input beneath it, indented as Flink's `explain` indents plans (`:- ` before an input more
    /// follow, `+- ` before the last).
    ///
    /// ```
    /// use pyflink_core::StreamExecutionEnvironment;
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// let left = env.from_collection(vec![1, 2]).name("Left");
    /// let right = env.from_collection(vec![3]).name("Right");
    /// let both = left.union(&[right]).map(|x: i32| x + 1).name("Increment");
    /// assert_eq!(both.explain(), "Increment\n+- Union\n   :- Left\n   +- Right\n");
    /// ```
    pub fn explain(&self) -> String {
        self.env.operator_tree(self.node)
    }

    /// Names the operator that produces this stream.
    pub fn name(self, name: &str) -> Self {
        self.env.set_node_name(self.node, name);
        self
    }

    /// Sets the operator's unique id, which binds its state across job changes.
    pub fn uid(self, uid: &str) -> Self {
        self.env.set_node_uid(self.node, uid);
        self
    }

    /// Sets the parallelism of the operator that produces this stream.
    pub fn set_parallelism(self, parallelism: usize) -> Self {
        self.env.set_node_parallelism(self.node, parallelism);
        self
    }

    /// Runs the operator that produces this stream beside its input, at the input's parallelism
    /// (unless one is set), so that records keep the order they had: how an exchange that must
    /// keep each key's order starts (the split of a table's changes by key before a sink).
    pub fn inherit_parallelism(self) -> Self {
        self.env.update_node(self.node, |node| node.inherits_parallelism = true);
        self
    }

    /// The stream of the side output `tag` of the process operator that produced this stream.
    pub fn get_side_output<S: Data>(&self, tag: &OutputTag<S>) -> Result<DataStream<S>> {
        let type_name = std::any::type_name::<S>();
        let existing = self.env.with_node(self.node, |node| {
            node.side_outputs.iter().position(|s| s.tag_id == tag.id()).map(|i| (i, node.side_outputs[i].type_name))
        });
        let port = match existing {
            Some((index, existing_type)) if existing_type == type_name => index + 1,
            Some((_, existing_type)) => {
                return Err(FlinkError::InvalidProgram(format!(
                    "side output '{}' is already used with type {existing_type}, not {type_name}; use another tag id",
                    tag.id()
                )))
            }
            None => {
                let tag_id = tag.id().to_string();
                let factory = side_port_factory(move |builder, context, node, port| {
                    let (output, stream) = builder.new_output::<Vec<Element<S>>>();
                    context.set_stream(node, port, stream);
                    Box::new(TypedSidePort::<S> { tag_id: tag_id.clone(), port, buffer: Vec::new(), output })
                });
                let spec = SideOutputSpec { tag_id: tag.id().to_string(), type_name, factory };
                let mut port = 0;
                self.env.update_node(self.node, |node| {
                    node.side_outputs.push(spec);
                    port = node.side_outputs.len();
                });
                port
            }
        };
        Ok(DataStream { env: self.env.clone(), node: self.node, port, partitioner: Partitioner::Default })
    }

    /// Writes the stream to `sink`.
    pub fn sink_to<S: Sink<T>>(&self, sink: S) -> DataStreamSink {
        let sink = Arc::new(sink);
        let source = self.edge_source();
        let mut node = GraphNode::operator(
            "Sink",
            vec![self.input_ref()],
            build_fn(move |context, node, plan| {
                let edge = source.edge(context);
                let operator = SinkOperator::new(Arc::clone(&sink));
                build_unary::<T, (), _>(context, node, plan, vec![edge], operator)
            }),
        );
        node.is_sink = true;
        DataStreamSink { env: self.env.clone(), node: self.env.add_node(node) }
    }

    /// Prints every record to standard output, as Flink's `print()`: with parallelism above 1
    /// each line starts with the printing instance's number, as in `2> (flink,3)`.
    pub fn print(&self) -> DataStreamSink
    where
        T: FlinkDisplay,
    {
        self.sink_to(PrintSink::<T>::new()).name("Print to Std. Out")
    }

    /// Prints every record to standard error.
    pub fn print_to_err(&self) -> DataStreamSink
    where
        T: FlinkDisplay,
    {
        self.sink_to(PrintSink::<T>::new().to_stderr()).name("Print to Std. Err")
    }

    /// Drops every record (the `blackhole` sink).
    pub fn discard(&self) -> DataStreamSink {
        self.sink_to(DiscardingSink).name("Discard")
    }

    /// Runs the job of this stream and returns its records as they arrive. Dropping the
    /// iterator cancels the job (`close()` also waits for it to end). The job waits for a slow
    /// reader: up to a few thousand records are buffered.
    pub fn execute_and_collect(&self) -> Result<CollectIterator<T>> {
        self.execute_and_collect_named("collect")
    }

    /// As [`DataStream::execute_and_collect`], with a job name.
    pub fn execute_and_collect_named(&self, job_name: &str) -> Result<CollectIterator<T>> {
        let (sender, receiver) = mpsc::sync_channel(crate::sinks::collect::COLLECT_BUFFER_RECORDS);
        // One collecting instance, as in Flink, so the order of a parallelism-1 stream is kept.
        self.sink_to(CollectSink::new(sender)).name("Collect").set_parallelism(1);
        let client = self.env.execute_async(job_name)?;
        Ok(CollectIterator::new(receiver, client))
    }
}

/// Where a node's typed input comes from: the upstream node, its output port, and the edge's
/// partitioning. Build functions resolve it into a timely stream on each worker.
pub(crate) struct EdgeSource<T: Data> {
    node: NodeId,
    port: usize,
    partitioner: Partitioner<T>,
}

impl<T: Data> EdgeSource<T> {
    pub(crate) fn edge<'s>(&self, context: &mut crate::runtime::graph::BuildContext<'s>) -> InputEdge<'s, T> {
        InputEdge { stream: context.stream::<T>(self.node, self.port), partitioner: self.partitioner.clone() }
    }
}

/// The sink end of a stream, to name it or set its parallelism.
pub struct DataStreamSink {
    env: StreamExecutionEnvironment,
    node: NodeId,
}

impl DataStreamSink {
    /// Names the sink.
    pub fn name(self, name: &str) -> Self {
        self.env.set_node_name(self.node, name);
        self
    }

    /// Sets the sink's unique id.
    pub fn uid(self, uid: &str) -> Self {
        self.env.set_node_uid(self.node, uid);
        self
    }

    /// Sets the sink's parallelism.
    pub fn set_parallelism(self, parallelism: usize) -> Self {
        self.env.set_node_parallelism(self.node, parallelism);
        self
    }
}
