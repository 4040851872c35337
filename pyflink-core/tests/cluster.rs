//! Jobs on clusters of real processes over loopback: this binary starts itself as each
//! process of a cluster (the job to run and the process's place in the cluster come through
//! environment variables), compares what the processes print with what one process with as
//! many workers prints, and checks that a different job, a failing task and a killed process
//! end the job in every process with an error that says what happened.

#[path = "support/cluster_processes.rs"]
mod cluster_processes;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cluster_processes::{
    assert_succeeded, child, free_ports, has_complete_checkpoint, run_scenarios, start_cluster, wait_all,
    ClusterCommands, Scenario, JOB_VAR,
};
use pyflink_core::cluster::HOSTS_VAR;
use pyflink_core::time::WatermarkStrategy;
use pyflink_core::window::TumblingEventTimeWindows;
use pyflink_core::{CheckpointingMode, Configuration, RestartStrategy, StreamExecutionEnvironment, JOB_ID_KEY};

/// The checkpoint directory of the `checkpointed` job.
const CHECKPOINT_DIR_VAR: &str = "PFRS_CLUSTER_TEST_CHECKPOINTS";
/// The records of the `checkpointed` job.
const CHECKPOINTED_RECORDS: i64 = 20_000;
/// The checkpoint interval of the `resumable` job in milliseconds (an hour unless set).
const INTERVAL_VAR: &str = "PFRS_CLUSTER_TEST_INTERVAL_MS";
/// The savepoint the `resumable` job starts from.
const SAVEPOINT_VAR: &str = "PFRS_CLUSTER_TEST_SAVEPOINT";
/// The records of the `resumable` job.
const RESUMABLE_RECORDS: i64 = 12_000;
/// The REST port of the `slow` and `resumable` jobs.
const REST_PORT_VAR: &str = "PFRS_CLUSTER_TEST_REST_PORT";
/// The fixed job id of the `resumable` job, if set.
const JOB_ID_VAR: &str = "PFRS_CLUSTER_TEST_JOB_ID";
/// A file whose absence makes the `fails_once` job fail (it creates the file as it fails).
const MARKER_VAR: &str = "PFRS_CLUSTER_TEST_MARKER";

const TEXT: &[&str] = &[
    "to be or not to be that is the question",
    "whether tis nobler in the mind to suffer",
    "the slings and arrows of outrageous fortune",
    "or to take arms against a sea of troubles",
    "and by opposing end them to die to sleep",
];

fn main() {
    match std::env::var(JOB_VAR) {
        Ok(job) => run_job(&job),
        Err(_) => run_tests(),
    }
}

