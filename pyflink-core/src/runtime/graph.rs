//! The job graph: transformations recorded lazily by the API, then instantiated as one timely
//! dataflow on every worker by [`crate::runtime::job`].
//!
//! Nodes are appended in creation order and only refer to earlier nodes, so creation order is a
//! topological order. Each node carries a build function that, on each worker, takes its typed
//! input streams from the [`BuildContext`], builds its timely operator and registers its output
//! streams (port 0 is the main output, ports 1.. are side outputs).

use crate::metrics::prometheus::PrometheusReporterConfig;
use crate::rest::RestEndpointConfig;
use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;

use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::probe::Handle as ProbeHandle;
use timely::dataflow::operators::Probe;
use timely::dataflow::{Scope, Stream};

use pyflink_state::StateBackendConfig;

use crate::checkpoint::coordinator::{CheckpointCoordinator, TaskId};
use crate::checkpoint::restore::{RestoredCheckpoint, RestoredOperator};
use crate::checkpoint::task::TaskCheckpoints;
use crate::checkpoint::{CheckpointConfig, RestartStrategy};
use crate::cluster::ClusterConfig;
use crate::config::BackpressureConfig;
use crate::element::Element;
use crate::runtime::client::JobId;
use crate::runtime::job::JobShared;
use crate::runtime::operator::JobParameters;
use crate::runtime::output::SidePort;
use crate::runtime::timestamp::Time;
use crate::{Data, FlinkError, Result};

/// The identifier of a node: its position in the graph.
pub(crate) type NodeId = usize;

/// A timely stream of elements of `T`, timestamped by checkpoint epoch.
pub(crate) type ElementStream<'s, T> = Stream<'s, Time, Vec<Element<T>>>;

/// Builds a node's operator on one worker.
pub(crate) type BuildFn = Arc<dyn for<'s> Fn(&mut BuildContext<'s>, &GraphNode, &NodePlan) -> Result<()> + Send + Sync>;

/// Wraps a build closure, so that its higher-ranked signature is inferred.
pub(crate) fn build_fn<F>(f: F) -> BuildFn
where
    F: for<'s> Fn(&mut BuildContext<'s>, &GraphNode, &NodePlan) -> Result<()> + Send + Sync + 'static,
{
    Arc::new(f)
}

