//! `ConnectedStreams<T, U>`: two streams processed together by one operator.

use crate::api::datastream::DataStream;
use crate::api::functions::CoProcessFunction;
use crate::operators::co_process::{CoFlatMap, CoMap, CoProcessOperator};
use crate::runtime::binary::build_binary;
use crate::runtime::graph::{build_fn, GraphNode};
use crate::Data;

/// Two streams connected for a two-input operator (`connect`).
pub struct ConnectedStreams<T: Data, U: Data> {
    first: DataStream<T>,
    second: DataStream<U>,
}

impl<T: Data, U: Data> ConnectedStreams<T, U> {
    pub(crate) fn new(first: DataStream<T>, second: DataStream<U>) -> Self {
        ConnectedStreams { first, second }
    }

    /// Maps records of the first stream with `f1` and of the second with `f2` (CoMap).
    pub fn map<O: Data, F1, F2>(&self, f1: F1, f2: F2) -> DataStream<O>
    where
        F1: FnMut(T) -> O + Clone + Send + Sync + 'static,
        F2: FnMut(U) -> O + Clone + Send + Sync + 'static,
    {
        self.add("CoMap", CoMap(f1, f2))
    }

    /// Flat-maps records of the first stream with `f1` and of the second with `f2` (CoFlatMap).
    pub fn flat_map<O: Data, I1, I2, F1, F2>(&self, f1: F1, f2: F2) -> DataStream<O>
    where
        I1: IntoIterator<Item = O>,
        I2: IntoIterator<Item = O>,
        F1: FnMut(T) -> I1 + Clone + Send + Sync + 'static,
        F2: FnMut(U) -> I2 + Clone + Send + Sync + 'static,
    {
        self.add("CoFlatMap", CoFlatMap(f1, f2))
    }

    /// Runs a [`CoProcessFunction`] over both streams.
    pub fn process<O: Data, F: CoProcessFunction<T, U, O>>(&self, function: F) -> DataStream<O> {
        self.add("CoProcess", function)
    }

    fn add<O: Data, F: CoProcessFunction<T, U, O>>(&self, name: &str, function: F) -> DataStream<O> {
        let first = self.first.edge_source();
        let second = self.second.edge_source();
        let node = GraphNode::operator(
            name,
            vec![self.first.input_ref(), self.second.input_ref()],
            build_fn(move |context, _node, plan| {
                let (a, b) = (first.edge(context), second.edge(context));
                build_binary(context, plan, a, b, CoProcessOperator(function.clone()))
            }),
        );
        let env = self.first.get_execution_environment();
        DataStream::new(env.clone(), env.add_node(node))
    }
}