/// A child: runs `job` as the cluster the environment describes (or alone) and exits 0 on
/// success, 1 with the error on standard error otherwise.
fn run_job(job: &str) {
    let env = StreamExecutionEnvironment::get_execution_environment();
    if let (None, Ok(parallelism)) = (env.get_cluster(), std::env::var("PFRS_CLUSTER_TEST_PARALLELISM")) {
        env.set_parallelism(parallelism.parse().unwrap());
    }
    match job {
        "word_count" | "word_count_upper" => {
            let upper = job == "word_count_upper";
            let lines: Vec<String> = TEXT.iter().flat_map(|l| std::iter::repeat_n(l.to_string(), 20)).collect();
            let words = env
                .from_collection(lines)
                .flat_map(|line: String| line.split_whitespace().map(|w| (w.to_string(), 1i64)).collect::<Vec<_>>());
            let words = if upper { words.map(|(w, n)| (w.to_uppercase(), n)) } else { words };
            words.key_by(|(word, _)| word.clone()).sum(|(_, n)| n).print();
        }
        "windows" => {
            // 40 keys, event times 0..4000 out of order within 50 ms, windows of 100 ms.
            let events: Vec<(i64, i64)> =
                (0..4000i64).map(|i| (i * 7919 % 40, (i / 10) * 10 + (i * 31) % 50)).collect();
            env.from_collection(events)
                .rebalance()
                .map(|e| e)
                .assign_timestamps_and_watermarks(
                    WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_millis(60))
                        .with_timestamp_assigner(|e: &(i64, i64), _| e.1),
                )
                .key_by(|e| e.0)
                .window(TumblingEventTimeWindows::of(Duration::from_millis(100)))
                .reduce(|a, b| (a.0, a.1.max(b.1)))
                .print();
        }
        "fails" | "fails_once" => {
            let marker = std::env::var(MARKER_VAR).ok();
            if job == "fails_once" {
                env.set_restart_strategy(RestartStrategy::fixed_delay_restart(2, Duration::from_millis(50)));
            }
            env.from_sequence(1, 20_000)
                .unwrap()
                .map(move |n| {
                    if n == 12_345 {
                        match &marker {
                            Some(path) if std::path::Path::new(path).exists() => {}
                            Some(path) => {
                                std::fs::write(path, b"failed once").unwrap();
                                panic!("record {n} is bad");
                            }
                            None => panic!("record {n} is bad"),
                        }
                    }
                    n
                })
                .name("Check")
                .filter(|n| n % 5_000 == 0)
                .print();
        }
        "checkpointed" => {
            // Fails once, at the first record from 4000 on that comes after the cluster has
            // completed a checkpoint, then restores every process from that checkpoint.
            let dir = std::env::var(CHECKPOINT_DIR_VAR).unwrap();
            let mut config = Configuration::new();
            config.set_string("execution.checkpointing.dir", &dir);
            env.configure(&config).unwrap();
            env.enable_checkpointing(Duration::from_millis(50), CheckpointingMode::ExactlyOnce);
            env.set_restart_strategy(RestartStrategy::fixed_delay_restart(3, Duration::from_millis(50)));
            let marker = std::env::var(MARKER_VAR).unwrap();
            env.from_sequence(1, CHECKPOINTED_RECORDS)
                .unwrap()
                .map(move |n| {
                    if n % 5 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    if n >= 4000 && !std::path::Path::new(&marker).exists() && has_complete_checkpoint(&dir) {
                        std::fs::write(&marker, n.to_string()).unwrap();
                        panic!("failing at record {n} after a checkpoint");
                    }
                    (n % 10, n)
                })
                .key_by(|pair| pair.0)
                .sum(|pair| &mut pair.1)
                .print();
        }
        "resumable" => {
            // Keyed sums of a slow sequence, resumable from a savepoint; only savepoints are taken.
            let mut config = Configuration::new();
            config.set_string("execution.checkpointing.dir", &std::env::var(CHECKPOINT_DIR_VAR).unwrap());
            if let Ok(port) = std::env::var(REST_PORT_VAR) {
                config.set_string("rest.port", &port);
            }
            if let Ok(savepoint) = std::env::var(SAVEPOINT_VAR) {
                config.set_string("execution.savepoint.path", &savepoint);
            }
            if let Ok(job_id) = std::env::var(JOB_ID_VAR) {
                config.set_string(JOB_ID_KEY, &job_id);
            }
            // Kept when the job ends, to be looked at.
            config.set_string("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
            env.configure(&config).unwrap();
            let interval = std::env::var(INTERVAL_VAR).map_or(3_600_000, |ms| ms.parse().unwrap());
            env.enable_checkpointing(Duration::from_millis(interval), CheckpointingMode::ExactlyOnce);
            env.set_restart_strategy(RestartStrategy::fixed_delay_restart(5, Duration::from_millis(100)));
            env.from_sequence(1, RESUMABLE_RECORDS)
                .unwrap()
                .map(|n| {
                    if n % 2 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    (n % 10, n)
                })
                .key_by(|pair| pair.0)
                .sum(|pair| &mut pair.1)
                .print();
        }
        "endless_windows" => {
            // Windows of ten years over event times 1, 2, ... ms: only a drain fires them.
            let mut config = Configuration::new();
            config.set_string("execution.checkpointing.dir", &std::env::var(CHECKPOINT_DIR_VAR).unwrap());
            config.set_string("rest.port", &std::env::var(REST_PORT_VAR).unwrap());
            env.configure(&config).unwrap();
            env.enable_checkpointing(Duration::from_secs(3600), CheckpointingMode::ExactlyOnce);
            // Written once records flow, for the test to wait for.
            let marker = std::env::var(MARKER_VAR).unwrap();
            env.from_sequence(1, 100_000_000)
                .unwrap()
                .map(move |n| {
                    if n % 1000 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                        let _ = std::fs::write(&marker, b"reading");
                    }
                    n
                })
                .assign_timestamps_and_watermarks(
                    WatermarkStrategy::for_monotonous_timestamps().with_timestamp_assigner(|n: &i64, _| *n),
                )
                .key_by(|n| n % 4)
                .window(TumblingEventTimeWindows::of(Duration::from_secs(86_400 * 3650)))
                .reduce(|a, b| a.max(b))
                .print();
        }
        "slow" => {
            if let Ok(port) = std::env::var(REST_PORT_VAR) {
                let mut config = Configuration::new();
                config.set_string("rest.port", &port);
                env.configure(&config).unwrap();
            }
            env.from_sequence(1, 100_000_000)
                .unwrap()
                .map(|n| {
                    if n % 1000 == 0 {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    n
                })
                .filter(|_| false)
                .print();
        }
        other => panic!("no test job {other}"),
    }
    match env.execute(job) {
        Ok(result) => {
            // The job's metrics, on standard error: the coordinator's include every process's.
            for id in result.get_metrics().keys() {
                eprintln!("METRIC {id}");
            }
            std::process::exit(0)
        }
        Err(error) => {
            eprintln!("JOB ERROR: {error}");
            std::process::exit(1);
        }
    }
}

