//! Exactly-once sinks on clusters of real processes over loopback. Kafka -> keyed counts ->
//! Kafka against a real Kafka-protocol broker (tansu): one process is killed with SIGKILL at
//! random points (a fixed set of seeds) and started again, or the whole cluster dies right
//! after a checkpoint completed, before its transactions were all committed, and starts again
//! from that checkpoint; every running count must be committed exactly once, each transaction
//! told committed or aborted by its marker in the log (`broker/read_committed.rs`).
//! The same whole-cluster death with a FileSink: its finished files must hold every running
//! count exactly once.
//!
//! This binary starts itself as each process (see `support/cluster_processes.rs` of the core).

#[path = "../../pyflink-core/tests/support/cluster_processes.rs"]
mod cluster_processes;

mod broker;

use std::collections::{BTreeMap, HashMap};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::read_committed::committed_values_in_log;
use broker::{produce_clicks_slowly, Broker};
use cluster_processes::{
    assert_succeeded, latest_checkpoint, run_scenarios, wait_all, ClusterCommands, Scenario, JOB_VAR,
};
use pyflink_connectors::file::{finished_files, FileSink, RollingPolicy, SimpleStringEncoder};
use pyflink_connectors::kafka::{
    DeliveryGuarantee, KafkaRecordSerializationSchema, KafkaSink, KafkaSource, OffsetsInitializer, SimpleStringSchema,
};
use pyflink_core::cluster::PROCESS_ID_VAR;
use pyflink_core::sinks::{Sink, SinkWriterContext};
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::{CheckpointingMode, Configuration, RestartStrategy, StreamExecutionEnvironment};
use rand::{Rng, SeedableRng};

/// The broker the children use.
const BOOTSTRAP_VAR: &str = "PFRS_KAFKA_CLUSTER_BOOTSTRAP";
/// The checkpoint directory of the children.
const CHECKPOINTS_VAR: &str = "PFRS_KAFKA_CLUSTER_CHECKPOINTS";
/// A file process 0 writes just before it kills itself in the commit of a completed
/// checkpoint; unset, no process kills itself.
const DIE_MARKER_VAR: &str = "PFRS_KAFKA_CLUSTER_DIE_MARKER";
/// The directory the `files` job writes to.
const OUTPUT_VAR: &str = "PFRS_FILE_CLUSTER_OUTPUT";
/// The parallelism of the sink, when not the cluster's.
const SINK_PARALLELISM_VAR: &str = "PFRS_KAFKA_CLUSTER_SINK_PARALLELISM";
/// The retained checkpoint the job starts from.
const RESTORE_VAR: &str = "PFRS_KAFKA_CLUSTER_RESTORE";
/// Clicks per partition of `clicks` (two partitions).
const CLICKS_PER_PARTITION: usize = 600;
/// The commit (counting those with something to commit) in which process 0 kills itself.
const DYING_COMMIT: usize = 3;

/// The records of the `files` job.
const NUMBERS: i64 = 20_000;

fn main() {
    match std::env::var(JOB_VAR).as_deref() {
        Ok("count") => count_clicks(),
        Ok("files") => count_numbers_into_files(),
        Ok(other) => panic!("no test job {other}"),
        Err(_) => run_tests(),
    }
}

/// A checkpointing environment, started from the retained checkpoint named by [`RESTORE_VAR`]
/// if set.
fn checkpointing_environment() -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::get_execution_environment();
    let mut config = Configuration::new();
    config.set_string("execution.checkpointing.dir", &std::env::var(CHECKPOINTS_VAR).unwrap());
    if let Ok(checkpoint) = std::env::var(RESTORE_VAR) {
        config.set_string("execution.savepoint.path", &checkpoint);
    }
    env.configure(&config).unwrap();
    env.enable_checkpointing(Duration::from_millis(100), CheckpointingMode::ExactlyOnce);
    env.set_restart_strategy(RestartStrategy::fixed_delay_restart(20, Duration::from_millis(100)));
    env
}

/// Runs the job and exits 0 when it finished, 1 with its error otherwise.
fn execute(env: &StreamExecutionEnvironment, name: &str) -> ! {
    match env.execute(name) {
        Ok(_) => std::process::exit(0),
        Err(error) => {
            eprintln!("JOB ERROR: {error}");
            std::process::exit(1);
        }
    }
}

