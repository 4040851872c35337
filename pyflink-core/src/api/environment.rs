//! `StreamExecutionEnvironment`: where jobs are defined and executed.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use pyflink_state::key_group::check_max_parallelism;
use pyflink_state::{StateBackendConfig, DEFAULT_MAX_PARALLELISM};

use crate::api::datastream::DataStream;
use crate::checkpoint::{CheckpointConfig, CheckpointingMode, RestartStrategy};
use crate::cluster::ClusterConfig;
use crate::config::{BackpressureConfig, Boundedness, RuntimeExecutionMode};
use crate::configuration::{Configuration, OPTIONS_VAR};
use crate::metrics::prometheus::PrometheusReporterConfig;
use crate::rest::RestEndpointConfig;
use crate::runtime::client::{JobClient, JobId};
use crate::runtime::graph::{build_fn, GraphNode, JobGraph, NodeId, PlanSettings};
use crate::runtime::job::{run, start, JobExecutionResult};
use crate::runtime::operator::JobParameters;
use crate::runtime::source_task::build_source;
use crate::sources::{CollectionSource, NumberSequenceSource, Source};
use crate::time::{duration_millis, WatermarkStrategy};
use crate::{Data, FlinkError, Result};

/// Flink's default `pipeline.auto-watermark-interval`.
const DEFAULT_AUTO_WATERMARK_INTERVAL: Duration = Duration::from_millis(200);

/// The key that fixes the id of the jobs an environment executes, Flink's (its application mode
/// sets it, so that a job started again recovers from its checkpoints). A job with a fixed id
/// and no savepoint to start from starts from its newest complete checkpoint, if an earlier run
/// of it left one in the checkpoint directory.
pub const JOB_ID_KEY: &str = "$internal.pipeline.job-id";

/// The environment variable that fixes the job id, as [`JOB_ID_KEY`] does (`pyflink-rs run
/// --processes` sets it, so that a cluster started again after its process 0 died resumes).
pub const JOB_ID_VAR: &str = "PYFLINK_RS_JOB_ID";

struct Environment {
    nodes: Vec<GraphNode>,
    executed: Vec<bool>,
    parallelism: usize,
    max_parallelism: usize,
    mode: RuntimeExecutionMode,
    auto_watermark_interval: Duration,
    state_backend: StateBackendConfig,
    checkpoint: CheckpointConfig,
    restart: Option<RestartStrategy>,
    backpressure: BackpressureConfig,
    /// The `metrics.*` options of every `configure`, merged: a reporter's keys may come in
    /// several calls (as Python's `TableConfig.set` makes them).
    metrics_options: Configuration,
    reporters: Vec<PrometheusReporterConfig>,
    /// Where the REST API is served (`rest.port`), if anywhere.
    rest: Option<RestEndpointConfig>,
    job_parameters: JobParameters,
    /// The cluster this process runs its jobs on with others, or why the environment's
    /// description of it cannot be used (reported when a job is executed).
    cluster: std::result::Result<Option<ClusterConfig>, FlinkError>,
    /// The id of the jobs it executes, when the program fixes it (`$internal.pipeline.job-id`
    /// or `PYFLINK_RS_JOB_ID`), or why the variable's cannot be used (reported at execution).
    job_id: std::result::Result<Option<JobId>, FlinkError>,
    /// Why the options of [`OPTIONS_VAR`] cannot be applied, if they cannot (reported at
    /// execution, as the variables above).
    command_line_options: std::result::Result<(), FlinkError>,
}

/// The job id [`JOB_ID_VAR`] fixes, if set.
fn job_id_from_env() -> std::result::Result<Option<JobId>, FlinkError> {
    match std::env::var(JOB_ID_VAR) {
        Ok(text) => text.parse().map(Some).map_err(|_| {
            FlinkError::InvalidProgram(format!(
                "${JOB_ID_VAR} is '{text}': a job id is 32 hexadecimal digits, as Flink's JobID"
            ))
        }),
        Err(_) => Ok(None),
    }
}