/// The lines the processes printed, sorted.
fn stdout_lines(outputs: &[Output]) -> Vec<String> {
    let mut lines: Vec<String> = outputs
        .iter()
        .flat_map(|o| String::from_utf8_lossy(&o.stdout).lines().map(str::to_string).collect::<Vec<_>>())
        .collect();
    lines.sort();
    lines
}

/// What `job` prints run by one process of `parallelism` workers, and its metrics' ids.
fn alone(job: &str, parallelism: usize) -> (Vec<String>, Vec<String>) {
    let output = child(job).env("PFRS_CLUSTER_TEST_PARALLELISM", parallelism.to_string()).output().unwrap();
    assert!(output.status.success(), "{job} alone: {}", String::from_utf8_lossy(&output.stderr));
    let metrics = metric_ids(&output);
    (stdout_lines(&[output]), metrics)
}

/// The ids of the metrics a child's job ended with.
fn metric_ids(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("METRIC "))
        .map(str::to_string)
        .collect()
}

fn cluster_prints_what_one_process_prints(job: &str, processes: usize, threads: usize) {
    let (expected, metrics) = alone(job, processes * threads);
    assert!(!expected.is_empty());
    let outputs = wait_all(start_cluster(&vec![job; processes], threads, &[]));
    assert_succeeded(job, &outputs);
    // The coordinator's result has every process's operator metrics, as one process's has.
    assert_eq!(metric_ids(&outputs[0]), metrics, "{job} on {processes} x {threads}");
    // Every record is printed by the worker of the same index, so even the subtask prefixes agree.
    assert_eq!(stdout_lines(&outputs), expected, "{job} on {processes} x {threads}");
    // Each process printed its own workers' share.
    for (process, output) in outputs.iter().enumerate() {
        let prefixes: BTreeMap<usize, usize> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.split_once("> ").and_then(|(p, _)| p.parse().ok()))
            .fold(BTreeMap::new(), |mut m, p: usize| {
                *m.entry(p).or_default() += 1;
                m
            });
        let own = (process * threads + 1)..=(process * threads + threads);
        assert!(prefixes.keys().all(|p| own.contains(p)), "{job}: process {process} printed for subtasks {prefixes:?}");
    }
}

fn different_jobs_are_refused_everywhere() {
    let outputs = wait_all(start_cluster(&["word_count", "word_count_upper"], 1, &[]));
    for (process, output) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "process {process} ran a job the other did not");
        assert!(stderr.contains("process 1 built a different job than process 0"), "process {process}: {stderr}");
    }
}

fn a_failing_task_fails_every_process_with_its_cause() {
    let outputs = wait_all(start_cluster(&["fails", "fails"], 2, &[]));
    for (process, output) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "process {process} succeeded");
        assert!(stderr.contains("record 12345 is bad") && stderr.contains("'Check'"), "process {process}: {stderr}");
    }
}