/// Wraps a side port factory closure, so that its higher-ranked signature is inferred.
pub(crate) fn side_port_factory<F>(f: F) -> SidePortFactory
where
    F: for<'s, 'b> Fn(&'b mut OperatorBuilder<'s, Time>, &mut BuildContext<'s>, NodeId, usize) -> Box<dyn SidePort>
        + Send
        + Sync
        + 'static,
{
    Arc::new(f)
}

/// Creates the typed timely output of one side output of a node, returning the port the
/// operator writes to and registering the stream under `(node, port)`.
pub(crate) type SidePortFactory = Arc<
    dyn for<'s, 'b> Fn(&'b mut OperatorBuilder<'s, Time>, &mut BuildContext<'s>, NodeId, usize) -> Box<dyn SidePort>
        + Send
        + Sync,
>;

/// A side output requested by `get_side_output`.
#[derive(Clone)]
pub(crate) struct SideOutputSpec {
    pub(crate) tag_id: String,
    pub(crate) type_name: &'static str,
    pub(crate) factory: SidePortFactory,
}

/// An input edge of a node.
#[derive(Debug, Clone)]
pub(crate) struct InputRef {
    pub(crate) node: NodeId,
    /// Flink's name of the partitioning of the edge, checked before the job runs.
    pub(crate) partitioning: &'static str,
}

/// One recorded transformation.
#[derive(Clone)]
pub(crate) struct GraphNode {
    pub(crate) name: String,
    pub(crate) uid: Option<String>,
    pub(crate) parallelism: Option<usize>,
    /// Sources that cannot run in parallel (for example `from_collection`).
    pub(crate) max_node_parallelism: Option<usize>,
    /// Whether the node takes its (first) input's parallelism unless one is set, as Flink's
    /// timestamp assigner does.
    pub(crate) inherits_parallelism: bool,
    pub(crate) inputs: Vec<InputRef>,
    pub(crate) side_outputs: Vec<SideOutputSpec>,
    pub(crate) is_sink: bool,
    /// For sources: whether they end.
    pub(crate) bounded: Option<bool>,
    /// A mistake found while the node was defined, reported when the job is planned.
    pub(crate) invalid: Option<String>,
    /// The build function; taken from sinks once they have been executed.
    pub(crate) build: Option<BuildFn>,
}

impl GraphNode {
    /// A node with the given inputs and build function, and defaults for everything else.
    pub(crate) fn operator(name: &str, inputs: Vec<InputRef>, build: BuildFn) -> Self {
        GraphNode {
            name: name.to_string(),
            uid: None,
            parallelism: None,
            max_node_parallelism: None,
            inherits_parallelism: false,
            inputs,
            side_outputs: Vec::new(),
            is_sink: false,
            bounded: None,
            invalid: None,
            build: Some(build),
        }
    }
}

/// What a node's build function learns about its place in the job.
#[derive(Debug, Clone)]
pub(crate) struct NodePlan {
    pub(crate) id: NodeId,
    /// The node's position among the job's nodes (its operator index in checkpoints).
    pub(crate) index: usize,
    pub(crate) name: String,
    pub(crate) parallelism: usize,
    pub(crate) max_parallelism: usize,
    /// The parallelism of each input's upstream node, in input order.
    pub(crate) input_parallelism: Vec<usize>,
    pub(crate) batch_mode: bool,
    /// `pipeline.auto-watermark-interval` in milliseconds; 0 disables periodic watermarks.
    pub(crate) auto_watermark_interval: i64,
    /// The id that binds the node's state in checkpoints.
    pub(crate) operator_id: String,
    /// Where keyed state lives.
    pub(crate) state_backend: StateBackendConfig,
    /// Whether the job takes checkpoints.
    pub(crate) checkpointing: bool,
    /// How far the node's instances may run ahead of the job's last operators, if it is a source.
    pub(crate) backpressure: BackpressureConfig,
    /// The job's global parameters.
    pub(crate) job_parameters: JobParameters,
    /// The source whose instance feeds each instance of this node through forward edges only
    /// (so on the same worker), if there is one: a timestamp assigner there aligns it.
    pub(crate) forward_source: Option<NodeId>,
}

/// A job ready to run: the nodes reachable from its sinks, with their resolved plans.
pub(crate) struct JobGraph {
    pub(crate) nodes: Vec<GraphNode>,
    pub(crate) plans: Vec<NodePlan>,
    pub(crate) workers: usize,
    pub(crate) max_parallelism: usize,
    pub(crate) checkpoint: CheckpointConfig,
    pub(crate) restart: RestartStrategy,
    /// The Prometheus reporters that serve the job's metrics while it runs.
    pub(crate) reporters: Vec<PrometheusReporterConfig>,
    /// Where the process's REST API is served, if the job asks for it.
    pub(crate) rest: Option<RestEndpointConfig>,
    /// The processes the job runs on with this one, if it runs on a cluster.
    pub(crate) cluster: Option<ClusterConfig>,
    /// The job's id when the program fixes it (`$internal.pipeline.job-id`): the job then
    /// starts from its newest complete checkpoint, if an earlier run of it left one.
    pub(crate) job_id: Option<JobId>,
}

/// Job-wide settings the plan needs.
#[derive(Debug, Clone)]
pub(crate) struct PlanSettings {
    pub(crate) default_parallelism: usize,
    pub(crate) max_parallelism: usize,
    pub(crate) batch_mode: bool,
    pub(crate) auto_watermark_interval: i64,
    pub(crate) state_backend: StateBackendConfig,
    pub(crate) checkpoint: CheckpointConfig,
    pub(crate) restart: RestartStrategy,
    pub(crate) backpressure: BackpressureConfig,
    pub(crate) reporters: Vec<PrometheusReporterConfig>,
    pub(crate) rest: Option<RestEndpointConfig>,
    pub(crate) job_parameters: JobParameters,
    pub(crate) cluster: Option<ClusterConfig>,
    pub(crate) job_id: Option<JobId>,
}

impl JobGraph {
    /// Resolves the parallelism of `nodes` (given with their ids, in id order) and checks the
    /// graph; fails with what to change.
    pub(crate) fn plan(nodes: Vec<(NodeId, GraphNode)>, settings: PlanSettings) -> Result<JobGraph> {
        let PlanSettings {
            default_parallelism,
            max_parallelism,
            batch_mode,
            auto_watermark_interval,
            state_backend,
            checkpoint,
            restart,
            backpressure,
            reporters,
            rest,
            job_parameters,
            cluster,
            job_id,
        } = settings;
        let mut resolved: HashMap<NodeId, (usize, &str)> = HashMap::new();
        let mut forward_sources: HashMap<NodeId, NodeId> = HashMap::new();
        let mut plans: Vec<NodePlan> = Vec::with_capacity(nodes.len());
        for (id, node) in &nodes {
            if let Some(problem) = &node.invalid {
                return Err(FlinkError::InvalidProgram(format!("operator '{}': {problem}", node.name)));
            }
            let inherited = match (node.inherits_parallelism, node.inputs.first()) {
                (true, Some(input)) => resolved.get(&input.node).map(|(up, _)| *up),
                _ => None,
            };
            let mut parallelism = node.parallelism.or(inherited).unwrap_or(default_parallelism);
            if let Some(limit) = node.max_node_parallelism {
                if node.parallelism.is_some_and(|p| p > limit) {
                    return Err(FlinkError::InvalidProgram(format!(
                        "operator '{}' is not parallel; its parallelism must be {limit}, not {parallelism}",
                        node.name
                    )));
                }
                parallelism = parallelism.min(limit);
            }
            if parallelism == 0 || parallelism > max_parallelism {
                return Err(FlinkError::InvalidProgram(format!(
                    "operator '{}' has parallelism {parallelism}; it must be between 1 and the max parallelism {max_parallelism}",
                    node.name
                )));
            }
            let mut input_parallelism = Vec::with_capacity(node.inputs.len());
            for input in &node.inputs {
                let (up, up_name) = resolved[&input.node];
                if input.partitioning == "FORWARD" && up != parallelism {
                    return Err(FlinkError::InvalidProgram(format!(
                        "forward partitioning does not allow change of parallelism: '{up_name}' has parallelism {up}, '{}' has {parallelism}; use rebalance() or another partitioning",
                        node.name
                    )));
                }
                input_parallelism.push(up);
            }
            resolved.insert(*id, (parallelism, &node.name));
            let forward_source = match node.inputs.as_slice() {
                [] if node.bounded.is_some() => Some(*id),
                [input]
                    if matches!(input.partitioning, "DEFAULT" | "FORWARD") && input_parallelism[0] == parallelism =>
                {
                    forward_sources.get(&input.node).copied()
                }
                _ => None,
            };
            if let Some(source) = forward_source {
                forward_sources.insert(*id, source);
            }
            plans.push(NodePlan {
                id: *id,
                index: plans.len(),
                name: node.name.clone(),
                parallelism,
                max_parallelism,
                input_parallelism,
                batch_mode,
                auto_watermark_interval,
                operator_id: node.uid.clone().unwrap_or_else(|| format!("{id}-{}", node.name)),
                state_backend: state_backend.clone(),
                checkpointing: checkpoint.is_checkpointing_enabled(),
                backpressure,
                job_parameters: job_parameters.clone(),
                forward_source,
            });
        }
        let mut uids: HashMap<&str, &str> = HashMap::new();
        for (_, node) in &nodes {
            if let Some(uid) = &node.uid {
                if let Some(other) = uids.insert(uid, &node.name) {
                    return Err(FlinkError::InvalidProgram(format!(
                        "uid '{uid}' is used by both '{other}' and '{}'; uids must be unique within a job",
                        node.name
                    )));
                }
            }
        }
        let widest = plans.iter().map(|p| p.parallelism).max().unwrap_or(1);
        let workers = match &cluster {
            Some(cluster) if widest > cluster.workers() => {
                return Err(FlinkError::InvalidProgram(format!(
                    "the job needs {widest} parallel instances, but the cluster has {} workers ({} processes x {} threads); lower the parallelism or add threads or processes",
                    cluster.workers(),
                    cluster.processes(),
                    cluster.threads()
                )))
            }
            Some(cluster) => cluster.workers(),
            None => widest,
        };
        Ok(JobGraph {
            nodes: nodes.into_iter().map(|(_, n)| n).collect(),
            plans,
            workers,
            max_parallelism,
            checkpoint,
            restart,
            reporters,
            rest,
            cluster,
            job_id,
        })
    }

    /// The job as every process of a cluster must build it: one line for the job's settings,
    /// then one per operator with its name, parallelism, id and inputs; processes compare these
    /// before they run the job together.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!("workers {} max-parallelism {}\n", self.workers, self.max_parallelism);
        for (node, plan) in self.nodes.iter().zip(&self.plans) {
            let inputs: Vec<String> = node.inputs.iter().map(|i| format!("{} {}", i.node, i.partitioning)).collect();
            text.push_str(&format!(
                "operator {} '{}' parallelism {} id '{}' inputs [{}]\n",
                plan.id,
                plan.name,
                plan.parallelism,
                plan.operator_id,
                inputs.join(", ")
            ));
        }
        text
    }
}

/// A stream whose element type is known only at run time, with the scope lifetime kept.
trait ErasedStream<'s> {
    fn element_type(&self) -> TypeId;
    /// Makes `probe` follow the stream's frontier.
    fn probe_with(&self, probe: &ProbeHandle<Time>);
}