/// Process 0's marker file when it must die in a commit: see [`DyingSink`].
fn dying_marker() -> Option<String> {
    std::env::var(DIE_MARKER_VAR).ok().filter(|_| std::env::var(PROCESS_ID_VAR).as_deref() == Ok("0"))
}

/// A child: counts the clicks of each user and writes each running count through an
/// `EXACTLY_ONCE` Kafka sink.
fn count_clicks() {
    let bootstrap = std::env::var(BOOTSTRAP_VAR).unwrap();
    let env = checkpointing_environment();
    let stop: HashMap<(String, i32), i64> =
        (0..2).map(|p| (("clicks".to_string(), p), CLICKS_PER_PARTITION as i64)).collect();
    let source = KafkaSource::builder()
        .set_bootstrap_servers(&bootstrap)
        .set_topics(["clicks"])
        .set_group_id("counter")
        .set_bounded(OffsetsInitializer::offsets(stop))
        .set_value_only_deserializer(SimpleStringSchema)
        .build()
        .unwrap();
    let sink = KafkaSink::builder()
        .set_bootstrap_servers(&bootstrap)
        .set_record_serializer(
            KafkaRecordSerializationSchema::builder()
                .set_topic("counts")
                .set_value_serialization_schema(SimpleStringSchema)
                .set_key_serialization_schema(SimpleStringSchema)
                .build()
                .unwrap(),
        )
        .set_delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .set_transactional_id_prefix("click-counter")
        .build()
        .unwrap();
    let written = env
        .from_source(source, WatermarkStrategy::no_watermarks(), "clicks")
        .uid("clicks")
        .map(|user: String| (user, 1u64))
        .key_by(|click: &(String, u64)| click.0.clone())
        .reduce(|a, b| (a.0, a.1 + b.1))
        .uid("counts")
        .map(|(user, count)| format!("{user},{count}"))
        .sink_to(DyingSink::new(sink))
        .uid("sink");
    if let Ok(parallelism) = std::env::var(SINK_PARALLELISM_VAR) {
        written.set_parallelism(parallelism.parse().unwrap());
    }
    execute(&env, "count clicks")
}

/// A child: counts the numbers 1..=[`NUMBERS`] by their remainder modulo 13 and writes each
/// running count as a line of a file sink's part files, rolled at every checkpoint.
fn count_numbers_into_files() {
    let env = checkpointing_environment();
    let sink = FileSink::for_row_format(std::env::var(OUTPUT_VAR).unwrap(), SimpleStringEncoder)
        .with_rolling_policy(RollingPolicy::on_checkpoint_rolling_policy())
        .build();
    env.from_sequence(1, NUMBERS)
        .unwrap()
        .uid("numbers")
        .map(|n| {
            // Slow enough that several checkpoints complete while the job runs.
            if n % 5 == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            (n % 13, 1u64)
        })
        .key_by(|pair: &(i64, u64)| pair.0)
        .reduce(|a, b| (a.0, a.1 + b.1))
        .uid("counts")
        .map(|(key, count)| format!("{key},{count}"))
        .sink_to(DyingSink::new(sink))
        .uid("sink");
    execute(&env, "count numbers")
}

/// A sink that, in process 0 of a run that must die, kills its process with SIGKILL at its
/// [`DYING_COMMIT`]th commit: after the checkpoint completed, before what it prepared is
/// committed.
struct DyingSink<S> {
    inner: S,
    marker: Option<String>,
    commits: Arc<AtomicUsize>,
}

impl<S> DyingSink<S> {
    fn new(inner: S) -> Self {
        DyingSink { inner, marker: dying_marker(), commits: Arc::new(AtomicUsize::new(0)) }
    }
}

impl<S: Sink<String>> Sink<String> for DyingSink<S> {
    type Writer = S::Writer;

    fn create_writer(&self, context: &SinkWriterContext) -> pyflink_core::Result<Self::Writer> {
        self.inner.create_writer(context)
    }