fn every_process_restarts_together() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("failed").display().to_string();
    let outputs = wait_all(start_cluster(&["fails_once", "fails_once"], 2, &[(MARKER_VAR, marker.clone())]));
    assert_succeeded("fails_once", &outputs);
    assert!(std::path::Path::new(&marker).exists(), "the first attempt did not fail");
    // Without checkpoints the second attempt reruns from the start; its output is complete.
    let numbers: Vec<i64> = stdout_lines(&outputs)
        .iter()
        .map(|l| l.rsplit_once("> ").map_or(l.as_str(), |(_, n)| n).parse().unwrap())
        .collect();
    for n in [5_000, 10_000, 15_000, 20_000] {
        assert!(numbers.contains(&n), "{n} missing from {numbers:?}");
    }
}

/// The last (largest) running sum printed for each key, from lines like `3> (7,1234)`.
fn last_sums(outputs: &[Output]) -> BTreeMap<i64, i64> {
    let mut sums: BTreeMap<i64, i64> = BTreeMap::new();
    for line in stdout_lines(outputs) {
        let pair = line.rsplit_once("> ").map_or(line.as_str(), |(_, p)| p);
        let (key, sum) = pair.trim_matches(|c| c == '(' || c == ')').split_once(',').unwrap();
        let entry = sums.entry(key.parse().unwrap()).or_default();
        *entry = (*entry).max(sum.parse().unwrap());
    }
    sums
}

/// The sums of 1..=records by their last decimal digit.
fn sums_by_last_digit(records: i64) -> BTreeMap<i64, i64> {
    let mut sums: BTreeMap<i64, i64> = BTreeMap::new();
    for n in 1..=records {
        *sums.entry(n % 10).or_default() += n;
    }
    sums
}

fn every_process_restores_the_clusters_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let marker = dir.path().join("failed");
    let extra = [(CHECKPOINT_DIR_VAR, checkpoints.display().to_string()), (MARKER_VAR, marker.display().to_string())];
    let outputs = wait_all(start_cluster(&["checkpointed", "checkpointed"], 2, &extra));
    assert_succeeded("checkpointed", &outputs);
    let failed_at: i64 = std::fs::read_to_string(&marker).expect("the first attempt did not fail").parse().unwrap();
    // Each key's last running sum is its whole sum: the state of every process and the
    // positions of its sources came back from one checkpoint, so nothing was lost or counted twice.
    assert_eq!(last_sums(&outputs), sums_by_last_digit(CHECKPOINTED_RECORDS), "after failing at record {failed_at}");
}

fn a_killed_process_ends_the_job_in_the_others() {
    let mut children = start_cluster(&["slow", "slow", "slow"], 1, &[]);
    std::thread::sleep(Duration::from_millis(1500));
    let mut killed = children.remove(2);
    killed.kill().unwrap();
    killed.wait().unwrap();
    let started = Instant::now();
    let outputs = wait_all(children);
    assert!(started.elapsed() < Duration::from_secs(30), "the others took {:?} to stop", started.elapsed());
    for (process, output) in outputs.iter().enumerate() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "process {process} succeeded");
        assert!(stderr.contains("process 2 of the cluster failed: the process is gone"), "process {process}: {stderr}");
    }
}

/// Sends one request to the REST API on `port`; the status code and the JSON body.
fn call(port: u16, method: &str, path: &str, body: &str) -> Option<(u16, serde_json::Value)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let length = body.len();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n\r\n{body}").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    Some((status, serde_json::from_str(response.split_once("\r\n\r\n")?.1).ok()?))
}

/// The id of the job process 0 serves on `port`, once it lists one.
fn listed_job(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, body)) = call(port, "GET", "/jobs", "") {
            if let Some(id) = body["jobs"][0]["id"].as_str() {
                return id.to_string();
            }
        }
        assert!(Instant::now() < deadline, "process 0 never listed the job");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn a_cancel_on_process_0_stops_every_process() {
    let port = free_ports(1)[0];
    let children = start_cluster(&["slow", "slow"], 1, &[(REST_PORT_VAR, port.to_string())]);
    let job = listed_job(port);
    let (status, _) = call(port, "PATCH", &format!("/jobs/{job}?mode=cancel"), "").unwrap();
    assert_eq!(status, 202);
    for (process, output) in wait_all(children).iter().enumerate() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("JOB ERROR: job was cancelled"), "process {process}: {stderr}");
    }
}