struct Held<'s, T: Data>(ElementStream<'s, T>);

impl<'s, T: Data> ErasedStream<'s> for Held<'s, T> {
    fn element_type(&self) -> TypeId {
        TypeId::of::<T>()
    }
    fn probe_with(&self, probe: &ProbeHandle<Time>) {
        self.0.clone().probe_with(probe);
    }
}

/// The per-worker state of building the dataflow: the scope, the run's checkpointing, and the
/// streams built so far.
pub(crate) struct BuildContext<'s> {
    pub(crate) scope: Scope<'s, Time>,
    pub(crate) job: Arc<JobShared>,
    checkpoints: Option<Arc<CheckpointCoordinator>>,
    restored: Option<Arc<RestoredCheckpoint>>,
    /// Streams built so far, and whether an operator consumes them.
    streams: HashMap<(NodeId, usize), (Box<dyn ErasedStream<'s> + 's>, bool)>,
    /// Follows the frontier of the streams no operator consumes: the end of the dataflow,
    /// which sources pace themselves on (see [`pacing`](super::pacing)).
    end_probe: ProbeHandle<Time>,
}

impl<'s> BuildContext<'s> {
    pub(crate) fn new(
        scope: Scope<'s, Time>,
        job: Arc<JobShared>,
        checkpoints: Option<Arc<CheckpointCoordinator>>,
        restored: Option<Arc<RestoredCheckpoint>>,
    ) -> Self {
        BuildContext { scope, job, checkpoints, restored, streams: HashMap::new(), end_probe: ProbeHandle::new() }
    }