    fn commit(&self, committables: Vec<Vec<u8>>) -> pyflink_core::Result<()> {
        if let Some(marker) = &self.marker {
            let dying = !committables.is_empty() && self.commits.fetch_add(1, Ordering::SeqCst) + 1 == DYING_COMMIT;
            if dying && !std::path::Path::new(marker).exists() {
                std::fs::write(marker, b"died in a commit").unwrap();
                // SAFETY: kill(2) on this process's own id, with a valid signal number.
                unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
            }
        }
        self.inner.commit(committables)
    }
}

/// The users' clicks written to the two partitions of `clicks`, in turn.
fn clicks() -> Vec<String> {
    (0..2 * CLICKS_PER_PARTITION).map(|i| format!("user{:02}", (i * 7) % 13)).collect()
}

/// Starts a broker with empty topics `clicks` and `counts`.
fn broker_with_topics() -> Broker {
    let broker = Broker::start();
    broker.create_topic("clicks", 2);
    broker.create_topic("counts", 2);
    broker
}

/// Writes the clicks to `clicks` over about three seconds.
fn produce_slowly(broker: &Broker) -> std::thread::JoinHandle<()> {
    produce_clicks_slowly(broker.bootstrap.clone(), clicks(), Duration::from_millis(25), None)
}

/// Every user's running counts 1, 2, ..., its number of clicks, sorted.
fn expected_counts() -> Vec<String> {
    let mut per_user: BTreeMap<String, u64> = BTreeMap::new();
    for user in clicks() {
        *per_user.entry(user).or_default() += 1;
    }
    let mut expected: Vec<String> =
        per_user.iter().flat_map(|(user, &n)| (1..=n).map(move |count| format!("{user},{count}"))).collect();
    expected.sort();
    expected
}

fn assert_every_count_once(broker: &Broker, what: &str) {
    let (committed, aborted) = committed_values_in_log(broker, "counts", 2);
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for count in &committed {
        *seen.entry(count).or_default() += 1;
    }
    let expected = expected_counts();
    let missing: Vec<&String> = expected.iter().filter(|count| !seen.contains_key(count.as_str())).collect();
    let twice: Vec<(&&str, &usize)> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(
        missing.is_empty() && twice.is_empty() && committed.len() == expected.len(),
        "{what}: {} committed of {} ({aborted} records of aborted transactions dropped); missing {missing:?}; \
         more than once {twice:?}",
        committed.len(),
        expected.len()
    );
}

/// Whether `child` has exited.
fn exited(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_some()
}

/// Runs the job on 2 processes x 2 threads and kills process 1 with SIGKILL at `kills`
/// random moments (from `seed`), starting it again each time; process 0 coordinates.
///
/// The sink runs at parallelism 2, on process 0's workers. When transactions of one partition
/// end at the same moment in two processes (one process fencing the ids of the killed one while
/// another aborts its own), tansu 0.6 can leave them unsettled for good: the partition's last
/// stable offset stays below them and the group offsets they committed (the sink's marks) never
/// show, so a restore takes a committed transaction for a lost one and writes it twice (seen
/// with writers in both processes: every transaction in the log had its commit marker). Kafka
/// applies a transaction's offsets as it commits. The whole cluster's restart below has
/// writers in both processes.
fn a_killed_process_loses_and_doubles_nothing(seed: u64, kills: usize) {
    let broker = broker_with_topics();
    let producer = produce_slowly(&broker);
    let dir = tempfile::tempdir().unwrap();
    let extra = [
        (BOOTSTRAP_VAR, broker.bootstrap.clone()),
        (CHECKPOINTS_VAR, dir.path().join("checkpoints").display().to_string()),
        (SINK_PARALLELISM_VAR, "2".into()),
    ];
    let cluster = ClusterCommands::new(&["count", "count"], 2, &extra);
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut first = cluster.spawn(0);
    let mut second = cluster.spawn(1);
    let mut killed = Vec::new();
    for _ in 0..kills {
        std::thread::sleep(Duration::from_millis(rng.random_range(300..1500)));
        if exited(&mut first) || exited(&mut second) {
            break;
        }
        second.kill().unwrap();
        killed.push(second.wait_with_output().unwrap());
        second = cluster.spawn(1);
    }
    let outputs = wait_all(vec![first, second]);
    producer.join().unwrap();
    assert_succeeded(&format!("seed {seed}"), &outputs);
    assert!(!killed.is_empty(), "seed {seed}: the job ended before the first kill");
    assert_every_count_once(&broker, &format!("seed {seed}, {} kills", killed.len()));
}