/// Stops `job` through the REST API of process 0 at `port` with a savepoint into `target`
/// (draining it first if `drain`); where the savepoint is.
fn stop_through_rest(port: u16, job: &str, target: &std::path::Path, drain: bool) -> String {
    let body = format!("{{\"targetDirectory\": \"{}\", \"drain\": {drain}}}", target.display());
    let (status, answer) = call(port, "POST", &format!("/jobs/{job}/stop"), &body).unwrap();
    assert_eq!(status, 202, "{answer}");
    let request = answer["request-id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, state) = call(port, "GET", &format!("/jobs/{job}/savepoints/{request}"), "").unwrap();
        if state["status"]["id"] == "COMPLETED" {
            return state["operation"]["location"]
                .as_str()
                .unwrap_or_else(|| panic!("no savepoint: {state}"))
                .to_string();
        }
        assert!(Instant::now() < deadline, "the savepoint did not complete");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A drain reaches the sources of every process: each ends after a watermark at the end of
/// event time, every window fires (once per key, across the cluster), the savepoint is taken,
/// and the job finishes in every process.
fn a_drain_fires_every_window_of_the_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports(1)[0];
    let marker = dir.path().join("reading");
    let extra = [
        (CHECKPOINT_DIR_VAR, dir.path().join("checkpoints").display().to_string()),
        (REST_PORT_VAR, port.to_string()),
        (MARKER_VAR, marker.display().to_string()),
    ];
    let children = start_cluster(&["endless_windows", "endless_windows"], 2, &extra);
    let job = listed_job(port);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "no records flow");
        std::thread::sleep(Duration::from_millis(10));
    }
    let location = stop_through_rest(port, &job, &dir.path().join("savepoints"), true);
    assert!(std::path::Path::new(location.trim_start_matches("file:")).join("_metadata").exists());
    let outputs = wait_all(children);
    assert_succeeded("endless windows, drained", &outputs);
    let maxima: Vec<i64> =
        stdout_lines(&outputs).iter().map(|line| line.split_once("> ").unwrap().1.parse().unwrap()).collect();
    let mut residues: Vec<i64> = maxima.iter().map(|m| m % 4).collect();
    residues.sort();
    assert_eq!(residues, vec![0, 1, 2, 3], "one window per key: {maxima:?}");
}

fn a_savepoint_of_one_cluster_resumes_on_another_shape() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints").display().to_string();
    let port = free_ports(1)[0];
    let first = start_cluster(
        &["resumable", "resumable"],
        2,
        &[(CHECKPOINT_DIR_VAR, checkpoints.clone()), (REST_PORT_VAR, port.to_string())],
    );
    let job = listed_job(port);
    std::thread::sleep(Duration::from_millis(300));
    let location = stop_through_rest(port, &job, &dir.path().join("savepoints"), false);
    // Stopped with a savepoint, the job has finished in every process.
    assert_succeeded("resumable, stopped", &wait_all(first));
    // Three processes of one thread take over four workers' state and sources.
    let second = start_cluster(
        &["resumable", "resumable", "resumable"],
        1,
        &[(CHECKPOINT_DIR_VAR, checkpoints), (SAVEPOINT_VAR, location)],
    );
    let outputs = wait_all(second);
    assert_succeeded("resumable, resumed", &outputs);
    assert_eq!(last_sums(&outputs), sums_by_last_digit(RESUMABLE_RECORDS));
    // The resumed job did not start over: it printed fewer updates than there are records.
    assert!(stdout_lines(&outputs).len() < RESUMABLE_RECORDS as usize);
}

fn a_killed_process_started_again_rejoins_and_nothing_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints").display().to_string();
    let cluster = ClusterCommands::new(
        &["resumable", "resumable"],
        2,
        &[(CHECKPOINT_DIR_VAR, checkpoints.clone()), (INTERVAL_VAR, "50".into())],
    );
    let first = cluster.spawn(0);
    let mut second = cluster.spawn(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has_complete_checkpoint(&checkpoints) {
        assert!(Instant::now() < deadline, "no checkpoint completed");
        std::thread::sleep(Duration::from_millis(10));
    }
    second.kill().unwrap();
    let killed = second.wait_with_output().unwrap();
    let again = cluster.spawn(1);
    let outputs = wait_all(vec![first, again]);
    assert_succeeded("resumable, rejoined", &outputs);
    let mut all = outputs;
    all.push(killed);
    assert_eq!(last_sums(&all), sums_by_last_digit(RESUMABLE_RECORDS));
}