/// The context in which a streaming program runs: it records the transformations of the
/// program's streams and executes them as a job.
///
/// ```
/// use pyflink_core::StreamExecutionEnvironment;
///
/// let env = StreamExecutionEnvironment::get_execution_environment();
/// env.set_parallelism(2);
/// let doubled = env.from_collection(vec![1i64, 2, 3]).map(|x| x * 2);
/// let mut result: Vec<i64> = doubled.execute_and_collect().unwrap().map(Result::unwrap).collect();
/// result.sort();
/// assert_eq!(result, vec![2, 4, 6]);
/// ```
#[derive(Clone)]
pub struct StreamExecutionEnvironment {
    inner: Rc<RefCell<Environment>>,
}

impl StreamExecutionEnvironment {
    /// A local environment whose default parallelism is the number of cores; or, when the
    /// process's environment variables place it in a cluster ([`ClusterConfig::from_env`]), one
    /// process of that cluster, whose default parallelism is the cluster's number of workers.
    /// The options of the `pyflink-rs run` command line ([`OPTIONS_VAR`]: `-D`, `-p`, `-s`) are
    /// applied as with [`configure`](Self::configure); the program's own settings override them.
    pub fn get_execution_environment() -> Self {
        let env = Self::unconfigured();
        let applied = match Configuration::from_env() {
            Ok(Some(options)) => env.configure(&options).map(|_| ()),
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        env.inner.borrow_mut().command_line_options = applied.map_err(|error| {
            FlinkError::InvalidProgram(format!("the options of ${OPTIONS_VAR} (pyflink-rs run's flags): {error}"))
        });
        env
    }

    /// A local or cluster environment as [`get_execution_environment`](Self::get_execution_environment)'s,
    /// before the command line's options.
    fn unconfigured() -> Self {
        let cluster = ClusterConfig::from_env();
        let cores = match &cluster {
            Ok(Some(cluster)) => cluster.workers(),
            _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        StreamExecutionEnvironment {
            inner: Rc::new(RefCell::new(Environment {
                nodes: Vec::new(),
                executed: Vec::new(),
                parallelism: cores,
                max_parallelism: DEFAULT_MAX_PARALLELISM,
                mode: RuntimeExecutionMode::Streaming,
                auto_watermark_interval: DEFAULT_AUTO_WATERMARK_INTERVAL,
                state_backend: StateBackendConfig::default(),
                checkpoint: CheckpointConfig::default(),
                restart: None,
                backpressure: BackpressureConfig::default(),
                metrics_options: Configuration::new(),
                reporters: Vec::new(),
                rest: None,
                job_parameters: JobParameters::default(),
                cluster,
                job_id: job_id_from_env(),
                command_line_options: Ok(()),
            })),
        }
    }

    /// Runs this environment's jobs as process `cluster.process_id()` of `cluster`, together
    /// with the other processes, which run the same program; the default parallelism becomes
    /// the cluster's number of workers. See [`crate::cluster`].
    pub fn set_cluster(&self, cluster: ClusterConfig) -> &Self {
        let mut inner = self.inner.borrow_mut();
        inner.parallelism = cluster.workers();
        inner.cluster = Ok(Some(cluster));
        drop(inner);
        self
    }

    /// The cluster this environment's jobs run on, if they run on one.
    pub fn get_cluster(&self) -> Option<ClusterConfig> {
        self.inner.borrow().cluster.clone().ok().flatten()
    }

    /// Sets the default parallelism of operators (the number of parallel instances of each).
    pub fn set_parallelism(&self, parallelism: usize) -> &Self {
        self.inner.borrow_mut().parallelism = parallelism;
        self
    }

    /// The default parallelism.
    pub fn get_parallelism(&self) -> usize {
        self.inner.borrow().parallelism
    }

    /// Sets the max parallelism: the number of key groups, the upper bound for rescaling keyed
    /// state. Fails outside 1 ..= 32768.
    pub fn set_max_parallelism(&self, max_parallelism: usize) -> Result<&Self> {
        check_max_parallelism(max_parallelism)?;
        self.inner.borrow_mut().max_parallelism = max_parallelism;
        Ok(self)
    }

    /// The max parallelism (default 128).
    pub fn get_max_parallelism(&self) -> usize {
        self.inner.borrow().max_parallelism
    }

    /// Sets the runtime mode: STREAMING (default), BATCH, or AUTOMATIC.
    pub fn set_runtime_mode(&self, mode: RuntimeExecutionMode) -> &Self {
        self.inner.borrow_mut().mode = mode;
        self
    }

    /// A stream of the elements of `elements`, in order, from a non-parallel source.
    pub fn from_collection<T: Data>(&self, elements: Vec<T>) -> DataStream<T> {
        let stream =
            self.from_source(CollectionSource::new(elements), WatermarkStrategy::no_watermarks(), "Collection Source");
        self.update_node(stream.node_id(), |node| node.max_node_parallelism = Some(1));
        stream
    }

    /// A parallel stream of the numbers `from ..= to` (Flink's `fromSequence`).
    pub fn from_sequence(&self, from: i64, to: i64) -> Result<DataStream<i64>> {
        Ok(self.from_source(
            NumberSequenceSource::new(from, to)?,
            WatermarkStrategy::no_watermarks(),
            "Sequence Source",
        ))
    }

    /// Sets how often periodic watermark generators emit (`pipeline.auto-watermark-interval`,
    /// 200 ms by default); zero turns periodic watermarks off.
    pub fn set_auto_watermark_interval(&self, interval: Duration) -> &Self {
        self.inner.borrow_mut().auto_watermark_interval = interval;
        self
    }

    /// The periodic watermark interval.
    pub fn get_auto_watermark_interval(&self) -> Duration {
        self.inner.borrow().auto_watermark_interval
    }

    /// Sets the job's global parameters, which every function reads from its runtime context
    /// (`get_job_parameter`; `pipeline.global-job-parameters`).
    pub fn set_global_job_parameters(&self, parameters: BTreeMap<String, String>) -> &Self {
        self.inner.borrow_mut().job_parameters = Arc::new(parameters);
        self
    }

    /// The job's global parameters.
    pub fn get_global_job_parameters(&self) -> BTreeMap<String, String> {
        self.inner.borrow().job_parameters.as_ref().clone()
    }

    /// Chooses where keyed state lives: on the heap (the default) or in RocksDB.
    pub fn set_state_backend(&self, backend: StateBackendConfig) -> &Self {
        self.inner.borrow_mut().state_backend = backend;
        self
    }

    /// Takes a checkpoint every `interval` with the guarantee `mode`.
    pub fn enable_checkpointing(&self, interval: Duration, mode: CheckpointingMode) -> &Self {
        let mut inner = self.inner.borrow_mut();
        inner.checkpoint.interval = Some(interval);
        inner.checkpoint.mode = mode;
        self
    }

    /// The checkpoint settings.
    pub fn get_checkpoint_config(&self) -> CheckpointConfig {
        self.inner.borrow().checkpoint.clone()
    }

    /// Replaces the checkpoint settings.
    pub fn set_checkpoint_config(&self, config: CheckpointConfig) -> &Self {
        self.inner.borrow_mut().checkpoint = config;
        self
    }

    /// Applies Flink's settings in `config`: state backend, checkpointing, restart strategy,
    /// default parallelism (`parallelism.default`; see [`Configuration`] for the keys). A value that is not allowed gives an error naming its key.
    pub fn configure(&self, config: &Configuration) -> Result<&Self> {
        let state_backend = config.state_backend()?;
        let checkpoint = config.checkpoint_config(self.get_checkpoint_config())?;
        let restart = config.restart_strategy()?;
        let backpressure = config.backpressure_config(self.get_backpressure_config())?;
        let mut metrics_options = self.inner.borrow().metrics_options.clone();
        for (key, value) in config.entries().filter(|(key, _)| key.starts_with("metrics.")) {
            metrics_options.set_string(key, value);
        }
        let reporters = PrometheusReporterConfig::all_of(&metrics_options)?;
        let rest = RestEndpointConfig::of(config)?;
        let watermark_interval = config.duration("pipeline.auto-watermark-interval")?;
        let job_parameters = config.map("pipeline.global-job-parameters")?;
        let job_id = match config.get_string(JOB_ID_KEY) {
            Some(text) => Some(text.parse::<JobId>().map_err(|_| {
                crate::configuration::invalid(JOB_ID_KEY, text, "32 hexadecimal digits, as Flink's JobID")
            })?),
            None => None,
        };
        let parallelism = config.number::<usize>("parallelism.default")?;
        if parallelism == Some(0) {
            return Err(crate::configuration::invalid("parallelism.default", "0", "a parallelism of at least 1"));
        }
        if let Some(parallelism) = parallelism {
            self.set_parallelism(parallelism);
        }
        if let Some(max_parallelism) = config.number::<usize>("pipeline.max-parallelism")? {
            self.set_max_parallelism(max_parallelism).map_err(|e| {
                crate::configuration::invalid("pipeline.max-parallelism", &max_parallelism.to_string(), &e.to_string())
            })?;
        }
        let mut inner = self.inner.borrow_mut();
        if let Some(interval) = watermark_interval {
            inner.auto_watermark_interval = interval;
        }
        if let Some(parameters) = job_parameters {
            inner.job_parameters = Arc::new(parameters);
        }
        inner.backpressure = backpressure;
        if job_id.is_some() {
            inner.job_id = Ok(job_id);
        }
        inner.metrics_options = metrics_options;
        inner.reporters = reporters;
        if rest.is_some() {
            inner.rest = rest;
        }
        if let Some(backend) = state_backend {
            inner.state_backend = backend;
        }
        inner.checkpoint = checkpoint;
        if let Some(restart) = restart {
            inner.restart = Some(restart);
        }
        Ok(self)
    }

    /// Sets how far sources may run ahead of slower operators downstream (see
    /// [`BackpressureConfig`]).
    pub fn set_backpressure_config(&self, config: BackpressureConfig) -> &Self {
        self.inner.borrow_mut().backpressure = config;
        self
    }

    /// The backpressure settings.
    pub fn get_backpressure_config(&self) -> BackpressureConfig {
        self.inner.borrow().backpressure
    }

    /// Sets how the job restarts after a failure. Without one, a job with checkpointing restarts
    /// with exponential delay, and a job without fails at once, as in Flink.
    pub fn set_restart_strategy(&self, strategy: RestartStrategy) -> &Self {
        self.inner.borrow_mut().restart = Some(strategy);
        self
    }

    /// A stream read from `source`, named `source_name`, with timestamps and watermarks from
    /// `watermark_strategy`, generated per split (`WatermarkStrategy::no_watermarks()` for none).
    pub fn from_source<T: Data, S: Source<T>>(
        &self,
        source: S,
        watermark_strategy: WatermarkStrategy<T>,
        source_name: &str,
    ) -> DataStream<T> {
        let bounded = source.boundedness() == Boundedness::Bounded;
        let source = Arc::new(source);
        let node = GraphNode {
            name: source_name.to_string(),
            uid: None,
            parallelism: None,
            max_node_parallelism: None,
            inherits_parallelism: false,
            inputs: Vec::new(),
            side_outputs: Vec::new(),
            is_sink: false,
            bounded: Some(bounded),
            invalid: None,
            build: Some(build_fn(move |context, _node, plan| {
                build_source(context, plan, Arc::clone(&source), watermark_strategy.clone())
            })),
        };
        DataStream::new(self.clone(), self.add_node(node))
    }

    /// Runs every sink added since the last execution as one job, and waits for it to end.
    pub fn execute(&self, job_name: &str) -> Result<JobExecutionResult> {
        let graph = self.take_job()?;
        let started = start(job_name, &graph)?;
        run(job_name.to_string(), graph, started)
    }

    /// Starts the job in the background and returns a client to wait for or cancel it.
    pub fn execute_async(&self, job_name: &str) -> Result<JobClient> {
        JobClient::spawn(job_name.to_string(), self.take_job()?)
    }

    pub(crate) fn add_node(&self, node: GraphNode) -> NodeId {
        let mut inner = self.inner.borrow_mut();
        inner.nodes.push(node);
        inner.executed.push(false);
        inner.nodes.len() - 1
    }

    pub(crate) fn update_node(&self, id: NodeId, change: impl FnOnce(&mut GraphNode)) {
        change(&mut self.inner.borrow_mut().nodes[id]);
    }

    pub(crate) fn set_node_name(&self, id: NodeId, name: &str) {
        self.update_node(id, |node| node.name = name.to_string());
    }

    pub(crate) fn set_node_uid(&self, id: NodeId, uid: &str) {
        self.update_node(id, |node| node.uid = Some(uid.to_string()));
    }

    pub(crate) fn set_node_parallelism(&self, id: NodeId, parallelism: usize) {
        self.update_node(id, |node| node.parallelism = Some(parallelism));
    }

    pub(crate) fn with_node<R>(&self, id: NodeId, read: impl FnOnce(&GraphNode) -> R) -> R {
        read(&self.inner.borrow().nodes[id])
    }

    /// The operators node `id` reads from, as a tree written the way Flink's `explain` writes
    /// plans: the node first, then each input's tree beneath it, marked `:- ` (more inputs
    /// follow) or `+- ` (the last input).
    pub(crate) fn operator_tree(&self, id: NodeId) -> String {
        let inner = self.inner.borrow();
        let mut tree = String::new();
        // (node, the prefix of its own line, the prefix of its inputs' lines)
        let mut pending = vec![(id, String::new(), String::new())];
        while let Some((node, own, below)) = pending.pop() {
            tree.push_str(&own);
            tree.push_str(&inner.nodes[node].name);
            tree.push('\n');
            let inputs = &inner.nodes[node].inputs;
            // Pushed last input first, so that the first input's tree is written first.
            for (position, input) in inputs.iter().enumerate().rev() {
                let last = position + 1 == inputs.len();
                let (mark, rest) = if last { ("+- ", "   ") } else { (":- ", ":  ") };
                pending.push((input.node, format!("{below}{mark}"), format!("{below}{rest}")));
            }
        }
        tree
    }

    /// Forgets the sinks added since the last execution, so that the next job does not run
    /// them: for programs that add a job's sinks one by one and fail before the last (a table
    /// program whose second `INSERT` does not plan, say).
    pub fn discard_unexecuted_sinks(&self) {
        let mut inner = self.inner.borrow_mut();
        let pending: Vec<NodeId> =
            (0..inner.nodes.len()).filter(|&i| inner.nodes[i].is_sink && !inner.executed[i]).collect();
        for sink in pending {
            inner.executed[sink] = true;
        }
    }

    /// The job of the sinks not executed yet, which are executed from now on.
    fn take_job(&self) -> Result<JobGraph> {
        let (graph, sinks) = self.plan_job()?;
        let mut inner = self.inner.borrow_mut();
        for sink in sinks {
            inner.executed[sink] = true;
            // Dropping the executed sink's build function releases what it holds (a collect
            // sink's channel, for example), so the job alone owns it.
            inner.nodes[sink].build = None;
        }
        Ok(graph)
    }

    /// The job of the sinks not executed yet (every node they read from, in creation order),
    /// and those sinks.
    fn plan_job(&self) -> Result<(JobGraph, Vec<NodeId>)> {
        let inner = self.inner.borrow();
        let sinks: Vec<NodeId> =
            (0..inner.nodes.len()).filter(|&i| inner.nodes[i].is_sink && !inner.executed[i]).collect();
        if sinks.is_empty() {
            return Err(FlinkError::InvalidProgram(
                "no operators defined in streaming topology; add a sink (print, sink_to, execute_and_collect) before executing".into(),
            ));
        }
        // A backend left out of this build fails the job here, once, rather than in every restart.
        inner.state_backend.check_available()?;
        inner.command_line_options.clone()?;
        let mut selected = BTreeSet::new();
        let mut pending = sinks.clone();
        while let Some(id) = pending.pop() {
            if selected.insert(id) {
                pending.extend(inner.nodes[id].inputs.iter().map(|i| i.node));
            }
        }
        let batch_mode = match inner.mode {
            RuntimeExecutionMode::Streaming => false,
            RuntimeExecutionMode::Batch => true,
            RuntimeExecutionMode::Automatic => selected.iter().all(|&i| inner.nodes[i].bounded != Some(false)),
        };
        if batch_mode {
            if let Some(&unbounded) = selected.iter().find(|&&i| inner.nodes[i].bounded == Some(false)) {
                return Err(FlinkError::InvalidProgram(format!(
                    "detected an UNBOUNDED source '{}' with the runtime mode set to BATCH; use STREAMING or AUTOMATIC, or a bounded source",
                    inner.nodes[unbounded].name
                )));
            }
        }
        let nodes: Vec<(NodeId, GraphNode)> = selected.iter().map(|&i| (i, inner.nodes[i].clone())).collect();
        let mut checkpoint = inner.checkpoint.clone();
        if batch_mode {
            // As in Flink, batch jobs recover by rerunning, not from checkpoints.
            checkpoint.interval = None;
        }
        let restart = inner.restart.clone().unwrap_or_else(|| match checkpoint.is_checkpointing_enabled() {
            true => RestartStrategy::default_with_checkpointing(),
            false => RestartStrategy::no_restart(),
        });
        let settings = PlanSettings {
            default_parallelism: inner.parallelism,
            max_parallelism: inner.max_parallelism,
            batch_mode,
            auto_watermark_interval: duration_millis(inner.auto_watermark_interval),
            state_backend: inner.state_backend.clone(),
            checkpoint,
            restart,
            backpressure: inner.backpressure,
            reporters: inner.reporters.clone(),
            rest: inner.rest.clone(),
            job_parameters: inner.job_parameters.clone(),
            cluster: inner.cluster.clone()?,
            job_id: inner.job_id.clone()?,
        };
        Ok((JobGraph::plan(nodes, settings)?, sinks))
    }

    /// The job that `execute` would run now, as JSON in the shape of Flink's execution plan:
    /// `{"nodes": [...]}`, each node with its `id`, `type`, `pact` (`Data Source`, `Operator` or
    /// `Data Sink`), `contents`, `parallelism` and `predecessors` (their `id` and
    /// `ship_strategy`). Nothing runs, and the sinks stay to be executed.
    ///
    /// ```
    /// use pyflink_core::StreamExecutionEnvironment;
    ///
    /// let env = StreamExecutionEnvironment::get_execution_environment();
    /// env.set_parallelism(2);
    /// env.from_sequence(1, 10).unwrap().rebalance().map(|n| n * 2).discard();
    /// let plan: serde_json::Value = serde_json::from_str(&env.get_execution_plan().unwrap()).unwrap();
    /// let nodes = plan["nodes"].as_array().unwrap();
    /// assert_eq!(nodes[0]["pact"], "Data Source");
    /// assert_eq!(nodes[1]["type"], "Map");
    /// assert_eq!(nodes[1]["predecessors"][0]["ship_strategy"], "REBALANCE");
    /// assert_eq!(nodes.last().unwrap()["pact"], "Data Sink");
    /// ```
    pub fn get_execution_plan(&self) -> Result<String> {
        let (graph, _) = self.plan_job()?;
        let nodes: Vec<serde_json::Value> = graph
            .plans
            .iter()
            .zip(&graph.nodes)
            .map(|(plan, node)| {
                let pact = match (node.is_sink, node.inputs.is_empty()) {
                    (true, _) => "Data Sink",
                    (false, true) => "Data Source",
                    (false, false) => "Operator",
                };
                let mut entry = serde_json::json!({
                    "id": plan.id + 1,
                    "type": plan.name,
                    "pact": pact,
                    "contents": plan.name,
                    "parallelism": plan.parallelism,
                });
                if !node.inputs.is_empty() {
                    let predecessors: Vec<serde_json::Value> = node
                        .inputs
                        .iter()
                        .zip(&plan.input_parallelism)
                        .map(|(input, &upstream)| {
                            // The default partitioning is forward or rebalance, as the parallelisms say.
                            let strategy = match input.partitioning {
                                "DEFAULT" if upstream == plan.parallelism => "FORWARD",
                                "DEFAULT" => "REBALANCE",
                                named => named,
                            };
                            serde_json::json!({"id": input.node + 1, "ship_strategy": strategy, "side": "second"})
                        })
                        .collect();
                    entry["predecessors"] = serde_json::Value::Array(predecessors);
                }
                entry
            })
            .collect();
        serde_json::to_string_pretty(&serde_json::json!({ "nodes": nodes }))
            .map_err(|e| FlinkError::Runtime(format!("cannot write the execution plan: {e}")))
    }
}