/// Runs `job` on 2 processes x 2 threads with `extra` in their environment until process 0
/// dies in a commit after a checkpoint completed; kills process 1 at once, then runs the job
/// on a new cluster from that retained checkpoint. Returns the checkpoint's path.
fn kill_the_cluster_after_a_checkpoint_and_resume(
    job: &str,
    dir: &std::path::Path,
    extra: &[(&str, String)],
) -> String {
    let marker = dir.join("died");
    let checkpoints = dir.join("checkpoints");
    let mut dying = extra.to_vec();
    dying.push((CHECKPOINTS_VAR, checkpoints.display().to_string()));
    dying.push((DIE_MARKER_VAR, marker.display().to_string()));
    let cluster = ClusterCommands::new(&[job, job], 2, &dying);
    let mut first = cluster.spawn(0);
    let mut second = cluster.spawn(1);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !exited(&mut first) {
        assert!(Instant::now() < deadline, "{job}: process 0 never died");
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = second.kill();
    let _ = second.wait();
    assert!(marker.exists(), "{job}: process 0 ended without dying in a commit: {:?}", first.wait_with_output());
    let restore = latest_checkpoint(&checkpoints.display().to_string()).expect("a retained checkpoint");

    let mut resuming = extra.to_vec();
    resuming.push((CHECKPOINTS_VAR, checkpoints.display().to_string()));
    resuming.push((RESTORE_VAR, restore.display().to_string()));
    let cluster = ClusterCommands::new(&[job, job], 2, &resuming);
    let outputs = wait_all(vec![cluster.spawn(0), cluster.spawn(1)]);
    assert_succeeded(&format!("{job} restarted from the retained checkpoint"), &outputs);
    restore.display().to_string()
}

/// Kills the whole Kafka job's cluster right after a checkpoint completed and resumes it.
fn a_cluster_killed_after_a_checkpoint_resumes_from_it() {
    let broker = broker_with_topics();
    let producer = produce_slowly(&broker);
    let dir = tempfile::tempdir().unwrap();
    let extra = [(BOOTSTRAP_VAR, broker.bootstrap.clone())];
    let restore = kill_the_cluster_after_a_checkpoint_and_resume("count", dir.path(), &extra);
    producer.join().unwrap();
    assert_every_count_once(&broker, &format!("restarted from {restore}"));
}

/// The same with the file sink: every running count is in exactly one finished file, once.
fn a_file_sink_cluster_killed_after_a_checkpoint_resumes_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let extra = [(OUTPUT_VAR, output.display().to_string())];
    let restore = kill_the_cluster_after_a_checkpoint_and_resume("files", dir.path(), &extra);
    let mut lines: Vec<String> = finished_files(&output)
        .unwrap()
        .iter()
        .flat_map(|file| std::fs::read_to_string(file).unwrap().lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    lines.sort();
    let mut per_key: BTreeMap<i64, u64> = BTreeMap::new();
    for n in 1..=NUMBERS {
        *per_key.entry(n % 13).or_default() += 1;
    }
    let mut expected: Vec<String> =
        per_key.iter().flat_map(|(key, &n)| (1..=n).map(move |count| format!("{key},{count}"))).collect();
    expected.sort();
    assert_eq!(lines.len(), expected.len(), "restarted from {restore}");
    assert_eq!(lines, expected, "restarted from {restore}");
}

fn run_tests() {
    let mut tests: Vec<(String, Scenario)> = (1..=3u64)
        .map(|seed| {
            let test: Scenario = Box::new(move || a_killed_process_loses_and_doubles_nothing(seed, 2));
            (format!("SIGKILL of process 1 at random points, seed {seed}"), test)
        })
        .collect();
    tests.push((
        "the whole cluster killed after a checkpoint resumes from it (Kafka)".into(),
        Box::new(a_cluster_killed_after_a_checkpoint_resumes_from_it),
    ));
    tests.push((
        "the whole cluster killed after a checkpoint resumes from it (files)".into(),
        Box::new(a_file_sink_cluster_killed_after_a_checkpoint_resumes_from_it),
    ));
    run_scenarios(tests, "exactly-once cluster tests");
}