fn a_cluster_whose_process_0_died_resumes_from_its_newest_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints").display().to_string();
    let extra = [
        (CHECKPOINT_DIR_VAR, checkpoints.clone()),
        (INTERVAL_VAR, "50".into()),
        (JOB_ID_VAR, "0123456789abcdef0123456789abcdef".into()),
    ];
    let first = ClusterCommands::new(&["resumable", "resumable"], 2, &extra);
    let mut coordinator = first.spawn(0);
    let other = first.spawn(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has_complete_checkpoint(&checkpoints) {
        assert!(Instant::now() < deadline, "no checkpoint completed");
        std::thread::sleep(Duration::from_millis(10));
    }
    coordinator.kill().unwrap();
    let mut all = wait_all(vec![coordinator, other]);
    assert!(!all[1].status.success(), "process 1 went on without its coordinator");
    // The same program with the same job id, no savepoint given: it starts from the newest
    // checkpoint the first run completed.
    let second = ClusterCommands::new(&["resumable", "resumable"], 2, &extra);
    let resumed = wait_all(vec![second.spawn(0), second.spawn(1)]);
    assert_succeeded("resumable, resumed after process 0 died", &resumed);
    assert!(
        stdout_lines(&resumed).len() < RESUMABLE_RECORDS as usize,
        "the second run started over instead of resuming"
    );
    all.extend(resumed);
    assert_eq!(last_sums(&all), sums_by_last_digit(RESUMABLE_RECORDS));
}

fn the_command_runs_a_rust_program_on_local_processes() {
    let (expected, _) = alone("word_count", 4);
    let output = Command::new(env!("CARGO_BIN_EXE_pyflink-rs"))
        .args(["run", "--processes", "2", "--threads", "2", "--"])
        .arg(std::env::current_exe().unwrap())
        .env(JOB_VAR, "word_count")
        .env_remove(HOSTS_VAR)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(stdout_lines(&[output]), expected);
}