    /// The probe of the end of the dataflow; it follows the streams no operator consumes once
    /// [`probe_the_end`](Self::probe_the_end) has run.
    pub(crate) fn end_probe(&self) -> ProbeHandle<Time> {
        self.end_probe.clone()
    }

    /// Attaches the end probe to every stream that no operator consumes (the outputs of sinks,
    /// unused side outputs): once they are past a time, the whole dataflow is.
    pub(crate) fn probe_the_end(&self) {
        for (stream, consumed) in self.streams.values() {
            if !consumed {
                stream.probe_with(&self.end_probe);
            }
        }
    }

    /// The restored state of the node `plan`, if any.
    pub(crate) fn restored_operator(&self, plan: &NodePlan) -> Option<RestoredOperator> {
        self.restored.as_ref()?.operator(&plan.operator_id)
    }

    /// The checkpoint link of this worker's instance of `plan`, woken through the operator at
    /// `address` when epochs are triggered or complete.
    pub(crate) fn task_checkpoints(&self, plan: &NodePlan, address: &[usize]) -> TaskCheckpoints {
        let task = TaskId { node: plan.index, subtask: self.worker_index() };
        let checkpoints = TaskCheckpoints::new(self.checkpoints.clone(), task);
        if self.worker_index() < plan.parallelism {
            checkpoints.register(self.scope.worker().sync_activator_for(address.to_vec()));
        }
        checkpoints
    }

    /// The index of the worker building the dataflow.
    pub(crate) fn worker_index(&self) -> usize {
        self.scope.index()
    }

    /// Registers the stream of output `port` of `node`.
    pub(crate) fn set_stream<T: Data>(&mut self, node: NodeId, port: usize, stream: ElementStream<'s, T>) {
        self.streams.insert((node, port), (Box::new(Held(stream)), false));
    }

    /// The stream of output `port` of `node`, typed. Each consumer gets its own handle.
    pub(crate) fn stream<T: Data>(&mut self, node: NodeId, port: usize) -> ElementStream<'s, T> {
        let (erased, consumed) = self
            .streams
            .get_mut(&(node, port))
            .unwrap_or_else(|| panic!("stream ({node}, {port}) is consumed before it was built"));
        *consumed = true;
        assert_eq!(erased.element_type(), TypeId::of::<T>(), "stream ({node}, {port}) has another element type");
        let erased: &(dyn ErasedStream<'s> + 's) = erased.as_ref();
        // SAFETY: `Held` is the only implementation of the private trait `ErasedStream`, and its
        // `element_type` is `TypeId::of::<T>()` for `Held<'s, T>`. The types are equal as checked
        // above, and the trait object carries the same lifetime `'s`, so the pointee is a
        // `Held<'s, T>`. This is the downcast `std::any::Any` performs, extended to a type that is
        // not `'static` because timely ties streams to their scope's lifetime.
        let held = unsafe { &*(erased as *const (dyn ErasedStream<'s> + 's) as *const Held<'s, T>) };
        held.0.clone()
    }
}