/// The command's flags reach the program: `-p` its parallelism, `-D` any option (a wrong one
/// fails the job naming it), and `--hosts` with `--process-id` place each of its processes in a
/// cluster that a host file lists.
fn the_command_hands_its_flags_to_the_program() {
    let command = |flags: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pyflink-rs"));
        command
            .arg("run")
            .args(flags)
            .arg("--")
            .arg(std::env::current_exe().unwrap())
            .env(JOB_VAR, "word_count")
            .env_remove(HOSTS_VAR)
            .env_remove("PFRS_CLUSTER_TEST_PARALLELISM")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        command
    };
    let (three_workers, _) = alone("word_count", 3);
    let output = command(&["-p", "3", "-D", "rest.port=0"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // The subtask prefixes are those of 3 workers.
    assert_eq!(stdout_lines(&[output]), three_workers);

    let output = command(&["-D", "pipeline.max-parallelism=many"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("PYFLINK_RS_OPTIONS") && stderr.contains("pipeline.max-parallelism"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let hosts = dir.path().join("hosts");
    let ports = free_ports(2);
    std::fs::write(&hosts, format!("# the cluster\n127.0.0.1:{}\n127.0.0.1:{}\n", ports[0], ports[1])).unwrap();
    let processes: Vec<_> = (0..2)
        .map(|process| {
            let hosts = hosts.display().to_string();
            let id = process.to_string();
            command(&["--hosts", &hosts, "--process-id", &id, "--threads", "2", "-D", "rest.port=0"]).spawn().unwrap()
        })
        .collect();
    let outputs = wait_all(processes);
    assert_succeeded("word count on a host file's cluster", &outputs);
    assert_eq!(stdout_lines(&outputs), alone("word_count", 4).0);
}

/// The pid of `parent`'s child that runs as process `process` of its cluster, once it runs.
fn child_with_process_id(parent: u32, process: usize) -> Option<u32> {
    let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    let wanted = format!("{}={process}", pyflink_core::cluster::PROCESS_ID_VAR);
    children.split_whitespace().find_map(|child| {
        let environ = std::fs::read(format!("/proc/{child}/environ")).ok()?;
        let found = environ.split(|&b| b == 0).any(|entry| entry == wanted.as_bytes());
        found.then(|| child.parse().ok()).flatten()
    })
}

fn the_command_starts_the_cluster_again_when_process_0_dies() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints").display().to_string();
    let supervisor = Command::new(env!("CARGO_BIN_EXE_pyflink-rs"))
        .args(["run", "--processes", "2", "--threads", "2", "--"])
        .arg(std::env::current_exe().unwrap())
        .env(JOB_VAR, "resumable")
        .env(CHECKPOINT_DIR_VAR, &checkpoints)
        .env(INTERVAL_VAR, "50")
        .env_remove(HOSTS_VAR)
        .env_remove(pyflink_core::JOB_ID_VAR)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !has_complete_checkpoint(&checkpoints) {
        assert!(Instant::now() < deadline, "no checkpoint completed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let coordinator = child_with_process_id(supervisor.id(), 0).expect("process 0 runs");
    let killed = Command::new("kill").args(["-9", &coordinator.to_string()]).status().unwrap();
    assert!(killed.success());
    let output = supervisor.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("process 0 died (signal 9); starting the cluster again"), "{stderr}");
    assert_eq!(last_sums(&[output]), sums_by_last_digit(RESUMABLE_RECORDS));
    // The job started again under its id (and so from its newest checkpoint, see
    // a_cluster_whose_process_0_died_resumes_from_its_newest_checkpoint): its checkpoints
    // are in one directory.
    let jobs: Vec<_> = std::fs::read_dir(&checkpoints).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
}

fn run_tests() {
    let tests: Vec<(&str, Scenario)> = vec![
        (
            "word count on 2 processes x 2 threads",
            Box::new(|| cluster_prints_what_one_process_prints("word_count", 2, 2)),
        ),
        (
            "word count on 3 processes x 2 threads",
            Box::new(|| cluster_prints_what_one_process_prints("word_count", 3, 2)),
        ),
        (
            "keyed windows on 2 processes x 2 threads",
            Box::new(|| cluster_prints_what_one_process_prints("windows", 2, 2)),
        ),
        (
            "keyed windows on 3 processes x 2 threads",
            Box::new(|| cluster_prints_what_one_process_prints("windows", 3, 2)),
        ),
        ("different jobs are refused everywhere", Box::new(different_jobs_are_refused_everywhere)),
        ("a failing task fails every process", Box::new(a_failing_task_fails_every_process_with_its_cause)),
        ("every process restarts together", Box::new(every_process_restarts_together)),
        ("every process restores the cluster's checkpoint", Box::new(every_process_restores_the_clusters_checkpoint)),
        ("a killed process ends the job in the others", Box::new(a_killed_process_ends_the_job_in_the_others)),
        ("a drain fires every window of the cluster", Box::new(a_drain_fires_every_window_of_the_cluster)),
        ("the command hands its flags to the program", Box::new(the_command_hands_its_flags_to_the_program)),
        ("a cancel on process 0 stops every process", Box::new(a_cancel_on_process_0_stops_every_process)),
        (
            "a savepoint of one cluster resumes on another shape",
            Box::new(a_savepoint_of_one_cluster_resumes_on_another_shape),
        ),
        (
            "the command runs a Rust program on local processes",
            Box::new(the_command_runs_a_rust_program_on_local_processes),
        ),
        (
            "a cluster whose process 0 died resumes from its newest checkpoint",
            Box::new(a_cluster_whose_process_0_died_resumes_from_its_newest_checkpoint),
        ),
        (
            "the command starts the cluster again when process 0 dies",
            Box::new(the_command_starts_the_cluster_again_when_process_0_dies),
        ),
        (
            "a killed process started again rejoins",
            Box::new(a_killed_process_started_again_rejoins_and_nothing_is_lost_or_doubled),
        ),
    ];
    run_scenarios(tests, "cluster tests");
}
